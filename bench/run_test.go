package bench

import (
	"context"
	"errors"
	"testing"
	"time"
)

func fakeConfig(mode string, nodes []Node) Config {
	return Config{
		Mode: mode, ChainID: "bench-test", Nodes: nodes,
		Accounts: 256, Sign: fakeTx, VerifyReceipt: verifyFakeReceipt,
		MaxRate: 5000, BatchTxs: 64, SampleEvery: 4,
		Phases: []Phase{
			{Name: PhasePeak, Clients: 4, Warmup: 100 * time.Millisecond, Duration: 400 * time.Millisecond},
			{Name: PhaseLoad80, RatePct: 80, Warmup: 50 * time.Millisecond, Duration: 300 * time.Millisecond},
			{Name: PhaseLow, Rate: 200, Duration: 300 * time.Millisecond},
		},
	}
}

// The fake cluster runs on real loopback HTTP, so how much commits inside
// each short window depends on how busy the machine is. These tests check
// what holds however slow it is: nonce order, consistent accounting, and
// that a run with latency samples sees their commits before it returns.

func TestRunFakePBFT(t *testing.T) {
	chain, nodes := newFakeCluster(t, ModePBFT, 4, 100)
	res, err := Run(context.Background(), fakeConfig(ModePBFT, nodes))
	if err != nil {
		t.Fatal(err)
	}
	checkRunInvariants(t, chain, res)
	if res.ReceiptsNeeded != 2 || res.F != 1 {
		t.Errorf("receipts needed %d f %d, want 2 and 1", res.ReceiptsNeeded, res.F)
	}
	if len(res.Phases) != 3 {
		t.Fatalf("%d phases, want 3", len(res.Phases))
	}
	names := []string{PhasePeak, PhaseLoad80, PhaseLow}
	for i, p := range res.Phases {
		if p.Name != names[i] {
			t.Errorf("phase %d named %q, want %q", i, p.Name, names[i])
		}
	}
	if p := res.Phases[1]; p.Loop != "open" || p.TargetRate < 1 {
		t.Errorf("load80: loop %s target %v", p.Loop, p.TargetRate)
	}
	if want := max(1, res.Phases[0].TxPerSec*0.8); res.Phases[1].TargetRate < want*0.99 || res.Phases[1].TargetRate > want*1.01 {
		t.Errorf("load80 target %v tx/s, want 80%% of %v", res.Phases[1].TargetRate, res.Phases[0].TxPerSec)
	}
	if len(res.NodeStats) != 4 {
		t.Errorf("%d node stats", len(res.NodeStats))
	}
}

func TestRunFakeRaftOpenLoop(t *testing.T) {
	chain, nodes := newFakeCluster(t, ModeRaft, 3, 10000)
	cfg := fakeConfig(ModeRaft, nodes)
	cfg.Phases = []Phase{{Name: "open", Rate: 1000, Warmup: 50 * time.Millisecond, Duration: 300 * time.Millisecond}}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkRunInvariants(t, chain, res)
	if res.ReceiptsNeeded != 1 {
		t.Errorf("raft needs %d receipts, want 1", res.ReceiptsNeeded)
	}
	// An open loop never releases more than its rate allows (give or take
	// a tick processed as the deadline passes).
	if p := res.Phases[0]; p.Released > 400 {
		t.Errorf("released %d txs in 0.35 s at 1000 tx/s", p.Released)
	}
}

func TestRunBadReceiptsAreNotCounted(t *testing.T) {
	chain, nodes := newFakeCluster(t, ModePBFT, 4, 10000)
	nodes[1].PublicKey = nodes[2].PublicKey // node 1's receipts now look forged
	cfg := fakeConfig(ModePBFT, nodes)
	cfg.Phases = []Phase{{Name: "open", Rate: 400, Duration: 200 * time.Millisecond}}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkRunInvariants(t, chain, res)
}

// checkRunInvariants checks what any run against the fake must satisfy.
func checkRunInvariants(t *testing.T, chain *fakeChain, res *RunResult) {
	t.Helper()
	blocks, txs, misorder := chain.stats()
	if misorder != 0 {
		t.Errorf("%d txs committed out of nonce order", misorder)
	}
	g := res.Generator
	if g.Released == 0 || g.Accepted == 0 {
		t.Fatalf("generator released %d, accepted %d", g.Released, g.Accepted)
	}
	if len(g.Rejected) != 0 {
		t.Errorf("rejected %v", g.Rejected)
	}
	if g.Accepted+g.Busy > g.Posted {
		t.Errorf("accepted %d + busy %d > posted %d", g.Accepted, g.Busy, g.Posted)
	}
	seen := 0
	for _, b := range res.Series {
		seen += b.Count
	}
	if seen > txs {
		t.Errorf("bench saw %d committed txs, the chain has %d", seen, txs)
	}
	if g.Samples > 0 && seen == 0 {
		t.Errorf("%d samples but no commit seen (%d blocks)", g.Samples, blocks)
	}
	for _, n := range res.NodeStats {
		if _, ok := n.Metrics["bftledger_view_changes_total"]; !ok {
			t.Errorf("node %s: metrics %v", n.Name, n.Metrics)
		}
	}
	window := 0
	for _, p := range res.Phases {
		window += p.CommittedTxs
		if p.CommittedTxs > 0 && (p.Blocks == 0 || p.TxsPerBlock < 1 || p.TxsPerBlock > float64(p.CommittedTxs)) {
			t.Errorf("phase %s: %d txs in %d blocks (%v per block)", p.Name, p.CommittedTxs, p.Blocks, p.TxsPerBlock)
		}
		if p.Latency.Samples > 0 && (p.Latency.P50 <= 0 || p.Latency.P50 > p.Latency.P90 || p.Latency.P90 > p.Latency.P99 || p.Latency.P99 > p.Latency.Max) {
			t.Errorf("phase %s: latency %+v not ordered", p.Name, p.Latency)
		}
		if p.SamplesFailed != 0 || p.FailedReceipts != 0 {
			t.Errorf("phase %s: %d samples failed, %d failed receipts", p.Name, p.SamplesFailed, p.FailedReceipts)
		}
		if p.DurationSeconds <= 0 || p.StartSeconds < p.WarmupSeconds {
			t.Errorf("phase %s: window %v s from %v s after %v s warm-up", p.Name, p.DurationSeconds, p.StartSeconds, p.WarmupSeconds)
		}
	}
	if window > seen {
		t.Errorf("phase windows count %d txs, more than the %d seen", window, seen)
	}
}

func TestConfigValidate(t *testing.T) {
	_, nodes := newFakeCluster(t, ModePBFT, 1, 1)
	good := fakeConfig(ModePBFT, nodes)
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for name, mutate := range map[string]func(*Config){
		"mode":        func(c *Config) { c.Mode = "paxos" },
		"no nodes":    func(c *Config) { c.Nodes = nil },
		"bad url":     func(c *Config) { c.Nodes = []Node{{URL: "ftp://x"}} },
		"dup index":   func(c *Config) { c.Nodes = append(c.Nodes, c.Nodes[0]) },
		"key length":  func(c *Config) { c.Nodes = []Node{{URL: "http://a:1", PublicKey: []byte{1}}} },
		"accounts":    func(c *Config) { c.Accounts = 0 },
		"sign":        func(c *Config) { c.Sign = nil },
		"phases":      func(c *Config) { c.Phases = nil },
		"clients":     func(c *Config) { c.Phases = []Phase{{Name: "x", Duration: time.Second}} },
		"duration":    func(c *Config) { c.Phases = []Phase{{Name: "x", Clients: 1}} },
		"pct first":   func(c *Config) { c.Phases = []Phase{{Name: "x", RatePct: 50, Duration: time.Second}} },
		"rate":        func(c *Config) { c.Phases = []Phase{{Name: "x", Rate: -1, Duration: time.Second}} },
		"max rate":    func(c *Config) { c.MaxRate = 0 },
		"batch":       func(c *Config) { c.BatchTxs = BatchTxsMax + 1 },
		"sample":      func(c *Config) { c.SampleEvery = -1 },
		"empty phase": func(c *Config) { c.Phases = []Phase{{Clients: 1, Duration: time.Second}} },
	} {
		c := fakeConfig(ModePBFT, nodes)
		mutate(&c)
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", name, err)
		}
	}
}

func TestReceiptsNeeded(t *testing.T) {
	for _, tc := range []struct {
		mode    string
		n, want int
	}{
		{ModePBFT, 1, 1}, {ModePBFT, 4, 2}, {ModePBFT, 6, 2}, {ModePBFT, 7, 3}, {ModePBFT, 10, 4},
		{ModeRaft, 3, 1}, {ModeRaft, 5, 1},
	} {
		if got := ReceiptsNeeded(tc.mode, tc.n); got != tc.want {
			t.Errorf("%s n=%d: %d, want %d", tc.mode, tc.n, got, tc.want)
		}
	}
}
