package raft

import (
	"errors"
	"slices"
	"testing"
)

func (c *cluster) votersEverywhere(want []int, nodes ...int) bool {
	for _, i := range nodes {
		if nd := c.nodes[i]; nd.down || !slices.Equal(nd.e.Voters(), want) {
			return false
		}
	}
	return true
}

func TestMembershipRemoveAndAddBack(t *testing.T) {
	for _, interval := range []uint64{1000, 6} { // without and with snapshots
		c := newCluster(t, 3, 13, func(cfg *Config) { cfg.SnapshotInterval = interval; cfg.MaxBatchTxs = 3 })
		lead := c.waitLeader()
		r, other := (lead+1)%3, (lead+2)%3
		if err := c.nodes[lead].e.ChangeMembership(nil, []int{0, 1, 2}); !errors.Is(err, ErrMembership) {
			t.Fatalf("removing every voter: %v", err)
		}
		if err := c.nodes[lead].e.ChangeMembership([]int{1}, []int{1}); !errors.Is(err, ErrMembership) {
			t.Fatalf("overlapping change: %v", err)
		}
		if err := c.nodes[lead].e.ChangeMembership(nil, nil); !errors.Is(err, ErrMembership) {
			t.Fatalf("empty change: %v", err)
		}
		// Proposed on a follower: forwarded to the leader.
		if err := c.nodes[other].e.ChangeMembership(nil, []int{r}); err != nil {
			t.Fatal(err)
		}
		rest := []int{lead, other}
		slices.Sort(rest)
		c.runUntil(100, "removal applied", func() bool { return c.votersEverywhere(rest, lead, other) })
		var txs [][]byte
		for i := range 30 {
			txs = append(txs, testTx(i))
			c.propose(lead, txs[i])
			c.round()
		}
		c.runUntil(100, "two members commit", func() bool {
			return c.nodes[lead].ledger.count == 30 && c.nodes[other].ledger.count == 30
		})
		if c.nodes[r].ledger.count == 30 {
			t.Fatalf("removed node %d still receives entries", r)
		}
		// Add it back: it catches up.
		if err := c.nodes[lead].e.ChangeMembership([]int{r}, nil); err != nil {
			t.Fatal(err)
		}
		all := []int{0, 1, 2}
		c.runUntil(200, "re-added node catches up", func() bool {
			ok := c.votersEverywhere(all, 0, 1, 2) && c.committedAll(txs) && c.sameHeight()
			if !ok && testing.Verbose() {
				for i, nd := range c.nodes {
					t.Logf("node %d voters %v height %d count %d status %+v", i, nd.e.Voters(), nd.ledger.height, nd.ledger.count, nd.e.Status())
				}
			}
			return ok
		})
		c.checkAgreement()
		// Remove one more and restart every node: the configuration
		// survives (replayed from the log, or taken from the snapshot).
		if err := c.nodes[lead].e.ChangeMembership(nil, []int{r}); err != nil {
			t.Fatal(err)
		}
		c.runUntil(100, "second removal applied", func() bool { return c.votersEverywhere(rest, lead, other) })
		for i := 30; i < 50; i++ {
			txs = append(txs, testTx(i))
			c.propose(lead, txs[i])
			c.round()
		}
		c.runUntil(100, "commits", func() bool {
			return c.nodes[lead].ledger.count == 50 && c.nodes[other].ledger.count == 50
		})
		for i := range c.nodes {
			c.crash(i)
		}
		c.inflight = nil
		for i := range c.nodes {
			c.start(i)
		}
		c.runUntil(100, "configuration after restart", func() bool { return c.votersEverywhere(rest, lead, other) })
		var nl int
		c.runUntil(300, "leader after restart", func() bool {
			nl = -1
			for _, i := range rest {
				if c.nodes[i].e.Status().Role == "leader" {
					nl = i
				}
			}
			return nl >= 0
		})
		for i := 50; i < 60; i++ {
			txs = append(txs, testTx(i))
			c.propose(nl, txs[i])
			c.round()
		}
		c.runUntil(200, "commits after restart with two members", func() bool {
			return c.nodes[lead].ledger.count == 60 && c.nodes[other].ledger.count == 60
		})
		c.checkAgreement()
	}
}
