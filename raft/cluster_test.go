package raft

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	dbm "github.com/cometbft/cometbft-db"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
)

// fakeLedger is a deterministic state machine for the engine tests: its
// state is the number of txs applied and a hash chain over the batches, so
// two ledgers that applied the same blocks have the same app hash, and a
// restored snapshot can be checked against it.
type fakeLedger struct {
	height   uint64
	count    uint64
	chain    crypto.Hash
	blocks   map[uint64]crypto.Hash // height -> batch digest, for blocks applied (not restored)
	txs      map[crypto.Hash]int    // tx hash -> times applied
	restores int
	// snapErr, if set, fails Snapshot; snapCalls counts Snapshot calls.
	snapErr   error
	snapCalls int
}

func newFakeLedger() *fakeLedger {
	return &fakeLedger{blocks: map[uint64]crypto.Hash{}, txs: map[crypto.Hash]int{}}
}

func (l *fakeLedger) apply(c engine.Committed) error {
	if c.Height != l.height+1 {
		return fmt.Errorf("apply height %d after %d", c.Height, l.height)
	}
	if _, _, err := DecodeProof(c.Proof); err != nil {
		return err
	}
	d := engine.BatchDigest(c.Txs)
	l.height = c.Height
	l.blocks[c.Height] = d
	l.chain = crypto.Sum(append(l.chain[:], d[:]...))
	for _, tx := range c.Txs {
		h := crypto.Sum(tx)
		if l.txs[h] == 0 {
			l.count++
		}
		l.txs[h]++
	}
	return nil
}

func (l *fakeLedger) state() []byte {
	b := binary.BigEndian.AppendUint64(nil, l.count)
	return append(b, l.chain[:]...)
}

func fakeAppHash(height uint64, state []byte) []byte {
	h := crypto.Sum(append(binary.BigEndian.AppendUint64(nil, height), state...))
	return h[:]
}

func (l *fakeLedger) AppHash(height uint64) ([]byte, error) {
	if height != l.height {
		return nil, errors.New("fake ledger: only the latest app hash is known")
	}
	return fakeAppHash(l.height, l.state()), nil
}

func (l *fakeLedger) Snapshot() (uint64, []byte, []byte, error) {
	l.snapCalls++
	if l.snapErr != nil {
		return 0, nil, nil, l.snapErr
	}
	s := l.state()
	return l.height, fakeAppHash(l.height, s), s, nil
}

func (l *fakeLedger) Restore(height uint64, appHash, data []byte) error {
	if !bytes.Equal(fakeAppHash(height, data), appHash) || len(data) != 8+crypto.HashSize {
		return errors.New("fake ledger: snapshot does not match its app hash")
	}
	l.height = height
	l.count = binary.BigEndian.Uint64(data)
	copy(l.chain[:], data[8:])
	l.restores++
	return nil
}

func (l *fakeLedger) appHash() crypto.Hash {
	return crypto.Hash(fakeAppHash(l.height, l.state()))
}

// tnode is one replica of a test cluster: its engine, database and ledger
// survive crashes; the engine is rebuilt from them on restart.
type tnode struct {
	cfg    Config
	e      *Engine
	db     dbm.DB
	ledger *fakeLedger
	down   bool
}

type packet struct {
	from, to int
	data     []byte
}

// cluster runs n engines in one goroutine over an in-memory network. Every
// choice of the network (delivery order, loss, duplication) comes from a
// seeded generator. etcd raft draws its randomised election timeouts from
// crypto/rand, so which node wins an election may differ between runs; the
// tests therefore check outcomes (one leader, agreement, progress), never a
// particular trace.
type cluster struct {
	t        testing.TB
	nodes    []*tnode
	rng      *rand.Rand
	inflight []packet
	// cut reports whether the link from -> to is down.
	cut      func(from, to int) bool
	dropRate float64 // probability a packet is lost
	dupRate  float64 // probability a packet is delivered twice
	// decodeErrs counts frames our own engines produced that Decode refused.
	decodeErrs int
}

type clusterOpt func(*Config)

func newCluster(t testing.TB, n int, seed uint64, opts ...clusterOpt) *cluster {
	t.Helper()
	c := &cluster{t: t, rng: rand.New(rand.NewPCG(seed, 0))}
	for i := 0; i < n; i++ {
		cfg := Config{
			ID: i, N: n, DB: dbm.NewMemDB(),
			ElectionTicks: 10, HeartbeatTicks: 1, SnapshotInterval: 1000,
			MaxBatchTxs: 100, MaxBatchBytes: 1 << 20, BatchTimeoutTicks: 1, MaxPendingTxs: 10000,
		}
		for _, o := range opts {
			o(&cfg)
		}
		nd := &tnode{cfg: cfg, db: cfg.DB, ledger: newFakeLedger()}
		c.nodes = append(c.nodes, nd)
		c.start(i)
	}
	return c
}

// start (re)creates node i's engine from its database and ledger.
func (c *cluster) start(i int) {
	c.t.Helper()
	nd := c.nodes[i]
	cfg := nd.cfg
	cfg.StateMachine = nd.ledger
	cfg.Applied = nd.ledger.height
	e, err := New(cfg)
	if err != nil {
		c.t.Fatalf("node %d: New: %v", i, err)
	}
	nd.e, nd.down = e, false
}

// crash stops node i: its engine is dropped, packets to it are lost.
func (c *cluster) crash(i int) {
	c.nodes[i].down, c.nodes[i].e = true, nil
}

// handle runs node i's Ready loop until it has nothing to do, like node/.
func (c *cluster) handle(i int) {
	nd := c.nodes[i]
	for !nd.down && nd.e.HasReady() {
		rd := nd.e.Ready()
		if err := nd.e.Persist(rd); err != nil {
			c.t.Fatalf("node %d: Persist: %v", i, err)
		}
		for _, m := range rd.Messages {
			if m.To < 0 || m.To >= len(c.nodes) || m.To == i {
				c.t.Fatalf("node %d: message to %d", i, m.To)
			}
			c.inflight = append(c.inflight, packet{from: i, to: m.To, data: m.Data})
		}
		for _, b := range rd.Committed {
			if err := nd.ledger.apply(b); err != nil {
				c.t.Fatalf("node %d: %v", i, err)
			}
			ah := nd.ledger.appHash()
			nd.e.Applied(b.Height, ah[:])
		}
		nd.e.Advance(rd)
	}
}

// deliver hands every packet in flight to its recipient in a random order,
// losing or duplicating some as configured.
func (c *cluster) deliver() {
	pkts := c.inflight
	c.inflight = nil
	c.rng.Shuffle(len(pkts), func(i, j int) { pkts[i], pkts[j] = pkts[j], pkts[i] })
	for _, p := range pkts {
		nd := c.nodes[p.to]
		if nd.down || c.nodes[p.from].down || (c.cut != nil && c.cut(p.from, p.to)) {
			continue
		}
		if c.dropRate > 0 && c.rng.Float64() < c.dropRate {
			continue
		}
		times := 1
		if c.dupRate > 0 && c.rng.Float64() < c.dupRate {
			times = 2
		}
		for range times {
			msg, err := nd.e.Decode(p.from, p.data)
			if err != nil {
				c.decodeErrs++
				c.t.Errorf("node %d: Decode of a frame from %d: %v", p.to, p.from, err)
				continue
			}
			_ = nd.e.Step(msg) // dropped proposals etc. are normal
		}
	}
}

// round is one step of the world: every node handles its Ready, the
// network delivers, every node handles again.
func (c *cluster) round() {
	for i := range c.nodes {
		c.handle(i)
	}
	c.deliver()
	for i := range c.nodes {
		c.handle(i)
	}
}

// tick advances every running node's clock by one tick, then runs a few
// rounds so that messages settle.
func (c *cluster) tick() {
	for _, nd := range c.nodes {
		if !nd.down {
			nd.e.Tick()
		}
	}
	for range 3 {
		c.round()
	}
}

// runUntil ticks until cond holds, failing after maxTicks.
func (c *cluster) runUntil(maxTicks int, what string, cond func() bool) {
	c.t.Helper()
	for range maxTicks {
		if cond() {
			return
		}
		c.tick()
	}
	if !cond() {
		c.t.Fatalf("after %d ticks: %s", maxTicks, what)
	}
}

// leader returns the index of the running leader that a majority of the
// nodes (itself included) follow in its term, or -1.
func (c *cluster) leader() int {
	for i, nd := range c.nodes {
		if nd.down {
			continue
		}
		st := nd.e.Status()
		if st.Role != "leader" {
			continue
		}
		votes := 0
		for _, f := range c.nodes {
			if !f.down {
				if fs := f.e.Status(); fs.Leader == i && fs.Round == st.Round {
					votes++
				}
			}
		}
		if votes > len(c.nodes)/2 {
			return i
		}
	}
	return -1
}

// waitLeader ticks until a majority follows one leader, and returns it.
func (c *cluster) waitLeader() int {
	c.t.Helper()
	var lead int
	c.runUntil(500, "no leader", func() bool {
		lead = c.leader()
		return lead >= 0
	})
	return lead
}

// propose submits tx at node i, which must accept it.
func (c *cluster) propose(i int, tx []byte) {
	c.t.Helper()
	if err := c.nodes[i].e.Propose(tx); err != nil {
		c.t.Fatalf("node %d: Propose: %v", i, err)
	}
}

func testTx(i int) []byte { return fmt.Appendf(nil, "tx-%06d", i) }

// committedAll reports whether every running node applied every tx.
func (c *cluster) committedAll(txs [][]byte) bool {
	for _, nd := range c.nodes {
		if nd.down {
			continue
		}
		if nd.ledger.count < uint64(len(txs)) {
			return false
		}
		for _, tx := range txs {
			if nd.ledger.txs[crypto.Sum(tx)] == 0 && nd.ledger.restores == 0 {
				return false
			}
		}
	}
	return true
}

// checkAgreement checks that no two nodes applied different blocks at a
// height, and that nodes at the same height have the same app hash.
func (c *cluster) checkAgreement() {
	c.t.Helper()
	for i, a := range c.nodes {
		for j, b := range c.nodes[i+1:] {
			for h, da := range a.ledger.blocks {
				if db, ok := b.ledger.blocks[h]; ok && da != db {
					c.t.Fatalf("nodes %d and %d applied different blocks at height %d", i, i+1+j, h)
				}
			}
			if a.ledger.height == b.ledger.height && a.ledger.appHash() != b.ledger.appHash() {
				c.t.Fatalf("nodes %d and %d differ in app hash at height %d", i, i+1+j, a.ledger.height)
			}
		}
	}
}

// sameHeight reports whether every running node is at the same height.
func (c *cluster) sameHeight() bool {
	h := uint64(0)
	first := true
	for _, nd := range c.nodes {
		if nd.down {
			continue
		}
		if first {
			h, first = nd.ledger.height, false
		} else if nd.ledger.height != h {
			return false
		}
	}
	return true
}

func (c *cluster) heights() []uint64 {
	var hs []uint64
	for _, nd := range c.nodes {
		hs = append(hs, nd.ledger.height)
	}
	return hs
}

// clone returns a deep copy of the ledger, to roll a node back in time.
func (l *fakeLedger) clone() *fakeLedger {
	c := *l
	c.blocks = make(map[uint64]crypto.Hash, len(l.blocks))
	for k, v := range l.blocks {
		c.blocks[k] = v
	}
	c.txs = make(map[crypto.Hash]int, len(l.txs))
	for k, v := range l.txs {
		c.txs[k] = v
	}
	return &c
}
