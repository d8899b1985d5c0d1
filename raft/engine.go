package raft

import (
	"fmt"
	"log/slog"

	"google.golang.org/protobuf/proto"

	etcdraft "go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
)

// Engine is the Raft consensus engine: etcd raft's RawNode behind the
// engine.Engine interface. Like RawNode it is single threaded: apart from
// Decode, call its methods from one goroutine.
type Engine struct {
	cfg  Config
	log  *slog.Logger
	id   uint64 // etcd raft id: cfg.ID + 1
	rn   *etcdraft.RawNode
	st   *store
	pool *pool
	// recent filters txs a leader need not order again.
	recent *recentTxs
	cs     *pb.ConfState // current configuration, recorded in our snapshots

	// height is the last block height handed out in Committed (or
	// restored from a snapshot); the next data entry becomes height+1.
	height uint64
	// confIndex is the index of the last conf change entry seen in our
	// log; a change is pending while it is above appliedIndex.
	confIndex uint64
	// resumeHeight: after a restart, raft hands out again the entries
	// from the first conf change after the snapshot (so that it is applied
	// again); their blocks up to this height the ledger already has.
	resumeHeight uint64
	// appliedIndex is the raft index the ledger has applied through:
	// the last committed entry of the last Ready advanced (or the
	// restored snapshot).
	appliedIndex uint64
	// appliedHeight is the last height the node reported via Applied.
	appliedHeight uint64
	// snapIndex and snapHeight locate the latest snapshot.
	snapIndex, snapHeight uint64
	// snapRetryIndex: after a snapshot failed (ledger error, too large),
	// the next attempt waits until this index is applied, so a failing
	// snapshot costs once per SnapshotInterval entries, not once per Ready.
	snapRetryIndex uint64
	// snapForce asks for a snapshot at the next chance, interval or not:
	// the configuration changed, and a node added back must not be sent a
	// snapshot whose configuration leaves it out (raft would ignore it).
	snapForce bool

	lead          uint64 // etcd raft id of the leader, 0 if unknown
	state         etcdraft.StateType
	leaderChanges uint64

	cur *readyState // the Ready handed out and not yet advanced

	// reads are read requests whose read index is known, in arrival
	// order; readyReads are those the ledger has caught up with.
	reads      []etcdraft.ReadState
	readyReads [][]byte

	// err is the first storage error; the engine is dead after it.
	err error
}

// readyState is the Ready between Ready() and Advance().
type readyState struct {
	raw etcdraft.Ready
	out engine.Ready
	// snapTo are the peers (etcd ids) we send a MsgSnap in this Ready.
	snapTo []uint64
}

// persistWork is the engine-private part of a Ready (engine.Ready.Persist).
type persistWork struct {
	hs      *pb.HardState // nil if unchanged
	entries []*pb.Entry
	snap    *pb.Snapshot // nil unless a snapshot arrived from the leader
	payload snapshotPayload
	sync    bool
}

// New opens the engine on cfg.DB: a fresh database bootstraps a group of
// cfg.N voters; otherwise the stored log, HardState and snapshot are loaded
// and the engine resumes after the ledger height cfg.Applied. If the ledger
// is behind the stored snapshot (a crash between storing a received
// snapshot and restoring the ledger), New restores the ledger from it.
//
// Errors: ErrConfig, ErrCorrupt (stored state inconsistent, or the ledger
// is ahead of the raft log), or a database or StateMachine.Restore error.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("node", cfg.ID)
	e := &Engine{
		cfg:    cfg,
		log:    log,
		id:     uint64(cfg.ID) + 1,
		pool:   newPool(&cfg, uint64(reproposeElections*2*cfg.ElectionTicks)),
		recent: newRecentTxs(),
		cs:     &pb.ConfState{},
	}
	for i := 1; i <= cfg.N; i++ {
		e.cs.Voters = append(e.cs.Voters, uint64(i))
	}
	e.st = &store{db: cfg.DB, mem: etcdraft.NewMemoryStorage(), cs: e.cs}
	l, err := e.st.load()
	if err != nil {
		return nil, err
	}
	if err := e.recover(l); err != nil {
		return nil, err
	}
	rn, err := etcdraft.NewRawNode(&etcdraft.Config{
		ID:                        e.id,
		ElectionTick:              cfg.ElectionTicks,
		HeartbeatTick:             cfg.HeartbeatTicks,
		Storage:                   e.st,
		Applied:                   e.appliedIndex,
		MaxSizePerMsg:             maxSizePerMsg,
		MaxCommittedSizePerReady:  maxCommittedBytesPerReady,
		MaxUncommittedEntriesSize: maxUncommittedBytes,
		MaxInflightMsgs:           maxInflightMsgs,
		CheckQuorum:               true,
		PreVote:                   true,
		// A leader that commits its own removal steps down instead of
		// staying leader of a group it is no longer in (and dropping every
		// proposal until restarted).
		StepDownOnRemoval: true,
		ReadOnlyOption:    etcdraft.ReadOnlySafe,
		Logger:            raftLogger{l: log},
	})
	if err != nil {
		return nil, fmt.Errorf("raft: %w", err)
	}
	e.rn = rn
	bs := rn.BasicStatus()
	e.lead, e.state = bs.Lead, bs.RaftState
	log.Info("raft engine started", "term", bs.HardState.GetTerm(), "commit", bs.HardState.GetCommit(),
		"applied_index", e.appliedIndex, "height", e.height, "snapshot_index", e.snapIndex)
	return e, nil
}

// recover reconciles the loaded raft state with the ledger height: it
// restores the ledger from the stored snapshot if the ledger is behind it,
// then finds the raft index of the ledger's height by counting the data
// entries after the snapshot.
func (e *Engine) recover(l loaded) error {
	snapIndex := l.snap.GetMetadata().GetIndex()
	var p snapshotPayload
	if l.snap != nil {
		p, _ = decodeSnapshot(l.snap.GetData()) // checked by load
		if cs := l.snap.GetMetadata().GetConfState(); len(cs.GetVoters()) > 0 {
			e.cs = proto.Clone(cs).(*pb.ConfState)
		}
	}
	applied := e.cfg.Applied
	if applied < p.height {
		e.log.Warn("ledger behind the stored raft snapshot: restoring it",
			"ledger_height", applied, "snapshot_height", p.height)
		if err := e.cfg.StateMachine.Restore(p.height, p.appHash, p.state); err != nil {
			return fmt.Errorf("raft: restore ledger to snapshot height %d: %w", p.height, err)
		}
		applied = p.height
	}
	e.snapIndex, e.snapHeight = snapIndex, p.height
	e.height, e.appliedHeight = p.height, p.height
	e.appliedIndex = snapIndex
	// ccIndex is the first conf change after the snapshot that the ledger
	// height shows applied, ccHeight the height before it.
	var ccIndex, ccHeight uint64
	for _, ent := range l.entries {
		if e.height == applied {
			break
		}
		if ent.GetType() != pb.EntryNormal {
			if ccIndex == 0 {
				ccIndex, ccHeight = ent.GetIndex(), e.height
			}
			continue
		}
		if len(ent.GetData()) == 0 {
			continue
		}
		e.height++
		e.appliedIndex = ent.GetIndex()
	}
	if e.height != applied {
		return fmt.Errorf("ledger height %d but the raft log holds only up to height %d: %w",
			applied, e.height, ErrCorrupt)
	}
	e.appliedHeight = applied
	// The ledger applies only committed entries, so every entry it applied
	// is committed even if the HardState recording that was not synced
	// (raft syncs entries and votes, not commit-only updates).
	if commit := l.hs.GetCommit(); e.appliedIndex > commit {
		hs := &pb.HardState{Term: new(l.hs.GetTerm()), Vote: new(l.hs.GetVote()), Commit: new(e.appliedIndex)}
		if err := e.st.mem.SetHardState(hs); err != nil {
			return err
		}
		e.log.Info("commit index raised to the ledger's", "stored_commit", commit, "applied_index", e.appliedIndex)
	}
	if ccIndex != 0 {
		// Raft starts from the configuration of the snapshot (or genesis)
		// and learns later ones only by applying them: have it hand out
		// the entries again from the first conf change; the blocks among
		// them the ledger has are not emitted again.
		e.resumeHeight = applied
		e.height, e.appliedIndex = ccHeight, ccIndex-1
	}
	return nil
}

// Decode parses a frame from validator from: an encoded raftpb.Message of
// at most MsgBytesMax bytes, which must claim to come from from and be
// addressed to us (the transport authenticated the peer), be of a type
// peers exchange, and carry well-formed entries or snapshot. It is safe for
// concurrent use. Errors wrap ErrBadMessage, ErrBadEntry or ErrBadSnapshot.
func (e *Engine) Decode(from int, frame []byte) (any, error) {
	m, err := decodeMessage(from, e.cfg.ID, e.cfg.N, frame)
	if err != nil {
		return nil, fmt.Errorf("from validator %d: %w", from, err)
	}
	return inbound{m: m}, nil
}

// Step feeds a message returned by Decode to raft. It returns
// ErrNotDecoded for anything else, and etcd raft's errors (a proposal
// forwarded to us while we know no leader, a response from a removed peer),
// which the node may log and otherwise ignore.
func (e *Engine) Step(msg any) error {
	in, ok := msg.(inbound)
	if !ok {
		return ErrNotDecoded
	}
	var appended []crypto.Hash
	var term uint64
	if in.m.GetType() == pb.MsgProp {
		if err := e.checkProposedConfChanges(in.m); err != nil {
			return fmt.Errorf("raft: proposal from %d: %w", in.m.GetFrom()-1, err)
		}
		var keep bool
		if keep, appended, term = e.filterProposal(in.m); !keep {
			return nil // every tx in it is already ordered
		}
	}
	if err := e.rn.Step(in.m); err != nil {
		return fmt.Errorf("raft: step %v from %d: %w", in.m.GetType(), in.m.GetFrom()-1, err)
	}
	for _, h := range appended {
		e.recent.appended(h, term)
	}
	return nil
}

// filterProposal, on a leader, removes from a forwarded proposal the txs
// it knows are committed or already appended in its term. It reports
// whether anything is left to step, and the hashes of the txs left, which
// the caller records as appended in term once raft took them.
func (e *Engine) filterProposal(m *pb.Message) (keep bool, hashes []crypto.Hash, term uint64) {
	bs := e.rn.BasicStatus()
	if bs.RaftState != etcdraft.StateLeader {
		return true, nil, 0 // raft forwards it, or drops it
	}
	term = bs.HardState.GetTerm()
	ents := m.Entries[:0]
	for _, ent := range m.Entries {
		if ent.GetType() != pb.EntryNormal {
			ents = append(ents, ent) // a conf change
			continue
		}
		b, err := decodeBatch(ent.GetData(), e.cfg.N)
		if err != nil {
			continue // Decode checked it
		}
		left := b.txs[:0]
		for _, tx := range b.txs {
			h := crypto.Sum(tx)
			if seen, _ := e.recent.seen(h, term); !seen {
				left = append(left, tx)
				hashes = append(hashes, h)
			}
		}
		switch {
		case len(left) == 0:
			continue
		case len(left) < len(b.txs):
			ent = &pb.Entry{Data: encodeBatch(b.proposer, left)}
		}
		ents = append(ents, ent)
	}
	clear(m.Entries[len(ents):])
	m.Entries = ents
	return len(ents) > 0, hashes, term
}

// Propose accepts a tx that passed admission into the pending pool; the
// engine cuts pending txs into batches (one raft entry each) and proposes
// them: a leader appends them, a follower forwards them to the leader. It
// returns ErrTxTooLarge, engine.ErrNotReady when no leader is known,
// engine.ErrDuplicate when the same tx is already pending and
// engine.ErrPoolFull when Config.MaxPendingTxs txs are pending. The engine
// keeps tx (the caller must not modify it).
func (e *Engine) Propose(tx []byte) error {
	if e.err != nil {
		return e.err
	}
	if len(tx) == 0 || len(tx) > e.cfg.MaxBatchBytes {
		return fmt.Errorf("%d bytes, limit %d: %w", len(tx), e.cfg.MaxBatchBytes, ErrTxTooLarge)
	}
	if e.leader() == etcdraft.None {
		return engine.ErrNotReady
	}
	h := crypto.Sum(tx)
	if e.pool.has(h) {
		return engine.ErrDuplicate
	}
	if e.pool.full() {
		return engine.ErrPoolFull
	}
	e.pool.add(tx, h)
	e.proposeBatches()
	return nil
}

// proposeBatches cuts and proposes batches while the pool says so. A batch
// raft refuses (no leader, too much uncommitted) goes back to the queue.
// Txs known committed leave the pool; a leader leaves out txs it already
// appended in its term (they stay pending until seen committed).
func (e *Engine) proposeBatches() {
	if !e.pool.shouldCut() {
		return
	}
	bs := e.rn.BasicStatus()
	lead, term := bs.Lead, bs.HardState.GetTerm()
	if bs.RaftState != etcdraft.StateLeader {
		term = 0 // only a leader's own appends count
	}
	for lead != etcdraft.None && e.pool.shouldCut() {
		b := e.pool.cut()
		if len(b.txs) == 0 {
			return
		}
		txs := make([][]byte, 0, len(b.txs))
		for _, ptx := range b.txs {
			seen, committed := e.recent.seen(ptx.hash, term)
			switch {
			case committed:
				ptx.batch = b
				e.pool.committed(ptx.hash)
			case seen && term != 0:
			default:
				txs = append(txs, ptx.tx)
			}
		}
		if len(txs) > 0 {
			if err := e.rn.Propose(encodeBatch(uint32(lead-1), txs)); err != nil {
				e.log.Debug("proposal refused", "txs", len(b.txs), "err", err)
				e.pool.requeue(b)
				return
			}
		}
		e.pool.sent(b)
		if term != 0 {
			for _, ptx := range b.txs {
				e.recent.appended(ptx.hash, term)
			}
		}
	}
}

// leader returns the etcd raft id of the leader raft knows now (it may have
// changed since the last Ready), or etcdraft.None.
func (e *Engine) leader() uint64 {
	return e.rn.BasicStatus().Lead
}

// Tick advances raft's clock and the batching and re-proposal timers.
func (e *Engine) Tick() {
	e.rn.Tick()
	e.pool.tick()
	e.proposeBatches()
}

// Applied records that the ledger applied height with appHash; once
// SnapshotInterval entries were applied since the last snapshot, the
// engine snapshots the ledger and compacts the log (in Advance if a Ready
// is outstanding).
func (e *Engine) Applied(height uint64, appHash []byte) {
	if height > e.appliedHeight {
		e.appliedHeight = height
	}
	if e.cur == nil {
		e.maybeSnapshot()
	}
}

// HasReady reports whether Ready has work: messages to send, state to
// persist or batches to apply.
func (e *Engine) HasReady() bool {
	return e.cur != nil || e.rn.HasReady()
}

// Ready returns the pending work; it stays the same until Advance. Committed
// holds the newly committed batches with consecutive heights; entries
// without txs (a new leader's empty entry, conf changes) take no height.
func (e *Engine) Ready() engine.Ready {
	if e.cur != nil {
		return e.cur.out
	}
	raw := e.rn.Ready()
	rs := &readyState{raw: raw}
	if raw.SoftState != nil {
		e.updateSoftState(raw.SoftState)
	}
	w := &persistWork{entries: raw.Entries, sync: raw.MustSync}
	if !etcdraft.IsEmptyHardState(raw.HardState) {
		w.hs = raw.HardState
	}
	if !etcdraft.IsEmptySnap(raw.Snapshot) {
		w.snap = raw.Snapshot
		w.payload, _ = decodeSnapshot(raw.Snapshot.GetData()) // checked by Decode
		// Blocks after the snapshot number on from its height.
		e.height = w.payload.height
	}
	for _, ent := range raw.Entries {
		if ent.GetType() != pb.EntryNormal {
			e.confIndex = ent.GetIndex()
		}
	}
	rs.out.Persist = w
	rs.out.Messages = e.outbound(raw.Messages, rs)
	rs.out.Committed = e.committed(raw.CommittedEntries)
	e.cur = rs
	return rs.out
}

func (e *Engine) updateSoftState(ss *etcdraft.SoftState) {
	if ss.Lead != e.lead && ss.Lead != etcdraft.None {
		e.leaderChanges++
		e.log.Info("raft leader", "leader", int(ss.Lead)-1, "role", roleName(ss.RaftState))
	}
	e.lead, e.state = ss.Lead, ss.RaftState
}

// outbound encodes raft's messages for the transport.
func (e *Engine) outbound(msgs []*pb.Message, rs *readyState) []engine.Outbound {
	out := make([]engine.Outbound, 0, len(msgs))
	for _, m := range msgs {
		data, err := proto.Marshal(m)
		if err != nil || len(data) > MsgBytesMax {
			e.log.Error("raft message not sent", "type", m.GetType(), "peer", int(m.GetTo())-1,
				"bytes", len(data), "err", err)
			continue
		}
		if m.GetType() == pb.MsgSnap {
			rs.snapTo = append(rs.snapTo, m.GetTo())
			e.log.Info("sending snapshot", "peer", int(m.GetTo())-1,
				"index", m.GetSnapshot().GetMetadata().GetIndex(), "bytes", len(data))
		}
		out = append(out, engine.Outbound{To: int(m.GetTo()) - 1, Data: data})
	}
	return out
}

// committed turns committed entries into blocks. Entry data was checked
// when it entered the log (Propose builds it, Decode checks it), so a
// batch that does not decode means our own state is corrupt.
func (e *Engine) committed(ents []*pb.Entry) []engine.Committed {
	var out []engine.Committed
	for _, ent := range ents {
		if ent.GetType() != pb.EntryNormal || len(ent.GetData()) == 0 {
			continue
		}
		b, err := decodeBatch(ent.GetData(), e.cfg.N)
		if err != nil {
			panic(fmt.Sprintf("raft: committed entry %d does not decode: %v", ent.GetIndex(), err))
		}
		e.height++
		if e.height <= e.resumeHeight {
			continue // applied before a restart
		}
		out = append(out, engine.Committed{
			Height:   e.height,
			Txs:      b.txs,
			Proposer: b.proposer,
			Round:    ent.GetTerm(),
			Proof:    EncodeProof(ent.GetTerm(), ent.GetIndex()),
		})
	}
	return out
}

// Persist makes rd durable: entries, HardState and a received snapshot in
// one database batch (synced when raft requires it, always with a
// snapshot). A received snapshot is then restored into the ledger with
// StateMachine.Restore, which checks it against the app hash it carries;
// so the node must have applied every Committed of earlier Readys before
// calling Persist. Any error is a storage failure and fatal: the engine
// refuses all further work.
func (e *Engine) Persist(rd engine.Ready) error {
	if e.err != nil {
		return e.err
	}
	w, ok := rd.Persist.(*persistWork)
	if !ok || w == nil {
		return nil
	}
	if err := e.st.save(w.hs, w.entries, w.snap, w.sync); err != nil {
		e.err = err
		return err
	}
	if w.snap == nil {
		return nil
	}
	p, index := w.payload, w.snap.GetMetadata().GetIndex()
	e.log.Info("restoring ledger from leader snapshot", "index", index, "height", p.height)
	if err := e.cfg.StateMachine.Restore(p.height, p.appHash, p.state); err != nil {
		e.err = fmt.Errorf("raft: restore snapshot at height %d: %w", p.height, err)
		return e.err
	}
	e.snapIndex, e.snapHeight = index, p.height
	e.appliedIndex, e.appliedHeight = index, p.height
	if cs := w.snap.GetMetadata().GetConfState(); len(cs.GetVoters()) > 0 {
		e.cs = proto.Clone(cs).(*pb.ConfState)
	}
	return nil
}

// Advance acknowledges that rd has been persisted, sent and applied: raft
// moves on, committed txs leave the pool, read requests whose index is now
// applied become available from ReadyReads, and a snapshot is taken if one
// is due.
func (e *Engine) Advance(rd engine.Ready) {
	rs := e.cur
	if rs == nil {
		return
	}
	e.cur = nil
	for _, ent := range rs.raw.CommittedEntries {
		e.applyConfChange(ent)
	}
	if n := len(rs.raw.CommittedEntries); n > 0 {
		e.appliedIndex = rs.raw.CommittedEntries[n-1].GetIndex()
	}
	e.rn.Advance(rs.raw)
	for _, to := range rs.snapTo {
		// The transport gives no delivery report; assume delivery. If the
		// snapshot was lost, the follower's rejection of the next append
		// makes the leader send it again.
		e.rn.ReportSnapshot(to, etcdraft.SnapshotFinish)
	}
	for _, c := range rs.out.Committed {
		for _, tx := range c.Txs {
			h := crypto.Sum(tx)
			e.recent.committed(h)
			e.pool.committed(h)
		}
	}
	e.collectReads(rs.raw.ReadStates)
	e.maybeSnapshot()
	e.proposeBatches()
}

// applyConfChange applies a committed configuration change to raft.
func (e *Engine) applyConfChange(ent *pb.Entry) {
	var cc pb.ConfChangeI
	switch ent.GetType() {
	case pb.EntryConfChange:
		c := new(pb.ConfChange)
		if err := proto.Unmarshal(ent.GetData(), c); err != nil {
			panic(fmt.Sprintf("raft: committed conf change %d does not decode: %v", ent.GetIndex(), err))
		}
		cc = c
	case pb.EntryConfChangeV2:
		c := new(pb.ConfChangeV2)
		if err := proto.Unmarshal(ent.GetData(), c); err != nil {
			panic(fmt.Sprintf("raft: committed conf change %d does not decode: %v", ent.GetIndex(), err))
		}
		cc = c
	default:
		return
	}
	e.cs = e.rn.ApplyConfChange(cc)
	e.snapForce = true
	e.log.Info("raft configuration changed", "index", ent.GetIndex(), "voters", e.cs.GetVoters())
}

// maybeSnapshot snapshots the ledger and compacts the log once
// SnapshotInterval entries have been applied since the last snapshot. A
// ledger that cannot snapshot is logged and retried later; a storage
// failure is fatal.
func (e *Engine) maybeSnapshot() {
	if e.err != nil {
		return
	}
	due := e.appliedIndex >= e.snapIndex+e.cfg.SnapshotInterval || (e.snapForce && e.appliedIndex > e.snapIndex)
	if !due || e.appliedIndex < e.snapRetryIndex {
		return
	}
	if e.appliedHeight != e.height || (e.height == e.snapHeight && !e.snapForce) {
		// The ledger has not applied all that was handed out (a node that
		// applies behind Advance), or only empty entries followed the last
		// snapshot: nothing to do now.
		return
	}
	// Until this attempt succeeds, the next waits an interval.
	e.snapRetryIndex = e.appliedIndex + e.cfg.SnapshotInterval
	height, appHash, state, err := e.cfg.StateMachine.Snapshot()
	if err != nil {
		e.log.Error("ledger snapshot failed", "height", e.appliedHeight, "err", err)
		return
	}
	if height != e.height {
		e.log.Error("ledger snapshot at an unexpected height", "height", height, "want", e.height)
		return
	}
	data := encodeSnapshot(snapshotPayload{height: height, appHash: appHash, state: state})
	if len(data) > snapshotBytesMax {
		e.log.Error("ledger snapshot too large: log not compacted", "bytes", len(data), "limit", snapshotBytesMax)
		return
	}
	// The snapshot covers every entry applied, data or not, so the
	// configuration recorded with it is the current one.
	index := e.appliedIndex
	keep := e.cfg.SnapshotInterval / 2
	compactTo := uint64(0)
	if index > keep {
		compactTo = index - keep
	}
	if err := e.st.compact(index, e.cs, data, compactTo); err != nil {
		e.err = err
		e.log.Error("raft storage failed", "err", err)
		return
	}
	e.snapIndex, e.snapHeight = index, height
	e.snapForce, e.snapRetryIndex = false, 0
	e.log.Info("raft snapshot", "index", index, "height", height, "compacted_to", compactTo, "bytes", len(data))
}

// Status reports the engine's view: Mode "raft", Round the term, Role
// leader/follower/candidate/pre-candidate, Leader the leader's validator
// index (-1 if unknown), StableCheckpoint the latest snapshot's raft index,
// Committed the last height handed out, ViewChanges the leader changes
// seen since start and PendingTxs the pool size.
func (e *Engine) Status() engine.Status {
	bs := e.rn.BasicStatus()
	return engine.Status{
		Mode:             engine.ModeRaft,
		Round:            bs.HardState.GetTerm(),
		Role:             roleName(bs.RaftState),
		Leader:           int(bs.Lead) - 1,
		StableCheckpoint: e.snapIndex,
		Committed:        e.height,
		ViewChanges:      e.leaderChanges,
		PendingTxs:       e.pool.len(),
	}
}

func roleName(s etcdraft.StateType) string {
	switch s {
	case etcdraft.StateLeader:
		return "leader"
	case etcdraft.StateCandidate:
		return "candidate"
	case etcdraft.StatePreCandidate:
		return "pre-candidate"
	default:
		return "follower"
	}
}

// Err returns the storage error that stopped the engine, or nil.
func (e *Engine) Err() error { return e.err }

var _ engine.Engine = (*Engine)(nil)
