package engine

import "errors"

// Errors engines return to the shell.
var (
	// ErrPoolFull: the engine holds as many pending txs as its limits allow;
	// the API answers 503 with Retry-After.
	ErrPoolFull = errors.New("engine: pending pool full")
	// ErrDuplicate: the tx is already pending or committed.
	ErrDuplicate = errors.New("engine: duplicate tx")
	// ErrNotReady: the engine cannot accept txs now (no leader known, view
	// change in progress); retry shortly.
	ErrNotReady = errors.New("engine: not ready")
)
