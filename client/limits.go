package client

import "time"

// Limits on what the client reads from nodes and how it retries.
const (
	// MaxNodes bounds the nodes one client talks to (the API base URLs).
	MaxNodes = 256
	// responseBytesMax bounds one JSON response other than a block.
	responseBytesMax = 1 << 20
	// blockResponseBytesMax bounds one block response: its txs appear twice
	// in hex (txs and tx hashes) plus a certificate.
	blockResponseBytesMax = 64 << 20
	// errorBodyBytesMax bounds how much of an error body is read.
	errorBodyBytesMax = 64 << 10
	// BatchTxsMax is the most txs one POST /v1/txs/batch may carry.
	BatchTxsMax = 1000
	// maxWaitPerPoll is the longest long-poll the API serves
	// (GET /v1/txs/{hash}?wait=).
	maxWaitPerPoll = 30 * time.Second
	// defaultPollWait is the long-poll each WaitReceipts request asks for.
	defaultPollWait = 2 * time.Second
	// defaultRequestTimeout bounds one plain HTTP request.
	defaultRequestTimeout = 10 * time.Second
	// submitGrace is how long SubmitTx keeps retrying the other nodes once
	// one has accepted a tx.
	submitGrace = 250 * time.Millisecond
	// backoffMin and backoffMax bound the wait between retries.
	backoffMin = 20 * time.Millisecond
	backoffMax = 1 * time.Second
)

// Compile-time relationships: each constant expression is negative (and
// breaks the build) if its relationship fails.
const (
	_ uint = blockResponseBytesMax - responseBytesMax          // blocks are the largest answers
	_ uint = responseBytesMax - errorBodyBytesMax              // an error body fits a response
	_      = uint(maxWaitPerPoll - defaultPollWait)            // a poll asks at most what the API serves
	_      = uint(defaultRequestTimeout - defaultPollWait - 1) // a long poll ends before its request times out
	_      = uint(backoffMax - backoffMin)                     // backoff grows
	_ uint = responseBytesMax - BatchTxsMax*(2*32+64+256)      // a full batch answer fits
)
