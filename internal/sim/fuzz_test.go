package sim

import (
	"math/rand/v2"
	"testing"

	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/pbft"
)

// FuzzReplicaStep feeds arbitrary frames, as if from any peer, to a PBFT
// replica through the simulator's receive path (Decode, Verify, Step) and
// drains its Ready: a Byzantine peer must never make a replica panic. The
// seed corpus holds genuine frames of a short honest run, so mutations
// reach past the decoder.
func FuzzReplicaStep(f *testing.F) {
	for _, fr := range honestFrames(f) {
		f.Add(uint8(fr.from), fr.data)
	}
	f.Fuzz(func(t *testing.T, from uint8, frame []byte) {
		rng := rand.New(rand.NewPCG(1, 0))
		eng, err := NewPBFT(4, chainID, fuzzParams, rng, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		nd := &node{history: make(map[uint64]engine.Committed)}
		rep, err := eng.NewReplica(1, nil, 0, nd)
		if err != nil {
			t.Fatal(err)
		}
		_ = rep.Step(int(from%4), frame)
		for i := 0; rep.HasReady() && i < maxReadyRounds; i++ {
			rep.Ready()
			rep.Advance()
		}
	})
}

var fuzzParams = PBFTParams{CheckpointInterval: 2, WindowSize: 8, MaxBatchTxs: 4, MaxBatchBytes: 1 << 12,
	BatchTimeoutTicks: 0, RequestTimeoutTicks: 10, MaxPendingTxs: 64}

type frame struct {
	from int
	data []byte
}

// honestFrames runs four honest replicas (same keys as the fuzz target)
// for a few txs with a perfect network and returns every frame sent.
func honestFrames(tb testing.TB) []frame {
	rng := rand.New(rand.NewPCG(1, 0))
	eng, err := NewPBFT(4, chainID, fuzzParams, rng, nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := Config{Seed: 1, N: 4, Engine: eng, Clients: 1, Txs: 6, SubmitAllPercent: 100, ResubmitTicks: 50,
		MinDownTicks: 1, MaxDownTicks: 1, MinPartitionTicks: 1, MaxPartitionTicks: 1,
		SafetyTicks: 60, LivenessTicks: 1, Rand: rand.New(rand.NewPCG(2, 0))}
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	var out []frame
	kinds := make(map[pbft.Kind]int)
	s.tap = func(from, to int, data []byte) {
		m, err := pbft.Decode(data)
		if err != nil || kinds[m.Kind()] >= 4 {
			return
		}
		kinds[m.Kind()]++
		out = append(out, frame{from: from, data: data})
	}
	s.Run()
	return out
}
