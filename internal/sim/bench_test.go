package sim

import "testing"

// BenchmarkSwarmSeed runs whole swarm seeds (safety and liveness phases,
// all checkers): the cost of one seed of TestSeeds.
func BenchmarkSwarmSeed(b *testing.B) {
	seed := uint64(1)
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
}
