package sim

import (
	"errors"
	"fmt"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/internal/wire"
)

// StateMachine is what a simulated replica applies committed batches to.
// Its state is durable: it survives a replica's crash, as a ledger whose
// block and last-applied height are written in one synced batch would.
type StateMachine interface {
	// Apply executes the batch at c.Height, which must be Height()+1, and
	// returns the app hash after it.
	Apply(c engine.Committed) (appHash []byte, err error)
	// Height returns the last applied height (0 before any).
	Height() uint64
	// Supply returns the conserved quantity the machine guards (total
	// balance of a ledger); ok is false when the machine has none.
	Supply() (supply uint64, ok bool)
}

// ErrHeight is returned by Apply for a batch that is not the next height.
var ErrHeight = errors.New("sim: batch out of order")

// echoDomain labels the echo machine's hash chain.
const echoDomain = "bftledger/sim/echo/v1"

// Echo is the cheap state machine: its app hash after height h is
// SHA-256(domain || h || app hash after h-1 || BatchDigest(batch h)), a hash
// chain over every batch, so two replicas agree on an app hash exactly when
// they applied the same batches in the same order.
type Echo struct {
	height  uint64
	appHash crypto.Hash
}

// NewEcho returns an Echo machine at height 0 with a zero app hash.
func NewEcho() *Echo { return &Echo{} }

// Apply implements StateMachine.
func (m *Echo) Apply(c engine.Committed) ([]byte, error) {
	if c.Height != m.height+1 {
		return nil, fmt.Errorf("echo: height %d after %d: %w", c.Height, m.height, ErrHeight)
	}
	d := engine.BatchDigest(c.Txs)
	e := wire.NewEncoder(len(echoDomain) + 4 + 8 + 2*crypto.HashSize)
	e.String(echoDomain)
	e.Uint64(c.Height)
	e.Fixed(m.appHash[:])
	e.Fixed(d[:])
	m.appHash = crypto.Sum(e.Bytes())
	m.height = c.Height
	return append([]byte(nil), m.appHash[:]...), nil
}

// Height implements StateMachine.
func (m *Echo) Height() uint64 { return m.height }

// Supply implements StateMachine: the echo machine conserves nothing.
func (m *Echo) Supply() (uint64, bool) { return 0, false }
