package pbft

import (
	"errors"
	"log/slog"

	"github.com/bftledger/bftledger/engine"
)

// Errors Step returns for input it drops. None of them is fatal: the shell
// logs them (at debug level) and goes on.
var (
	// ErrStale: the message belongs to an older view, or to a sequence
	// number at or below the stable checkpoint.
	ErrStale = errors.New("pbft: stale message")
	// ErrOutOfWindow: the sequence number is above the high watermark.
	ErrOutOfWindow = errors.New("pbft: sequence number outside window")
	// ErrWrongView: a normal-case message for a view this replica is not
	// (or not yet) working in.
	ErrWrongView = errors.New("pbft: message for another view")
	// ErrConflict: the message conflicts with one accepted earlier from
	// the same sender (equivocation); the first one stands.
	ErrConflict = errors.New("pbft: conflicting message")
	// ErrTxTooLarge: Propose got a tx that cannot fit any batch.
	ErrTxTooLarge = errors.New("pbft: tx larger than a batch")
)

// Core is one PBFT replica as a deterministic state machine. It never
// blocks, starts no goroutine, reads no clock and does no I/O: the shell
// feeds it verified messages (Step), ticks (Tick) and txs (Propose), and
// carries out its Ready. All methods must be called from one goroutine.
type Core struct {
	cfg Config
	log *slog.Logger
}

// New returns a replica for cfg. state holds every Record persisted so far
// (nil on first start) in any order; applied is the last sequence number the
// ledger has executed. A restarted replica resumes from exactly that state.
func New(cfg Config, state []Record, applied uint64) (*Core, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Core{cfg: cfg, log: log.With("node", cfg.ID)}, nil
}

// Step feeds one verified message to the replica. It returns ErrUnverified
// for a message that has not passed Verifier.Verify, and ErrStale,
// ErrOutOfWindow, ErrWrongView or ErrConflict (wrapped) for input it drops.
// Peer input never makes it panic.
func (c *Core) Step(m Message) error {
	if m == nil || !m.sealed().verified {
		return ErrUnverified
	}
	return nil
}

// Tick advances the replica's logical clock by one tick: batch, request and
// view-change timeouts, and retransmissions.
func (c *Core) Tick() {}

// Propose hands the replica a tx that passed admission. It returns
// engine.ErrDuplicate for a tx already pending or recently committed,
// engine.ErrPoolFull when the pool is at MaxPendingTxs, and ErrTxTooLarge.
// At a backup the tx is kept (it starts the request timer) and relayed to
// the primary.
func (c *Core) Propose(tx []byte) error { return nil }

// Applied reports that the ledger has executed seq with app hash appHash.
// At multiples of CheckpointInterval the replica signs and broadcasts its
// CHECKPOINT.
func (c *Core) Applied(seq uint64, appHash []byte) {}

// HasReady reports whether Ready has work.
func (c *Core) HasReady() bool { return false }

// Ready returns the pending work. It stays the same until Advance, except
// that work produced after Ready (by Step, Tick, Propose, Applied) is added
// after it and returned by the next Ready.
func (c *Core) Ready() Ready { return Ready{} }

// Advance acknowledges that rd (the last Ready) has been persisted, sent
// and delivered.
func (c *Core) Advance(rd Ready) {}

// Status reports the replica's view of the world.
func (c *Core) Status() engine.Status { return engine.Status{Mode: engine.ModePBFT} }
