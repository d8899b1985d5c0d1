// Package engine is the seam between a consensus engine and the node shell
// that drives it. Both engines (pbft and raft) order opaque batches of
// transactions and know nothing of accounts; the ledger knows nothing of
// views, terms or quorums. This package holds only the types the two sides
// exchange, so that neither engine imports the ledger and the node can drive
// either one with the same loop:
//
//	for {
//		select { case <-ticker: e.Tick(); case m := <-verified: e.Step(m); ... }
//		if e.HasReady() {
//			rd := e.Ready()
//			e.Persist(rd)            // synced, BEFORE any message goes out
//			send(rd.Messages)
//			apply(rd.Committed)      // ledger; then e.Applied(height, appHash)
//			e.Advance(rd)
//		}
//	}
package engine

import (
	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/internal/wire"
)

// Consensus modes, as named in genesis, config, the CLI and the API.
const (
	ModePBFT = "pbft"
	ModeRaft = "raft"
)

// Broadcast as Outbound.To sends to every other validator.
const Broadcast = -1

// Outbound is one encoded, signed message for the transport.
type Outbound struct {
	To   int    // validator index, or Broadcast
	Data []byte // owned by the transport once handed over
}

// Committed is one batch the engine has decided, with its proof. Engines
// emit them strictly in Height order, each exactly once (a restarted engine
// resumes after the height the node reports it has applied).
type Committed struct {
	Height   uint64   // 1, 2, 3, ... : PBFT sequence number / Raft block count
	Txs      [][]byte // the batch, in order; may be empty (a PBFT null batch)
	Proposer uint32   // validator index of the primary / leader
	Round    uint64   // PBFT view or Raft term
	Proof    []byte   // engine-specific commit proof (PBFT: 2f+1 signed COMMITs)
}

// Ready is what the engine asks the shell to do. The shell must make the
// engine's state durable (Engine.Persist) BEFORE it sends Messages, then may
// send and apply in any order, then calls Advance.
type Ready struct {
	Messages  []Outbound
	Committed []Committed
	// Engine-private state to persist travels in Persist; engines keep it in
	// the unexported field of their own Ready types or in these bytes.
	Persist any
}

// Status is what an engine reports for /v1/status.
type Status struct {
	Mode             string `json:"mode"`              // "pbft" or "raft"
	Round            uint64 `json:"round"`             // view (PBFT) or term (Raft)
	Role             string `json:"role"`              // "primary"/"backup"/"view-change" or "leader"/"follower"/"candidate"
	Leader           int    `json:"leader"`            // primary / leader index, -1 if unknown
	StableCheckpoint uint64 `json:"stable_checkpoint"` // PBFT stable checkpoint seq, Raft snapshot index
	Committed        uint64 `json:"committed"`         // highest height handed out in Committed
	ViewChanges      uint64 `json:"view_changes"`      // view changes / leader changes seen since start
	PendingTxs       int    `json:"pending_txs"`       // txs accepted but not yet committed
}

// Engine is what the node shell drives. Implementations are single
// threaded: apart from Decode, the shell calls them from one goroutine.
type Engine interface {
	// Decode parses and verifies a frame received from validator from
	// (signatures included). It is safe for concurrent use, so the shell
	// runs it in a worker pool; Step refuses anything Decode did not accept.
	Decode(from int, frame []byte) (any, error)
	// Step feeds a message returned by Decode to the engine.
	Step(msg any) error
	// Propose hands the engine one tx that has passed admission (CheckTx).
	// It returns ErrPoolFull when the engine cannot take more right now.
	Propose(tx []byte) error
	// Tick advances the engine's logical clock by one tick.
	Tick()
	// Applied reports that the ledger has applied height with the given app
	// hash (PBFT checkpoints carry it; Raft snapshots record it).
	Applied(height uint64, appHash []byte)
	// HasReady reports whether Ready has anything to do.
	HasReady() bool
	// Ready returns the pending work; it stays the same until Advance.
	Ready() Ready
	// Persist makes the engine state of rd durable (synced).
	Persist(rd Ready) error
	// Advance acknowledges that rd has been persisted, sent and applied.
	Advance(rd Ready)
	// Status reports the engine's view of the world.
	Status() Status
}

// StateMachine is what an engine may ask of the replicated state machine
// (the ledger) beyond applying batches: app hashes for checkpoints, and
// snapshots to ship to a lagging peer.
type StateMachine interface {
	// AppHash returns the app hash after height, if still known.
	AppHash(height uint64) ([]byte, error)
	// Snapshot returns the state at the last applied height, encoded.
	Snapshot() (height uint64, appHash []byte, data []byte, err error)
	// Restore replaces the state with a snapshot, checking it against appHash.
	Restore(height uint64, appHash []byte, data []byte) error
}

// batchDomain labels batch digests.
const batchDomain = "bftledger/batch/v1"

// BatchDigest is the digest both engines and every verifier use for a batch:
// SHA-256 over a domain label and the canonical list encoding of txs. A
// PBFT commit certificate signs it, so a block's txs can be checked against
// its proof by anyone.
func BatchDigest(txs [][]byte) crypto.Hash {
	n := len(batchDomain) + 8
	for _, tx := range txs {
		n += 4 + len(tx)
	}
	e := wire.NewEncoder(n)
	e.String(batchDomain)
	e.Count(len(txs))
	for _, tx := range txs {
		e.VarBytes(tx)
	}
	return crypto.Sum(e.Bytes())
}
