// Package raft is bftledger's crash-fault consensus engine: etcd raft's
// RawNode (go.etcd.io/raft/v3) behind the engine.Engine interface, so the
// node shell drives it exactly like the PBFT core. It tolerates f crashed
// validators out of n = 2f+1 and no lies.
//
// # What the engine adds to etcd raft
//
//   - Batching. Propose puts a tx in a bounded pending pool (deduplicated by
//     SHA-256 of the tx). Txs are cut into batches, one raft entry each, by
//     count (MaxBatchTxs), bytes (MaxBatchBytes) and time: a batch is cut at
//     once while fewer than two of this node's batches are uncommitted,
//     otherwise when full or after BatchTimeoutTicks. So a lone tx is
//     proposed immediately and, under load, batches grow with the load.
//     A follower's batches reach the leader as etcd raft MsgProp forwards,
//     so every node accepts txs. A batch not committed within two election
//     timeouts (lost with a leader) is proposed again, up to four times;
//     then the tx is dropped from the pool (it most likely committed in
//     entries this node skipped by restoring a snapshot; if not, the
//     client's resubmission brings it back).
//   - Ordering each tx once. Clients may send a tx to every node, and each
//     node forwards its own batch. A leader remembers the txs it appended
//     in its term and the txs seen committed (the last 65536) and leaves
//     them out of its own and forwarded batches. Across leader changes a tx
//     may still be ordered twice; that is harmless, because the ledger
//     applies a tx hash at most once.
//   - Blocks. Each committed entry that carries a batch becomes one
//     engine.Committed: Height counts such entries (a new leader's empty
//     entry and conf changes take no height), Txs is the batch, Proposer
//     the leader the proposing node knew when it cut the batch, Round the
//     entry's term and Proof EncodeProof(term, index).
//   - Storage. The raft log, HardState and latest snapshot live in the
//     cometbft-db the node passes (keys under "raft/"). Persist writes a
//     Ready's entries, HardState and any received snapshot in one batch,
//     synced whenever raft requires it, before the node sends the Ready's
//     messages. An etcd MemoryStorage mirrors the log since the last
//     compaction, so raft reads never touch the disk.
//   - Snapshots. Every SnapshotInterval applied entries the engine asks the
//     ledger for a snapshot (StateMachine.Snapshot), stores it as the raft
//     snapshot and compacts the log, keeping SnapshotInterval/2 entries for
//     followers slightly behind. A follower further behind receives the
//     snapshot as a MsgSnap in an ordinary frame (at most MsgBytesMax, 32
//     MiB) and Persist restores it into the ledger (StateMachine.Restore
//     checks it against the app hash it carries).
//   - Safety settings: PreVote and CheckQuorum on, ReadOnlySafe reads.
//   - Validation. Decode refuses frames that are too large, claim another
//     sender or recipient, have a local-only type, or carry entries or a
//     snapshot that would not decode, so peer input cannot reach a panic.
//
// # Driving it
//
// The node's loop is the one in package engine:
//
//	Tick / Step(Decode(from, frame)) / Propose(tx)
//	if e.HasReady() {
//		rd := e.Ready()
//		e.Persist(rd)          // synced; may Restore a snapshot into the ledger
//		send(rd.Messages)
//		for _, c := range rd.Committed { apply(c); e.Applied(c.Height, appHash) }
//		e.Advance(rd)
//		serve(e.ReadyReads())  // linearizable reads, see ReadIndex
//	}
//
// Linearizable reads (GET /v1/accounts/{a}?linearizable=true) go through
// ReadIndex and ReadyReads; ReadIndex documents the protocol step by step.
//
// Persist may call StateMachine.Restore, so every Committed of earlier
// Readys must have been applied before it (a synchronous loop does that).
// Advance must come after the Ready's Committed are applied: it releases
// the reads that waited for them.
//
// At start the node passes the ledger height as Config.Applied; the engine
// resumes emitting at Applied+1. If the ledger is behind a snapshot stored
// by raft (a crash between the two), New restores it from that snapshot.
//
// # Determinism
//
// The engine has no goroutines, clocks or I/O besides Config.DB. etcd raft
// draws randomised election timeouts from crypto/rand, so which node wins
// an election is not reproducible; tests check outcomes, not traces.
//
// # Trust
//
// Raft tolerates crashes, not lies. Decode rejects malformed frames, but
// etcd raft trusts the content of well-formed messages from an
// authenticated validator: one that sends, say, a commit index beyond our
// log makes etcd raft panic (by design: it signals a corrupt or lost log).
// Run PBFT where validators may lie.
//
// # Membership
//
// All genesis validators are voters from the start. ChangeMembership adds
// or removes genesis validators through etcd raft's ConfChangeV2 (joint
// consensus when more than one voter changes); Voters reports the current
// set. The configuration travels in snapshots, and after a restart the
// engine has raft replay the conf changes the ledger already passed. The
// node does not expose it yet: `bftledger validators add|remove` needs an
// admin endpoint that calls ChangeMembership in the node's loop.
package raft
