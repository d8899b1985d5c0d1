package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/ledger"
)

// Machine-readable error codes of the "code" field.
const (
	CodeBadRequest   = "bad_request"
	CodeBadEncoding  = "bad_encoding"
	CodeWrongChain   = "wrong_chain"
	CodeBadSignature = "bad_signature"
	CodeBadAmount    = "bad_amount"
	CodeTooLarge     = "too_large"
	CodeNotFound     = "not_found"
	CodeBusy         = "busy"
	CodeUnavailable  = "unavailable"
	CodeInternal     = "internal"
)

// Errors a Backend returns that the API maps to specific answers; compare
// with errors.Is.
var (
	// ErrBusy: the node cannot take the request now (a full queue); the
	// API answers 503 busy with Retry-After.
	ErrBusy = errors.New("api: busy")
	// ErrUnavailable: the request cannot be served in this state (for
	// example a linearizable read with no leader); 503 unavailable.
	ErrUnavailable = errors.New("api: unavailable")
)

// Error is the JSON body of every error answer.
type Error struct {
	Message string `json:"error"`
	Code    string `json:"code"`
}

// apiError is an error with the HTTP status and code it is answered with.
type apiError struct {
	status int
	code   string
	msg    string
}

// Error returns the human-readable message.
func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, CodeBadRequest, fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *apiError {
	return &apiError{http.StatusNotFound, CodeNotFound, fmt.Sprintf(format, args...)}
}

// classify maps an error from admission, the ledger or the Backend to its
// status and code. Unknown errors are 500 internal.
func classify(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	code, status := CodeInternal, http.StatusInternalServerError
	switch {
	case errors.Is(err, ledger.ErrTooLarge):
		code, status = CodeTooLarge, http.StatusBadRequest
	case errors.Is(err, ledger.ErrBadEncoding):
		code, status = CodeBadEncoding, http.StatusBadRequest
	case errors.Is(err, ledger.ErrWrongChain):
		code, status = CodeWrongChain, http.StatusBadRequest
	case errors.Is(err, ledger.ErrBadSignature):
		code, status = CodeBadSignature, http.StatusBadRequest
	case errors.Is(err, ledger.ErrBadAmount):
		code, status = CodeBadAmount, http.StatusBadRequest
	case errors.Is(err, ledger.ErrNotFound):
		code, status = CodeNotFound, http.StatusNotFound
	case errors.Is(err, ErrBusy), errors.Is(err, engine.ErrPoolFull), errors.Is(err, engine.ErrNotReady):
		code, status = CodeBusy, http.StatusServiceUnavailable
	case errors.Is(err, ErrNotRaft):
		code, status = CodeNotRaft, http.StatusBadRequest
	case errors.Is(err, ErrBadMembership):
		code, status = CodeBadMembership, http.StatusBadRequest
	case errors.Is(err, ErrUnavailable):
		code, status = CodeUnavailable, http.StatusServiceUnavailable
	}
	return &apiError{status, code, err.Error()}
}
