package sim

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
)

// Errors.
var (
	// ErrConfig is wrapped by every Config.Validate failure.
	ErrConfig = errors.New("sim: invalid config")
	// ErrBadTx is returned by an App's CheckTx for a malformed tx.
	ErrBadTx = errors.New("sim: bad tx")
)

// Config is one simulated run. Every random choice of the run derives from
// Seed; two runs of the same Config do exactly the same thing.
type Config struct {
	Seed uint64
	N    int // replicas 0..N-1
	// Byzantine lists the replicas whose outputs the Engine corrupts. The
	// checkers never hold them to any invariant, and they never crash.
	Byzantine []int
	Engine    Engine
	App       App // nil: EchoApp{TxBytes: 32}

	// Clients submit Txs txs in all during the safety phase, one at a
	// time at random ticks, each to every replica (SubmitAllPercent of the
	// time) or to one random replica; pending txs are re-sent to every
	// live replica every ResubmitTicks.
	Clients          int
	Txs              int
	SubmitAllPercent int
	ResubmitTicks    int

	Faults Faults // network faults during the safety phase
	// Crashes: each tick, with CrashPerMille chance, one honest live
	// replica crashes (at most MaxDown at once) and restarts from its
	// persisted records between MinDownTicks and MaxDownTicks later.
	// TornCrashPercent of crashes hit in the middle of a Ready: after
	// persisting, either before its messages go out or after, but always
	// before its committed batches are applied.
	CrashPerMille    int
	MaxDown          int
	MinDownTicks     int
	MaxDownTicks     int
	TornCrashPercent int
	// Partitions: each tick without one, with PartitionPerMille chance, a
	// partition (halves, isolated primary, or one-way) starts and lasts
	// between MinPartitionTicks and MaxPartitionTicks.
	PartitionPerMille int
	MinPartitionTicks int
	MaxPartitionTicks int

	// SafetyTicks is the length of the faulty phase. LivenessTicks bounds
	// the healed phase: by then every tx clients submitted must be in every
	// honest replica's history. HealDelayTicks is the network's maximum
	// delay during it.
	SafetyTicks    int
	LivenessTicks  int
	HealDelayTicks int

	// MaxViolations stops the run after this many violations (0:
	// maxViolations). A soak that only needs to know which seeds fail uses 1.
	MaxViolations int

	Logger *slog.Logger // nil: discard
	// Rand, if set, is the source of the run's random choices (Swarm passes
	// on the generator it derived the config from). Nil means
	// rand.New(rand.NewPCG(Seed, 0)).
	Rand *rand.Rand
}

// F returns the number of faults n replicas tolerate: (n-1)/3.
func (c *Config) F() int { return (c.N - 1) / 3 }

// Validate checks every field against the limits.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
	switch {
	case c.N < minReplicas || c.N > maxReplicas:
		return bad("n = %d, want %d..%d", c.N, minReplicas, maxReplicas)
	case c.Engine == nil:
		return bad("no engine")
	case c.Clients < 1 || c.Clients > maxClients:
		return bad("clients = %d, want 1..%d", c.Clients, maxClients)
	case c.Txs < 0 || c.Txs > maxTxs:
		return bad("txs = %d, want 0..%d", c.Txs, maxTxs)
	case c.ResubmitTicks < 1:
		return bad("resubmit ticks = %d, want >= 1", c.ResubmitTicks)
	case c.SafetyTicks < 0 || c.SafetyTicks > maxTicks || c.LivenessTicks < 1 || c.LivenessTicks > maxTicks:
		return bad("phase ticks %d/%d, want 0..%d / 1..%d", c.SafetyTicks, c.LivenessTicks, maxTicks, maxTicks)
	case c.MaxDown < 0 || c.MaxDown > c.N:
		return bad("max down = %d of %d", c.MaxDown, c.N)
	case c.MinDownTicks < 1 || c.MaxDownTicks < c.MinDownTicks:
		return bad("down ticks %d..%d", c.MinDownTicks, c.MaxDownTicks)
	case c.MinPartitionTicks < 1 || c.MaxPartitionTicks < c.MinPartitionTicks:
		return bad("partition ticks %d..%d", c.MinPartitionTicks, c.MaxPartitionTicks)
	case c.MaxViolations < 0 || c.MaxViolations > maxViolations:
		return bad("max violations %d, want 0..%d", c.MaxViolations, maxViolations)
	case c.HealDelayTicks < 0 || c.HealDelayTicks > maxDelayTicks:
		return bad("heal delay %d, want 0..%d", c.HealDelayTicks, maxDelayTicks)
	}
	for _, p := range []int{c.SubmitAllPercent, c.TornCrashPercent, c.Faults.LossPercent, c.Faults.DupPercent} {
		if p < 0 || p > 100 {
			return bad("percentage %d out of 0..100", p)
		}
	}
	for _, p := range []int{c.CrashPerMille, c.PartitionPerMille} {
		if p < 0 || p > 1000 {
			return bad("per-mille rate %d out of 0..1000", p)
		}
	}
	if f := c.Faults; f.MinDelayTicks < 0 || f.MaxDelayTicks < f.MinDelayTicks || f.MaxDelayTicks > maxDelayTicks {
		return bad("delay %d..%d, want within 0..%d", f.MinDelayTicks, f.MaxDelayTicks, maxDelayTicks)
	}
	seen := make(map[int]bool)
	for _, id := range c.Byzantine {
		if id < 0 || id >= c.N || seen[id] {
			return bad("byzantine replica %d: out of range or repeated", id)
		}
		seen[id] = true
	}
	return nil
}
