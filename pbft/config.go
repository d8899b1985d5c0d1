package pbft

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
)

// ErrConfig is wrapped by every Config.Validate failure.
var ErrConfig = errors.New("pbft: invalid config")

// Config configures one replica's Core. All replicas of a network must agree
// on ChainID, Validators, CheckpointInterval and WindowSize (they come from
// genesis); the batching and timeout values are local.
type Config struct {
	// ID is this replica's index in Validators.
	ID int
	// ChainID is mixed into every signature (1..ChainIDBytesMax bytes).
	ChainID string
	// Validators are the replicas' Ed25519 public keys; replica i is
	// Validators[i] and n = len(Validators), 1..ValidatorsMax, distinct.
	Validators [][]byte
	// Signer is this replica's key; its public key must be Validators[ID].
	Signer crypto.Signer
	// CheckpointInterval is K: a checkpoint every K sequence numbers
	// (1..CheckpointIntervalMax).
	CheckpointInterval uint64
	// WindowSize is L = H - h, the sequence numbers accepted above the
	// stable checkpoint; a multiple of K, at most WindowSizeMax.
	WindowSize uint64
	// MaxBatchTxs bounds the txs of one batch (1..TxsPerBatchMax).
	MaxBatchTxs int
	// MaxBatchBytes bounds the summed tx bytes of one batch
	// (1..BatchBytesMax). Propose refuses a tx larger than this.
	MaxBatchBytes int
	// BatchTimeoutTicks: while batches are in flight, the primary cuts a
	// partial batch once its oldest unordered tx has waited this many ticks
	// (0 = at once). A primary with nothing in flight cuts at once.
	BatchTimeoutTicks int
	// RequestTimeoutTicks: a replica that waits this long for a pending tx
	// to commit moves to the next view; it doubles per successive view
	// change without progress (1..TicksMax).
	RequestTimeoutTicks int
	// RetransmitTicks is the interval of retransmissions (own votes for
	// uncommitted seqs, view-changes, checkpoints, relayed txs, fetches).
	// Zero means max(1, RequestTimeoutTicks/4).
	RetransmitTicks int
	// MaxPendingTxs bounds the request pool; Propose returns
	// engine.ErrPoolFull beyond it (1..PendingTxsMax).
	MaxPendingTxs int
	// Storage gives read access to committed batches for answering
	// FETCH-REQUESTs; nil means this replica serves only what it holds
	// in memory.
	Storage Storage
	// Logger receives state transitions (Info) and per-message events
	// (Debug). Nil discards.
	Logger *slog.Logger
}

// Storage is read-only access to what this replica has committed and the
// ledger applied: the node implements it over the block store, the
// simulator in memory. Core calls it only from its own methods.
type Storage interface {
	// Committed returns the batch delivered at seq (Height == seq) with
	// its proof, if still held.
	Committed(seq uint64) (engine.Committed, bool)
}

// TxIndex is an optional extension of Storage: a Storage that implements
// it lets the replica refuse a tx committed longer ago than its own memory
// of recent txs reaches (a client retry or a replayed relay long after the
// fact, or any time after a restart).
type TxIndex interface {
	// HasTx reports whether tx (raw bytes, as proposed) has been committed.
	HasTx(tx []byte) bool
}

// AppHashes is an optional extension of Storage: the ledger's app hash
// after seq. A restarted replica uses it to re-sign its CHECKPOINT for the
// last checkpoint it executed, which may not have become stable before the
// crash (otherwise the window could stay shut). Without it, the shell
// should call Applied(applied, appHash) right after New.
type AppHashes interface {
	AppHash(seq uint64) ([]byte, bool)
}

// Record is one key/value the shell must make durable. Value nil deletes
// Key. Records of one Ready are applied in order, in one synced batch.
type Record struct {
	Key   []byte
	Value []byte
}

// Envelope is one outgoing message. To is a replica index, or
// engine.Broadcast for every replica but ourselves.
type Envelope struct {
	To  int
	Msg Message
}

// Ready is the work a Core hands to its shell: persist, then send, then
// deliver. It stays the same until Advance.
type Ready struct {
	// Persist must be durable (one synced batch) BEFORE any of Messages is
	// sent: a replica restarted from its records never sends a message
	// conflicting with one it sent before.
	Persist []Record
	// Messages to send. The core signed them; the shell encodes them.
	// The shell must not modify them (Clone first).
	Messages []Envelope
	// Committed batches, strictly in seq order, each once: Height == seq,
	// Proof = encoded commit certificate, Round = view, Proposer = primary.
	// The shell applies them and reports each with Core.Applied.
	Committed []engine.Committed
}

// IsEmpty reports whether rd holds nothing to do.
func (rd Ready) IsEmpty() bool {
	return len(rd.Persist) == 0 && len(rd.Messages) == 0 && len(rd.Committed) == 0
}

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
}

// Validate checks every field against both of its bounds.
func (c Config) Validate() error {
	n := len(c.Validators)
	if n < 1 || n > ValidatorsMax {
		return configErr("%d validators (want 1..%d)", n, ValidatorsMax)
	}
	for i, v := range c.Validators {
		if len(v) != crypto.PublicKeySize {
			return configErr("validator %d key is %d bytes, want %d", i, len(v), crypto.PublicKeySize)
		}
		for j := 0; j < i; j++ {
			if bytes.Equal(v, c.Validators[j]) {
				return configErr("validators %d and %d share a key", j, i)
			}
		}
	}
	if c.ID < 0 || c.ID >= n {
		return configErr("ID %d outside 0..%d", c.ID, n-1)
	}
	if len(c.ChainID) == 0 || len(c.ChainID) > ChainIDBytesMax {
		return configErr("chain id is %d bytes (want 1..%d)", len(c.ChainID), ChainIDBytesMax)
	}
	if c.Signer == nil {
		return configErr("no signer")
	}
	if !bytes.Equal(c.Signer.PublicKey(), c.Validators[c.ID]) {
		return configErr("signer key is not validator %d's", c.ID)
	}
	if c.CheckpointInterval < 1 || c.CheckpointInterval > CheckpointIntervalMax {
		return configErr("checkpoint interval %d (want 1..%d)", c.CheckpointInterval, CheckpointIntervalMax)
	}
	if c.WindowSize < c.CheckpointInterval || c.WindowSize > WindowSizeMax || c.WindowSize%c.CheckpointInterval != 0 {
		return configErr("window size %d (want a multiple of K=%d, at most %d)", c.WindowSize, c.CheckpointInterval, WindowSizeMax)
	}
	if c.MaxBatchTxs < 1 || c.MaxBatchTxs > TxsPerBatchMax {
		return configErr("max batch txs %d (want 1..%d)", c.MaxBatchTxs, TxsPerBatchMax)
	}
	if c.MaxBatchBytes < 1 || c.MaxBatchBytes > BatchBytesMax {
		return configErr("max batch bytes %d (want 1..%d)", c.MaxBatchBytes, BatchBytesMax)
	}
	if c.BatchTimeoutTicks < 0 || c.BatchTimeoutTicks > TicksMax {
		return configErr("batch timeout %d ticks (want 0..%d)", c.BatchTimeoutTicks, TicksMax)
	}
	if c.RequestTimeoutTicks < 1 || c.RequestTimeoutTicks > TicksMax {
		return configErr("request timeout %d ticks (want 1..%d)", c.RequestTimeoutTicks, TicksMax)
	}
	if c.RetransmitTicks < 0 || c.RetransmitTicks > TicksMax {
		return configErr("retransmit interval %d ticks (want 0..%d)", c.RetransmitTicks, TicksMax)
	}
	if c.MaxPendingTxs < 1 || c.MaxPendingTxs > PendingTxsMax {
		return configErr("max pending txs %d (want 1..%d)", c.MaxPendingTxs, PendingTxsMax)
	}
	return nil
}
