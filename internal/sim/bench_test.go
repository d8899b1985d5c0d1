package sim

import (
	"testing"

	"github.com/bftledger/bftledger/internal/cputime"
)

// BenchmarkSwarmSeed runs whole swarm seeds (safety and liveness phases,
// all checkers): the cost of one seed of TestSeeds. Besides wall time it
// reports the process's CPU time per seed, the figure that matters on a
// shared machine.
func BenchmarkSwarmSeed(b *testing.B) {
	seed := uint64(1)
	start := cputime.Process()
	for b.Loop() {
		cfg, err := Swarm(seed, SwarmOptions{})
		if err != nil {
			b.Fatal(err)
		}
		s, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		s.Run()
		seed++
	}
	if cpu := cputime.Process() - start; cpu > 0 {
		b.ReportMetric(cpu.Seconds()*1000/float64(b.N), "cpu-ms/seed")
	}
}
