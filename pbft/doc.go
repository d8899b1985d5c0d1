// Package pbft is Practical Byzantine Fault Tolerance (Castro & Liskov,
// OSDI '99; TOCS 2002 §2–4) as a deterministic state machine.
//
// # The replica
//
// A Core is one replica. It has no goroutines, channels, clocks, network or
// files: the shell (node/ in production, internal/sim and pbft/pbfttest in
// tests) drives it with four inputs and carries out one output:
//
//	core.Step(msg)      // a message that passed Verifier.Verify
//	core.Tick()         // one unit of logical time
//	core.Propose(tx)    // a tx that passed the ledger's admission
//	core.Applied(h, ah) // the ledger executed batch h, app hash ah
//	if core.HasReady() {
//		rd := core.Ready()
//		persist(rd.Persist)      // one synced batch, BEFORE sending
//		send(rd.Messages)
//		apply(rd.Committed)      // in order; then core.Applied(...)
//		core.Advance(rd)
//	}
//
// # Messages
//
// Every message type (REQUEST, PRE-PREPARE, PREPARE, COMMIT, CHECKPOINT,
// VIEW-CHANGE, NEW-VIEW, FETCH-REQUEST, FETCH-RESPONSE) is a struct behind
// the sealed Message interface. Encode and Decode (codec.go) are the only
// encoding; Decode is strict and size-limited (limits.go). Every message is
// signed by its sender over a domain label per kind, the chain id and the
// canonical body. A Verifier, stateless and safe for concurrent use, checks
// a decoded message completely (sender, signature, every embedded
// certificate, CheckTx on every tx) and marks it verified; Step refuses
// anything else with ErrUnverified. So signatures are checked once, in
// parallel, outside the single-threaded loop.
//
// # Protocol
//
//   - Normal case (§4.2): the primary of view v (v mod n) batches txs (by
//     count, bytes and a timeout in ticks) and pipelines PRE-PREPAREs for
//     sequence numbers within the window (h, h+L]. Backups PREPARE; a
//     replica with the pre-prepare and quorum-1 matching prepares is
//     prepared and COMMITs; with a quorum of matching commits it is
//     committed-local and executes in sequence order. The quorum commits
//     are the batch's certificate (engine.Committed.Proof), checkable by
//     anyone with VerifyCommitCertificate.
//
//   - Checkpoints (§4.3): after the ledger applies a multiple of K the
//     replica signs a CHECKPOINT with the app hash; a quorum of matching ones
//     is stable, moves h, and discards the log below it.
//
//   - View change (§4.4): a replica that waits too long for its oldest
//     pending tx sends VIEW-CHANGE(v+1) with its stable checkpoint proof and
//     prepared certificates; the new primary sends NEW-VIEW with a quorum of
//     view-changes and re-issued pre-prepares (null batches for gaps), which
//     every backup's Verifier recomputes. Timeouts double per successive
//     view change; f+1 replicas seen in higher views make a replica join.
//
//   - State transfer: a replica that is behind (a stable checkpoint or f+1
//     peers ahead of what it executed) fetches committed batches with their
//     commit certificates (FETCH-REQUEST/FETCH-RESPONSE) and delivers them.
//
//   - Persistence: Ready.Persist holds what must be durable before
//     Ready.Messages go out: the view, accepted/sent pre-prepares, own
//     prepares and commits (as slot records), the stable checkpoint proof,
//     the own VIEW-CHANGE and the adopted NEW-VIEW. A replica restarted with
//     those records and the ledger's applied height never contradicts what
//     it sent before.
//
//   - Retransmission: every RetransmitTicks a replica re-sends what peers
//     may have lost (own votes for uncommitted seqs, VIEW-CHANGE, latest
//     CHECKPOINT, relayed txs) and answers lagging peers (NEW-VIEW,
//     FETCH-RESPONSE); the transport may drop.
//
//   - Duplicates: a tx pending or among the last recentTxsMax committed is
//     refused by Propose and not ordered again by a correct primary. A
//     faulty primary can still put one tx in two batches (and NEW-VIEW must
//     re-issue whatever prepared), so, as in the paper, exactly-once is
//     finally enforced at execution: the ledger applies a tx hash once.
//
// n need not be 3f+1: f = (n-1)/3 and the quorum is ceil((n+f+1)/2).
//
// Names: message structs keep the paper's field names (View, Seq, ...), so
// the Message interface reads a message's view through ViewNum.
//
// Testing: pbfttest drives n cores over a byte-level in-order network;
// testdata/scenarios holds datadriven scripts (regenerate with -rewrite);
// TestRandomFaults runs seeded loss, partitions, crashes and restarts
// (-pbft.seeds=N or PBFT_SEEDS=N for more, -pbft.seed=N to replay one);
// BenchmarkCore measures the core alone.
package pbft
