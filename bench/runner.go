package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// runner is the state of one Run: the account pool, the in-flight set, and
// everything observed, all relative to origin (the first phase's start).
type runner struct {
	cfg  Config
	apis []nodeAPI
	pool *pool
	need int // matching receipts a client needs

	origin time.Time
	bg     context.Context // lives for the whole run: samples, trackers
	phase  atomic.Int32    // index of the phase submitting now
	// draining is set between phases while earlier txs commit.
	draining atomic.Bool
	// winStart is the current phase's window start (Unix ns): before it
	// the phase is warming up.
	winStart atomic.Int64

	mu       sync.Mutex
	inflight map[string]*flight
	points   []Point        // committed txs per observed block
	commits  []commitSample // commit first seen on any node, every tx
	samples  []sample       // f+1 receipt latency, sampled txs
	events   []Event
	status   []*statusReply // latest per node (nil until read)
	rounds   roundTracker

	gen      genCounters
	rejected sync.Map // code -> *atomic.Int64

	samplers  chan struct{} // semaphore of concurrent samples
	samplerWG sync.WaitGroup
}

// flight is an accepted (or being posted) tx not yet seen in a block.
type flight struct {
	it       item
	phase    int
	node     int // position in cfg.Nodes it was last sent to
	lastSent time.Time
	sample   bool
	w        *waiter // closed-loop batch waiting for it; nil in open loop
}

// waiter lets a closed-loop client wait until its whole batch committed.
type waiter struct {
	remaining atomic.Int64
	done      chan struct{}
}

func newWaiter() *waiter { return &waiter{done: make(chan struct{})} }

func (w *waiter) release() {
	if w != nil && w.remaining.Add(-1) == 0 {
		close(w.done)
	}
}

type commitSample struct {
	firstAt time.Time
	lat     time.Duration
	phase   int
}

type sample struct {
	firstAt time.Time
	lat     time.Duration
	phase   int
	ok      bool
	code    uint32
}

// genCounters are the load generator's tallies, for the report.
type genCounters struct {
	released    atomic.Int64 // txs released for the first time
	posted      atomic.Int64 // tx submissions, retries included
	batches     atomic.Int64 // POST /v1/txs/batch requests
	accepted    atomic.Int64
	busy        atomic.Int64 // 503/429 answers per tx: retried
	postErrors  atomic.Int64 // batches that failed as a whole: retried
	resent      atomic.Int64 // accepted txs re-posted after resendAfter
	retired     atomic.Int64 // stale txs found committed in a block not observed
	shortfall   atomic.Int64 // open loop: txs due with no ready account
	overloaded  atomic.Int64 // open loop: txs due while every sender was busy
	sampleSkips atomic.Int64 // samples skipped: too many in flight
}

func newRunner(cfg Config) *runner {
	r := &runner{
		cfg:      cfg,
		pool:     newPool(cfg.Accounts, cfg.StartNonce, cfg.SampleEvery),
		need:     ReceiptsNeeded(cfg.Mode, len(cfg.Nodes)),
		inflight: make(map[string]*flight, cfg.Accounts),
		status:   make([]*statusReply, len(cfg.Nodes)),
		samplers: make(chan struct{}, samplersMax),
	}
	for _, n := range cfg.Nodes {
		r.apis = append(r.apis, newNodeAPI(cfg.HTTPClient, n.URL))
	}
	return r
}

// since returns t relative to the run's origin.
func (r *runner) since(t time.Time) time.Duration { return t.Sub(r.origin) }

func (r *runner) countRejected(code string) {
	v, _ := r.rejected.LoadOrStore(code, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (r *runner) rejectedCounts() map[string]int64 {
	out := map[string]int64{}
	r.rejected.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

func (r *runner) inflightLen() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.inflight)
}

// Run drives the phases of cfg against a running cluster and returns what
// it measured. The cluster must already serve its API; Run neither starts
// nor stops it. Run returns an error wrapping ErrConfig for a bad config,
// the SignFunc's error if signing fails, and the context's error when
// cancelled. What makes figures doubtful but not wrong (pre-signed txs
// running out mid-phase, refused txs, failed samples) is reported in
// RunResult.Warnings instead.
func Run(ctx context.Context, cfg Config) (*RunResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	r := newRunner(cfg)
	log := cfg.Logger.With("run", cfg.Label)
	res := &RunResult{
		Label: cfg.Label, Mode: cfg.Mode, ChainID: cfg.ChainID, Nodes: len(cfg.Nodes),
		F: faults(cfg.Mode, len(cfg.Nodes)), ReceiptsNeeded: r.need,
		Accounts: cfg.Accounts, BatchTxs: cfg.BatchTxs, SampleEvery: cfg.SampleEvery,
	}

	// Sign the first phase's transfers before the clock starts.
	t0 := time.Now()
	n, err := r.pool.ensure(ctx, r.signBudget(cfg.Phases[0], 0), cfg.Sign)
	if err != nil {
		return nil, err
	}
	res.PresignTxs, res.PresignSeconds = n, time.Since(t0).Seconds()
	log.Info("pre-signed transfers", "txs", n, "seconds", res.PresignSeconds)

	bg, stopBG := context.WithCancel(ctx)
	r.bg = bg
	var bgWG sync.WaitGroup
	// Every goroutine the run started has ended when Run returns.
	defer func() { stopBG(); bgWG.Wait(); r.samplerWG.Wait() }()
	r.origin = time.Now()
	// The chain's height before any load is the tracker's starting point:
	// every block above it is the run's.
	base, err := r.baseline(ctx)
	if err != nil {
		return nil, err
	}
	bgWG.Add(3)
	go func() { defer bgWG.Done(); r.trackBlocks(bg, base) }()
	go func() { defer bgWG.Done(); r.pollStatus(bg) }()
	go func() { defer bgWG.Done(); r.resendStale(bg) }()
	stopProgress := r.startProgress(bg, &bgWG)
	defer stopProgress()

	cpuBase := r.readProcs()
	if err := r.runPhases(ctx, res, log); err != nil {
		return nil, err
	}
	r.waitSamplers(ctx)
	cpuEnd := r.readProcs()
	stopProgress()
	metrics := make([]map[string]float64, len(r.apis))
	for i := range r.apis {
		m, err := r.scrapeMetrics(ctx, i)
		if err != nil {
			log.Warn("metrics", "node", i, "err", err)
		}
		metrics[i] = m
	}
	r.finish(res, cpuBase, cpuEnd, metrics)
	// Phase latencies depend on samples that finished after their phase.
	for i := range res.Phases {
		r.phaseLatency(&res.Phases[i], i)
	}
	r.keepLatencies(res)
	res.Warnings = append(append([]string{}, res.Warnings...), r.warnings(res)...)
	return res, nil
}

// runPhases runs every phase in turn, draining the previous phase's txs
// and signing what the next one needs in between.
func (r *runner) runPhases(ctx context.Context, res *RunResult, log *slog.Logger) error {
	var firstRate float64
	for i, ph := range r.cfg.Phases {
		if i > 0 {
			if left := r.drain(ctx); left > 0 {
				res.Warnings = append(res.Warnings, fmt.Sprintf("phase %s started with %d txs of earlier phases still in flight after %v", ph.Name, left, drainMax))
			}
			signed, err := r.pool.ensure(ctx, r.signBudget(ph, firstRate), r.cfg.Sign)
			if err != nil {
				return err
			}
			res.PresignTxs += signed
		}
		pr, err := r.runPhase(ctx, i, ph, firstRate)
		if err != nil {
			return err
		}
		if i == 0 {
			firstRate = pr.TxPerSec
		}
		res.Phases = append(res.Phases, pr)
		log.Info("phase done", "phase", ph.Name, "tx_per_sec", pr.TxPerSec, "p50_ms", pr.Latency.P50)
	}
	return nil
}

// signBudget is how many unsent transfers phase ph needs: at the phase's
// rate (the configured upper bound for a closed loop) for its warm-up and
// window, plus a margin, plus one per account for those in flight.
func (r *runner) signBudget(ph Phase, firstRate float64) int {
	rate := r.cfg.MaxRate
	if ph.Rate > 0 {
		rate = ph.Rate
	} else if ph.RatePct > 0 {
		rate = firstRate * ph.RatePct / 100
	}
	secs := (ph.Warmup + ph.Duration).Seconds()
	return int(rate*secs*1.1) + r.cfg.Accounts
}

// runPhase drives one phase and returns its result (latency is filled in
// at the end of the run, when late samples have landed).
func (r *runner) runPhase(ctx context.Context, idx int, ph Phase, firstRate float64) (PhaseResult, error) {
	r.phase.Store(int32(idx))
	rate := ph.Rate
	if rate == 0 && ph.RatePct > 0 {
		rate = firstRate * ph.RatePct / 100
		if rate < 1 {
			rate = 1
		}
	}
	every := phaseSampleEvery(r.cfg.SampleEvery, rate)
	r.pool.setSampleEvery(every)
	start := time.Now()
	winStart, winEnd := start.Add(ph.Warmup), start.Add(ph.Warmup+ph.Duration)
	r.winStart.Store(winStart.UnixNano())
	pr := PhaseResult{
		Name: ph.Name, Loop: "closed", Clients: ph.Clients, TargetRate: rate,
		WarmupSeconds: ph.Warmup.Seconds(), DurationSeconds: ph.Duration.Seconds(),
		StartSeconds: r.since(winStart).Seconds(), SampleEvery: every,
	}
	if ph.Open() {
		pr.Loop, pr.Clients = "open", 0
	}
	pctx, cancel := context.WithDeadline(ctx, winEnd)
	defer cancel()
	var wg sync.WaitGroup
	cpuCh := make(chan []procUsage, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTimer(time.Until(winStart))
		defer t.Stop()
		select {
		case <-t.C:
			cpuCh <- r.readProcs()
			if r.cfg.OnWindow != nil {
				go r.cfg.OnWindow(ph)
			}
		case <-pctx.Done():
			cpuCh <- nil
		}
	}()
	before := r.gen.snapshot()
	if ph.Open() {
		r.openLoop(pctx, rate)
	} else {
		r.closedLoop(pctx, ph.Clients)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return pr, err
	}
	cpuStart, cpuEnd := <-cpuCh, r.readProcs()
	pr.NodeCPUSeconds = cpuDelta(cpuStart, cpuEnd)
	after := r.gen.snapshot()
	pr.Released = after.released - before.released
	pr.Shortfall = after.shortfall - before.shortfall + after.overloaded - before.overloaded
	pr.Busy = after.busy - before.busy

	// Blocks observed up to a poll after the window closes still count if
	// observed inside it, so give the tracker one more poll.
	r.waitTrackerPass(ctx)
	r.mu.Lock()
	pr.CommittedTxs = CountWindow(r.points, r.since(winStart), r.since(winEnd))
	pr.Blocks = countBlocks(r.points, r.since(winStart), r.since(winEnd))
	r.mu.Unlock()
	if pr.Blocks > 0 {
		pr.TxsPerBlock = round2(float64(pr.CommittedTxs) / float64(pr.Blocks))
	}
	pr.TxPerSec = Rate(pr.CommittedTxs, ph.Duration)
	return pr, nil
}

// drain waits until every tx in flight has committed (or drainMax
// passes) and returns how many are still in flight.
func (r *runner) drain(ctx context.Context) int {
	r.draining.Store(true)
	defer r.draining.Store(false)
	deadline := time.Now().Add(drainMax)
	for {
		n := r.inflightLen()
		if n == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return n
		}
		pause(ctx, drainPoll)
	}
}

// phaseSampleEvery is the sampling interval of a phase at rate tx/s (0 for
// a closed loop): every tx at low rates, so a short low-load window still
// has enough samples for its p99, thinning to every-th at high rates so
// receipt polling stays bounded (about samplesPerSecond per second).
func phaseSampleEvery(every int, rate float64) int {
	if rate <= 0 {
		return every
	}
	return min(every, max(1, int(rate/samplesPerSecond)))
}

// waitTrackerPass waits long enough for the block tracker to run one more
// poll (two poll intervals).
func (r *runner) waitTrackerPass(ctx context.Context) {
	t := time.NewTimer(2 * heightPoll)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// waitSamplers waits for samples still waiting on receipts, at most one
// receipt long-poll.
func (r *runner) waitSamplers(ctx context.Context) {
	done := make(chan struct{})
	go func() { r.samplerWG.Wait(); close(done) }()
	t := time.NewTimer(receiptWait + time.Second)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	case <-ctx.Done():
	}
}

func (r *runner) readProcs() []procUsage {
	out := make([]procUsage, len(r.cfg.Nodes)+1)
	for i, n := range r.cfg.Nodes {
		if n.PID > 0 {
			if u, err := readProc(n.PID); err == nil {
				out[i] = u
			}
		}
	}
	if u, err := readProc(os.Getpid()); err == nil {
		out[len(r.cfg.Nodes)] = u // the load generator itself
	}
	return out
}

func cpuDelta(a, b []procUsage) []float64 {
	if a == nil || b == nil || len(a) != len(b) {
		return nil
	}
	out := make([]float64, len(a))
	for i := range a {
		out[i] = round2(b[i].CPUSeconds - a[i].CPUSeconds)
	}
	return out
}

type genSnapshot struct{ released, shortfall, overloaded, busy int64 }

func (g *genCounters) snapshot() genSnapshot {
	return genSnapshot{g.released.Load(), g.shortfall.Load(), g.overloaded.Load(), g.busy.Load()}
}

func faults(mode string, n int) int {
	if mode == ModeRaft {
		return (n - 1) / 2
	}
	return (n - 1) / 3
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }
