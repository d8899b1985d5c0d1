package node

import (
	"time"

	"github.com/bftledger/bftledger/api"
)

// Limits of the node shell. Every queue between the goroutines of a running
// node is bounded by one of these, and Config.Validate checks each
// configurable value against both of its bounds.
const (
	// apiBodyBytesMin and apiBodyBytesMax bound [api] max_body_bytes. The
	// lower bound still fits a batch of a few transfers; the upper bound
	// keeps one request's memory small.
	apiBodyBytesMin     = 1 << 10
	apiBodyBytesDefault = 1 << 20
	apiBodyBytesMax     = 16 << 20

	// tickIntervalMin and tickIntervalMax bound [consensus] tick_interval.
	tickIntervalMin     = time.Millisecond
	tickIntervalDefault = 10 * time.Millisecond
	tickIntervalMax     = 10 * time.Second

	// memoryLimitMiBDefault is [runtime] memory_limit_mib: a soft limit
	// that keeps a default node near 100 MiB (its live heap is a few tens
	// of MiB; without a limit, garbage between collections doubles it);
	// memoryLimitMiBMax bounds it (1 TiB).
	memoryLimitMiBDefault = 100
	memoryLimitMiBMax     = 1 << 20

	// Tick counts of the engines' timers.
	batchTimeoutTicksMax       = 1000
	batchTimeoutTicksDefault   = 1
	requestTimeoutTicksMin     = 2
	requestTimeoutTicksDefault = 200
	requestTimeoutTicksMax     = 1_000_000
	electionTicksDefault       = 30
	electionTicksMax           = 10_000
	heartbeatTicksDefault      = 3

	// maxPendingTxsMax bounds [consensus] max_pending_txs: the engine's pool
	// of admitted, uncommitted txs.
	maxPendingTxsDefault = 20000
	maxPendingTxsMax     = 1_000_000

	// proposeQueueLen is the capacity, in proposals (one per HTTP request,
	// up to api.BatchTxsMax txs each), of the channel from the API to the
	// consensus loop. A full channel answers 503 Busy. Each request waits
	// for its verdict, so it holds at most one slot.
	proposeQueueLen = 1024

	// verifyQueueLen and verifiedQueueLen bound the frames waiting for a
	// verify worker and the verified messages waiting for the loop. When
	// they are full, the p2p reader blocks and TCP pushes back.
	verifyQueueLen   = 4096
	verifiedQueueLen = 4096
	// verifyPeerQueueLen bounds one peer's frames between the dispatcher
	// and its in-order collector (verified or not yet).
	verifyPeerQueueLen = 1024

	// verifyWorkersMax bounds the verify pool, which is sized to the cores.
	verifyWorkersMax = 64

	// verifiedTxCacheLen is how many admitted tx hashes the node remembers
	// as verified, so a pre-prepare carrying them skips their signature
	// check. It covers more than a full pending pool.
	verifiedTxCacheLen = 1 << 17

	// execQueueLen bounds the committed batches waiting for the executor
	// (and their app hashes waiting for the loop). It is well below any
	// checkpoint window, so the engine never waits long for an app hash.
	execQueueLen = 16

	// receiptWaitersMax bounds the receipt long-polls waiting at once.
	receiptWaitersMax = 10000

	// byzantineLogInterval is how often a node running a Byzantine test
	// behaviour repeats its warning in the log.
	byzantineLogInterval = 30 * time.Second

	// membersQueueLen bounds the membership changes waiting for the loop;
	// the loop takes one at a time and refuses others until it applies.
	membersQueueLen = 4

	// membershipWait is how long a membership change may take to apply
	// before the API answers 503 (the change may still apply later).
	membershipWait = api.MembershipWaitMax - time.Second

	// shutdownTimeout bounds the API server's graceful shutdown.
	shutdownTimeout = 5 * time.Second
)

// Compile-time checks of the relationships above: each breaks the build if
// the constant expression is negative.
const (
	_ uint = apiBodyBytesDefault - apiBodyBytesMin
	_ uint = apiBodyBytesMax - apiBodyBytesDefault
	_ uint = uint(tickIntervalDefault - tickIntervalMin)
	_ uint = uint(tickIntervalMax - tickIntervalDefault)
	_ uint = batchTimeoutTicksMax - batchTimeoutTicksDefault
	_ uint = requestTimeoutTicksDefault - requestTimeoutTicksMin
	_ uint = requestTimeoutTicksMax - requestTimeoutTicksDefault
	_ uint = electionTicksDefault - heartbeatTicksDefault - 1
	_ uint = electionTicksMax - electionTicksDefault
	_ uint = maxPendingTxsMax - maxPendingTxsDefault
	_ uint = verifiedTxCacheLen - maxPendingTxsMax/8
	_ uint = maxPendingTxsDefault - proposeQueueLen
	_ uint = uint(api.MembershipWaitMax - membershipWait)
)
