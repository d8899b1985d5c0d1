package sim

import (
	"math/rand/v2"
	"testing"
)

// toyConfig is a faulty run of the toy engine. The toy leader never crashes
// (it keeps its pool in memory), so replica 0 is listed as Byzantine: the
// checkers hold it to nothing and the simulator never crashes it.
func toyConfig(seed uint64, lie bool) Config {
	return Config{
		Seed: seed, N: 4, Byzantine: []int{0}, Engine: &toyEngine{n: 4, lie: lie},
		Clients: 3, Txs: 40, SubmitAllPercent: 30, ResubmitTicks: 20,
		Faults:        Faults{LossPercent: 10, DupPercent: 10, MaxDelayTicks: 3},
		CrashPerMille: 20, MaxDown: 2, MinDownTicks: 5, MaxDownTicks: 30, TornCrashPercent: 30,
		PartitionPerMille: 20, MinPartitionTicks: 5, MaxPartitionTicks: 40,
		SafetyTicks: 300, LivenessTicks: 300, HealDelayTicks: 1,
	}
}

func TestToyEngineHonest(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		s, err := New(toyConfig(seed, false))
		if err != nil {
			t.Fatal(err)
		}
		r := s.Run()
		if r.Failed() {
			t.Fatalf("%s", r.Report())
		}
		if r.TxsAccepted < 40 || r.Crashes == 0 {
			t.Fatalf("run did too little: %s", r.Summary())
		}
	}
}

// TestToyEngineLieCaught: the checkers must catch a leader that sends
// different batches to different replicas.
func TestToyEngineLieCaught(t *testing.T) {
	s, err := New(toyConfig(1, true))
	if err != nil {
		t.Fatal(err)
	}
	r := s.Run()
	if !hasKind(r, KindConflict) {
		t.Fatalf("lying leader not caught: %s", r.Report())
	}
}

// TestDeterministic: the same seed gives the same run.
func TestDeterministic(t *testing.T) {
	run := func() string {
		s, err := New(toyConfig(7, false))
		if err != nil {
			t.Fatal(err)
		}
		return s.Run().Report()
	}
	if a, b := run(), run(); a != b {
		t.Fatalf("two runs of one seed differ:\n%s\n%s", a, b)
	}
}

func hasKind(r *Result, kind string) bool {
	for _, v := range r.Violations {
		if v.Kind == kind {
			return true
		}
	}
	return false
}

// TestToyEngineLedger runs the real ledger under the toy engine: supply
// is checked on every delivery.
func TestToyEngineLedger(t *testing.T) {
	cfg := toyConfig(5, false)
	cfg.Rand = rand.New(rand.NewPCG(5, 0))
	app, err := NewLedgerApp(chainID, cfg.Clients, cfg.Rand)
	if err != nil {
		t.Fatal(err)
	}
	cfg.App = app
	cfg.Txs = 20
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := s.Run()
	if r.Failed() || r.TxsAccepted < 20 {
		t.Fatalf("%s", r.Report())
	}
	for _, nd := range s.nodes {
		if sup, ok := nd.machine.Supply(); !ok || sup != 3*ledgerClientBalance {
			t.Fatalf("replica %d supply %d (%v)", nd.id, sup, ok)
		}
	}
}
