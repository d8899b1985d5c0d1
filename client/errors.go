package client

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Compare with errors.Is.
var (
	// ErrRejected: a node refused the request with a 4xx status (the tx is
	// malformed, for the wrong chain, badly signed, ...). Retrying the same
	// request will not help.
	ErrRejected = errors.New("client: rejected")
	// ErrNotFound: the node does not have what was asked for (404).
	ErrNotFound = errors.New("client: not found")
	// ErrBusy: the node pushed back (503/429) and retries ran out.
	ErrBusy = errors.New("client: node busy")
	// ErrTimeout: not enough matching receipts arrived before the deadline.
	ErrTimeout = errors.New("client: timed out")
	// ErrBadResponse: a node answered with something that is not a valid
	// answer (malformed JSON, wrong lengths, a bad signature).
	ErrBadResponse = errors.New("client: bad response")
	// ErrBadCertificate: a block's commit certificate or header does not
	// verify against the genesis validators.
	ErrBadCertificate = errors.New("client: block does not verify")
	// ErrConfig: the client was built with invalid options.
	ErrConfig = errors.New("client: bad configuration")
)

// APIError is an error answer from one node: `{"error": ..., "code": ...}`
// with a 4xx/5xx status. It matches ErrRejected for 4xx other than 404 and
// 429, ErrNotFound for 404 and ErrBusy for 429 and 503.
type APIError struct {
	Node    string // base URL of the node that answered
	Status  int    // HTTP status
	Code    string // machine code, e.g. "wrong_chain"
	Message string // human readable
	// RetryAfter is the node's Retry-After on a 503/429 answer (0 if none):
	// the client waits at least this long, capped at 1s, before retrying.
	RetryAfter time.Duration
}

// Error implements error.
func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "no message"
	}
	return fmt.Sprintf("%s: HTTP %d %s: %s", e.Node, e.Status, e.Code, msg)
}

// Is makes errors.Is match the sentinel for the status class.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == 404
	case ErrBusy:
		return e.Status == 503 || e.Status == 429
	case ErrRejected:
		return e.Status >= 400 && e.Status < 500 && e.Status != 404 && e.Status != 429
	}
	return false
}
