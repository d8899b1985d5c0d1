package node

import (
	"context"
	"runtime"

	"golang.org/x/sync/errgroup"

	"github.com/bftledger/bftledger/p2p"
)

// verifyJob is one inbound frame on its way through the verify pool.
type verifyJob struct {
	frame p2p.Frame
	msg   any           // set by a worker
	err   error         // set by a worker
	done  chan struct{} // closed by the worker
}

// startVerify starts the verify pipeline under g: a dispatcher reading the
// p2p inbound channel, workers decoding and verifying frames in parallel
// (signatures included, via Engine.Decode), and one collector per sending
// peer handing that peer's results to the loop in the order the peer sent
// them. Peers do not wait on each other: a large batch from one peer (its
// txs checked one by one) does not hold back the small votes of the
// others. Every queue is bounded: when the loop falls behind, the
// collectors block, then the workers, then the dispatcher, and finally the
// p2p readers, and TCP pushes back on peers.
func (n *Node) startVerify(g *errgroup.Group, ctx context.Context) {
	workers := min(max(runtime.GOMAXPROCS(0), 1), verifyWorkersMax)
	jobs := make(chan *verifyJob, verifyQueueLen)
	orders := make(map[int]chan *verifyJob) // per peer; dispatcher-owned
	g.Go(func() error {
		defer close(jobs)
		defer func() {
			for _, order := range orders {
				close(order)
			}
		}()
		in := n.host.Inbound()
		for {
			select {
			case <-ctx.Done():
				return nil
			case f, ok := <-in:
				if !ok {
					return nil
				}
				order, ok := orders[f.From]
				if !ok {
					order = make(chan *verifyJob, verifyPeerQueueLen)
					orders[f.From] = order
					g.Go(func() error { return n.collectVerified(ctx, order) })
				}
				j := &verifyJob{frame: f, done: make(chan struct{})}
				select { // order first: the collector must see every job
				case order <- j:
				case <-ctx.Done():
					return nil
				}
				select {
				case jobs <- j:
				case <-ctx.Done():
					return nil
				}
			}
		}
	})
	for range workers {
		g.Go(func() error {
			for j := range jobs {
				j.msg, j.err = n.eng.Decode(j.frame.From, j.frame.Data)
				close(j.done)
			}
			return nil
		})
	}
}

// collectVerified hands one peer's verified messages to the loop in the
// order they arrived, dropping (and counting) invalid ones.
func (n *Node) collectVerified(ctx context.Context, order <-chan *verifyJob) error {
	for j := range order {
		select {
		case <-j.done:
		case <-ctx.Done():
			return nil
		}
		if j.err != nil {
			n.m.invalidMessage()
			n.log.Debug("dropping invalid message", "peer", j.frame.From, "bytes", len(j.frame.Data), "err", j.err)
			continue
		}
		select {
		case n.verified <- j.msg:
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}
