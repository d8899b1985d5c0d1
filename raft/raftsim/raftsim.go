// Package raftsim drives the Raft engine through the deterministic
// simulator of internal/sim, so one simulator (network loss, delay,
// duplication, partitions, crashes and torn crashes, the agreement and
// liveness checkers) exercises both engines.
//
// The simulator's state machines take no snapshots, so in simulation the
// engine never compacts its log; snapshot catch-up is covered by the raft
// package's own tests.
package raftsim

import (
	"errors"
	"fmt"
	"log/slog"

	dbm "github.com/cometbft/cometbft-db"

	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/internal/sim"
	"github.com/bftledger/bftledger/raft"
)

// Params are the Raft settings every simulated replica shares; each is the
// raft.Config field of the same name.
type Params struct {
	ElectionTicks, HeartbeatTicks int // ticks
	MaxBatchTxs, MaxBatchBytes    int // one batch (raft entry)
	BatchTimeoutTicks             int // ticks
	MaxPendingTxs                 int // pool bound per replica
}

// Engine is the sim.Engine of Raft replicas.
type Engine struct {
	N      int          // replicas, all voters
	Params Params       // shared settings
	Logger *slog.Logger // replicas' logs; nil discards
}

var _ sim.Engine = (*Engine)(nil)

// Name implements sim.Engine.
func (e *Engine) Name() string { return engine.ModeRaft }

// VerifyProof implements sim.Engine: a Raft block's proof is the term and
// index of its entry (crash faults only: nothing to verify beyond form).
func (e *Engine) VerifyProof(c engine.Committed) error {
	_, _, err := raft.DecodeProof(c.Proof)
	return err
}

// errNoSnapshots: the simulator's machines cannot snapshot.
var errNoSnapshots = errors.New("raftsim: the simulated state machine takes no snapshots")

// noSnapshots is the engine.StateMachine of a simulated replica.
type noSnapshots struct{}

func (noSnapshots) AppHash(uint64) ([]byte, error) { return nil, errNoSnapshots }
func (noSnapshots) Snapshot() (uint64, []byte, []byte, error) {
	return 0, nil, nil, errNoSnapshots
}
func (noSnapshots) Restore(uint64, []byte, []byte) error { return errNoSnapshots }

// NewReplica implements sim.Engine: the replica's database is rebuilt from
// the records it persisted before.
func (e *Engine) NewReplica(id int, state []sim.Record, applied uint64, _ sim.Storage) (sim.Replica, error) {
	db := &recordingDB{DB: dbm.NewMemDB()}
	for _, r := range state {
		if err := db.DB.Set(r.Key, r.Value); err != nil {
			return nil, err
		}
	}
	p := e.Params
	eng, err := raft.New(raft.Config{
		ID: id, N: e.N, DB: db, StateMachine: noSnapshots{}, Applied: applied,
		ElectionTicks: p.ElectionTicks, HeartbeatTicks: p.HeartbeatTicks,
		SnapshotInterval: 1 << 30, MaxBatchTxs: p.MaxBatchTxs, MaxBatchBytes: p.MaxBatchBytes,
		BatchTimeoutTicks: p.BatchTimeoutTicks, MaxPendingTxs: p.MaxPendingTxs, Logger: e.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("raftsim: replica %d: %w", id, err)
	}
	return &replica{e: eng, db: db}, nil
}

// replica adapts a raft.Engine to sim.Replica.
type replica struct {
	e  *raft.Engine
	db *recordingDB
	rd *engine.Ready
}

func (r *replica) Step(from int, frame []byte) error {
	m, err := r.e.Decode(from, frame)
	if err != nil {
		return err
	}
	return r.e.Step(m)
}

func (r *replica) Tick()                            { r.e.Tick() }
func (r *replica) Propose(tx []byte) error          { return r.e.Propose(tx) }
func (r *replica) Applied(h uint64, appHash []byte) { r.e.Applied(h, appHash) }
func (r *replica) HasReady() bool                   { return r.e.HasReady() }
func (r *replica) Status() engine.Status            { return r.e.Status() }

// Ready persists the engine's Ready into the replica's database at once and
// hands the simulator the records written, which it makes durable before
// anything else happens; a crash loses the database and keeps the records.
func (r *replica) Ready() sim.Ready {
	rd := r.e.Ready()
	r.rd = &rd
	if err := r.e.Persist(rd); err != nil {
		panic(fmt.Sprintf("raftsim: persist to an in-memory database: %v", err))
	}
	return sim.Ready{Persist: r.db.take(), Messages: rd.Messages, Committed: rd.Committed}
}

func (r *replica) Advance() {
	if r.rd != nil {
		r.e.Advance(*r.rd)
		r.rd = nil
	}
}

// recordingDB records every write the engine makes, for the simulator.
type recordingDB struct {
	dbm.DB
	records []sim.Record
}

func (d *recordingDB) take() []sim.Record {
	out := d.records
	d.records = nil
	return out
}

func (d *recordingDB) record(k, v []byte) {
	r := sim.Record{Key: append([]byte(nil), k...)}
	if v != nil {
		r.Value = append([]byte{}, v...)
	}
	d.records = append(d.records, r)
}

func (d *recordingDB) Set(k, v []byte) error     { d.record(k, v); return d.DB.Set(k, v) }
func (d *recordingDB) SetSync(k, v []byte) error { d.record(k, v); return d.DB.SetSync(k, v) }
func (d *recordingDB) Delete(k []byte) error     { d.record(k, nil); return d.DB.Delete(k) }
func (d *recordingDB) DeleteSync(k []byte) error { d.record(k, nil); return d.DB.DeleteSync(k) }

func (d *recordingDB) NewBatch() dbm.Batch { return &recordingBatch{db: d, b: d.DB.NewBatch()} }

// recordingBatch records its writes when it is written.
type recordingBatch struct {
	db   *recordingDB
	b    dbm.Batch
	recs [][2][]byte
}

func (b *recordingBatch) Set(k, v []byte) error {
	b.recs = append(b.recs, [2][]byte{append([]byte(nil), k...), append([]byte{}, v...)})
	return b.b.Set(k, v)
}

func (b *recordingBatch) Delete(k []byte) error {
	b.recs = append(b.recs, [2][]byte{append([]byte(nil), k...), nil})
	return b.b.Delete(k)
}

func (b *recordingBatch) commit(write func() error) error {
	if err := write(); err != nil {
		return err
	}
	for _, r := range b.recs {
		b.db.record(r[0], r[1])
	}
	b.recs = nil
	return nil
}

func (b *recordingBatch) Write() error     { return b.commit(b.b.Write) }
func (b *recordingBatch) WriteSync() error { return b.commit(b.b.WriteSync) }
func (b *recordingBatch) Close() error     { return b.b.Close() }
