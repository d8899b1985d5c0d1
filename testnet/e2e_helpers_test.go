package testnet

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bftledger/bftledger/client"
	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/ledger"
	"github.com/bftledger/bftledger/node"
)

// e2eOptions are the settings every end-to-end testnet shares: free ports,
// short PBFT timers so view changes take a fraction of a second, small
// checkpoint intervals so garbage collection and state transfer happen
// within a few dozen blocks.
func e2eOptions(t *testing.T, nodes int) Options {
	return Options{
		Dir:      filepath.Join(t.TempDir(), "tn"),
		Nodes:    nodes,
		Accounts: 12,
		Params:   ledger.Params{CheckpointInterval: 8, WindowSize: 16, SnapshotInterval: 16},
		Configure: func(_ int, cfg *node.Config) {
			cfg.Consensus.TickInterval = 10 * time.Millisecond
			cfg.Consensus.RequestTimeoutTicks = 50
			cfg.Log.Level = "info"
		},
	}
}

// startE2E makes and starts a testnet of real node processes from the
// binary built for this run. Every node is stopped at cleanup, and if the
// test failed the tail of each node's log is printed.
func startE2E(t *testing.T, opts Options) (*Testnet, *client.Client) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test on real node processes: skipped with -short")
	}
	opts.Binary = nodeBinary(t)
	tn, err := Init(opts)
	if err != nil {
		t.Fatal(err)
	}
	tn.StopGrace = 5 * time.Second
	t.Cleanup(func() {
		if err := tn.Stop(); err != nil {
			t.Errorf("stop testnet: %v", err)
		}
		if t.Failed() {
			for i := range tn.N() {
				t.Logf("---- %s (%s):\n%s", tn.Meta.Nodes[i].Name, tn.LogPath(i), tn.logTail(i))
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := tn.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := client.FromGenesis(tn.Genesis, nil, client.Options{PollWait: time.Second, ResubmitEvery: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return tn, c
}

// acked is a transfer the client accepted on enough matching receipts.
type acked struct {
	hash    crypto.Hash
	receipt client.Receipt
}

// load sends transfers around a ring of funded accounts: account j pays 1
// to account j+1. Each account sends one tx at a time with its own nonce,
// so workers never race on a nonce.
type load struct {
	t        *testing.T
	c        *client.Client
	chainID  string
	keys     []*crypto.Ed25519Signer
	nonces   []uint64
	mu       sync.Mutex
	acked    []acked
	failures []string
}

func newLoad(t *testing.T, tn *Testnet, c *client.Client, accounts int) *load {
	t.Helper()
	l := &load{t: t, c: c, chainID: tn.Genesis.ChainID, nonces: make([]uint64, accounts)}
	for j := range accounts {
		k, err := tn.AccountKey(j)
		if err != nil {
			t.Fatal(err)
		}
		l.keys = append(l.keys, k)
	}
	return l
}

// send makes account j's next transfer and waits for its receipts. A
// result with a failed receipt is an error here: the ring never overdraws.
func (l *load) send(ctx context.Context, j int) error {
	to := l.keys[(j+1)%len(l.keys)].Address()
	tx := ledger.NewTransfer(l.keys[j], l.chainID, to, 1, l.nonces[j])
	res, err := l.c.Transfer(ctx, tx)
	if err != nil {
		return fmt.Errorf("account %d nonce %d: %w", j, l.nonces[j], err)
	}
	if !res.Receipt.OK() {
		return fmt.Errorf("account %d nonce %d: failed receipt %d %s", j, l.nonces[j], res.Receipt.Code, res.Receipt.Message)
	}
	if len(res.Signers) < l.c.Need() {
		return fmt.Errorf("account %d: %d signers, need %d", j, len(res.Signers), l.c.Need())
	}
	l.nonces[j]++
	l.mu.Lock()
	l.acked = append(l.acked, acked{tx.Hash(), res.Receipt})
	l.mu.Unlock()
	return nil
}

// run sends perAccount transfers from each of the accounts in parallel
// and fails the test on any error.
func (l *load) run(ctx context.Context, perAccount int) {
	l.t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(l.keys))
	for j := range l.keys {
		wg.Go(func() {
			for range perAccount {
				if err := l.send(ctx, j); err != nil {
					errs[j] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		l.t.Fatal(err)
	}
}

// background sends transfers from every account until stop is called,
// which returns the first error (other than the stop itself), if any.
func (l *load) background(ctx context.Context, perTx time.Duration) (stop func() error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make([]error, len(l.keys))
	for j := range l.keys {
		wg.Go(func() {
			for ctx.Err() == nil {
				tctx, tcancel := context.WithTimeout(ctx, perTx)
				err := l.send(tctx, j)
				tcancel()
				if err != nil && ctx.Err() == nil {
					errs[j] = err
					return
				}
			}
		})
	}
	return func() error {
		cancel()
		wg.Wait()
		return errors.Join(errs...)
	}
}

// resync reads every account's next nonce from the network, after a stop
// may have left a tx in flight that still commits.
func (l *load) resync(ctx context.Context) {
	l.t.Helper()
	for j, k := range l.keys {
		n, err := l.c.NextNonce(ctx, k.Address())
		if err != nil {
			l.t.Fatal(err)
		}
		l.nonces[j] = n
	}
}

// count returns how many transfers have been acknowledged.
func (l *load) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// ackedTxs returns a copy of the acknowledged transfers.
func (l *load) ackedTxs() []acked {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]acked(nil), l.acked...)
}

// eventually polls cond every 100ms until it returns nil or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() error) {
	t.Helper()
	start := time.Now()
	defer func() { t.Logf("%s: %v", what, time.Since(start).Round(time.Millisecond)) }()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, d, err)
		}
		<-tick.C
	}
}

// statuses returns the status of the given nodes, failing on an error.
func statuses(ctx context.Context, c *client.Client, nodes []int) ([]*client.Status, error) {
	out := make([]*client.Status, len(nodes))
	for k, i := range nodes {
		s, err := c.Status(ctx, i)
		if err != nil {
			return nil, err
		}
		out[k] = s
	}
	return out, nil
}

// waitConverged waits until nodes report one height (at least minHeight)
// and one app hash, with nothing pending.
func waitConverged(t *testing.T, c *client.Client, nodes []int, minHeight uint64) uint64 {
	t.Helper()
	var height uint64
	eventually(t, 30*time.Second, fmt.Sprintf("nodes %v converge", nodes), func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := statuses(ctx, c, nodes)
		if err != nil {
			return err
		}
		var desc []string
		same := true
		for _, s := range st {
			desc = append(desc, fmt.Sprintf("%s h=%d app=%.8s pending=%d", s.Name, s.Height, s.AppHash, s.PendingTxs))
			same = same && s.Height == st[0].Height && s.AppHash == st[0].AppHash && s.PendingTxs == 0
		}
		if !same || st[0].Height < minHeight {
			return fmt.Errorf("%s", strings.Join(desc, "; "))
		}
		height = st[0].Height
		return nil
	})
	return height
}

// checkSupply checks that node's balances of every genesis account add up
// to the genesis total supply (transfers stay among genesis accounts).
func checkSupply(t *testing.T, tn *Testnet, c *client.Client, node int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var sum uint64
	for _, a := range tn.Genesis.Accounts {
		acc, err := c.Account(ctx, node, a.Address, false)
		if err != nil {
			t.Fatal(err)
		}
		sum += acc.Balance
	}
	if want := tn.Genesis.TotalSupply(); sum != want {
		t.Fatalf("node %d: balances add up to %d, genesis supply is %d", node, sum, want)
	}
}

// checkSameChain checks that nodes hold identical blocks 1..height, each
// verifying against the genesis validators.
func checkSameChain(t *testing.T, c *client.Client, nodes []int, height uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for h := uint64(1); h <= height; h++ {
		var first *client.Block
		for _, i := range nodes {
			b, err := c.Block(ctx, i, h)
			if err != nil {
				t.Fatalf("node %d block %d: %v", i, h, err)
			}
			if c.Mode() == "pbft" && !b.Certified {
				t.Fatalf("node %d block %d: not certified", i, h)
			}
			if first == nil {
				first = b
			} else if b.Hash != first.Hash {
				t.Fatalf("block %d: node %d has %s, node %d has %s", h, nodes[0], first.Hash, i, b.Hash)
			}
		}
	}
}

// checkAcked checks that every acknowledged transfer still has Need()
// matching signed receipts with the outcome the client accepted.
func checkAcked(t *testing.T, c *client.Client, txs []acked) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, a := range txs {
		res, err := c.WaitReceipts(ctx, a.hash, 0)
		if err != nil {
			t.Fatalf("acknowledged tx %s: %v", a.hash, err)
		}
		if res.Receipt != a.receipt {
			t.Fatalf("acknowledged tx %s: receipt %+v, accepted %+v", a.hash, res.Receipt, a.receipt)
		}
	}
}

func indices(n int, except ...int) []int {
	var out []int
outer:
	for i := range n {
		for _, e := range except {
			if i == e {
				continue outer
			}
		}
		out = append(out, i)
	}
	return out
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
