package node

import (
	"context"
	"fmt"
	"slices"

	"github.com/bftledger/bftledger/api"
	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/ledger"
)

// backend is the node as the API sees it. Its methods run on the API's
// request goroutines; the engine is reached only through the loop's
// channels, the ledger through its concurrency-safe reads.
type backend struct{ n *Node }

var _ api.Backend = backend{}

// Propose queues the txs for the loop and waits for the engine's verdicts.
// A full queue answers api.ErrBusy at once. The API admitted each tx through
// checkTxs, which cached it as verified.
func (b backend) Propose(ctx context.Context, hashes []crypto.Hash, txs [][]byte) []error {
	n := b.n
	p := &proposal{txs: txs, hashes: hashes, done: make(chan struct{})}
	fail := func(err error) []error {
		errs := make([]error, len(txs))
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	select {
	case <-n.done:
		return fail(fmt.Errorf("%w: %w", api.ErrUnavailable, ErrStopped))
	default:
	}
	select {
	case n.proposals <- p:
	default:
		return fail(api.ErrBusy)
	}
	select {
	case <-p.done:
		return p.errs
	case <-n.done:
		select { // the loop may have answered just before exiting
		case <-p.done:
			return p.errs
		default:
		}
		return fail(fmt.Errorf("%w: %w", api.ErrUnavailable, ErrStopped))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
}

// Receipt reads the ledger's receipt of h.
func (b backend) Receipt(h crypto.Hash) (*ledger.Receipt, error) { return b.n.store.Receipt(h) }

// WaitReceipt long-polls for h's receipt through the node's bounded waiters.
func (b backend) WaitReceipt(ctx context.Context, h crypto.Hash) (*ledger.Receipt, error) {
	return b.n.waiters.wait(ctx, h, func() (*ledger.Receipt, error) { return b.n.store.Receipt(h) })
}

// Account reads an account, after a read-index round when linearizable
// is asked for in Raft mode (PBFT reads are served locally).
func (b backend) Account(ctx context.Context, a crypto.Address, linearizable bool) (ledger.Account, uint64, error) {
	n := b.n
	if linearizable && n.mode == engine.ModeRaft {
		if err := n.linearizableRead(ctx); err != nil {
			return ledger.Account{}, 0, err
		}
	}
	// Read the height first: the account is at least that fresh.
	h := n.store.Height()
	acct, err := n.store.Account(a)
	return acct, h, err
}

// Block reads the block at h.
func (b backend) Block(h uint64) (*ledger.Block, error) { return b.n.store.Block(h) }

// LatestBlock reads the newest block.
func (b backend) LatestBlock() (*ledger.Block, error) { return b.n.store.LatestBlock() }

// SetIsolated turns the p2p host's fault injection on or off.
func (b backend) SetIsolated(on bool) { b.n.host.SetIsolated(on) }

// ChangeMembership changes the Raft voters through the loop and waits
// until the change is applied here.
func (b backend) ChangeMembership(ctx context.Context, add, remove []int) ([]int, error) {
	return b.n.changeMembership(ctx, add, remove)
}

// Status assembles the node's status.
func (b backend) Status() api.Status { return b.n.apiStatus() }

// publishStatus snapshots the engine's status for readers outside the loop
// and updates the gauges. Only the loop (or New, before it runs) calls it.
func (n *Node) publishStatus() {
	st := n.eng.Status()
	n.status.Store(&st)
	if v := n.voters(); v != nil {
		n.votersNow.Store(&v)
	}
	n.m.status(&st)
	n.m.height.Set(float64(n.store.Height()))
	n.m.queueDepth.WithLabelValues("propose").Set(float64(len(n.proposals)))
	n.m.queueDepth.WithLabelValues("verified").Set(float64(len(n.verified)))
	n.m.queueDepth.WithLabelValues("inbound").Set(float64(len(n.host.Inbound())))
	n.m.queueDepth.WithLabelValues("execute").Set(float64(len(n.execQ)))
}

// apiStatus assembles GET /v1/status.
func (n *Node) apiStatus() api.Status {
	st := n.status.Load()
	g := n.home.Genesis
	out := api.Status{
		Name:                 n.name(),
		Validator:            n.index,
		ChainID:              n.chainID,
		Mode:                 n.mode,
		Role:                 st.Role,
		Leader:               st.Leader,
		Height:               n.store.Height(),
		LastStableCheckpoint: st.StableCheckpoint,
		PendingTxs:           st.PendingTxs,
		ViewChanges:          st.ViewChanges,
		Byzantine:            n.cfg.Unsafe.Byzantine,
		Isolated:             n.host.Isolated(),
	}
	if n.mode == engine.ModeRaft {
		out.Term = st.Round
		if v := n.votersNow.Load(); v != nil {
			out.Voters = slices.Clone(*v)
		}
	} else {
		out.View = st.Round
	}
	// The app hash by height is a small read; the latest block may hold
	// a thousand txs.
	if h, err := n.store.AppHash(out.Height); err == nil && len(h) == len(out.AppHash) {
		copy(out.AppHash[:], h)
	}
	for _, p := range n.host.Peers() {
		out.Peers = append(out.Peers, api.PeerStatus{Index: p.Index, Name: g.Validators[p.Index].Name, Connected: p.Connected})
		if p.Connected {
			out.ConnectedPeers++
		}
	}
	return out
}
