package testnet

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bftledger/bftledger/client"
)

// Issue 4, tests 1 and 5: 200 transfers through the client, each accepted
// on f+1 matching signed receipts; every node ends at the same height and
// app hash with supply conserved; then every node is stopped and restarted
// and every acknowledged transfer is still there, and the chain goes on.
func TestE2ETransfersAndFullRestart(t *testing.T) {
	tn, c := startE2E(t, e2eOptions(t, 4))
	l := newLoad(t, tn, c, 10)
	start := time.Now()
	l.run(ctxFor(t, 120*time.Second), 20)
	t.Logf("200 transfers in %v", time.Since(start))
	if got := l.count(); got != 200 {
		t.Fatalf("%d acknowledged transfers, want 200", got)
	}
	all := indices(4)
	height := waitConverged(t, c, all, 1)
	checkSameChain(t, c, all, height)
	for i := range all {
		checkSupply(t, tn, c, i)
	}

	// 5: stop and restart everything.
	if err := tn.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := tn.Start(ctxFor(t, 60*time.Second)); err != nil {
		t.Fatal(err)
	}
	after := waitConverged(t, c, all, height)
	if after < height {
		t.Fatalf("height %d after restart, %d before", after, height)
	}
	checkAcked(t, c, l.ackedTxs())
	l.run(ctxFor(t, 60*time.Second), 2)
	final := waitConverged(t, c, all, after+1)
	checkSameChain(t, c, all, final)
	checkSupply(t, tn, c, 0)
}

// Issue 4, tests 2 and 3 on one network. 3: a backup isolated while the
// others commit far past it (their stable checkpoints move beyond its
// window, so the messages it missed are garbage-collected) catches up by
// state transfer once healed. 2: the primary killed under load: a view
// change follows, transfers keep committing, and the restarted primary
// catches up.
func TestE2EPartitionAndCrash(t *testing.T) {
	tn, c := startE2E(t, e2eOptions(t, 4))
	l := newLoad(t, tn, c, 8)
	l.run(ctxFor(t, 60*time.Second), 2)
	ctx := ctxFor(t, 240*time.Second)
	stop := l.background(ctx, 20*time.Second)
	const backup = 3
	partitionBackup(ctx, t, tn, c, backup)
	primary := crashPrimary(ctx, t, tn, c, l)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	all := indices(4)
	height := waitConverged(t, c, all, 1)
	checkSameChain(t, c, all, height)
	checkSupply(t, tn, c, backup)
	checkSupply(t, tn, c, primary)
	checkAcked(t, c, l.ackedTxs())
}

// partitionBackup isolates backup while load runs until the others'
// stable checkpoints are a window past it, heals it, and checks that it
// catches up through state transfer.
func partitionBackup(ctx context.Context, t *testing.T, tn *Testnet, c *client.Client, backup int) {
	t.Helper()
	window := tn.Genesis.Params.WindowSize + tn.Genesis.Params.CheckpointInterval
	if err := tn.Isolate(ctx, backup); err != nil {
		t.Fatal(err)
	}
	iso, err := c.Status(ctx, backup)
	if err != nil {
		t.Fatal(err)
	}
	others := indices(tn.N(), backup)
	eventually(t, 90*time.Second, "the others' stable checkpoint passes the isolated backup's window", func() error {
		st, err := statuses(ctx, c, others)
		if err != nil {
			return err
		}
		for _, s := range st {
			if s.LastStableCheckpoint < iso.Height+window {
				return errorf("%s stable checkpoint %d, isolated backup at %d", s.Name, s.LastStableCheckpoint, iso.Height)
			}
		}
		return nil
	})
	if err := tn.Heal(ctx, backup); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the healed backup catches up", func() error {
		st, err := statuses(ctx, c, []int{others[0], backup})
		if err != nil {
			return err
		}
		if st[1].Height+4 < st[0].Height {
			return errorf("backup at %d, %s at %d", st[1].Height, st[0].Name, st[0].Height)
		}
		return nil
	})
	if log, err := os.ReadFile(tn.LogPath(backup)); err != nil || !strings.Contains(string(log), "state transfer") {
		t.Errorf("the healed backup's log shows no state transfer (%v)", err)
	}
}

// crashPrimary kills the current primary while load runs, checks that the
// others change view and keep committing, restarts it and waits until it
// catches up. It returns the primary's index.
func crashPrimary(ctx context.Context, t *testing.T, tn *Testnet, c *client.Client, l *load) int {
	t.Helper()
	st, err := c.Status(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	primary := st.Leader
	if primary < 0 {
		primary = int(st.View % uint64(tn.N()))
	}
	before := l.count()
	if err := tn.Kill(primary); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "transfers commit after the primary is killed", func() error {
		if n := l.count(); n < before+40 {
			return errorf("%d transfers since the kill", n-before)
		}
		return nil
	})
	live := indices(tn.N(), primary)
	sts, err := statuses(ctx, c, live)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sts {
		if s.View == st.View || s.Leader == primary {
			t.Fatalf("%s still in view %d with leader %d after the primary died", s.Name, s.View, s.Leader)
		}
	}
	if err := tn.Restart(ctx, primary); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the restarted primary catches up", func() error {
		st, err := statuses(ctx, c, []int{live[0], primary})
		if err != nil {
			return err
		}
		if st[1].Height+4 < st[0].Height {
			return errorf("restarted node at %d, %s at %d", st[1].Height, st[0].Name, st[0].Height)
		}
		return nil
	})
	return primary
}

// Issue 4, test 4: one Byzantine node among four. The honest three agree
// on every block and keep committing; every transfer is accepted on f+1
// matching receipts.
func TestE2EByzantine(t *testing.T) {
	for _, behaviour := range []string{"equivocate", "bad-signature"} {
		t.Run(behaviour, func(t *testing.T) {
			opts := e2eOptions(t, 4)
			opts.Byzantine = map[int]string{0: behaviour} // node 0 is the primary of view 0
			tn, c := startE2E(t, opts)
			st, err := c.Status(ctxFor(t, 10*time.Second), 0)
			if err != nil {
				t.Fatal(err)
			}
			if st.Byzantine == "" {
				t.Fatalf("node 0 does not report its byzantine behaviour: %+v", st)
			}
			l := newLoad(t, tn, c, 6)
			l.run(ctxFor(t, 120*time.Second), 5)
			honest := indices(4, 0)
			height := waitConverged(t, c, honest, 1)
			checkSameChain(t, c, honest, height)
			for _, i := range honest {
				checkSupply(t, tn, c, i)
			}
			// The honest nodes keep going.
			l.run(ctxFor(t, 60*time.Second), 2)
			waitConverged(t, c, honest, height+1)
		})
	}
}
