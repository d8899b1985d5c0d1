package testnet

import (
	"os"
	"strings"
	"testing"
	"time"
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
	window := tn.Genesis.Params.WindowSize
	l := newLoad(t, tn, c, 8)
	l.run(ctxFor(t, 60*time.Second), 2)

	const backup = 3
	ctx := ctxFor(t, 240*time.Second)
	if err := tn.Isolate(ctx, backup); err != nil {
		t.Fatal(err)
	}
	isoStatus, err := c.Status(ctx, backup)
	if err != nil {
		t.Fatal(err)
	}
	stop := l.background(ctx, 20*time.Second)
	others := indices(4, backup)
	eventually(t, 90*time.Second, "the others' stable checkpoint passes the isolated backup's window", func() error {
		st, err := statuses(ctx, c, others)
		if err != nil {
			return err
		}
		for _, s := range st {
			if s.LastStableCheckpoint < isoStatus.Height+window+tn.Genesis.Params.CheckpointInterval {
				return errorf("%s stable checkpoint %d, isolated backup at %d", s.Name, s.LastStableCheckpoint, isoStatus.Height)
			}
		}
		return nil
	})
	if err := tn.Heal(ctx, backup); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the healed backup catches up", func() error {
		st, err := statuses(ctx, c, []int{0, backup})
		if err != nil {
			return err
		}
		if st[1].Height+4 < st[0].Height {
			return errorf("backup at %d, node0 at %d", st[1].Height, st[0].Height)
		}
		return nil
	})

	if tail, err := os.ReadFile(tn.LogPath(backup)); err != nil || !strings.Contains(string(tail), "state transfer") {
		t.Errorf("the healed backup's log shows no state transfer (%v)", err)
	}

	// 2: kill the primary under load.
	st, err := c.Status(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	primary := st.Leader
	if primary < 0 {
		primary = int(st.View % 4)
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
	live := indices(4, primary)
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
