package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// pool holds every sender account's pre-signed transfers and hands out the
// next one of an account only after its previous one committed. That keeps
// each sender's nonces in order whichever node a tx goes to and however the
// nodes reorder their pools, so no transfer fails for a nonce gap and the
// committed figure counts only successful transfers.
//
// Invariant: an account is in exactly one of the states below; in stateReady
// it appears exactly once in ready, so ready (capacity = accounts) never
// blocks a sender.
type pool struct {
	mu    sync.Mutex
	accts []account
	ready chan int // accounts whose next tx may be sent

	startNonce  uint64
	sampleEvery uint64
	releases    uint64       // first releases so far, under mu: decides sampling
	signed      atomic.Int64 // transfers signed so far
}

type accountState uint8

const (
	stateReady     accountState = iota // in ready
	stateTaken                         // handed to a sender, in flight or about to be
	stateExhausted                     // no signed tx left; ensure() revives it
	stateDead                          // a node refused its tx for good
)

type account struct {
	txs     []Tx // txs[i] carries nonce startNonce+i
	ids     []string
	next    int       // index of the tx to send next (== committed count)
	firstAt time.Time // when txs[next] was first released; zero before
	sample  bool      // txs[next] is a latency sample
	state   accountState
}

func newPool(accounts int, startNonce uint64, sampleEvery int) *pool {
	p := &pool{
		accts:       make([]account, accounts),
		ready:       make(chan int, accounts),
		startNonce:  startNonce,
		sampleEvery: uint64(sampleEvery),
	}
	for i := range p.accts {
		p.accts[i].state = stateExhausted
	}
	return p
}

// item is one tx handed to a sender.
type item struct {
	acct    int
	tx      *Tx
	id      string    // hex hash
	firstAt time.Time // first release of this tx: latency counts from here
	first   bool      // this is the tx's first release (not a retry)
	sample  bool      // measure this tx's receipt latency
}

// take returns the next ready account's tx without blocking; ok is false
// when no account is ready.
func (p *pool) take(now time.Time) (it item, ok bool) {
	select {
	case a := <-p.ready:
		return p.itemOf(a, now), true
	default:
		return item{}, false
	}
}

// takeWait is take that waits for a ready account until ctx is done.
func (p *pool) takeWait(ctx context.Context) (item, bool) {
	select {
	case a := <-p.ready:
		return p.itemOf(a, time.Now()), true
	case <-ctx.Done():
		return item{}, false
	}
}

func (p *pool) itemOf(a int, now time.Time) item {
	p.mu.Lock()
	defer p.mu.Unlock()
	ac := &p.accts[a]
	ac.state = stateTaken
	first := ac.firstAt.IsZero()
	if first {
		// Every sampleEvery-th release in release order is a sample, and
		// stays one across retries of the same tx.
		ac.firstAt = now
		p.releases++
		ac.sample = p.releases%p.sampleEvery == 0
	}
	return item{acct: a, tx: &ac.txs[ac.next], id: ac.ids[ac.next], firstAt: ac.firstAt, first: first, sample: ac.sample}
}

// committed moves account a past its committed tx.
func (p *pool) committed(a int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ac := &p.accts[a]
	ac.next++
	ac.firstAt, ac.sample = time.Time{}, false
	if ac.next < len(ac.txs) {
		ac.state = stateReady
		p.ready <- a
		return
	}
	ac.state = stateExhausted
}

// retry makes account a's current tx available again (it was not accepted).
func (p *pool) retry(a int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.accts[a].state = stateReady
	p.ready <- a
}

// kill retires account a: a node refused its tx for a reason retrying
// cannot fix, and its later nonces could never commit.
func (p *pool) kill(a int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.accts[a].state = stateDead
}

// unsent returns how many signed txs are not yet committed, over live
// accounts.
func (p *pool) unsent() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for i := range p.accts {
		if p.accts[i].state != stateDead {
			n += len(p.accts[i].txs) - p.accts[i].next
		}
	}
	return n
}

// ensure signs transfers until at least total unsent ones are available,
// spread evenly over the accounts, on all cores. Exhausted accounts come
// back into rotation. It returns how many it signed.
func (p *pool) ensure(ctx context.Context, total int, sign SignFunc) (int, error) {
	k := len(p.accts)
	per := (total + k - 1) / k
	if int(p.signed.Load())+per*k > SignedTxsMax {
		return 0, fmt.Errorf("%w: %d more transfers would exceed %d signed; lower the rate or duration", ErrConfig, per*k, SignedTxsMax)
	}
	// Work out each account's gap under the lock, sign outside it: senders
	// only ever read txs[next], which signing does not touch.
	jobs := make([]signJob, 0, k)
	p.mu.Lock()
	for a := range p.accts {
		ac := &p.accts[a]
		if ac.state == stateDead {
			continue
		}
		if have := len(ac.txs) - ac.next; have < per {
			jobs = append(jobs, signJob{acct: a, nonce: p.startNonce + uint64(len(ac.txs)), count: per - have})
		}
	}
	p.mu.Unlock()

	out, err := signJobs(ctx, jobs, sign)
	if err != nil {
		return 0, err
	}

	signed := 0
	p.mu.Lock()
	defer p.mu.Unlock()
	for j, jb := range jobs {
		ac := &p.accts[jb.acct]
		ac.txs = append(ac.txs, out[j]...)
		for i := range out[j] {
			ac.ids = append(ac.ids, out[j][i].Hash.String())
		}
		signed += len(out[j])
		if ac.state == stateExhausted && ac.next < len(ac.txs) {
			ac.state = stateReady
			p.ready <- jb.acct
		}
	}
	p.signed.Add(int64(signed))
	return signed, nil
}

// setSampleEvery changes how often released txs are sampled.
func (p *pool) setSampleEvery(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sampleEvery = uint64(max(n, 1))
}

// exhausted returns how many accounts have no signed tx left.
func (p *pool) exhausted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for i := range p.accts {
		if p.accts[i].state == stateExhausted {
			n++
		}
	}
	return n
}

// signJob is count transfers of one account from nonce on.
type signJob struct {
	acct  int
	nonce uint64
	count int
}

// signJobs signs every job on all cores; out[j] holds job j's transfers.
func signJobs(ctx context.Context, jobs []signJob, sign SignFunc) ([][]Tx, error) {
	out := make([][]Tx, len(jobs))
	var cursor atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for range runtime.GOMAXPROCS(0) {
		g.Go(func() error {
			for {
				j := int(cursor.Add(1)) - 1
				if j >= len(jobs) || gctx.Err() != nil {
					return gctx.Err()
				}
				txs := make([]Tx, jobs[j].count)
				for i := range txs {
					nonce := jobs[j].nonce + uint64(i)
					tx, err := sign(jobs[j].acct, nonce)
					if err != nil {
						return fmt.Errorf("bench: sign account %d nonce %d: %w", jobs[j].acct, nonce, err)
					}
					if len(tx.Hex) == 0 || len(tx.Hex)%2 != 0 {
						return fmt.Errorf("%w: sign account %d nonce %d: empty or odd-length hex", ErrConfig, jobs[j].acct, nonce)
					}
					txs[i] = tx
				}
				out[j] = txs
			}
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}
