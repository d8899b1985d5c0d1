package bench

import "time"

// Limits of a benchmark run. Config.Validate checks every configurable value
// against both of its bounds; the unexported constants size the generator's
// fixed buffers and pacing.
const (
	// NodesMax bounds the testnet size a bench drives.
	NodesMax = 64

	// ClientsMax bounds closed-loop clients (each a goroutine with one batch
	// in flight).
	ClientsMax = 1024

	// AccountsMax bounds the funded sender accounts. Each account has at
	// most one transfer in flight, so this also bounds the in-flight set.
	AccountsMax = 1 << 20

	// RateMax bounds the open-loop rate, in tx/s.
	RateMax = 1_000_000

	// DurationMax bounds one measurement window (and the warm-up).
	DurationMax = time.Hour

	// BatchTxsMax is the most txs in one POST /v1/txs/batch: the API's
	// contract caps a batch at 1000.
	BatchTxsMax = 1000

	// BatchTxsDefault is Config.BatchTxs when zero.
	BatchTxsDefault = 500

	// SampleEveryDefault is Config.SampleEvery when zero: every 16th
	// submitted tx has its latency measured through signed receipts.
	SampleEveryDefault = 16

	// samplesPerSecond is the sampling an open-loop phase aims for: a
	// phase slower than SampleEvery times this samples more often than
	// every SampleEvery-th tx. Each sample costs the nodes f+1 signed
	// receipts; sampling every tx at 200 tx/s visibly slowed a PBFT
	// testnet on 2 cores, so stay well below that.
	samplesPerSecond = 50

	// SampleEveryMax bounds Config.SampleEvery.
	SampleEveryMax = 1 << 20

	// SignedTxsMax bounds how many transfers are pre-signed for one run
	// (each costs about 300 bytes held in memory).
	SignedTxsMax = 8 << 20

	// samplersMax bounds concurrent latency samples (each holds up to n
	// long-polls). A sample that finds no free slot is skipped and counted.
	samplersMax = 4096

	// sendQueueLen is the open-loop generator's queue of batches waiting for
	// a sender; when it is full the generator is behind and counts the
	// shortfall instead of queueing without bound.
	sendQueueLen = 256

	// sendersPerNode is the number of open-loop sender goroutines per node.
	sendersPerNode = 4

	// openTick is how often the open-loop scheduler releases due txs.
	openTick = 5 * time.Millisecond

	// heightPoll is how often the commit tracker asks every node for its
	// height.
	heightPoll = 20 * time.Millisecond

	// statusPoll is how often every node's status is read (view changes,
	// leader, height) for events and the final table.
	statusPoll = 500 * time.Millisecond

	// baselineWait bounds the wait for a first /v1/status answer.
	baselineWait = 10 * time.Second

	// receiptWait is the long-poll of GET /v1/txs/{hash}?wait=...
	receiptWait = 10 * time.Second

	// resendAfter is how long an accepted tx may stay uncommitted before it
	// is submitted again (the same signed bytes, so it commits at most once).
	// Well above any latency a working cluster shows under load, so a slow
	// cluster is not also flooded with duplicates.
	resendAfter = 20 * time.Second

	// drainMax bounds the wait, between phases, for the previous phase's
	// txs to commit, so its backlog does not count in the next window.
	drainMax = 30 * time.Second

	// drainPoll is how often the in-flight set is checked while draining.
	drainPoll = 50 * time.Millisecond

	// busyBackoff is how long a closed-loop client waits after a node
	// answered 503 busy before retrying.
	busyBackoff = 20 * time.Millisecond

	// responseBytesMax bounds any JSON answer read from a node. A block of
	// max_batch_txs hex txs is the largest.
	responseBytesMax = 64 << 20

	// binWidth is the width of the throughput time series bins.
	binWidth = time.Second

	// clockTicksPerSecond is USER_HZ, the unit of utime/stime in
	// /proc/<pid>/stat; Linux exports 100 on every architecture.
	clockTicksPerSecond = 100
)

// Compile-time checks: each breaks the build when the relationship fails.
const (
	_ uint = BatchTxsMax - BatchTxsDefault
	_ uint = 1000 - BatchTxsMax // the API contract's cap
	_ uint = SampleEveryMax - SampleEveryDefault
	_ uint = AccountsMax - ClientsMax*BatchTxsMax // every closed-loop client can fill a batch
	_ uint = SignedTxsMax - AccountsMax
	_ uint = uint(resendAfter - receiptWait)
	_ uint = uint(drainMax - resendAfter)
	_ uint = uint(statusPoll - drainPoll)
	_ uint = uint(statusPoll - heightPoll)
	_ uint = uint(binWidth - statusPoll)
	_ uint = uint(heightPoll - openTick)
)
