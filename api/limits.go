package api

import "time"

// Limits of the HTTP API.
const (
	// BatchTxsMax bounds the txs of one POST /v1/txs/batch.
	BatchTxsMax = 1000

	// MembershipChangeMax bounds the indexes of one membership change.
	MembershipChangeMax = 64
	// MembershipWaitMax is how long a Backend may take to apply a
	// membership change before it answers; the server's write timeout
	// leaves room for it.
	MembershipWaitMax = 10 * time.Second

	// WaitMax bounds the ?wait= long-poll of GET /v1/txs/{hash}.
	WaitMax = 30 * time.Second

	// BodyBytesDefault is Config.MaxBodyBytes when left zero.
	BodyBytesDefault = 1 << 20
	// bodyBytesMin is the smallest Config.MaxBodyBytes accepted: one tx in
	// its JSON envelope must fit.
	bodyBytesMin = 1 << 10

	// Server timeouts. The write timeout leaves room for the longest
	// long-poll plus the time to write its answer.
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = WaitMax + 10*time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 16 << 10

	// retryAfterSeconds is the Retry-After of a 503 Busy.
	retryAfterSeconds = "1"
)

// Compile-time checks: each breaks the build if negative.
const (
	_ uint = BodyBytesDefault - bodyBytesMin
	_ uint = uint(writeTimeout - WaitMax)
	_ uint = uint(writeTimeout - MembershipWaitMax)
	_ uint = uint(readTimeout - readHeaderTimeout)
)
