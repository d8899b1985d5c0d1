package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestBenchE2E builds bftledger and runs a short bench against a real
// 4-node PBFT testnet. It takes about half a minute, so it runs only with
// BFTLEDGER_BENCH_E2E=1.
func TestBenchE2E(t *testing.T) {
	if os.Getenv("BFTLEDGER_BENCH_E2E") != "1" {
		t.Skip("set BFTLEDGER_BENCH_E2E=1 to run a bench against a real testnet")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bftledger")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "../cmd/bftledger")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "report")
	cmd := exec.CommandContext(ctx, bin, "bench", "--consensus", "pbft", "--nodes", "4",
		"--duration", "3s", "--warmup", "1s", "--accounts", "512", "--clients", "2", "--batch", "200",
		"--max-rate", "8000", "--out", out, "--keep")
	// On timeout, interrupt the bench so it stops its nodes, rather than
	// killing it and leaving them running.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	b, err := cmd.CombinedOutput()
	t.Logf("%s", b)
	if err != nil {
		t.Fatalf("bench: %v", err)
	}
	rep, err := ReadReport(filepath.Join(out, FileJSON))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 1 {
		t.Fatalf("%d runs", len(rep.Runs))
	}
	r := rep.Runs[0]
	if r.Mode != ModePBFT || r.Nodes != 4 || r.ReceiptsNeeded != 2 {
		t.Errorf("run %s: mode %s, %d nodes, %d receipts", r.Label, r.Mode, r.Nodes, r.ReceiptsNeeded)
	}
	peak := r.Phase(PhasePeak)
	if peak == nil || peak.CommittedTxs == 0 || peak.Latency.Samples == 0 {
		t.Fatalf("peak phase %+v", peak)
	}
	if len(r.Generator.Rejected) != 0 {
		t.Errorf("nodes refused txs: %v", r.Generator.Rejected)
	}
	for _, p := range r.Phases {
		if p.FailedReceipts != 0 || p.SamplesFailed != 0 {
			t.Errorf("phase %s: %d failed receipts, %d samples without f+1 receipts", p.Name, p.FailedReceipts, p.SamplesFailed)
		}
	}
	for _, n := range r.NodeStats {
		if n.PID == 0 || n.PeakRSSMiB == 0 || n.CPUSeconds == 0 {
			t.Errorf("node %s: pid %d, RSS %v MiB, CPU %v s", n.Name, n.PID, n.PeakRSSMiB, n.CPUSeconds)
		}
	}
	for _, name := range []string{FileMarkdown, FileThroughput, FileLatency} {
		if fi, err := os.Stat(filepath.Join(out, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s missing or empty", name)
		}
	}
}
