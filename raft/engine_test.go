package raft

import (
	"errors"
	"path/filepath"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	"google.golang.org/protobuf/proto"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
)

func TestElectionOneLeader(t *testing.T) {
	for seed := range uint64(5) {
		c := newCluster(t, 3, seed)
		lead := c.waitLeader()
		st := c.nodes[lead].e.Status()
		if st.Mode != engine.ModeRaft || st.Round == 0 || st.Leader != lead {
			t.Fatalf("seed %d: leader status %+v", seed, st)
		}
		for i, nd := range c.nodes {
			if i != lead && nd.e.Status().Role != "follower" {
				t.Fatalf("seed %d: node %d is %s", seed, i, nd.e.Status().Role)
			}
		}
	}
}

func TestCommitThroughAnyNode(t *testing.T) {
	c := newCluster(t, 3, 1)
	c.waitLeader()
	var txs [][]byte
	for i := range 300 {
		tx := testTx(i)
		txs = append(txs, tx)
		c.propose(i%3, tx) // followers forward to the leader
		if i%7 == 0 {
			c.round()
		}
	}
	c.runUntil(200, "txs not committed everywhere", func() bool { return c.committedAll(txs) })
	c.runUntil(50, "heights differ", c.sameHeight)
	c.checkAgreement()
	for i, nd := range c.nodes {
		for _, tx := range txs {
			if n := nd.ledger.txs[crypto.Sum(tx)]; n != 1 {
				t.Fatalf("node %d applied %s %d times", i, tx, n)
			}
		}
		if st := nd.e.Status(); st.PendingTxs != 0 || st.Committed != nd.ledger.height {
			t.Fatalf("node %d status %+v, ledger height %d", i, st, nd.ledger.height)
		}
	}
	// Batching: far fewer blocks than txs.
	if h := c.nodes[0].ledger.height; h >= uint64(len(txs)) {
		t.Fatalf("%d blocks for %d txs: not batched", h, len(txs))
	}
}

func TestProposeErrors(t *testing.T) {
	c := newCluster(t, 3, 2, func(cfg *Config) { cfg.MaxPendingTxs = 3; cfg.MaxBatchBytes = 64 })
	if err := c.nodes[0].e.Propose(testTx(1)); !errors.Is(err, engine.ErrNotReady) {
		t.Fatalf("before any leader: %v, want ErrNotReady", err)
	}
	lead := c.waitLeader()
	e := c.nodes[lead].e
	if err := e.Propose(nil); !errors.Is(err, ErrTxTooLarge) {
		t.Fatalf("empty tx: %v", err)
	}
	if err := e.Propose(make([]byte, 65)); !errors.Is(err, ErrTxTooLarge) {
		t.Fatalf("large tx: %v", err)
	}
	c.propose(lead, testTx(1))
	if err := e.Propose(testTx(1)); !errors.Is(err, engine.ErrDuplicate) {
		t.Fatalf("duplicate: %v", err)
	}
	c.propose(lead, testTx(2))
	c.propose(lead, testTx(3))
	if err := e.Propose(testTx(4)); !errors.Is(err, engine.ErrPoolFull) {
		t.Fatalf("full pool: %v", err)
	}
	c.runUntil(50, "pool not drained", func() bool { return e.Status().PendingTxs == 0 })
	c.propose(lead, testTx(4))
}

func TestLeaderCrashNewLeaderCommits(t *testing.T) {
	c := newCluster(t, 3, 3)
	old := c.waitLeader()
	var txs [][]byte
	for i := range 50 {
		txs = append(txs, testTx(i))
		c.propose(i%3, txs[i])
	}
	c.runUntil(100, "first txs", func() bool { return c.committedAll(txs) })
	c.crash(old)
	lead := c.waitLeader()
	if lead == old {
		t.Fatalf("crashed node %d still leader", old)
	}
	if c.nodes[lead].e.Status().ViewChanges == 0 {
		t.Fatalf("leader change not counted")
	}
	for i := 50; i < 100; i++ {
		txs = append(txs, testTx(i))
		c.propose(lead, txs[i])
	}
	c.runUntil(200, "commits after leader crash", func() bool { return c.committedAll(txs) })
	c.start(old)
	c.runUntil(200, "old leader catches up", func() bool { return c.committedAll(txs) && c.sameHeight() })
	c.checkAgreement()
}

func TestPartitionedLeaderCommitsNothing(t *testing.T) {
	c := newCluster(t, 3, 4)
	old := c.waitLeader()
	isolated := func(from, to int) bool { return from == old || to == old }
	c.cut = isolated
	before := c.nodes[old].ledger.height
	// The isolated leader accepts txs but cannot commit them; CheckQuorum
	// makes it step down within an election timeout.
	for i := range 10 {
		_ = c.nodes[old].e.Propose(testTx(1000 + i))
	}
	var lead int
	c.runUntil(200, "no new leader on the majority side", func() bool {
		lead = c.leader()
		return lead >= 0 && lead != old
	})
	var txs [][]byte
	for i := range 40 {
		txs = append(txs, testTx(i))
		c.propose(lead, txs[i])
	}
	c.runUntil(200, "majority commits", func() bool {
		for i, nd := range c.nodes {
			if i != old && nd.ledger.count < uint64(len(txs)) {
				return false
			}
		}
		return true
	})
	if h := c.nodes[old].ledger.height; h != before {
		t.Fatalf("isolated old leader applied heights %d..%d", before+1, h)
	}
	// CheckQuorum: without contact with a majority it steps down within
	// two election timeouts.
	c.runUntil(40, "isolated old leader does not step down", func() bool {
		return c.nodes[old].e.Status().Role != "leader"
	})
	if h := c.nodes[old].ledger.height; h != before {
		t.Fatalf("isolated old leader applied heights %d..%d", before+1, h)
	}
	c.cut = nil
	c.runUntil(300, "old leader follows after heal", func() bool {
		return c.sameHeight() && c.nodes[old].e.Status().Leader == c.leader() && c.leader() >= 0
	})
	c.checkAgreement()
	// The txs it accepted while isolated commit after the heal: it proposes
	// them again.
	all := append([][]byte(nil), txs...)
	for i := range 10 {
		all = append(all, testTx(1000+i))
	}
	c.runUntil(300, "isolated txs commit after heal", func() bool { return c.committedAll(all) })
}

func TestSnapshotCatchUp(t *testing.T) {
	c := newCluster(t, 3, 5, func(cfg *Config) { cfg.SnapshotInterval = 8; cfg.MaxBatchTxs = 2 })
	lead := c.waitLeader()
	lag := (lead + 1) % 3
	c.crash(lag)
	var txs [][]byte
	for i := range 120 {
		txs = append(txs, testTx(i))
		c.propose(lead, txs[i])
		c.round()
	}
	c.runUntil(200, "commits without the lagging follower", func() bool { return c.committedAll(txs) })
	first, _ := c.nodes[lead].e.st.FirstIndex()
	if first <= 2 {
		t.Fatalf("leader log not compacted: first index %d", first)
	}
	if st := c.nodes[lead].e.Status(); st.StableCheckpoint == 0 {
		t.Fatalf("leader reports no snapshot: %+v", st)
	}
	stale := c.nodes[lag].ledger.clone()
	c.start(lag)
	c.runUntil(300, "lagging follower catches up", func() bool { return c.committedAll(txs) && c.sameHeight() })
	if c.nodes[lag].ledger.restores == 0 {
		t.Fatalf("follower caught up without a snapshot")
	}
	c.checkAgreement()

	// A crash after the snapshot was stored but before the ledger restored
	// it: New restores the ledger from the stored snapshot.
	c.crash(lag)
	c.nodes[lag].ledger = stale
	c.start(lag)
	if stale.restores != 1 || c.nodes[lag].e.Status().Committed != stale.height {
		t.Fatalf("restart with a stale ledger: restores %d, engine at %d, ledger at %d",
			stale.restores, c.nodes[lag].e.Status().Committed, stale.height)
	}
	c.runUntil(300, "stale ledger catches up", func() bool { return c.committedAll(txs) && c.sameHeight() })
	c.checkAgreement()
	// It keeps up afterwards, and restarts from its own stored snapshot.
	for i := 120; i < 140; i++ {
		txs = append(txs, testTx(i))
		c.propose(lag, txs[i])
	}
	c.runUntil(200, "commits after catch-up", func() bool { return c.committedAll(txs) && c.sameHeight() })
	c.crash(lag)
	c.start(lag)
	c.runUntil(200, "restart after snapshot", c.sameHeight)
	c.checkAgreement()
}

func TestRestartAllKeepsCommitted(t *testing.T) {
	dir := t.TempDir()
	c := newCluster(t, 3, 6, func(cfg *Config) { cfg.SnapshotInterval = 16 })
	// Node 0 stores on goleveldb in a temp dir, the others in memory.
	ldb, err := dbm.NewDB("raft", dbm.GoLevelDBBackend, filepath.Join(dir, "n0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ldb.Close()
	c.nodes[0].cfg.DB, c.nodes[0].db = ldb, ldb
	c.start(0)
	c.waitLeader()
	var txs [][]byte
	for i := range 100 {
		txs = append(txs, testTx(i))
		c.propose(i%3, txs[i])
		if i%10 == 0 {
			c.tick()
		}
	}
	c.runUntil(200, "commits", func() bool { return c.committedAll(txs) && c.sameHeight() })
	heights := c.heights()
	for i := range c.nodes {
		c.crash(i)
	}
	c.inflight = nil
	for i := range c.nodes {
		c.start(i)
	}
	for i, nd := range c.nodes {
		if got := nd.e.Status().Committed; got != heights[i] {
			t.Fatalf("node %d resumed at height %d, ledger at %d", i, got, heights[i])
		}
	}
	lead := c.waitLeader()
	for i := 100; i < 150; i++ {
		txs = append(txs, testTx(i))
		c.propose(lead, txs[i])
	}
	c.runUntil(200, "commits after restart", func() bool { return c.committedAll(txs) && c.sameHeight() })
	c.checkAgreement()
	for i, nd := range c.nodes {
		for _, tx := range txs {
			if nd.ledger.txs[crypto.Sum(tx)] != 1 {
				t.Fatalf("node %d applied %s %d times", i, tx, nd.ledger.txs[crypto.Sum(tx)])
			}
		}
	}
}

func TestLossyNetworkCommitsEverything(t *testing.T) {
	for seed := uint64(10); seed < 14; seed++ {
		c := newCluster(t, 3, seed)
		c.dropRate, c.dupRate = 0.2, 0.1
		var txs [][]byte
		c.waitLeader()
		for i := range 100 {
			txs = append(txs, testTx(i))
			_ = c.nodes[i%3].e.Propose(txs[i]) // may be ErrNotReady during an election
			c.round()
		}
		c.dropRate, c.dupRate = 0, 0
		// Txs refused during elections are submitted again, like a client.
		lead := c.waitLeader()
		for _, tx := range txs {
			if err := c.nodes[lead].e.Propose(tx); err != nil && !errors.Is(err, engine.ErrDuplicate) {
				t.Fatalf("seed %d: resubmit: %v", seed, err)
			}
		}
		c.runUntil(500, "all txs after heal", func() bool { return c.committedAll(txs) && c.sameHeight() })
		c.checkAgreement()
	}
}

func TestReadIndex(t *testing.T) {
	c := newCluster(t, 3, 7)
	if err := c.nodes[0].e.ReadIndex([]byte("r0")); !errors.Is(err, engine.ErrNotReady) {
		t.Fatalf("read before any leader: %v, want ErrNotReady", err)
	}
	lead := c.waitLeader()
	// On the leader: confirmed by a heartbeat round.
	if err := c.nodes[lead].e.ReadIndex([]byte("rl")); err != nil {
		t.Fatal(err)
	}
	c.runUntil(20, "leader read not ready", func() bool {
		r := c.nodes[lead].e.ReadyReads()
		return len(r) == 1 && string(r[0]) == "rl"
	})
	f := (lead + 1) % 3
	var txs [][]byte
	for i := range 20 {
		txs = append(txs, testTx(i))
		c.propose(lead, txs[i])
	}
	// Deliver to the leader only, so the follower lags, then read on it:
	// the read must not come out before the follower applied the txs.
	c.handle(lead)
	if err := c.nodes[f].e.ReadIndex([]byte("r1")); err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	c.runUntil(100, "read not ready", func() bool {
		for _, r := range c.nodes[f].e.ReadyReads() {
			if string(r) == "r1" && c.nodes[f].ledger.count < uint64(len(txs)) {
				t.Fatalf("read released at count %d before the txs applied", c.nodes[f].ledger.count)
			}
			got = append(got, r)
		}
		return len(got) > 0
	})
	if len(got) != 1 || string(got[0]) != "r1" {
		t.Fatalf("ready reads %q", got)
	}
	if err := c.nodes[f].e.ReadIndex(nil); err == nil {
		t.Fatal("empty read context accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{ID: 0, N: 3, DB: dbm.NewMemDB(), StateMachine: newFakeLedger(),
		ElectionTicks: 10, HeartbeatTicks: 1, SnapshotInterval: 10,
		MaxBatchTxs: 10, MaxBatchBytes: 1000, BatchTimeoutTicks: 1, MaxPendingTxs: 100}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Config){
		"id out of range":       func(c *Config) { c.ID = 3 },
		"no validators":         func(c *Config) { c.N = 0 },
		"no db":                 func(c *Config) { c.DB = nil },
		"no state machine":      func(c *Config) { c.StateMachine = nil },
		"heartbeat >= election": func(c *Config) { c.HeartbeatTicks = 10 },
		"no heartbeat":          func(c *Config) { c.HeartbeatTicks = 0 },
		"zero snapshot":         func(c *Config) { c.SnapshotInterval = 0 },
		"zero batch":            func(c *Config) { c.MaxBatchTxs = 0 },
		"huge batch":            func(c *Config) { c.MaxBatchBytes = BatchBytesMax + 1 },
		"zero timeout":          func(c *Config) { c.BatchTimeoutTicks = 0 },
		"zero pool":             func(c *Config) { c.MaxPendingTxs = 0 },
		"huge pool":             func(c *Config) { c.MaxPendingTxs = PendingTxsMax + 1 },
	} {
		c := good
		mut(&c)
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

func TestLedgerAheadOfLogIsRefused(t *testing.T) {
	l := newFakeLedger()
	l.height = 5
	_, err := New(Config{ID: 0, N: 3, DB: dbm.NewMemDB(), StateMachine: l, Applied: 5,
		ElectionTicks: 10, HeartbeatTicks: 1, SnapshotInterval: 10,
		MaxBatchTxs: 10, MaxBatchBytes: 1000, BatchTimeoutTicks: 1, MaxPendingTxs: 100})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("New with ledger ahead of an empty log: %v, want ErrCorrupt", err)
	}
}

func TestRestartWithUnsyncedCommitIndex(t *testing.T) {
	c := newCluster(t, 3, 8)
	lead := c.waitLeader()
	var txs [][]byte
	for i := range 30 {
		txs = append(txs, testTx(i))
		c.propose(lead, txs[i])
	}
	c.runUntil(100, "commits", func() bool { return c.committedAll(txs) && c.sameHeight() })
	f := (lead + 1) % 3
	c.crash(f)
	// Lose the commit index, as a power cut after an unsynced HardState
	// write could: the ledger's height proves those entries committed.
	b, err := c.nodes[f].db.Get(keyHardState)
	if err != nil {
		t.Fatal(err)
	}
	hs := new(pb.HardState)
	if err := proto.Unmarshal(b, hs); err != nil {
		t.Fatal(err)
	}
	hs.Commit = nil
	if b, err = proto.Marshal(hs); err != nil {
		t.Fatal(err)
	}
	if err := c.nodes[f].db.Set(keyHardState, b); err != nil {
		t.Fatal(err)
	}
	c.start(f)
	if got := c.nodes[f].e.Status().Committed; got != c.nodes[f].ledger.height {
		t.Fatalf("resumed at %d, ledger at %d", got, c.nodes[f].ledger.height)
	}
	c.runUntil(100, "restarted follower learns the leader", func() bool { return c.nodes[f].e.Status().Leader >= 0 })
	for i := 30; i < 40; i++ {
		txs = append(txs, testTx(i))
		c.propose(f, txs[i])
	}
	c.runUntil(200, "commits after restart", func() bool { return c.committedAll(txs) && c.sameHeight() })
	c.checkAgreement()
}

func TestFailingSnapshotIsRetriedOncePerInterval(t *testing.T) {
	c := newCluster(t, 3, 9, func(cfg *Config) { cfg.SnapshotInterval = 10; cfg.MaxBatchTxs = 1 })
	lead := c.waitLeader()
	l := c.nodes[lead].ledger
	l.snapErr = errors.New("ledger: cannot snapshot")
	var txs [][]byte
	for i := range 100 {
		txs = append(txs, testTx(i))
		c.propose(lead, txs[i])
		c.round()
	}
	c.runUntil(100, "commits", func() bool { return c.committedAll(txs) })
	// About 100 entries applied: one attempt per 10, not one per Ready.
	if l.snapCalls < 5 || l.snapCalls > 12 {
		t.Fatalf("%d snapshot attempts for %d heights", l.snapCalls, l.height)
	}
	if st := c.nodes[lead].e.Status(); st.StableCheckpoint != 0 {
		t.Fatalf("snapshot index %d although every snapshot failed", st.StableCheckpoint)
	}
	l.snapErr = nil
	for i := 100; i < 130; i++ {
		txs = append(txs, testTx(i))
		c.propose(lead, txs[i])
		c.round()
	}
	c.runUntil(100, "snapshot after the ledger recovers", func() bool {
		return c.committedAll(txs) && c.nodes[lead].e.Status().StableCheckpoint > 0
	})
}

// Clients that submit a tx to every node make every node propose it; the
// leader orders it once.
func TestSubmitToAllOrdersOnce(t *testing.T) {
	c := newCluster(t, 3, 11)
	c.waitLeader()
	var txs [][]byte
	for i := range 200 {
		txs = append(txs, testTx(i))
		for n := range c.nodes {
			c.propose((i+n)%3, txs[i])
		}
		if i%5 == 0 {
			c.round()
		}
	}
	c.runUntil(200, "commits", func() bool { return c.committedAll(txs) && c.sameHeight() })
	c.checkAgreement()
	for i, nd := range c.nodes {
		for _, tx := range txs {
			if n := nd.ledger.txs[crypto.Sum(tx)]; n != 1 {
				t.Fatalf("node %d: %s ordered %d times", i, tx, n)
			}
		}
		if p := nd.e.Status().PendingTxs; p != 0 {
			t.Fatalf("node %d: %d txs still pending", i, p)
		}
	}
}

// A tx pending on a node that was cut off while it committed elsewhere, in
// entries the node then skips by restoring a snapshot: the node cannot see
// it commit and leaders leave it out of batches, so the pool gives it up
// after a few attempts instead of holding it for ever.
func TestPendingBehindSnapshotDrains(t *testing.T) {
	c := newCluster(t, 3, 12, func(cfg *Config) { cfg.SnapshotInterval = 8; cfg.MaxBatchTxs = 2 })
	lead := c.waitLeader()
	lag := (lead + 1) % 3
	c.cut = func(from, to int) bool { return from == lag || to == lag }
	var txs [][]byte
	for i := range 60 {
		txs = append(txs, testTx(i))
		c.propose(lead, txs[i])
		if i < 5 {
			c.propose(lag, txs[i]) // it still believes in the leader
		}
		c.round()
	}
	c.runUntil(200, "majority commits", func() bool {
		return c.nodes[lead].ledger.count == uint64(len(txs))
	})
	c.cut = nil
	c.runUntil(300, "lagging node restores and drains its pool", func() bool {
		return c.sameHeight() && c.nodes[lag].e.Status().PendingTxs == 0
	})
	if c.nodes[lag].ledger.restores == 0 {
		t.Fatalf("no snapshot restore")
	}
	c.checkAgreement()
}
