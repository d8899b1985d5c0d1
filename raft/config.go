package raft

import (
	"fmt"
	"log/slog"

	dbm "github.com/cometbft/cometbft-db"

	"github.com/bftledger/bftledger/engine"
)

// Config configures an Engine. Every field is required unless it says
// otherwise; Validate checks them all.
type Config struct {
	// ID is our validator index in genesis order, 0 <= ID < N. The etcd
	// raft node id is ID+1 (etcd reserves 0 for "none").
	ID int
	// N is the number of validators in genesis; all are voters from the
	// start.
	N int
	// DB holds the raft log, HardState and the latest snapshot. The engine
	// owns every key under the "raft/" prefix; the node passes its
	// consensus database and must not write those keys. The engine does
	// not close it.
	DB dbm.DB
	// StateMachine is the ledger: the engine takes snapshots of it for
	// compaction and restores snapshots received from the leader.
	StateMachine engine.StateMachine
	// Applied is the ledger height at start (Store.Height()). The engine
	// resumes emitting Committed at Applied+1.
	Applied uint64
	// ElectionTicks is etcd raft's ElectionTick: a follower that hears no
	// leader for a randomised [E, 2E) ticks campaigns. Must exceed
	// HeartbeatTicks.
	ElectionTicks int
	// HeartbeatTicks is etcd raft's HeartbeatTick, the leader's heartbeat
	// interval in ticks.
	HeartbeatTicks int
	// SnapshotInterval: take a ledger snapshot and compact the log every
	// this many applied raft entries (genesis params.snapshot_interval).
	SnapshotInterval uint64
	// MaxBatchTxs and MaxBatchBytes bound one batch (one raft entry): at
	// most this many txs and this many tx bytes.
	MaxBatchTxs, MaxBatchBytes int
	// BatchTimeoutTicks: a partial batch waits at most this many ticks
	// while earlier batches of this node are still uncommitted.
	BatchTimeoutTicks int
	// MaxPendingTxs bounds the txs accepted by Propose and not yet
	// committed; beyond it Propose returns engine.ErrPoolFull.
	MaxPendingTxs int
	// Logger receives the engine's and etcd raft's logs; nil discards.
	Logger *slog.Logger
}

// Validate checks every field against its bounds.
func (c *Config) Validate() error {
	checks := []struct {
		ok   bool
		what string
	}{
		{c.N >= 1 && c.N <= ValidatorsMax, fmt.Sprintf("N = %d, want 1..%d", c.N, ValidatorsMax)},
		{c.ID >= 0 && c.ID < c.N, fmt.Sprintf("ID = %d, want 0..%d", c.ID, c.N-1)},
		{c.DB != nil, "DB is nil"},
		{c.StateMachine != nil, "StateMachine is nil"},
		{c.HeartbeatTicks >= heartbeatTicksMin && c.HeartbeatTicks < c.ElectionTicks,
			fmt.Sprintf("HeartbeatTicks = %d, want %d..ElectionTicks-1", c.HeartbeatTicks, heartbeatTicksMin)},
		{c.ElectionTicks <= electionTicksMax, fmt.Sprintf("ElectionTicks = %d, want <= %d", c.ElectionTicks, electionTicksMax)},
		{c.SnapshotInterval >= 1, "SnapshotInterval = 0, want >= 1"},
		{c.MaxBatchTxs >= 1 && c.MaxBatchTxs <= BatchTxsMax,
			fmt.Sprintf("MaxBatchTxs = %d, want 1..%d", c.MaxBatchTxs, BatchTxsMax)},
		{c.MaxBatchBytes >= 1 && c.MaxBatchBytes <= BatchBytesMax,
			fmt.Sprintf("MaxBatchBytes = %d, want 1..%d", c.MaxBatchBytes, BatchBytesMax)},
		{c.BatchTimeoutTicks >= 1 && c.BatchTimeoutTicks <= batchTimeoutTicksMax,
			fmt.Sprintf("BatchTimeoutTicks = %d, want 1..%d", c.BatchTimeoutTicks, batchTimeoutTicksMax)},
		{c.MaxPendingTxs >= 1 && c.MaxPendingTxs <= PendingTxsMax,
			fmt.Sprintf("MaxPendingTxs = %d, want 1..%d", c.MaxPendingTxs, PendingTxsMax)},
	}
	for _, ch := range checks {
		if !ch.ok {
			return fmt.Errorf("%s: %w", ch.what, ErrConfig)
		}
	}
	return nil
}
