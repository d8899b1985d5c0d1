package ledger

import "errors"

// Errors. Each is wrapped with the identifying value, so compare with
// errors.Is. The admission errors (ErrTooLarge, ErrBadEncoding,
// ErrWrongChain, ErrBadSignature, ErrBadAmount) map one to one onto the API's
// 400 codes too_large, bad_encoding, wrong_chain, bad_signature, bad_amount.
var (
	// ErrNotFound: no such block, receipt or app hash in the store.
	ErrNotFound = errors.New("ledger: not found")
	// ErrTooLarge: an encoding exceeds its size limit (see limits.go).
	ErrTooLarge = errors.New("ledger: too large")
	// ErrBadEncoding: bytes are not a canonical encoding of the value.
	ErrBadEncoding = errors.New("ledger: bad encoding")
	// ErrWrongChain: a tx or snapshot names another chain.
	ErrWrongChain = errors.New("ledger: wrong chain id")
	// ErrBadSignature: a tx signature does not verify.
	ErrBadSignature = errors.New("ledger: bad signature")
	// ErrBadAmount: a transfer of zero.
	ErrBadAmount = errors.New("ledger: amount must be positive")
	// ErrBadGenesis: a genesis fails validation.
	ErrBadGenesis = errors.New("ledger: bad genesis")
	// ErrGenesisMismatch: a store was initialised from another genesis.
	ErrGenesisMismatch = errors.New("ledger: store belongs to another genesis")
	// ErrBadHeight: a batch or snapshot is not for the height the store
	// expects.
	ErrBadHeight = errors.New("ledger: unexpected height")
	// ErrBadBatch: a committed batch breaks the structural limits every
	// engine enforces before it orders a batch.
	ErrBadBatch = errors.New("ledger: malformed batch")
	// ErrBadSnapshot: snapshot data is malformed or does not match its app
	// hash.
	ErrBadSnapshot = errors.New("ledger: bad snapshot")
	// ErrClosed: the store is closed.
	ErrClosed = errors.New("ledger: store closed")
	// ErrUnknownBackend: Open was asked for a database backend it does not
	// support.
	ErrUnknownBackend = errors.New("ledger: unknown database backend")
)
