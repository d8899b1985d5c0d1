package testnet

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
)

// soakEnv turns on TestE2ESoak: BFTLEDGER_E2E_SOAK=5m runs it for five
// minutes. BFTLEDGER_E2E_SOAK_SEED=N replays a fault schedule and
// BFTLEDGER_E2E_SOAK_CONSENSUS=raft soaks a 3-node Raft network instead.
const soakEnv = "BFTLEDGER_E2E_SOAK"

// TestE2ESoak runs transfers for a long while under a seeded random fault
// schedule that keeps at most f nodes faulty at once: a node is killed and
// restarted, paused and resumed, or isolated and healed. Every transfer
// must still be acknowledged on matching receipts, and at the end every
// node holds the same chain, supply is conserved and every acknowledged
// transfer is still there. Off unless BFTLEDGER_E2E_SOAK is set.
func TestE2ESoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv(soakEnv))
	if err != nil || d <= 0 {
		t.Skipf("soak off: set %s to a duration (e.g. 5m) to run it", soakEnv)
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(soakEnv + "_SEED"); s != "" {
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s_SEED: %v", soakEnv, err)
		}
	}
	t.Logf("soak for %v, seed %d (replay with %s_SEED=%d)", d, seed, soakEnv, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	n := 4
	opts := e2eOptions(t, n)
	if os.Getenv(soakEnv+"_CONSENSUS") == "raft" {
		n = 3
		opts = e2eOptions(t, n)
		opts.Consensus = "raft"
	}
	tn, c := startE2E(t, opts)
	l := newLoad(t, tn, c, 8)
	ctx := ctxFor(t, d+5*time.Minute)
	stop := l.background(ctx, 60*time.Second)
	defer func() {
		if stop != nil {
			_ = stop()
		}
	}()

	end := time.Now().Add(d)
	for round := 0; time.Now().Before(end); round++ {
		i := rng.IntN(n)
		hold := time.Duration(500+rng.IntN(2500)) * time.Millisecond
		injectFault(ctx, t, tn, round, rng.IntN(3), i, hold)
		// Progress between faults: the network commits again, all nodes
		// up, before the next node fails.
		before := l.count()
		eventually(t, 60*time.Second, "progress after the fault", func() error {
			if got := l.count(); got < before+n {
				return errorf("%d transfers since round %d began", got-before, round)
			}
			return nil
		})
	}
	err = stop()
	stop = nil
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d transfers acknowledged", l.count())
	all := indices(n)
	height := waitConverged(t, c, all, 1)
	if c.Mode() == "pbft" {
		checkSameChain(t, c, all, height)
	}
	for i := range all {
		checkSupply(t, tn, c, i)
	}
	checkAcked(t, c, l.ackedTxs())
}

// injectFault makes node i faulty for hold, then heals it: kind 0 kills
// and restarts it, 1 pauses and resumes it, 2 isolates and heals it.
func injectFault(ctx context.Context, t *testing.T, tn *Testnet, round, kind, i int, hold time.Duration) {
	t.Helper()
	names := []string{"kill", "pause", "isolate"}
	t.Logf("round %d: %s node %d for %v", round, names[kind], i, hold)
	var err error
	switch kind {
	case 0:
		err = tn.Kill(i)
	case 1:
		err = tn.Pause(i)
	case 2:
		err = tn.Isolate(ctx, i)
	}
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(hold) // the fault's duration, not synchronisation
	switch kind {
	case 0:
		err = tn.Restart(ctx, i)
	case 1:
		err = tn.Resume(i)
	case 2:
		err = tn.Heal(ctx, i)
	}
	if err != nil {
		t.Fatal(err)
	}
}
