package node

import (
	"context"
	"fmt"
	"time"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/ledger"
)

// proposal carries admitted txs from the API to the loop, which answers
// each with the engine's verdict.
type proposal struct {
	txs    [][]byte
	hashes []crypto.Hash
	errs   []error       // set by the loop, one per tx
	done   chan struct{} // closed by the loop once errs is set
}

// proposeDrainMax bounds the proposals the loop takes in one turn before it
// lets Ready run, so a flood of clients cannot starve the engine's output.
const proposeDrainMax = 256

// runLoop is the consensus loop: the only goroutine that touches the
// engine (and, in Raft mode, the only one that writes the ledger; in PBFT
// mode the executor does). It returns nil when ctx ends, and an error
// wrapping ErrStorage on a storage failure.
func (n *Node) runLoop(ctx context.Context) error {
	ticker := time.NewTicker(n.cfg.Consensus.TickInterval)
	defer ticker.Stop()
	defer n.failPending()
	defer n.failMembership()
	if err := n.handleReady(ctx); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			n.eng.Tick()
			n.publishStatus()
			if len(n.pendingReads) > 0 {
				n.expireReads(time.Now())
			}
			n.checkMembership(time.Now())
		case msg := <-n.verified:
			n.step(msg)
		drainMsgs: // take what is queued, then let Ready batch its output
			for range proposeDrainMax {
				select {
				case msg = <-n.verified:
					n.step(msg)
				default:
					break drainMsgs
				}
			}
		case p := <-n.proposals:
			n.propose(p)
		drainProposals:
			for range proposeDrainMax {
				select {
				case p = <-n.proposals:
					n.propose(p)
				default:
					break drainProposals
				}
			}
		case r := <-n.reads:
			n.startRead(r)
		case r := <-n.members:
			n.startMembership(r)
		case a := <-n.execDone:
			n.eng.Applied(a.height, a.appHash)
		}
		if err := n.handleReady(ctx); err != nil {
			return err
		}
		if n.pendingMember != nil {
			n.checkMembership(time.Now())
		}
	}
}

// step feeds one verified message to the engine. Errors are the peer's
// problem (stale, duplicate or out-of-window messages), not ours.
func (n *Node) step(msg any) {
	n.m.inbound(n.kindOf(msg))
	if err := n.eng.Step(msg); err != nil {
		n.log.Debug("step refused", "err", err)
	}
}

// propose hands the txs of p to the engine and answers p.
func (n *Node) propose(p *proposal) {
	now := time.Now()
	p.errs = make([]error, len(p.txs))
	for i, tx := range p.txs {
		err := n.eng.Propose(tx)
		p.errs[i] = err
		if err == nil {
			n.m.trackProposal(p.hashes[i], now)
		}
	}
	close(p.done)
}

// failPending answers the proposals still queued when the loop exits.
func (n *Node) failPending() {
	for {
		select {
		case p := <-n.proposals:
			p.errs = make([]error, len(p.txs))
			for i := range p.errs {
				p.errs[i] = ErrStopped
			}
			close(p.done)
		default:
			return
		}
	}
}

// handleReady does what the engine's Ready asks, in the order that keeps
// the crash-recovery promises: persist (synced) before any message leaves,
// then send, then apply the committed batches to the ledger (or queue them
// for the executor) and report each app hash, then Advance.
func (n *Node) handleReady(ctx context.Context) error {
	for n.eng.HasReady() {
		rd := n.eng.Ready()
		t0 := time.Now()
		if err := n.eng.Persist(rd); err != nil {
			return fmt.Errorf("%w: persist consensus state: %w", ErrStorage, err)
		}
		t1 := time.Now()
		n.send(rd.Messages)
		for _, c := range rd.Committed {
			if err := n.apply(ctx, c); err != nil {
				return err
			}
		}
		n.eng.Advance(rd)
		n.log.Debug("ready", "msgs", len(rd.Messages), "committed", len(rd.Committed),
			"persist", t1.Sub(t0), "apply", time.Since(t1))
		n.finishReads()
	}
	return nil
}

// send hands rd's messages to the transport, which drops (and counts) what
// its queues cannot hold; the engines retransmit.
func (n *Node) send(msgs []engine.Outbound) {
	if n.mode == engine.ModeRaft { // the PBFT adapter counts by kind as it encodes
		for range msgs {
			n.m.outbound(engine.ModeRaft)
		}
	}
	for _, m := range msgs {
		if m.To == engine.Broadcast {
			n.out.Broadcast(m.Data)
		} else if m.To != n.index {
			n.out.Send(m.To, m.Data)
		}
	}
}

// applyBlock executes one committed batch on the ledger and wakes the
// clients waiting for its receipts. It returns nil, nil for a batch at or
// below the ledger height: one applied before a restart, or covered by a
// snapshot restore.
func (n *Node) applyBlock(c engine.Committed) (*ledger.Block, error) {
	if h := n.store.Height(); c.Height <= h {
		n.log.Debug("skipping applied batch", "height", c.Height, "ledger_height", h)
		return nil, nil
	} else if c.Height != h+1 {
		return nil, fmt.Errorf("%w: engine committed height %d after ledger height %d", ErrStorage, c.Height, h)
	}
	block, receipts, err := n.store.Apply(c)
	if err != nil {
		return nil, fmt.Errorf("%w: apply height %d: %w", ErrStorage, c.Height, err)
	}
	now := time.Now()
	for i := range receipts {
		n.m.observeCommit(receipts[i].TxHash, now)
	}
	n.waiters.notify(receipts)
	n.m.committed(block.Height, len(receipts))
	return block, nil
}

// apply hands one committed batch to the executor (PBFT), or applies it
// here and reports its app hash at once (Raft, whose Persist and Advance
// need the ledger caught up).
func (n *Node) apply(ctx context.Context, c engine.Committed) error {
	if n.execQ == nil {
		block, err := n.applyBlock(c)
		if err == nil && block != nil {
			n.eng.Applied(block.Height, block.AppHash[:])
		}
		return err
	}
	for {
		select {
		case n.execQ <- c:
			return nil
		case a := <-n.execDone: // keep the executor moving while we wait
			n.eng.Applied(a.height, a.appHash)
		case <-ctx.Done():
			return nil // shutting down; a restart re-delivers what was not applied
		}
	}
}

// appliedBlock is a block the executor has applied, for the loop to report
// to the engine.
type appliedBlock struct {
	height  uint64
	appHash []byte
}

// runExecutor applies the committed batches the loop queues, in order, so
// that consensus on later batches overlaps their execution. It reports each
// app hash back to the loop, and returns an error wrapping ErrStorage on a
// storage failure.
func (n *Node) runExecutor(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case c := <-n.execQ:
			block, err := n.applyBlock(c)
			if err != nil {
				return err
			}
			if block == nil {
				continue
			}
			select {
			case n.execDone <- appliedBlock{height: block.Height, appHash: block.AppHash[:]}:
			case <-ctx.Done():
				return nil
			}
		}
	}
}
