package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// ReportVersion is the version of report.json's layout.
const ReportVersion = 1

// Files a report directory holds.
const (
	FileJSON       = "report.json"
	FileMarkdown   = "report.md"
	FileThroughput = "throughput.png"
	FileLatency    = "latency.png"
)

// Report is one bench invocation: one run per engine and, with two runs,
// their comparison and the targets checked.
type Report struct {
	Version    int           `json:"version"`
	Started    time.Time     `json:"started"`
	Command    string        `json:"command"`
	Host       Host          `json:"host"`
	Runs       []*RunResult  `json:"runs"`
	Comparison []Ratio       `json:"comparison,omitempty"` // every later run over the first
	Medians    []Median      `json:"medians,omitempty"`    // configurations run more than once
	Targets    []TargetCheck `json:"targets"`
	Charts     []string      `json:"charts"` // file names in the report directory
}

// Host describes the machine the bench ran on (nodes and load generator
// share it).
type Host struct {
	CPUs      int    `json:"cpus"`
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	GoVersion string `json:"go_version"`
	Hostname  string `json:"hostname"`
	// LoadAvg is the 1-minute load average when the report was made: on a
	// shared machine, anything well above the bench's own load means the
	// figures are low.
	LoadAvg float64 `json:"load_avg_1m"`
}

// Ratio compares one figure between two runs.
type Ratio struct {
	RunA   string  `json:"run_a"` // the first run (PBFT with --consensus both)
	RunB   string  `json:"run_b"`
	Metric string  `json:"metric"`
	A      float64 `json:"a"`
	B      float64 `json:"b"`
	BOverA float64 `json:"b_over_a"`
}

// TargetCheck is one of issue 6's targets against what this report measured.
type TargetCheck struct {
	Run      string  `json:"run"`
	Target   string  `json:"target"`
	Want     string  `json:"want"`
	Measured float64 `json:"measured"`
	Unit     string  `json:"unit"`
	Met      bool    `json:"met"`
}

// NewReport assembles a report from finished runs.
func NewReport(command string, started time.Time, runs []*RunResult) *Report {
	host, _ := os.Hostname()
	rep := &Report{
		Version: ReportVersion, Started: started.UTC(), Command: command, Runs: runs,
		Host: Host{CPUs: runtime.NumCPU(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, GoVersion: runtime.Version(), Hostname: host, LoadAvg: loadAvg()},
	}
	for _, r := range runs {
		fillPerTx(r)
	}
	// With repeats, targets and comparisons use the medians; otherwise
	// each run stands for itself.
	rep.Medians = medians(runs)
	byConfig := runs
	if len(rep.Medians) > 0 {
		byConfig = nil
		for _, m := range rep.Medians {
			byConfig = append(byConfig, m.medianRun())
		}
	}
	for _, r := range byConfig[min(1, len(byConfig)):] {
		rep.Comparison = append(rep.Comparison, compare(byConfig[0], r)...)
	}
	for _, r := range byConfig {
		rep.Targets = append(rep.Targets, checkTargets(r)...)
	}
	rep.Targets = append(rep.Targets, checkScaling(byConfig)...)
	return rep
}

// fillPerTx derives each phase's node CPU per committed tx.
func fillPerTx(r *RunResult) {
	for i := range r.Phases {
		p := &r.Phases[i]
		if p.CommittedTxs == 0 || len(p.NodeCPUSeconds) == 0 {
			continue
		}
		var sum float64
		for _, c := range p.NodeCPUSeconds[:len(p.NodeCPUSeconds)-1] {
			sum += c
		}
		p.NodeCPUPerTxMicros = round2(sum / float64(p.CommittedTxs) * 1e6)
	}
}

// Phase returns the run's phase named name, or nil.
func (r *RunResult) Phase(name string) *PhaseResult {
	for i := range r.Phases {
		if r.Phases[i].Name == name {
			return &r.Phases[i]
		}
	}
	return nil
}

// MaxRSSMiB is the largest peak RSS over the run's nodes.
func (r *RunResult) MaxRSSMiB() float64 {
	m := 0.0
	for _, n := range r.NodeStats {
		m = max(m, n.PeakRSSMiB)
	}
	return m
}

// Phase names the default plan uses; targets refer to them.
const (
	PhasePeak   = "peak"
	PhaseLoad80 = "load80"
	PhaseLow    = "low"
)

// checkTargets evaluates issue 6's targets that apply to r.
func checkTargets(r *RunResult) []TargetCheck {
	var out []TargetCheck
	add := func(target, want string, measured float64, unit string, met bool) {
		out = append(out, TargetCheck{Run: r.Label, Target: target, Want: want, Measured: measured, Unit: unit, Met: met})
	}
	peak, low, l80 := r.Phase(PhasePeak), r.Phase(PhaseLow), r.Phase(PhaseLoad80)
	switch {
	case r.Mode == ModePBFT && r.Nodes == 4:
		if peak != nil {
			add("throughput, signed transfers", ">= 8000", peak.TxPerSec, "tx/s", peak.TxPerSec >= 8000)
		}
		if low != nil && low.Latency.Samples > 0 {
			add("low-load latency p50", "<= 5", low.Latency.P50, "ms", low.Latency.P50 <= 5)
		}
		if l80 != nil && l80.Latency.Samples > 0 {
			add("latency p99 at 80% of peak", "<= 250", l80.Latency.P99, "ms", l80.Latency.P99 <= 250)
		}
	case r.Mode == ModeRaft && r.Nodes == 3:
		if peak != nil {
			add("throughput, same ledger", ">= 9500", peak.TxPerSec, "tx/s", peak.TxPerSec >= 9500)
		}
		if low != nil && low.Latency.Samples > 0 {
			add("low-load latency p50", "<= 2", low.Latency.P50, "ms", low.Latency.P50 <= 2)
		}
	}
	if rss := r.MaxRSSMiB(); rss > 0 {
		add("peak RSS per node", "<= 150", rss, "MiB", rss <= 150)
	}
	return out
}

// checkScaling checks that PBFT at n = 7 and 10 keeps at least half of
// its n = 4 peak, for the runs present.
func checkScaling(runs []*RunResult) []TargetCheck {
	var base *PhaseResult
	for _, r := range runs {
		if r.Mode == ModePBFT && r.Nodes == 4 {
			base = r.Phase(PhasePeak)
		}
	}
	if base == nil || base.TxPerSec == 0 {
		return nil
	}
	var out []TargetCheck
	for _, r := range runs {
		p := r.Phase(PhasePeak)
		if r.Mode != ModePBFT || (r.Nodes != 7 && r.Nodes != 10) || p == nil {
			continue
		}
		share := ratio(p.TxPerSec, base.TxPerSec)
		out = append(out, TargetCheck{Run: r.Label, Target: "throughput kept from n=4", Want: ">= 0.5", Measured: share, Unit: "x", Met: share >= 0.5})
	}
	return out
}

// compare lists b's figures over a's.
func compare(a, b *RunResult) []Ratio {
	var out []Ratio
	add := func(metric string, x, y float64) {
		if x != 0 || y != 0 {
			out = append(out, Ratio{RunA: a.Label, RunB: b.Label, Metric: metric, A: x, B: y, BOverA: ratio(y, x)})
		}
	}
	pa, pb := a.Phase(PhasePeak), b.Phase(PhasePeak)
	if pa == nil && len(a.Phases) > 0 && len(b.Phases) > 0 {
		pa, pb = &a.Phases[0], &b.Phases[0]
	}
	if pa != nil && pb != nil {
		add("peak tx/s", pa.TxPerSec, pb.TxPerSec)
		add("peak latency p50 ms", pa.Latency.P50, pb.Latency.P50)
		add("node CPU µs per tx at peak", pa.NodeCPUPerTxMicros, pb.NodeCPUPerTxMicros)
	}
	for _, name := range []string{PhaseLoad80, PhaseLow} {
		x, y := a.Phase(name), b.Phase(name)
		if x != nil && y != nil {
			add(name+" latency p50 ms", x.Latency.P50, y.Latency.P50)
			add(name+" latency p99 ms", x.Latency.P99, y.Latency.P99)
		}
	}
	add("max peak RSS MiB", a.MaxRSSMiB(), b.MaxRSSMiB())
	add("view/leader changes", float64(len(a.Events)), float64(len(b.Events)))
	return out
}

// WriteFiles writes report.json, report.md and the charts into dir
// (created if missing).
func (rep *Report) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: report dir: %w", err)
	}
	rep.Charts = nil
	if err := WriteThroughputChart(filepath.Join(dir, FileThroughput), rep.Runs); err != nil {
		return err
	}
	if err := WriteLatencyChart(filepath.Join(dir, FileLatency), rep.Runs); err != nil {
		return err
	}
	rep.Charts = []string{FileThroughput, FileLatency}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: encode report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileJSON), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	var md strings.Builder
	rep.WriteMarkdown(&md)
	if err := os.WriteFile(filepath.Join(dir, FileMarkdown), []byte(md.String()), 0o644); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// ReadReport reads a report.json back (for tests and later comparisons).
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("bench: %s: %w", path, err)
	}
	if rep.Version != ReportVersion {
		return nil, fmt.Errorf("bench: %s: report version %d, want %d", path, rep.Version, ReportVersion)
	}
	return &rep, nil
}

// WriteTable prints the terminal summary: one row per phase of each run,
// one per node, then the comparison and the targets.
func (rep *Report) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tphase\tloop\toffered\tcommitted tx/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\tsamples\ttxs/block\tnode CPU µs/tx\t")
	for _, r := range rep.Runs {
		for _, p := range r.Phases {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%.1f\t%.1f\t\n",
				r.Label, p.Name, p.Loop, offered(p), p.TxPerSec, p.Latency.P50, p.Latency.P90, p.Latency.P99, p.Latency.Max, p.Latency.Samples, p.TxsPerBlock, p.NodeCPUPerTxMicros)
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tnode\tpid\tpeak RSS MiB\tCPU s\theight\tview/term\trole\tview changes\t")
	for _, r := range rep.Runs {
		for _, n := range r.NodeStats {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%.2f\t%d\t%d\t%s\t%d\t\n", r.Label, n.Name, n.PID, n.PeakRSSMiB, n.CPUSeconds, n.Height, n.Round, n.Role, n.ViewChanges)
		}
		fmt.Fprintf(tw, "%s\t(load generator)\t\t%.1f\t%.2f\t\t\t\t\t\n", r.Label, r.Generator.PeakRSSMiB, r.Generator.CPUSeconds)
	}
	tw.Flush()
	if len(rep.Comparison) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "metric\trun a\ta\trun b\tb\tb/a\t")
		for _, c := range rep.Comparison {
			fmt.Fprintf(tw, "%s\t%s\t%.2f\t%s\t%.2f\t%.2f\t\n", c.Metric, c.RunA, c.A, c.RunB, c.B, c.BOverA)
		}
		tw.Flush()
	}
	if len(rep.Medians) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "config\truns\tmedian peak tx/s\teach\tlow p50 ms\tload80 p99 ms\tmax RSS MiB\t")
		for _, m := range rep.Medians {
			fmt.Fprintf(tw, "%s\t%d\t%.0f\t%v\t%.2f\t%.2f\t%.1f\t\n", m.Config, m.Runs, m.PeakTxPerS, m.PeakTxPerSs, m.LowP50, m.Load80P99, m.MaxRSSMiB)
		}
		tw.Flush()
	}
	if len(rep.Targets) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "target\trun\twant\tmeasured\t")
		for _, t := range rep.Targets {
			fmt.Fprintf(tw, "%s\t%s\t%s %s\t%.2f %s %s\t\n", t.Target, t.Run, t.Want, t.Unit, t.Measured, t.Unit, metWord(t.Met))
		}
		tw.Flush()
	}
	for _, r := range rep.Runs {
		for _, warn := range r.Warnings {
			fmt.Fprintf(w, "warning: %s: %s\n", r.Label, warn)
		}
	}
}

func offered(p PhaseResult) string {
	if p.Loop == "open" {
		return fmt.Sprintf("%.0f tx/s", p.TargetRate)
	}
	return fmt.Sprintf("%d clients", p.Clients)
}

func metWord(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// WriteMarkdown writes report.md's content.
func (rep *Report) WriteMarkdown(w io.Writer) {
	fmt.Fprintf(w, "# bftledger benchmark\n\n")
	fmt.Fprintf(w, "Started %s on %s (%d CPUs, %s/%s, %s, load average %.1f at the end): nodes and load generator share the machine.\n\n",
		rep.Started.Format(time.RFC3339), rep.Host.Hostname, rep.Host.CPUs, rep.Host.GOOS, rep.Host.GOARCH, rep.Host.GoVersion, rep.Host.LoadAvg)
	fmt.Fprintf(w, "Command: `%s`\n\n", rep.Command)
	fmt.Fprintf(w, "Committed tx/s counts txs in blocks first seen (on the node furthest ahead) inside each phase's window. Latency runs from a tx's release by the generator to the receipts a client needs (f+1 matching signed receipts from distinct validators for PBFT, one for Raft), over every n-th tx; commit latency is to the block being seen, over every tx.\n\n")
	for _, r := range rep.Runs {
		fmt.Fprintf(w, "## %s\n\n", r.Label)
		fmt.Fprintf(w, "%d nodes (f = %d, %d receipts needed), %d accounts, batches of %d txs, latency sampled every %d txs, %d transfers pre-signed.\n\n",
			r.Nodes, r.F, r.ReceiptsNeeded, r.Accounts, r.BatchTxs, r.SampleEvery, r.PresignTxs)
		fmt.Fprintln(w, "| phase | loop | offered | window s | committed tx/s | p50 ms | p90 ms | p99 ms | max ms | samples | commit p50 ms | commit p99 ms | txs/block | node CPU µs/tx |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
		for _, p := range r.Phases {
			fmt.Fprintf(w, "| %s | %s | %s | %.1f | %.0f | %.2f | %.2f | %.2f | %.2f | %d | %.2f | %.2f | %.1f | %.1f |\n",
				p.Name, p.Loop, offered(p), p.DurationSeconds, p.TxPerSec, p.Latency.P50, p.Latency.P90, p.Latency.P99, p.Latency.Max,
				p.Latency.Samples, p.CommitLatency.P50, p.CommitLatency.P99, p.TxsPerBlock, p.NodeCPUPerTxMicros)
		}
		fmt.Fprintln(w, "\n| node | pid | peak RSS MiB | CPU s | height | view/term | role | view changes |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
		for _, n := range r.NodeStats {
			fmt.Fprintf(w, "| %s | %d | %.1f | %.2f | %d | %d | %s | %d |\n", n.Name, n.PID, n.PeakRSSMiB, n.CPUSeconds, n.Height, n.Round, n.Role, n.ViewChanges)
		}
		fmt.Fprintf(w, "| load generator | | %.1f | %.2f | | | | |\n\n", r.Generator.PeakRSSMiB, r.Generator.CPUSeconds)
		writeCounters(w, r)
		if len(r.Events) > 0 {
			fmt.Fprintln(w, "Events:")
			for _, e := range r.Events {
				fmt.Fprintf(w, "- %.1f s: %s to round %d (leader %d), first seen on node %d\n", e.T, e.Kind, e.Round, e.Leader, e.Node)
			}
			fmt.Fprintln(w)
		}
		for _, warn := range r.Warnings {
			fmt.Fprintf(w, "> warning: %s\n", warn)
		}
		if len(r.Warnings) > 0 {
			fmt.Fprintln(w)
		}
	}
	for i, c := range rep.Comparison {
		if i == 0 || c.RunB != rep.Comparison[i-1].RunB {
			fmt.Fprintf(w, "## %s vs %s\n\n| metric | %s | %s | ratio |\n|---|---|---|---|\n", c.RunA, c.RunB, c.RunA, c.RunB)
		}
		fmt.Fprintf(w, "| %s | %.2f | %.2f | %.2f |\n", c.Metric, c.A, c.B, c.BOverA)
		if i == len(rep.Comparison)-1 || c.RunB != rep.Comparison[i+1].RunB {
			fmt.Fprintln(w)
		}
	}
	if len(rep.Medians) > 0 {
		fmt.Fprintln(w, "## Medians of repeated runs\n\n| config | runs | median peak tx/s | each | low-load p50 ms | p99 ms at 80% | max RSS MiB |\n|---|---|---|---|---|---|---|")
		for _, m := range rep.Medians {
			fmt.Fprintf(w, "| %s | %d | %.0f | %v | %.2f | %.2f | %.1f |\n", m.Config, m.Runs, m.PeakTxPerS, m.PeakTxPerSs, m.LowP50, m.Load80P99, m.MaxRSSMiB)
		}
		fmt.Fprintln(w)
	}
	if len(rep.Targets) > 0 {
		fmt.Fprintln(w, "## Targets (issue 6)\n\n| run | target | want | measured | |\n|---|---|---|---|---|")
		for _, t := range rep.Targets {
			fmt.Fprintf(w, "| %s | %s | %s %s | %.2f %s | %s |\n", t.Run, t.Target, t.Want, t.Unit, t.Measured, t.Unit, metWord(t.Met))
		}
		fmt.Fprintln(w)
	}
	if len(rep.Charts) > 0 {
		fmt.Fprintln(w, "## Charts")
		fmt.Fprintln(w)
		for _, c := range rep.Charts {
			fmt.Fprintf(w, "![%s](%s)\n\n", strings.TrimSuffix(c, ".png"), c)
		}
	}
}

// writeCounters lists each node's own message counters, which explain
// figures the bench cannot see (relayed requests, state transfer, ...).
func writeCounters(w io.Writer, r *RunResult) {
	shown := false
	for _, n := range r.NodeStats {
		if len(n.Metrics) == 0 {
			continue
		}
		if !shown {
			fmt.Fprintln(w, "Node counters at the end of the run:")
			shown = true
		}
		keys := make([]string, 0, len(n.Metrics))
		for k := range n.Metrics {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			short := strings.TrimPrefix(k, "bftledger_")
			short = strings.NewReplacer(`dir="`, "", `kind="`, "", `"`, "").Replace(short)
			parts = append(parts, fmt.Sprintf("%s %g", short, n.Metrics[k]))
		}
		fmt.Fprintf(w, "- %s: %s\n", n.Name, strings.Join(parts, ", "))
	}
	if shown {
		fmt.Fprintln(w)
	}
}

// loadAvg reads the 1-minute load average from /proc/loadavg (0 if
// unavailable).
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil || v < 0 {
		return 0
	}
	return v
}
