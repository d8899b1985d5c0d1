package sim

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// App is the replicated application a run exercises: the state machine
// each replica applies batches to, and the txs the clients submit.
type App interface {
	// Name identifies the app in failure reports.
	Name() string
	// NewMachine returns replica id's state machine, at height 0.
	NewMachine(id int) (StateMachine, error)
	// NewTx returns the next tx of client, seq counting from 0 per client.
	NewTx(client int, seq uint64, rng *rand.Rand) []byte
	// ClientOf returns the client that made tx, or -1.
	ClientOf(tx []byte) int
	// CheckTx is the stateless admission check every replica runs on a tx
	// before ordering it (nil error for a valid tx).
	CheckTx(tx []byte) error
	// Outstanding is how many unacknowledged txs a client may have in
	// flight (a ledger client waits for its nonce to commit).
	Outstanding() int
}

// echoTxHeader is client (u16) and per-client sequence (u64).
const echoTxHeader = 2 + 8

// EchoApp is the fast app: the Echo hash-chain machine and opaque txs
// naming their client, with random padding.
type EchoApp struct {
	// TxBytes is the size of every tx, at least echoTxHeader.
	TxBytes int
}

// Name implements App.
func (a EchoApp) Name() string { return "echo" }

// NewMachine implements App.
func (a EchoApp) NewMachine(int) (StateMachine, error) { return NewEcho(), nil }

// NewTx implements App.
func (a EchoApp) NewTx(client int, seq uint64, rng *rand.Rand) []byte {
	size := max(a.TxBytes, echoTxHeader)
	tx := make([]byte, size)
	binary.BigEndian.PutUint16(tx, uint16(client))
	binary.BigEndian.PutUint64(tx[2:], seq)
	for i := echoTxHeader; i < size; i++ {
		tx[i] = byte(rng.Uint32())
	}
	return tx
}

// ClientOf implements App.
func (a EchoApp) ClientOf(tx []byte) int {
	if len(tx) < echoTxHeader {
		return -1
	}
	return int(binary.BigEndian.Uint16(tx))
}

// CheckTx implements App: any tx with a header and at most maxTxBytes.
func (a EchoApp) CheckTx(tx []byte) error {
	if len(tx) < echoTxHeader || len(tx) > maxTxBytes {
		return fmt.Errorf("echo tx of %d bytes: %w", len(tx), ErrBadTx)
	}
	return nil
}

// Outstanding implements App.
func (a EchoApp) Outstanding() int { return 4 }
