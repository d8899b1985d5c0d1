package sim

import (
	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
)

// Record is one key/value an engine asks to make durable. A nil Value
// deletes Key. The simulator keeps every replica's records in an in-memory
// store that survives crashes, exactly as a synced database would.
type Record struct {
	Key   []byte
	Value []byte
}

// Ready is what a replica asks the simulator to do, in this order: make
// Persist durable, send Messages, apply Committed to the state machine
// (reporting each app hash through Applied), then Advance.
type Ready struct {
	Persist   []Record           // applied in order, before any message leaves
	Messages  []engine.Outbound  // encoded frames; To is a replica or engine.Broadcast
	Committed []engine.Committed // strictly in height order, each once
}

// Replica is one engine instance driven by the simulator over opaque,
// encoded messages. It is the seam that lets the same network, faults and
// checkers drive PBFT (see PBFT) or, later, a Raft RawNode adapter.
// Implementations are single threaded; the simulator calls them from one
// goroutine.
type Replica interface {
	// Step decodes, verifies and feeds one frame received from replica
	// from. Errors are expected for bad input (Byzantine peers) and only
	// counted.
	Step(from int, frame []byte) error
	// Tick advances the replica's logical clock by one tick.
	Tick()
	// Propose hands the replica one client tx.
	Propose(tx []byte) error
	// Applied reports that the state machine executed height with appHash.
	Applied(height uint64, appHash []byte)
	// HasReady reports whether Ready has work.
	HasReady() bool
	// Ready returns the pending work; it stays the same until Advance.
	Ready() Ready
	// Advance acknowledges the last Ready.
	Advance()
	// Status reports the replica's view of the world.
	Status() engine.Status
}

// Storage is a replica's read-only view of the batches it has applied, so
// an engine can serve state transfer from it. It survives crashes.
type Storage interface {
	// Committed returns the batch applied at height, with its proof.
	Committed(height uint64) (engine.Committed, bool)
}

// Engine builds replicas. The simulator calls NewReplica once per replica
// at start and again at each restart after a crash, with every record the
// replica persisted before it and the height its state machine has applied.
// BatchTracer is implemented by engines whose frames show who proposed a
// batch in which view (PBFT's PRE-PREPAREs), so the duplicate-tx checker
// can tell a primary's mistake from a view change's legal re-proposal.
type BatchTracer interface {
	ProposedBatch(frame []byte) (view uint64, digest crypto.Hash, ok bool)
}

type Engine interface {
	// Name identifies the engine in logs and failure reports.
	Name() string
	// NewReplica starts replica id. state is every live record, sorted by
	// key; nil on first start.
	NewReplica(id int, state []Record, applied uint64, storage Storage) (Replica, error)
	// VerifyProof checks a committed batch's proof the way a client holding
	// only the validator set would (nil skips the check).
	VerifyProof(c engine.Committed) error
}
