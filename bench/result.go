package bench

import (
	"fmt"
	"slices"
	"time"
)

// RunResult is everything one run measured against one cluster.
type RunResult struct {
	Label          string  `json:"label"`
	Mode           string  `json:"mode"`
	ChainID        string  `json:"chain_id"`
	Nodes          int     `json:"nodes"`
	F              int     `json:"f"`               // faults tolerated: (n-1)/3 PBFT, (n-1)/2 Raft
	ReceiptsNeeded int     `json:"receipts_needed"` // matching signed receipts a client waits for
	Accounts       int     `json:"accounts"`
	BatchTxs       int     `json:"batch_txs"`
	SampleEvery    int     `json:"sample_every"`
	PresignTxs     int     `json:"presigned_txs"`
	PresignSeconds float64 `json:"presign_s"` // the first phase's signing, before the clock started

	Phases    []PhaseResult   `json:"phases"`
	NodeStats []NodeResult    `json:"node_stats"`
	Generator GeneratorResult `json:"generator"`
	Events    []Event         `json:"events"`       // view / leader changes, in time order
	Series    []Bin           `json:"throughput"`   // committed tx/s in 1 s bins from the run's origin
	Seconds   float64         `json:"duration_s"`   // origin to the end of the run
	Warnings  []string        `json:"warnings"`     // anything that makes a figure doubtful
	Changes   uint64          `json:"view_changes"` // most view (leader) changes any node reported

	// receipt latencies of each phase's window, sorted, for the charts.
	latencies [][]time.Duration
}

// PhaseResult is one phase's measurement window.
type PhaseResult struct {
	Name            string  `json:"name"`
	Loop            string  `json:"loop"` // "closed" or "open"
	Clients         int     `json:"clients,omitempty"`
	TargetRate      float64 `json:"target_tx_s,omitempty"`
	WarmupSeconds   float64 `json:"warmup_s"`
	DurationSeconds float64 `json:"duration_s"`
	StartSeconds    float64 `json:"start_s"` // window start, from the run's origin

	CommittedTxs int     `json:"committed_txs"` // txs in blocks observed inside the window
	TxPerSec     float64 `json:"tx_s"`
	Blocks       int     `json:"blocks"`        // blocks observed inside the window
	TxsPerBlock  float64 `json:"txs_per_block"` // mean; small blocks under load mean the engine, not the CPU, is the limit

	// Latency is from a tx's release to the ReceiptsNeeded-th matching
	// signed receipt, over the sampled txs released inside the window.
	Latency Latency `json:"latency"`
	// CommitLatency is from release to the tx's block being first seen on
	// any node, over every tx released inside the window.
	CommitLatency Latency `json:"commit_latency"`

	SampleEvery    int `json:"sample_every"`    // every n-th released tx was a latency sample
	SamplesFailed  int `json:"samples_failed"`  // sampled txs without enough matching receipts in time
	FailedReceipts int `json:"failed_receipts"` // sampled txs whose receipts carry a non-zero code

	Released  int64 `json:"released"`  // txs released for the first time (warm-up included)
	Shortfall int64 `json:"shortfall"` // open loop: txs due that could not be sent
	Busy      int64 `json:"busy"`      // 503 busy answers (each retried)

	// NodeCPUSeconds is CPU time used inside the window by each node, in
	// Config.Nodes order, then by the load generator.
	NodeCPUSeconds []float64 `json:"node_cpu_s"`
	// NodeCPUPerTxMicros is the nodes' CPU time in the window over the
	// txs committed in it: what one tx costs the whole cluster.
	NodeCPUPerTxMicros float64 `json:"node_cpu_us_per_tx"`
}

// NodeResult is one node at the end of the run.
type NodeResult struct {
	Index       int     `json:"index"`
	Name        string  `json:"name"`
	PID         int     `json:"pid"`
	PeakRSSMiB  float64 `json:"peak_rss_mib"` // VmHWM at the end of the run
	CPUSeconds  float64 `json:"cpu_s"`        // over the whole run
	Height      uint64  `json:"height"`
	Round       uint64  `json:"round"` // view (PBFT) or term (Raft)
	Role        string  `json:"role"`
	ViewChanges uint64  `json:"view_changes"`
	// Metrics are the node's own counters at the end of the run (message
	// counts by kind and direction, view changes, commit latency sum and
	// count), keyed "name{labels}".
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// GeneratorResult is the load generator's own account.
type GeneratorResult struct {
	Released   int64            `json:"released"`
	Posted     int64            `json:"posted"` // retries included
	Batches    int64            `json:"batches"`
	Accepted   int64            `json:"accepted"`
	Busy       int64            `json:"busy"`
	PostErrors int64            `json:"post_errors"`
	Resent     int64            `json:"resent"`
	Retired    int64            `json:"retired"` // found committed by receipt, their block unseen
	Shortfall  int64            `json:"shortfall"`
	Overloaded int64            `json:"overloaded"`
	Rejected   map[string]int64 `json:"rejected"` // by API error code
	Samples    int              `json:"samples"`
	SampleSkip int64            `json:"samples_skipped"`
	PeakRSSMiB float64          `json:"peak_rss_mib"`
	CPUSeconds float64          `json:"cpu_s"`
}

// Event is a view change (PBFT) or leader change (Raft) seen in /v1/status.
type Event struct {
	T      float64 `json:"t_s"`
	Kind   string  `json:"kind"` // "view-change" or "leader-change"
	Node   int     `json:"node"` // first node seen in the new view/term
	Round  uint64  `json:"round"`
	Leader int     `json:"leader"`
}

// Latencies returns phase i's sorted receipt latencies (nil when out of
// range). Callers must not modify the slice.
func (r *RunResult) Latencies(i int) []time.Duration {
	if i < 0 || i >= len(r.latencies) {
		return nil
	}
	return r.latencies[i]
}

// finish fills the run-wide parts of res. metrics[i] is node i's scrape
// (nil if it failed).
func (r *runner) finish(res *RunResult, base, end []procUsage, metrics []map[string]float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	res.Seconds = round2(r.since(now).Seconds())
	res.Series = BinPoints(r.points, binWidth, r.since(now))
	res.Events = append([]Event{}, r.events...) // [] rather than null in JSON
	for i, n := range r.cfg.Nodes {
		nr := NodeResult{Index: n.Index, Name: n.Name, PID: n.PID}
		if end != nil && end[i].PeakRSSBytes > 0 {
			nr.PeakRSSMiB = round2(float64(end[i].PeakRSSBytes) / (1 << 20))
			nr.CPUSeconds = round2(end[i].CPUSeconds - base[i].CPUSeconds)
		}
		if i < len(metrics) {
			nr.Metrics = metrics[i]
		}
		if st := r.status[i]; st != nil {
			nr.Height, nr.Role, nr.ViewChanges = st.Height, st.Role, st.ViewChanges
			nr.Round = st.View
			if r.cfg.Mode == ModeRaft {
				nr.Round = st.Term
			}
			res.Changes = max(res.Changes, st.ViewChanges)
		}
		res.NodeStats = append(res.NodeStats, nr)
	}
	g := &r.gen
	self := len(r.cfg.Nodes)
	res.Generator = GeneratorResult{
		Released: g.released.Load(), Posted: g.posted.Load(), Batches: g.batches.Load(),
		Accepted: g.accepted.Load(), Busy: g.busy.Load(), PostErrors: g.postErrors.Load(),
		Resent: g.resent.Load(), Retired: g.retired.Load(), Shortfall: g.shortfall.Load(), Overloaded: g.overloaded.Load(),
		Rejected: r.rejectedCounts(), Samples: len(r.samples), SampleSkip: g.sampleSkips.Load(),
	}
	if end != nil {
		res.Generator.PeakRSSMiB = round2(float64(end[self].PeakRSSBytes) / (1 << 20))
		res.Generator.CPUSeconds = round2(end[self].CPUSeconds - base[self].CPUSeconds)
	}
	res.latencies = make([][]time.Duration, len(res.Phases))
}

// phaseLatency fills phase i's latency figures from the samples and
// commits released inside its window.
func (r *runner) phaseLatency(pr *PhaseResult, i int) {
	from := r.origin.Add(time.Duration(pr.StartSeconds * float64(time.Second)))
	to := from.Add(time.Duration(pr.DurationSeconds * float64(time.Second)))
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	r.mu.Lock()
	defer r.mu.Unlock()
	var lat, commit []time.Duration
	for _, s := range r.samples {
		if s.phase != i || !in(s.firstAt) {
			continue
		}
		if !s.ok {
			pr.SamplesFailed++
			continue
		}
		if s.code != 0 {
			pr.FailedReceipts++
		}
		lat = append(lat, s.lat)
	}
	for _, c := range r.commits {
		if c.phase == i && in(c.firstAt) {
			commit = append(commit, c.lat)
		}
	}
	pr.Latency = Summarize(lat)
	pr.CommitLatency = Summarize(commit)
}

// keepLatencies stores each phase's sorted receipt latencies in res.
func (r *runner) keepLatencies(res *RunResult) {
	for i := range res.Phases {
		pr := &res.Phases[i]
		from := r.origin.Add(time.Duration(pr.StartSeconds * float64(time.Second)))
		to := from.Add(time.Duration(pr.DurationSeconds * float64(time.Second)))
		r.mu.Lock()
		var lat []time.Duration
		for _, s := range r.samples {
			if s.phase == i && s.ok && !s.firstAt.Before(from) && s.firstAt.Before(to) {
				lat = append(lat, s.lat)
			}
		}
		r.mu.Unlock()
		slices.Sort(lat)
		res.latencies[i] = lat
	}
}

// warnings lists what makes the run's figures doubtful.
func (r *runner) warnings(res *RunResult) []string {
	var w []string
	for _, p := range res.Phases {
		if p.Loop == "open" && p.Shortfall > p.Released/100 {
			w = append(w, fmt.Sprintf("phase %s: %d txs due could not be sent (no account ready or senders busy): the offered load was lower than %.0f tx/s; raise --accounts", p.Name, p.Shortfall, p.TargetRate))
		}
		if p.SamplesFailed > 0 {
			w = append(w, fmt.Sprintf("phase %s: %d sampled txs did not get %d matching receipts within %v", p.Name, p.SamplesFailed, res.ReceiptsNeeded, receiptWait))
		}
		if p.FailedReceipts > 0 {
			w = append(w, fmt.Sprintf("phase %s: %d sampled txs committed with a failed receipt", p.Name, p.FailedReceipts))
		}
		if p.Latency.Samples == 0 {
			w = append(w, fmt.Sprintf("phase %s: no latency samples", p.Name))
		}
	}
	for _, p := range r.cfg.Phases {
		if !p.Open() && p.Clients*r.cfg.BatchTxs > r.cfg.Accounts {
			w = append(w, fmt.Sprintf("phase %s: %d clients x %d-tx batches exceed the %d accounts (one tx in flight each): clients wait for accounts", p.Name, p.Clients, r.cfg.BatchTxs, r.cfg.Accounts))
		}
	}
	if n := r.pool.exhausted(); n > r.cfg.Accounts/10 {
		w = append(w, fmt.Sprintf("%d of %d accounts ran out of pre-signed txs: throughput may be capped by the generator; raise --max-rate", n, r.cfg.Accounts))
	}
	for code, n := range res.Generator.Rejected {
		w = append(w, fmt.Sprintf("%d txs refused by nodes with code %q", n, code))
	}
	if res.Generator.SampleSkip > 0 {
		w = append(w, fmt.Sprintf("%d latency samples skipped: too many receipts outstanding", res.Generator.SampleSkip))
	}
	return w
}
