package raft

import "errors"

// Errors of the raft package. Compare with errors.Is: they are wrapped with
// the identifying values. Besides these, the engine returns engine.ErrPoolFull,
// engine.ErrDuplicate and engine.ErrNotReady from Propose, and a storage error
// from Persist or New, which is fatal to the node.
var (
	// ErrConfig: a Config field is out of bounds.
	ErrConfig = errors.New("raft: invalid config")
	// ErrBadMessage: a frame from a peer is malformed, too large, not from
	// who the transport says sent it, or not addressed to us.
	ErrBadMessage = errors.New("raft: bad message")
	// ErrBadEntry: entry data is not a well-formed batch.
	ErrBadEntry = errors.New("raft: bad entry")
	// ErrBadSnapshot: a snapshot payload is malformed.
	ErrBadSnapshot = errors.New("raft: bad snapshot")
	// ErrBadProof: a commit proof is malformed.
	ErrBadProof = errors.New("raft: bad proof")
	// ErrTxTooLarge: a tx is empty or larger than Config.MaxBatchBytes.
	ErrTxTooLarge = errors.New("raft: tx empty or too large")
	// ErrTooManyReads: too many linearizable reads are waiting.
	ErrTooManyReads = errors.New("raft: too many pending reads")
	// ErrCorrupt: the stored raft state is inconsistent, or inconsistent
	// with the ledger height the node passed in Config.Applied.
	ErrCorrupt = errors.New("raft: corrupt stored state")
	// ErrNotDecoded: Step was given a value Decode did not return.
	ErrNotDecoded = errors.New("raft: message not from Decode")
)
