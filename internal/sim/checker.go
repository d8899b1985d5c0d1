package sim

import (
	"bytes"
	"fmt"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
)

// Violation kinds, as reported in Violation.Kind.
const (
	KindConflict     = "conflicting-commit"  // two honest replicas committed different batches at a height
	KindAppHash      = "app-hash-divergence" // two honest replicas disagree on the app hash after a height
	KindOrder        = "delivery-order"      // a replica delivered heights out of order or twice
	KindDuplicateTx  = "duplicate-tx"        // an honest primary ordered a tx already in the replica's history
	KindCatchUp      = "catch-up"            // an honest replica never caught up while traffic went on
	KindMissingTx    = "missing-tx"          // a tx a client saw committed is absent from an honest history
	KindSupply       = "supply"              // the state machine's supply changed
	KindProof        = "bad-proof"           // a committed batch's proof does not verify
	KindLiveness     = "liveness"            // pending txs did not commit after the network healed
	KindApply        = "apply"               // the state machine refused a committed batch
	KindReplicaError = "replica"             // a replica failed in a way it never should (restart error)
	KindPanic        = "panic"               // a replica panicked
)

// Violation is one broken invariant.
type Violation struct {
	Kind   string
	Tick   uint64
	Detail string
}

// String formats v for reports.
func (v Violation) String() string { return fmt.Sprintf("tick %d: %s: %s", v.Tick, v.Kind, v.Detail) }

// delivery is what a replica committed at one height.
type delivery struct {
	digest  crypto.Hash
	appHash []byte
	replica int
}

// proposal is a batch's first PRE-PREPARE seen on the network.
type proposal struct {
	tick uint64
	view uint64
}

// checker watches every delivery of every replica and records violations
// of the safety invariants. Byzantine replicas' deliveries count for
// clients (as their receipts would) but are never checked.
type checker struct {
	n, f       int
	honest     []bool
	verify     func(engine.Committed) error
	supply     uint64
	haveSupply bool

	first    map[uint64]delivery          // first honest delivery per height
	proofOK  map[proofKey]bool            // proofs already verified
	last     []uint64                     // last height delivered per replica
	txCount  []map[string]int             // per replica: tx -> occurrences in its history
	txFirst  []map[string]uint64          // per replica: tx -> height it was first delivered at
	votes    map[string]map[uint64]uint64 // tx -> height -> bitmask of replicas that delivered it there
	accepted map[string]uint64            // txs clients saw committed (f+1 matching) -> height

	// byzantineDups counts txs a faulty primary got ordered twice.
	byzantineDups int

	// firstProposed and firstCommitted record, per batch digest, its first
	// PRE-PREPARE on the network and its first delivery at an honest
	// replica; viewChangeDups counts the txs ordered twice legally (see
	// excusedDup).
	firstProposed  map[crypto.Hash]proposal
	firstCommitted map[crypto.Hash]uint64
	viewChangeDups int

	violations    []Violation
	maxViolations int
}

type proofKey struct {
	height uint64
	digest crypto.Hash
}

func newChecker(n, f int, honest []bool, verify func(engine.Committed) error) *checker {
	c := &checker{
		n: n, f: f, honest: honest, verify: verify,
		first:         make(map[uint64]delivery),
		proofOK:       make(map[proofKey]bool),
		last:          make([]uint64, n),
		txCount:       make([]map[string]int, n),
		txFirst:       make([]map[string]uint64, n),
		votes:         make(map[string]map[uint64]uint64),
		accepted:      make(map[string]uint64),
		maxViolations: maxViolations,

		firstProposed:  make(map[crypto.Hash]proposal),
		firstCommitted: make(map[crypto.Hash]uint64),
	}
	for i := range c.txCount {
		c.txCount[i] = make(map[string]int)
		c.txFirst[i] = make(map[string]uint64)
	}
	return c
}

func (c *checker) fail(tick uint64, kind, format string, args ...any) {
	if len(c.violations) >= c.maxViolations {
		return
	}
	c.violations = append(c.violations, Violation{Kind: kind, Tick: tick, Detail: fmt.Sprintf(format, args...)})
}

// delivered records that replica id committed b and its machine reached
// appHash after it.
func (c *checker) delivered(tick uint64, id int, b engine.Committed, appHash []byte) {
	if b.Height != c.last[id]+1 {
		c.fail(tick, KindOrder, "replica %d delivered height %d after %d", id, b.Height, c.last[id])
	}
	if b.Height > c.last[id] {
		c.last[id] = b.Height
	}
	d := engine.BatchDigest(b.Txs)
	c.countVotes(id, b)
	if !c.honest[id] {
		return
	}
	c.checkProof(tick, id, b, d)
	if _, ok := c.firstCommitted[d]; !ok {
		c.firstCommitted[d] = tick
	}
	if prev, ok := c.first[b.Height]; !ok {
		c.first[b.Height] = delivery{digest: d, appHash: appHash, replica: id}
	} else {
		if prev.digest != d {
			c.fail(tick, KindConflict, "height %d: replica %d committed %x, replica %d committed %x",
				b.Height, prev.replica, prev.digest[:6], id, d[:6])
		} else if !bytes.Equal(prev.appHash, appHash) {
			c.fail(tick, KindAppHash, "height %d: replica %d app hash %x, replica %d app hash %x",
				b.Height, prev.replica, prev.appHash, id, appHash)
		}
	}
	for _, tx := range b.Txs {
		k := string(tx)
		c.txCount[id][k]++
		if c.txCount[id][k] < 2 {
			c.txFirst[id][k] = b.Height
			continue
		}
		// A faulty primary may order a tx twice (the paper's replicas then
		// execute it once, by client timestamp; our ledger skips a tx that
		// has a receipt). An honest one must not.
		if p := int(b.Proposer); p >= 0 && p < c.n && !c.honest[p] {
			c.byzantineDups++
			continue
		}
		if c.excusedDup(c.first[c.txFirst[id][k]].digest, d) {
			c.viewChangeDups++
			continue
		}
		c.fail(tick, KindDuplicateTx, "replica %d committed tx %s at height %d and again at height %d (view %d, honest primary %d)",
			id, short(tx), c.txFirst[id][k], b.Height, b.Round, b.Proposer)
	}
}

// proposed records a PRE-PREPARE for digest in view seen at tick.
func (c *checker) proposed(tick, view uint64, digest crypto.Hash) {
	if _, ok := c.firstProposed[digest]; !ok {
		c.firstProposed[digest] = proposal{tick: tick, view: view}
	}
}

// excusedDup reports whether two batches holding the same tx are a legal
// consequence of view changes rather than a primary's mistake: they were
// first proposed in different views, and the earlier one had not committed
// at any honest replica when the later one was proposed. Then the later
// primary could not know the tx was ordered: a batch prepared at too few
// replicas to appear in its NEW-VIEW, and re-proposed by a later NEW-VIEW
// that did see it, puts the tx in two batches (the paper's replicas then
// execute it once, by client timestamp; our ledger skips a tx that has a
// receipt). Had the earlier batch committed anywhere, 2f+1 replicas
// prepared it, every later NEW-VIEW carries it, and a primary ordering its
// txs again is at fault.
func (c *checker) excusedDup(d1, d2 crypto.Hash) bool {
	p1, ok1 := c.firstProposed[d1]
	p2, ok2 := c.firstProposed[d2]
	if !ok1 || !ok2 || p1.view == p2.view {
		return false
	}
	earlier, later := d1, p2
	if p2.tick < p1.tick {
		earlier, later = d2, p1
	}
	committed, ok := c.firstCommitted[earlier]
	return !ok || committed > later.tick
}

// checkProof verifies the first proof delivered for each (height, batch).
// Every replica's proof differs (any 2f+1 COMMITs make one); checking one
// per batch keeps the run's signature checks — its main cost — down.
// Proofs a replica receives through state transfer are verified by the
// engine itself.
func (c *checker) checkProof(tick uint64, id int, b engine.Committed, d crypto.Hash) {
	if c.verify == nil {
		return
	}
	k := proofKey{height: b.Height, digest: d}
	if c.proofOK[k] {
		return
	}
	if err := c.verify(b); err != nil {
		c.fail(tick, KindProof, "replica %d height %d: %v", id, b.Height, err)
		return
	}
	c.proofOK[k] = true
}

// countVotes records id's delivery of each tx in b; once f+1 replicas
// delivered a tx at the same height, a client has seen it committed.
func (c *checker) countVotes(id int, b engine.Committed) {
	for _, tx := range b.Txs {
		k := string(tx)
		if _, done := c.accepted[k]; done {
			continue
		}
		byHeight := c.votes[k]
		if byHeight == nil {
			byHeight = make(map[uint64]uint64)
			c.votes[k] = byHeight
		}
		byHeight[b.Height] |= 1 << uint(id)
		if popcount(byHeight[b.Height]) >= c.f+1 {
			c.accepted[k] = b.Height
			delete(c.votes, k)
		}
	}
}

// checkSupply compares a machine's supply with the first one seen.
func (c *checker) checkSupply(tick uint64, id int, m StateMachine) {
	s, ok := m.Supply()
	if !ok {
		return
	}
	if !c.haveSupply {
		c.supply, c.haveSupply = s, true
		return
	}
	if s != c.supply {
		c.fail(tick, KindSupply, "replica %d supply %d, want %d", id, s, c.supply)
	}
}

// checkHistories verifies that each of txs (those clients saw committed
// and the liveness phase waited for) is in every honest replica's history
// (more than once only if a faulty primary ordered it again, which
// delivered flags otherwise). Called at the end of a run, when every honest
// replica has caught up.
func (c *checker) checkHistories(tick uint64, txs [][]byte) {
	for _, tx := range txs {
		h, ok := c.accepted[string(tx)]
		if !ok {
			c.fail(tick, KindMissingTx, "tx %s was never seen committed", short(tx))
			continue
		}
		for id := 0; id < c.n; id++ {
			if c.honest[id] && c.txCount[id][string(tx)] == 0 {
				c.fail(tick, KindMissingTx, "replica %d lacks tx %s (clients saw it at height %d)", id, short(tx), h)
			}
		}
	}
}

func popcount(x uint64) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

// short names a tx in reports by its SHA-256, as engines log it.
func short(tx []byte) string {
	h := crypto.Sum(tx)
	return h.String()[:16]
}
