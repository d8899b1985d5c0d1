package node

import (
	"context"
	"fmt"

	"github.com/bftledger/bftledger/api"
	"github.com/bftledger/bftledger/raft"
)

// readQueueLen bounds the linearizable reads waiting for the loop.
const readQueueLen = 1024

// readRequest is one linearizable read waiting for the loop: done receives
// nil once the ledger has applied everything committed before the read
// began, or the error that prevented it.
type readRequest struct {
	done chan error
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
		BatchTimeoutTicks: n.cfg.Consensus.BatchTimeoutTicks,
		MaxPendingTxs:     n.cfg.Consensus.MaxPendingTxs,
		Logger:            n.log.With("component", "raft"),
	})
	if err != nil {
		return fmt.Errorf("node: raft: %w", err)
	}
	n.eng = e
	n.log.Info("raft engine", "applied", n.store.Height(), "n", len(g.Validators))
	return nil
}

// linearizableRead returns once a read started now may be served from the
// local ledger without missing a write committed before it.
func (n *Node) linearizableRead(ctx context.Context) error {
	r := &readRequest{done: make(chan error, 1)}
	select {
	case n.reads <- r:
	default:
		return api.ErrBusy
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-n.done:
		return fmt.Errorf("%w: %w", api.ErrUnavailable, ErrStopped)
	}
}

// startRead begins a linearizable read in the loop.
func (n *Node) startRead(r *readRequest) {
	r.done <- fmt.Errorf("%w: linearizable reads are not supported by this engine yet", api.ErrUnavailable)
}
