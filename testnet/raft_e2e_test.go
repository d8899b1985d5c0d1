package testnet

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bftledger/bftledger/client"
	"github.com/bftledger/bftledger/engine"
)

// raftOptions: three Raft validators with the e2e timers (10 ms ticks,
// election timeout 10-20 ticks) and a small snapshot interval, so that
// compaction and snapshot catch-up happen within a few dozen blocks.
func raftOptions(t *testing.T) Options {
	opts := e2eOptions(t, 3)
	opts.Consensus = engine.ModeRaft
	opts.Params.SnapshotInterval = 16
	return opts
}

// raftLeader returns the leader a majority of nodes agrees on, among the
// given nodes, or an error saying what they report.
func raftLeader(ctx context.Context, c *client.Client, nodes []int) (int, *client.Status, error) {
	st, err := statuses(ctx, c, nodes)
	if err != nil {
		return -1, nil, err
	}
	votes := map[int]int{}
	var desc []string
	for _, s := range st {
		desc = append(desc, s.Name+" "+s.Role)
		if s.Leader >= 0 {
			votes[s.Leader]++
		}
	}
	for _, s := range st {
		if s.Role == "leader" && votes[s.Validator] > c.Validators()/2 {
			return s.Validator, s, nil
		}
	}
	return -1, nil, errorf("no agreed leader: %s", strings.Join(desc, ", "))
}

// checkTail checks that nodes hold identical blocks for the last n heights
// up to height. A node that caught up through a snapshot lacks the blocks
// below the snapshot's, so a block only some nodes have is compared among
// those; the block at height every node must have.
func checkTail(t *testing.T, c *client.Client, nodes []int, height, n uint64) {
	t.Helper()
	from := uint64(1)
	if height > n {
		from = height - n + 1
	}
	ctx := ctxFor(t, 30*time.Second)
	for h := from; h <= height; h++ {
		var first *client.Block
		firstNode := -1
		for _, i := range nodes {
			b, err := c.Block(ctx, i, h)
			if errors.Is(err, client.ErrNotFound) && h < height {
				continue
			}
			if err != nil {
				t.Fatalf("node %d block %d: %v", i, h, err)
			}
			if first == nil {
				first, firstNode = b, i
			} else if b.Hash != first.Hash {
				t.Fatalf("block %d differs between node %d and node %d", h, firstNode, i)
			}
		}
	}
}

// Issue 5, end to end on three Raft node processes: transfers commit on
// one receipt; the leader killed under load gives way to a new leader
// within a few election timeouts and commits continue; a follower that
// missed more than a snapshot interval catches up through a snapshot; the
// leader isolated from the others commits nothing while the majority
// elects another leader and goes on, and after the heal it follows; and a
// full restart keeps every acknowledged transfer.
func TestE2ERaft(t *testing.T) {
	tn, c := startE2E(t, raftOptions(t))
	if c.Mode() != engine.ModeRaft || c.Need() != 1 {
		t.Fatalf("client mode %s needs %d receipts", c.Mode(), c.Need())
	}
	all := indices(3)
	ctx := ctxFor(t, 150*time.Second)
	l := newLoad(t, tn, c, 6)
	l.run(ctx, 5)
	height := waitConverged(t, c, all, 1)
	checkSameChain(t, c, all, height)
	checkSupply(t, tn, c, 0)

	// Kill the leader under load: a new leader, and commits go on.
	var lead int
	eventually(t, 10*time.Second, "a leader", func() (err error) {
		lead, _, err = raftLeader(ctx, c, all)
		return err
	})
	stop := l.background(ctx, 10*time.Second)
	before := l.count()
	if err := tn.Kill(lead); err != nil {
		t.Fatal(err)
	}
	rest := indices(3, lead)
	eventually(t, 5*time.Second, "a new leader after the leader was killed", func() error {
		nl, _, err := raftLeader(ctx, c, rest)
		if err == nil && nl == lead {
			return errorf("dead node %d still leader", lead)
		}
		return err
	})
	eventually(t, 20*time.Second, "commits after the leader was killed", func() error {
		if n := l.count(); n < before+30 {
			return errorf("%d transfers since the kill", n-before)
		}
		return nil
	})

	// The killed node missed more than a snapshot interval: it catches up
	// through a snapshot once restarted.
	snapshotted := func() error {
		st, err := statuses(ctx, c, rest)
		if err != nil {
			return err
		}
		for _, s := range st {
			if s.LastStableCheckpoint == 0 {
				return errorf("%s has no snapshot yet (height %d)", s.Name, s.Height)
			}
		}
		return nil
	}
	eventually(t, 30*time.Second, "the live nodes snapshot and compact", snapshotted)
	if err := tn.Restart(ctx, lead); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the restarted node catches up", func() error {
		st, err := statuses(ctx, c, []int{rest[0], lead})
		if err != nil {
			return err
		}
		if st[1].Height+4 < st[0].Height {
			return errorf("restarted node at %d, %s at %d", st[1].Height, st[0].Name, st[0].Height)
		}
		return nil
	})
	if log, err := os.ReadFile(tn.LogPath(lead)); err != nil {
		t.Fatal(err)
	} else if !strings.Contains(string(log), "restoring ledger from leader snapshot") {
		t.Fatalf("node %d caught up without a snapshot", lead)
	}

	// Isolate the leader: it steps down (CheckQuorum) and commits nothing;
	// the majority elects a new leader and keeps committing.
	eventually(t, 10*time.Second, "a leader before the partition", func() (err error) {
		lead, _, err = raftLeader(ctx, c, all)
		return err
	})
	if err := tn.Isolate(ctx, lead); err != nil {
		t.Fatal(err)
	}
	rest = indices(3, lead)
	var newLead int
	eventually(t, 5*time.Second, "a new leader on the majority side", func() (err error) {
		newLead, _, err = raftLeader(ctx, c, rest)
		return err
	})
	eventually(t, 5*time.Second, "the isolated leader steps down", func() error {
		s, err := c.Status(ctx, lead)
		if err != nil {
			return err
		}
		if s.Role == "leader" {
			return errorf("isolated node %d still leader in term %d", lead, s.Term)
		}
		return nil
	})
	iso, err := c.Status(ctx, lead)
	if err != nil {
		t.Fatal(err)
	}
	before = l.count()
	eventually(t, 20*time.Second, "the majority commits during the partition", func() error {
		if n := l.count(); n < before+30 {
			return errorf("%d transfers during the partition", n-before)
		}
		return nil
	})
	if s, err := c.Status(ctx, lead); err != nil {
		t.Fatal(err)
	} else if s.Height != iso.Height {
		t.Fatalf("isolated node went from height %d to %d", iso.Height, s.Height)
	}
	if err := tn.Heal(ctx, lead); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the old leader follows after the heal", func() error {
		st, err := statuses(ctx, c, []int{newLead, lead})
		if err != nil {
			return err
		}
		if st[1].Role != "follower" || st[1].Leader < 0 || st[1].Height+4 < st[0].Height {
			return errorf("old leader %s, leader %d, height %d; %s at %d",
				st[1].Role, st[1].Leader, st[1].Height, st[0].Name, st[0].Height)
		}
		return nil
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	height = waitConverged(t, c, all, height+1)
	checkTail(t, c, all, height, 10)
	for i := range all {
		checkSupply(t, tn, c, i)
	}
	checkAcked(t, c, l.ackedTxs())

	// Restart everything: every acknowledged transfer is still there and
	// the chain goes on.
	if err := tn.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := tn.Start(ctx); err != nil {
		t.Fatal(err)
	}
	after := waitConverged(t, c, all, height)
	checkAcked(t, c, l.ackedTxs())
	l.resync(ctx)
	l.run(ctx, 2)
	final := waitConverged(t, c, all, after+1)
	checkTail(t, c, all, final, 10)
	checkSupply(t, tn, c, 0)
	// Linearizable reads go through ReadIndex on any node.
	for _, i := range all {
		if _, err := c.Account(ctx, i, tn.Genesis.Accounts[0].Address, true); err != nil {
			t.Fatalf("node %d linearizable read: %v", i, err)
		}
	}
}
