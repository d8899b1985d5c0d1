package sim

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"

	"github.com/bftledger/bftledger/pbft/byzantine"
)

// SwarmOptions steer Swarm. The zero value is the default swarm.
type SwarmOptions struct {
	// Behaviour, if set, is the behaviour of the first Byzantine replica
	// (and there is at least one). Otherwise seed mod len(Behaviours)
	// picks it, so consecutive seeds cover every behaviour.
	Behaviour string
	// Ledger runs the real ledger (supply conservation) instead of the
	// echo machine. Otherwise every LedgerEvery-th seed does.
	Ledger bool
	// Scale multiplies the run's length (ticks and txs); 0 means 1.
	Scale  int
	Logger *slog.Logger
}

// ledgerEvery: a seed runs the real ledger if seed % ledgerEvery == 0.
const ledgerEvery = 8

// chainID is the simulated network's chain id.
const chainID = "bftledger-sim"

// Swarm derives a whole run from seed, in the manner of swarm testing:
// n (mostly 4 or 7, sometimes 5 or 10), the number of Byzantine replicas
// (0..f) and their behaviours, batch sizes, K and L, fault rates, crashes
// and partitions, and the workload all vary with the seed. Everything,
// keys included, comes from rand.New(rand.NewPCG(seed, 0)).
func Swarm(seed uint64, o SwarmOptions) (Config, error) {
	rng := rand.New(rand.NewPCG(seed, 0))
	scale := max(o.Scale, 1)
	var n int
	switch r := rng.IntN(20); {
	case r < 10:
		n = 4
	case r < 18:
		n = 7
	case r < 19:
		n = 5
	default:
		n = 10
	}
	f := (n - 1) / 3
	cfg := Config{
		Seed: seed, N: n, Rand: rng, Logger: o.Logger,
		Clients:          2 + rng.IntN(4),
		Txs:              scale * (6 + rng.IntN(20)),
		SubmitAllPercent: rng.IntN(101),
		ResubmitTicks:    30 + rng.IntN(60),
		Faults: Faults{
			LossPercent:   pick(rng, 0, 0, 2, 5, 10, 20),
			DupPercent:    pick(rng, 0, 0, 5, 20),
			MinDelayTicks: pick(rng, 0, 0, 1),
		},
		CrashPerMille:     pick(rng, 0, 0, 3, 10, 20),
		MaxDown:           1 + rng.IntN(f+1),
		MinDownTicks:      5,
		MaxDownTicks:      20 + rng.IntN(100),
		TornCrashPercent:  pick(rng, 0, 25, 50),
		PartitionPerMille: pick(rng, 0, 0, 3, 10),
		MinPartitionTicks: 10,
		MaxPartitionTicks: 30 + rng.IntN(100),
		SafetyTicks:       scale * (100 + rng.IntN(200)),
		HealDelayTicks:    pick(rng, 0, 1, 2),
	}
	cfg.Faults.MaxDelayTicks = cfg.Faults.MinDelayTicks + pick(rng, 0, 1, 2, 4, 8)
	k := uint64(pick(rng, 2, 4, 8, 16))
	p := PBFTParams{
		CheckpointInterval:  k,
		WindowSize:          k * uint64(pick(rng, 2, 3, 4)),
		MaxBatchTxs:         pick(rng, 1, 2, 4, 16, 64),
		MaxBatchBytes:       pick(rng, 1<<10, 1<<16),
		BatchTimeoutTicks:   pick(rng, 0, 1, 3),
		RequestTimeoutTicks: 20 + rng.IntN(40),
		MaxPendingTxs:       pick(rng, 64, 1024),
	}
	// Liveness: after healing, stale view-change timers may have doubled a
	// few times; allow for that, then a few rounds of normal work.
	cfg.LivenessTicks = 64*p.RequestTimeoutTicks + 1000

	var app App = EchoApp{TxBytes: pick(rng, 16, 64, 200)}
	if o.Ledger || seed%ledgerEvery == 0 {
		la, err := NewLedgerApp(chainID, cfg.Clients, rng)
		if err != nil {
			return cfg, err
		}
		app = la
	}
	cfg.App = app

	eng, err := NewPBFT(n, chainID, p, rng, app.CheckTx, o.Logger)
	if err != nil {
		return cfg, err
	}
	cfg.Engine = eng

	ids, err := assignByzantine(seed, o.Behaviour, rng, n, app, eng)
	if err != nil {
		return cfg, err
	}
	cfg.Byzantine = ids
	return cfg, nil
}

// assignByzantine picks 0..f faulty replicas and their behaviours. The
// first one's behaviour is forced, or cycles with the seed (and then two
// seeds in three have at least one faulty replica).
func assignByzantine(seed uint64, forced string, rng *rand.Rand, n int, app App, eng *PBFT) ([]int, error) {
	byz := rng.IntN((n-1)/3 + 1)
	first := forced
	if first == "" {
		first = byzantine.Behaviours[seed%uint64(len(byzantine.Behaviours))]
		if byz == 0 && seed%3 != 0 {
			byz = 1
		}
	} else {
		byz = max(byz, 1)
	}
	ids := rng.Perm(n)[:byz]
	slices.Sort(ids)
	for i, id := range ids {
		name := first
		if i > 0 {
			name = byzantine.Behaviours[rng.IntN(len(byzantine.Behaviours))]
		}
		b, err := newBehaviour(name, app, ids)
		if err != nil {
			return nil, err
		}
		eng.Byzantine[id] = b
	}
	return ids, nil
}

// newBehaviour builds a behaviour set up for the simulation: equivocators
// collude with the other faulty replicas, censors target client 0.
func newBehaviour(name string, app App, faulty []int) (byzantine.Behaviour, error) {
	b, err := byzantine.Parse(name)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	switch b := b.(type) {
	case *byzantine.Equivocate:
		b.Colluders = slices.Clone(faulty)
	case *byzantine.Censor:
		b.Match = func(tx []byte) bool { return app.ClientOf(tx) == 0 }
	}
	return b, nil
}

// pick returns one of vs at random.
func pick(rng *rand.Rand, vs ...int) int { return vs[rng.IntN(len(vs))] }

// Describe is a one-line account of a swarm config.
func Describe(c Config) string {
	s := fmt.Sprintf("n=%d byzantine=%v app=%s txs=%d faults=%+v crash=%d‰ partition=%d‰ safety=%d",
		c.N, c.Byzantine, appName(c.App), c.Txs, c.Faults, c.CrashPerMille, c.PartitionPerMille, c.SafetyTicks)
	if e, ok := c.Engine.(*PBFT); ok {
		var names []string
		for _, id := range c.Byzantine {
			names = append(names, fmt.Sprintf("%d:%s", id, e.Byzantine[id].Name()))
		}
		s += fmt.Sprintf(" behaviours=%v params=%+v", names, e.Params)
	}
	return s
}

func appName(a App) string {
	if a == nil {
		return "echo"
	}
	return a.Name()
}
