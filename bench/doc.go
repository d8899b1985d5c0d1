// Package bench measures a running bftledger cluster the way a careful
// engineer would, and writes what it measured as a report with charts. The
// `bftledger bench` command starts a fresh testnet of real node processes
// for each engine and hands it to Run; this package never starts or stops
// nodes itself, so it can drive any cluster that serves the HTTP API.
//
// # Running it
//
//	bftledger bench --consensus both             # PBFT n=4 then Raft n=3, ~1-2 min on 2 cores
//	bftledger bench --consensus both --repeat 3  # medians of three fresh runs each
//	bftledger bench --consensus pbft --nodes 4,7,10 --latency-phases=false
//	bftledger bench --consensus raft --rate 5000 --duration 10s
//
// With --repeat, targets and comparisons use each configuration's medians.
// The closed-loop peak depends on how much is in flight (--clients times
// --batch, default 4 x 500): a deeper queue only adds waiting, a shallower
// one leaves the pipeline idle; sweep --clients to find the knee.
//
// The report lands in --out (default ./bench-report): report.json (the
// figures, for tools), report.md (for people), throughput.png and
// latency.png. A table is printed at the end and a progress line on stderr
// while it runs.
//
// # What is measured, and how
//
// Load. All transfers are signed before the clock starts (in parallel on
// every core; Config.Sign), so signing never competes with the nodes for
// CPU during a window. Each funded account sends consecutive nonces and has
// at most one transfer in flight: its next one is released only once the
// previous one is seen in a block. That keeps every sender's nonces in
// order whichever node a tx is posted to, so no transfer fails for a nonce
// gap and the committed count holds only successful transfers. Transfers
// go out in batches through POST /v1/txs/batch, spread over the nodes.
//
// A Phase is either a closed loop (Clients clients, each posting a batch and
// waiting until all of it is committed) or an open loop that releases
// transfers at a fixed rate whatever the cluster does. The default plan of
// the command is a closed-loop "peak", then open loops at 80% of the peak
// ("load80") and at a low rate ("low"), so one run yields peak throughput,
// latency under load and latency at rest. Each phase has a warm-up that is
// not measured.
//
// Throughput is counted from the chain, not from submissions: the tracker
// polls every node's height and fetches each new block from the node
// furthest ahead, and each block's txs count at the time the block was
// first seen (one lagging replica neither hides commits nor slows the
// closed loop). A phase's figure is the txs in
// blocks seen inside its window over the window's length; the time series
// uses 1 s bins.
//
// Latency runs from a transfer's release (its scheduled time in an open
// loop, so a stalled generator cannot hide delay) to the moment the client
// holds the receipts it needs: f+1 matching receipts signed by distinct
// validators under PBFT (f = (n-1)/3), one under Raft. Every SampleEvery-th
// transfer is a sample (more often in slow open-loop phases, aiming at
// about 50 samples a second, so a short low-load window still yields a
// p99); its receipts are long-polled with
// GET /v1/txs/{hash}?wait=10s from every node at once, and the sample
// ends at the first f+1 (Raft: one) matching receipts, each checked
// against the validator's genesis key and signature. Commit latency, to the tx's block being first seen on any
// node, is also reported for every transfer.
//
// Per node: peak RSS (VmHWM from /proc/<pid>/status) and CPU seconds
// (utime+stime from /proc/<pid>/stat), over the run and inside each window,
// plus view changes (PBFT) or leader changes (Raft) from /v1/status, which
// the throughput chart marks. The load generator's own CPU is reported too:
// it shares the machine with the nodes.
//
// # Tests
//
// The unit tests drive Run against an in-process fake cluster and check
// the stats, report files and charts. An end-to-end test that builds the
// binary and runs `bftledger bench` for a few seconds against a real
// 4-node PBFT testnet runs only when BFTLEDGER_BENCH_E2E=1:
//
//	BFTLEDGER_BENCH_E2E=1 go test -run TestBenchE2E -v ./bench/
package bench
