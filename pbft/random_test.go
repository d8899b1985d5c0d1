package pbft_test

import (
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/bftledger/bftledger/pbft/pbfttest"
)

var (
	flagSeed  = flag.Uint64("pbft.seed", 0, "run only this seed of TestRandomFaults")
	flagSeeds = flag.Int("pbft.seeds", 0, "number of seeds of TestRandomFaults (default 4, or $PBFT_SEEDS)")
)

// TestRandomFaults drives small networks through seeded message loss,
// partitions, crashes and restarts, then heals everything and requires
// agreement and that every proposed tx commits. Replay one seed with
// -pbft.seed=N; run many with -pbft.seeds=N or PBFT_SEEDS=N.
func TestRandomFaults(t *testing.T) {
	seeds := 4
	if s, err := strconv.Atoi(os.Getenv("PBFT_SEEDS")); err == nil {
		seeds = s
	}
	if *flagSeeds > 0 {
		seeds = *flagSeeds
	}
	first := uint64(1)
	if *flagSeed != 0 {
		first, seeds = *flagSeed, 1
	}
	for seed := first; seed < first+uint64(seeds); seed++ {
		if err := runRandom(seed); err != nil {
			t.Fatalf("seed %d: %v\nreplay: go test ./pbft -run TestRandomFaults -pbft.seed=%d -v", seed, err, seed)
		}
	}
}

var (
	dbgLog   *slog.Logger
	dbgKinds map[string]int
)

func runRandom(seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0))
	n := []int{4, 4, 5, 7}[rng.IntN(4)]
	k := uint64(1 + rng.IntN(4))
	o := pbfttest.Options{
		CheckpointInterval:  k,
		WindowSize:          k * uint64(1+rng.IntN(3)),
		MaxBatchTxs:         1 + rng.IntN(5),
		BatchTimeoutTicks:   rng.IntN(3),
		RequestTimeoutTicks: 10 + rng.IntN(20),
		RetransmitTicks:     1 + rng.IntN(5),
	}
	o.Logger = dbgLog
	nw, err := pbfttest.New(n, o)
	if err != nil {
		return err
	}
	f := (n - 1) / 3
	loss := rng.Float64() * 0.3
	crashed := map[int]bool{}
	partitioned := map[int]bool{}
	if dbgKinds != nil {
		nw.Trace = func(l string) { dbgKinds[strings.Fields(l)[1]]++ }
	}
	nw.Drop = func(p pbfttest.Packet) bool {
		if partitioned[p.From] != partitioned[p.To] {
			return true
		}
		return rng.Float64() < loss
	}
	proposed := 0
	var txs []string
	propose := func() {
		i := rng.IntN(n)
		if nw.Nodes[i].Core == nil {
			return
		}
		tx := fmt.Sprintf("s%d-tx%d", seed, proposed)
		if nw.Propose(i, []byte(tx)) == nil {
			proposed++
			txs = append(txs, tx)
		}
	}
	// Safety phase: faults.
	for tick := 0; tick < 300; tick++ {
		if rng.IntN(3) == 0 {
			propose()
		}
		switch r := rng.IntN(100); {
		case r < 2 && len(crashed) < f:
			i := rng.IntN(n)
			if !crashed[i] {
				crashed[i] = true
				nw.Crash(i)
			}
		case r < 5 && len(crashed) > 0:
			for i := range crashed {
				delete(crashed, i)
				if err := nw.Restart(i); err != nil {
					return err
				}
				break
			}
		case r < 7:
			clear(partitioned)
			for i := range rng.IntN(n/2 + 1) {
				partitioned[(i+rng.IntN(n))%n] = true
			}
		case r < 9:
			clear(partitioned)
		}
		nw.Tick()
		// Deliver a random amount, leaving some in flight (reordering across ticks).
		for steps := rng.IntN(200); steps > 0; steps-- {
			nw.ProcessAll()
			if !nw.DeliverOne() {
				break
			}
		}
		nw.ProcessAll()
		if err := nw.CheckAgreement(); err != nil {
			return err
		}
	}
	// Liveness phase: heal, restart, everything must commit.
	loss = 0
	clear(partitioned)
	for i := range crashed {
		if err := nw.Restart(i); err != nil {
			return err
		}
	}
	for tick := range 3000 {
		if tick%50 == 0 {
			// Clients retry what has not committed (a crashed replica's
			// pool is volatile).
			committed := committedTxs(nw.Nodes[0])
			for _, tx := range txs {
				if committed[tx] == 0 {
					_ = nw.Propose(rng.IntN(n), []byte(tx))
				}
			}
		}
		nw.Tick()
		nw.Stabilize(1 << 20)
		done := true
		for _, nd := range nw.Nodes {
			if nd.Core.Status().PendingTxs > 0 || nd.Store.Applied != nw.Nodes[0].Store.Applied {
				done = false
			}
		}
		if done && nw.Nodes[0].Core.Status().PendingTxs == 0 {
			break
		}
	}
	if err := nw.CheckAgreement(); err != nil {
		return err
	}
	seen := committedTxs(nw.Nodes[0])
	if len(seen) != proposed {
		var st []string
		for _, nd := range nw.Nodes {
			s := nd.Core.Status()
			v, a := nd.Core.View()
			st = append(st, fmt.Sprintf("r%d v=%d/%v h=%d stable=%d pending=%d", nd.ID, v, a, nd.Store.Applied, s.StableCheckpoint, s.PendingTxs))
		}
		return fmt.Errorf("n=%d: %d distinct txs committed, %d proposed; %v; errors %v", n, len(seen), proposed, st, nw.Errors)
	}
	h := nw.Nodes[0].Store.Applied
	for _, nd := range nw.Nodes {
		if nd.Store.Applied != h {
			return fmt.Errorf("heights differ: %v", nw.Heights())
		}
	}
	return nil
}

func committedTxs(nd *pbfttest.Node) map[string]int {
	seen := map[string]int{}
	for _, b := range nd.Store.Batches {
		for _, tx := range b.Txs {
			seen[string(tx)]++
		}
	}
	return seen
}
