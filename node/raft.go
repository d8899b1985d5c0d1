package node

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/bftledger/bftledger/api"
	"github.com/bftledger/bftledger/raft"
)

// readQueueLen bounds the linearizable reads waiting for the loop.
const readQueueLen = 1024

// readRequest is one linearizable read waiting for the loop: done receives
// nil once the ledger has applied everything committed before the read
// began, or the error that prevented it.
type readRequest struct {
	done    chan error // buffered: the loop never blocks on it
	started time.Time
}

// newRaft builds the Raft engine from genesis and config. It keeps its log
// and hard state in the consensus database.
func (n *Node) newRaft() error {
	g := n.home.Genesis
	e, err := raft.New(raft.Config{
		ID:                n.index,
		N:                 len(g.Validators),
		DB:                n.consDB,
		StateMachine:      n.store,
		Applied:           n.store.Height(),
		ElectionTicks:     n.cfg.Consensus.ElectionTicks,
		HeartbeatTicks:    n.cfg.Consensus.HeartbeatTicks,
		SnapshotInterval:  g.Params.SnapshotInterval,
		MaxBatchTxs:       g.Params.MaxBatchTxs,
		MaxBatchBytes:     g.Params.MaxBatchBytes,
		BatchTimeoutTicks: max(n.cfg.Consensus.BatchTimeoutTicks, 1),
		MaxPendingTxs:     n.cfg.Consensus.MaxPendingTxs,
		Logger:            n.baseLog.With("component", "raft"),
	})
	if err != nil {
		return fmt.Errorf("node: raft: %w", err)
	}
	n.eng = e
	n.log.Info("raft engine", "applied", n.store.Height(), "n", len(g.Validators))
	return nil
}

// reader is implemented by engines that serve linearizable reads (Raft):
// ReadIndex starts a read identified by rctx, and ReadyReads, called after
// each Advance, returns the contexts of the reads the ledger has caught up
// with.
type reader interface {
	ReadIndex(rctx []byte) error
	ReadyReads() [][]byte
}

// readTimeout bounds one linearizable read: a read lost to a leader change
// never completes, and the client retries after a 503.
const readTimeout = 2 * time.Second

// linearizableRead returns once a read started now may be served from the
// local ledger without missing a write committed before it.
func (n *Node) linearizableRead(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	r := &readRequest{done: make(chan error, 1), started: time.Now()}
	select {
	case n.reads <- r:
	default:
		return api.ErrBusy
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%w: read index not confirmed in time: %w", api.ErrUnavailable, ctx.Err())
	case <-n.done:
		return fmt.Errorf("%w: %w", api.ErrUnavailable, ErrStopped)
	}
}

// startRead begins a linearizable read in the loop.
func (n *Node) startRead(r *readRequest) {
	rd, ok := n.eng.(reader)
	if !ok {
		r.done <- fmt.Errorf("%w: the %s engine has no linearizable reads", api.ErrUnavailable, n.mode)
		return
	}
	if len(n.pendingReads) >= readQueueLen {
		r.done <- api.ErrBusy
		return
	}
	n.readSeq++
	var rctx [8]byte
	binary.BigEndian.PutUint64(rctx[:], n.readSeq)
	if err := rd.ReadIndex(rctx[:]); err != nil {
		r.done <- fmt.Errorf("%w: %w", api.ErrBusy, err)
		return
	}
	n.pendingReads[n.readSeq] = r
}

// finishReads answers the reads the engine reports safe, and forgets those
// older than readTimeout (their clients gave up). Loop only.
func (n *Node) finishReads() {
	rd, ok := n.eng.(reader)
	if !ok {
		return
	}
	for _, rctx := range rd.ReadyReads() {
		if len(rctx) != 8 {
			continue
		}
		id := binary.BigEndian.Uint64(rctx)
		if r, ok := n.pendingReads[id]; ok {
			r.done <- nil
			delete(n.pendingReads, id)
		}
	}
}

// expireReads drops reads whose clients have given up. Loop only.
func (n *Node) expireReads(now time.Time) {
	for id, r := range n.pendingReads {
		if now.Sub(r.started) > readTimeout {
			delete(n.pendingReads, id)
		}
	}
}
