package sim

import (
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/bftledger/bftledger/pbft/byzantine"
)

var (
	flagSeed      = flag.Uint64("seed", 0, "replay this one seed (TestSeeds)")
	flagSeeds     = flag.Int("seeds", 0, "run this many seeds (default "+strconv.Itoa(defaultSeeds)+", or $BFTLEDGER_SIM_SEEDS)")
	flagFirstSeed = flag.Uint64("first-seed", 1, "first seed of a -seeds run")
	flagBehaviour = flag.String("behaviour", "", "force this Byzantine behaviour on every seed")
	flagSimLog    = flag.Bool("simlog", false, "print the replicas' debug log (use with -seed)")
	flagIgnore    = flag.String("ignore", "", "comma-separated violation kinds that do not fail a seed (triage only)")
	flagFirstOnly = flag.Bool("first-violation", false, "stop each seed at its first violation (the default when running several seeds)")
)

// defaultSeeds is how many seeds `go test ./internal/sim` runs.
const defaultSeeds = 300

// seedList returns the seeds TestSeeds runs.
func seedList(t *testing.T) []uint64 {
	if *flagSeed != 0 {
		return []uint64{*flagSeed}
	}
	n := defaultSeeds
	if env := os.Getenv("BFTLEDGER_SIM_SEEDS"); env != "" {
		v, err := strconv.Atoi(env)
		if err != nil || v < 1 {
			t.Fatalf("BFTLEDGER_SIM_SEEDS=%q: want a positive number", env)
		}
		n = v
	}
	if *flagSeeds > 0 {
		n = *flagSeeds
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = *flagFirstSeed + uint64(i)
	}
	return out
}

// coverage records which (n, behaviour) pairs the seeds exercised.
type coverage struct {
	mu   sync.Mutex
	seen map[string]int
}

func (c *coverage) add(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[key]++
}

// TestSeeds runs the swarm: each seed derives a whole faulty run (see
// Swarm) and every checker must pass. A failure prints the command that
// replays it.
func TestSeeds(t *testing.T) {
	seeds := seedList(t)
	cov := &coverage{seen: make(map[string]int)}
	t.Run("swarm", func(t *testing.T) {
		for _, seed := range seeds {
			t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
				if len(seeds) > 1 {
					t.Parallel()
				}
				runSeed(t, seed, cov, len(seeds) > 1)
			})
		}
	})
	if len(seeds) < defaultSeeds || *flagBehaviour != "" {
		return
	}
	for _, n := range []int{4, 7} {
		for _, b := range byzantine.Behaviours {
			if cov.seen[fmt.Sprintf("n=%d/%s", n, b)] == 0 {
				t.Errorf("no seed ran behaviour %s at n=%d", b, n)
			}
		}
	}
	t.Logf("coverage: %v", cov.seen)
}

// runSeed runs one swarm seed. With firstOnly (a many-seed run) it stops at
// the first violation; a replay with -seed reports them all.
func runSeed(t *testing.T, seed uint64, cov *coverage, firstOnly bool) {
	var logger *slog.Logger
	if *flagSimLog {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug,
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			}}))
	}
	cfg, err := Swarm(seed, SwarmOptions{Behaviour: *flagBehaviour, Logger: logger})
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	if (*flagFirstOnly || firstOnly) && *flagIgnore == "" {
		cfg.MaxViolations = 1
	}
	desc := Describe(cfg)
	if e, ok := cfg.Engine.(*PBFT); ok {
		for _, id := range cfg.Byzantine {
			cov.add(fmt.Sprintf("n=%d/%s", cfg.N, e.Byzantine[id].Name()))
		}
		if len(cfg.Byzantine) == 0 {
			cov.add(fmt.Sprintf("n=%d/none", cfg.N))
		}
	}
	cov.add("app=" + appName(cfg.App))
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("seed %d: %v (%s)", seed, err, desc)
	}
	r := s.Run()
	if failing(r) {
		t.Errorf("seed %d FAILED (%s)\nreplay (every violation, last events): go test ./internal/sim -run 'TestSeeds' -seed=%d -v\n%s",
			seed, desc, seed, r.Report())
		return
	}
	t.Logf("%s\n%s", desc, r.Summary())
	for _, v := range r.Violations {
		t.Logf("ignored: %v", v)
	}
}

// failing reports whether r has a violation not ignored by -ignore.
func failing(r *Result) bool {
	ignored := strings.Split(*flagIgnore, ",")
	for _, v := range r.Violations {
		if !slices.Contains(ignored, v.Kind) {
			return true
		}
	}
	return false
}

// negativeConfig is a run where f+1 replicas, the primary of view 0 among
// them, equivocate in collusion: more faults than PBFT tolerates.
func negativeConfig(t *testing.T, seed uint64, n int) Config {
	rng := rand.New(rand.NewPCG(seed, 0))
	f := (n - 1) / 3
	p := PBFTParams{CheckpointInterval: 4, WindowSize: 16, MaxBatchTxs: 8, MaxBatchBytes: 1 << 16,
		BatchTimeoutTicks: 1, RequestTimeoutTicks: 30, MaxPendingTxs: 1024}
	app := EchoApp{TxBytes: 32}
	eng, err := NewPBFT(n, chainID, p, rng, app.CheckTx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var faulty []int
	for i := 0; i <= f; i++ {
		faulty = append(faulty, i)
	}
	for _, id := range faulty {
		eng.Byzantine[id] = &byzantine.Equivocate{Colluders: slices.Clone(faulty)}
	}
	return Config{
		Seed: seed, N: n, Byzantine: faulty, Engine: eng, App: app, Rand: rng,
		Clients: 3, Txs: 30, SubmitAllPercent: 100, ResubmitTicks: 40,
		MinDownTicks: 1, MaxDownTicks: 1, MinPartitionTicks: 1, MaxPartitionTicks: 1,
		SafetyTicks: 200, LivenessTicks: 200,
	}
}

// TestNegativeControl: with f+1 colluding equivocators the checkers must
// report a safety violation — proof that they can fail.
func TestNegativeControl(t *testing.T) {
	for _, n := range []int{4, 7} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			s, err := New(negativeConfig(t, 1, n))
			if err != nil {
				t.Fatal(err)
			}
			r := s.Run()
			if !hasKind(r, KindConflict) {
				t.Fatalf("f+1 colluding equivocators went unnoticed:\n%s", r.Report())
			}
			t.Logf("caught, as it must be: %v", r.Violations[0])
		})
	}
}
