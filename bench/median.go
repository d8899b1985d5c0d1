package bench

import (
	"fmt"
	"slices"
)

// Median summarises repeated runs of one configuration (same mode and
// size) by the median of each headline figure, so one noisy run on a
// shared machine does not decide a target.
type Median struct {
	Config      string    `json:"config"` // e.g. "pbft n=4"
	Mode        string    `json:"mode"`
	Nodes       int       `json:"nodes"`
	Runs        int       `json:"runs"`
	PeakTxPerS  float64   `json:"peak_tx_s"`
	PeakTxPerSs []float64 `json:"peak_tx_s_each"`
	LowP50      float64   `json:"low_p50_ms"`
	Load80P99   float64   `json:"load80_p99_ms"`
	MaxRSSMiB   float64   `json:"max_rss_mib"`
}

// configName is the run's configuration without any repeat suffix.
func configName(r *RunResult) string { return fmt.Sprintf("%s n=%d", r.Mode, r.Nodes) }

// medians groups runs by configuration, in first-seen order, and returns
// one Median per configuration that ran more than once.
func medians(runs []*RunResult) []Median {
	groups := map[string][]*RunResult{}
	var order []string
	for _, r := range runs {
		k := configName(r)
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	var out []Median
	for _, k := range order {
		g := groups[k]
		if len(g) < 2 {
			continue
		}
		m := Median{Config: k, Mode: g[0].Mode, Nodes: g[0].Nodes, Runs: len(g)}
		var peak, low, l80, rss []float64
		for _, r := range g {
			if p := r.Phase(PhasePeak); p != nil {
				peak = append(peak, p.TxPerSec)
			}
			if p := r.Phase(PhaseLow); p != nil && p.Latency.Samples > 0 {
				low = append(low, p.Latency.P50)
			}
			if p := r.Phase(PhaseLoad80); p != nil && p.Latency.Samples > 0 {
				l80 = append(l80, p.Latency.P99)
			}
			rss = append(rss, r.MaxRSSMiB())
		}
		m.PeakTxPerSs = peak
		m.PeakTxPerS, m.LowP50, m.Load80P99, m.MaxRSSMiB = medianOf(peak), medianOf(low), medianOf(l80), medianOf(rss)
		out = append(out, m)
	}
	return out
}

// medianOf returns the median (the mean of the middle two for an even
// count), or 0 for none.
func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return round2((s[len(s)/2-1] + s[len(s)/2]) / 2)
}

// medianRun is a stand-in run carrying a Median's figures, so the
// targets are checked against medians the same way as against one run.
func (m Median) medianRun() *RunResult {
	r := &RunResult{Label: fmt.Sprintf("%s (median of %d)", m.Config, m.Runs), Mode: m.Mode, Nodes: m.Nodes}
	r.Phases = []PhaseResult{{Name: PhasePeak, TxPerSec: m.PeakTxPerS}}
	if m.LowP50 > 0 {
		r.Phases = append(r.Phases, PhaseResult{Name: PhaseLow, Latency: Latency{Samples: 1, P50: m.LowP50}})
	}
	if m.Load80P99 > 0 {
		r.Phases = append(r.Phases, PhaseResult{Name: PhaseLoad80, Latency: Latency{Samples: 1, P99: m.Load80P99}})
	}
	r.NodeStats = []NodeResult{{PeakRSSMiB: m.MaxRSSMiB}}
	return r
}
