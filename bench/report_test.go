package bench

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// syntheticRun builds a finished run without a cluster.
func syntheticRun(mode string, nodes int, peak float64) *RunResult {
	r := &RunResult{
		Label: mode + " n=" + string(rune('0'+nodes)), Mode: mode, Nodes: nodes,
		F: faults(mode, nodes), ReceiptsNeeded: ReceiptsNeeded(mode, nodes), Accounts: 100, BatchTxs: 50, SampleEvery: 16,
	}
	lat := []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond, 40 * time.Millisecond}
	for i, name := range []string{PhasePeak, PhaseLoad80, PhaseLow} {
		p := PhaseResult{Name: name, Loop: "open", DurationSeconds: 2, StartSeconds: float64(1 + 3*i),
			CommittedTxs: int(peak * 2), TxPerSec: peak, NodeCPUSeconds: make([]float64, nodes+1)}
		if name == PhasePeak {
			p.Loop, p.Clients = "closed", 4
		}
		for j := range nodes {
			p.NodeCPUSeconds[j] = 1
		}
		p.Latency = Summarize(append([]time.Duration(nil), lat...))
		r.Phases = append(r.Phases, p)
		r.latencies = append(r.latencies, lat)
	}
	for i := range nodes {
		r.NodeStats = append(r.NodeStats, NodeResult{Index: i, Name: "node" + string(rune('0'+i)), PID: 100 + i, PeakRSSMiB: 90 + float64(i), CPUSeconds: 3})
	}
	for s := range 8 {
		r.Series = append(r.Series, Bin{Start: float64(s), Rate: peak, Count: int(peak)})
	}
	r.Events = []Event{{T: 2.5, Kind: "view-change", Node: 1, Round: 1, Leader: 1}}
	return r
}

func TestReportFiles(t *testing.T) {
	dir := t.TempDir()
	runs := []*RunResult{syntheticRun(ModePBFT, 4, 8500), syntheticRun(ModeRaft, 3, 12000)}
	runs[1].Phases[2].Latency.P50 = 3 // misses raft's 2 ms
	rep := NewReport("bftledger bench --consensus both", time.Unix(0, 0), runs)
	if err := rep.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{FileJSON, FileMarkdown, FileThroughput, FileLatency} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Size() == 0 {
			t.Fatalf("%s: %v (size %d)", name, err, fi.Size())
		}
	}
	for _, name := range []string{FileThroughput, FileLatency} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() < 500 || b.Dy() < 200 {
			t.Errorf("%s is %v", name, b)
		}
	}

	back, err := ReadReport(filepath.Join(dir, FileJSON))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Runs) != 2 || back.Runs[0].Phases[0].TxPerSec != 8500 || back.Runs[1].Mode != ModeRaft {
		t.Errorf("round trip lost data: %+v", back.Runs)
	}
	// Golden-ish: the field names other tools read must not drift.
	var raw map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, FileJSON))
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "started", "command", "host", "runs", "comparison", "targets", "charts"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("report.json lacks %q", k)
		}
	}
	run0 := raw["runs"].([]any)[0].(map[string]any)
	for _, k := range []string{"label", "mode", "nodes", "f", "receipts_needed", "phases", "node_stats", "generator", "events", "throughput", "warnings"} {
		if _, ok := run0[k]; !ok {
			t.Errorf("run lacks %q", k)
		}
	}
	phase0 := run0["phases"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "loop", "tx_s", "committed_txs", "latency", "commit_latency", "node_cpu_s", "node_cpu_us_per_tx"} {
		if _, ok := phase0[k]; !ok {
			t.Errorf("phase lacks %q", k)
		}
	}
	lat := phase0["latency"].(map[string]any)
	for _, k := range []string{"samples", "p50_ms", "p90_ms", "p99_ms", "max_ms"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("latency lacks %q", k)
		}
	}

	// 4 nodes x 1 CPU s over 17000 txs.
	if got := back.Runs[0].Phases[0].NodeCPUPerTxMicros; got != 235.29 {
		t.Errorf("CPU per tx %v µs, want 235.29", got)
	}
	if len(back.Comparison) == 0 || back.Comparison[0].Metric != "peak tx/s" || back.Comparison[0].BOverA != 1.41 {
		t.Errorf("comparison %+v", back.Comparison)
	}
	met := map[string]bool{}
	for _, tc := range back.Targets {
		met[tc.Run+"/"+tc.Target] = tc.Met
	}
	if !met["pbft n=4/throughput, signed transfers"] || !met["raft n=3/throughput, same ledger"] || !met["pbft n=4/low-load latency p50"] || met["raft n=3/low-load latency p50"] {
		t.Errorf("targets %+v", back.Targets)
	}

	md, _ := os.ReadFile(filepath.Join(dir, FileMarkdown))
	for _, want := range []string{"## pbft n=4", "## raft n=3", "## pbft n=4 vs raft n=3", "## Targets", "![throughput](throughput.png)", "view-change"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	var table strings.Builder
	rep.WriteTable(&table)
	for _, want := range []string{"committed tx/s", "load80", "node3", "(load generator)", "MISSED", "b/a"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

func TestReportScaling(t *testing.T) {
	n7 := syntheticRun(ModePBFT, 7, 3000)
	rep := NewReport("x", time.Unix(0, 0), []*RunResult{syntheticRun(ModePBFT, 4, 8000), n7})
	var got *TargetCheck
	for i := range rep.Targets {
		if rep.Targets[i].Run == n7.Label && rep.Targets[i].Target == "throughput kept from n=4" {
			got = &rep.Targets[i]
		}
	}
	if got == nil || got.Measured != 0.38 || got.Met {
		t.Errorf("scaling target %+v", got)
	}
	if len(rep.Comparison) == 0 || rep.Comparison[0].RunA != "pbft n=4" || rep.Comparison[0].RunB != n7.Label {
		t.Errorf("comparison %+v", rep.Comparison)
	}
}

func TestReportMedians(t *testing.T) {
	var runs []*RunResult
	for _, peak := range []float64{1000, 3000, 2000} {
		runs = append(runs, syntheticRun(ModePBFT, 4, peak))
	}
	runs = append(runs, syntheticRun(ModeRaft, 3, 5000), syntheticRun(ModeRaft, 3, 7000))
	rep := NewReport("x", time.Unix(0, 0), runs)
	if len(rep.Medians) != 2 {
		t.Fatalf("medians %+v", rep.Medians)
	}
	if m := rep.Medians[0]; m.Config != "pbft n=4" || m.Runs != 3 || m.PeakTxPerS != 2000 || m.LowP50 != 2 {
		t.Errorf("pbft median %+v", m)
	}
	if m := rep.Medians[1]; m.Runs != 2 || m.PeakTxPerS != 6000 {
		t.Errorf("raft median %+v", m)
	}
	found := false
	for _, tc := range rep.Targets {
		if tc.Run == "pbft n=4 (median of 3)" && tc.Target == "throughput, signed transfers" {
			found = tc.Measured == 2000 && !tc.Met
		}
	}
	if !found {
		t.Errorf("no target on the median: %+v", rep.Targets)
	}
	if len(rep.Comparison) == 0 || rep.Comparison[0].B != 6000 || rep.Comparison[0].BOverA != 3 {
		t.Errorf("comparison of medians %+v", rep.Comparison)
	}
	if medianOf(nil) != 0 || medianOf([]float64{3, 1}) != 2 {
		t.Error("medianOf")
	}
	colors, repeated := configColors(runs)
	if !repeated || len(colors) != 2 || colors["raft n=3"] != 1 {
		t.Errorf("colours %v repeated %v", colors, repeated)
	}
	dir := t.TempDir()
	if err := WriteThroughputChart(filepath.Join(dir, "t.svg"), runs); err != nil {
		t.Error(err)
	}
	if err := WriteLatencyChart(filepath.Join(dir, "l.svg"), runs); err != nil {
		t.Error(err)
	}
}

func TestChartsWithoutData(t *testing.T) {
	dir := t.TempDir()
	empty := []*RunResult{{Label: "empty", Phases: []PhaseResult{{Name: "x"}}}}
	if err := WriteThroughputChart(filepath.Join(dir, "t.svg"), empty); err != nil {
		t.Error(err)
	}
	if err := WriteLatencyChart(filepath.Join(dir, "l.svg"), empty); err != nil {
		t.Error(err)
	}
}

func TestReadReportRejects(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.json")
	os.WriteFile(p, []byte(`{"version":99}`), 0o644)
	if _, err := ReadReport(p); err == nil {
		t.Error("wrong version accepted")
	}
	os.WriteFile(p, []byte(`{`), 0o644)
	if _, err := ReadReport(p); err == nil {
		t.Error("bad JSON accepted")
	}
}
