package pbft

import (
	"errors"
	"fmt"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
)

// slot is the log entry of one sequence number in (h, H] (§4.2).
//
// The view-specific part (pp, prepares, commits, sent*, prepared) belongs to
// slot.view == the current view; a new view resets it. What survives view
// changes: the prepared certificate (it feeds VIEW-CHANGEs), the batches (a
// digest-only pre-prepare re-issued by NEW-VIEW can execute) and the commit
// decision (committed, commitView/Dig/Cert). A replica that committed a
// slot still votes for it in a later view, so the others can commit too.
type slot struct {
	seq      uint64
	view     uint64                 // view of pp and of the votes below
	pp       *PrePrepare            // accepted (or, at the primary, sent) pre-prepare; nil if none
	prepares map[int]*Prepare       // by sender, view == slot.view (any digest)
	commits  map[int]*Commit        // by sender, view == slot.view (any digest)
	batches  map[crypto.Hash]*batch // known batches by digest (at most maxBatchesPerSlot)

	sentPrepare bool // we sent PREPARE(view, seq, pp.Digest)
	prepared    bool // prepared(pp, view, seq) holds; we sent COMMIT
	committed   bool // committed-local holds (forever, across views)
	executed    bool // handed out in Ready.Committed (or delivered by state transfer)

	cert       *PreparedCert // prepared certificate with the highest view, for VIEW-CHANGE
	commitCert []byte        // encoded commit certificate once committed
	commitView uint64        // view the slot committed in
	commitDig  crypto.Hash   // digest the slot committed with

	sentTick   uint64 // tick our last vote for this slot was (re)sent
	answerTick uint64 // 1 + tick we last answered a lagging peer about this slot
}

// getSlot returns the slot for seq, creating it. The caller has checked
// the window, so the log holds at most L slots.
func (c *Core) getSlot(seq uint64) *slot {
	s := c.slots[seq]
	if s == nil {
		s = &slot{
			seq:      seq,
			view:     c.view,
			prepares: make(map[int]*Prepare),
			commits:  make(map[int]*Commit),
		}
		c.slots[seq] = s
	}
	if s.view != c.view {
		s.resetView(c.view)
	}
	return s
}

// resetView forgets the view-specific state of a slot.
func (s *slot) resetView(view uint64) {
	s.view = view
	s.pp = nil
	clear(s.prepares)
	clear(s.commits)
	s.sentPrepare = false
	s.prepared = false
}

// batch is one known batch of a slot.
type batch struct {
	txs       [][]byte
	hashes    []crypto.Hash // tx hashes, computed on first use
	persisted bool          // its record was emitted in Ready.Persist
}

// txHashes returns the hashes of the batch's txs, computing them once.
func (b *batch) txHashes() []crypto.Hash {
	if b.hashes == nil && len(b.txs) > 0 {
		b.hashes = make([]crypto.Hash, len(b.txs))
		for i, tx := range b.txs {
			b.hashes[i] = hashTx(tx)
		}
	}
	return b.hashes
}

// nullBatch is the empty batch every null digest stands for.
var nullBatch = &batch{persisted: true}

// addBatch remembers a batch for its digest (bounded per slot) and returns
// the remembered one, or nil if the slot is full.
func (s *slot) addBatch(d crypto.Hash, txs [][]byte) *batch {
	if d == NullDigest {
		return nullBatch
	}
	if s.batches == nil {
		s.batches = make(map[crypto.Hash]*batch, 1)
	}
	if b, ok := s.batches[d]; ok {
		return b
	}
	if len(s.batches) >= maxBatchesPerSlot {
		return nil
	}
	b := &batch{txs: txs}
	s.batches[d] = b
	return b
}

// batch returns the batch for digest d, if known.
func (s *slot) batch(d crypto.Hash) (*batch, bool) {
	if d == NullDigest {
		return nullBatch, true
	}
	b, ok := s.batches[d]
	return b, ok
}

// sendPrePrepare is the primary ordering txs at seq in the current view.
func (c *Core) sendPrePrepare(seq uint64, txs [][]byte) {
	assert(c.isPrimary() && seq > c.stable && seq <= c.high(), "pre-prepare outside window or not primary")
	pp := &PrePrepare{View: c.view, Seq: seq, Digest: engine.BatchDigest(txs), Txs: txs, Replica: c.id}
	c.sign(pp)
	s := c.getSlot(seq)
	assert(s.pp == nil, "primary assigned a seq twice in one view")
	s.pp = pp
	if b := s.addBatch(pp.Digest, txs); b != nil {
		c.pool.markOrdered(seq, b)
	}
	s.sentTick = c.now
	c.dirtySlots[seq] = true
	c.broadcast(pp)
	c.log.Debug("sent pre-prepare", "view", c.view, "seq", seq, "txs", len(txs), "digest", pp.Digest)
	c.checkPrepared(s)
}

// stepPrePrepare is a backup accepting the primary's proposal (§4.2): in
// the view, in the window, and not conflicting with an accepted one.
func (c *Core) stepPrePrepare(m *PrePrepare) error {
	if err := c.checkView(m.View); err != nil {
		return err
	}
	if err := c.checkWindow(m.Seq); err != nil {
		if errors.Is(err, ErrStale) {
			c.answerStale(m.Replica)
		}
		return err
	}
	s := c.getSlot(m.Seq)
	if s.committed && s.commitDig != m.Digest {
		return fmt.Errorf("pre-prepare seq %d view %d digest %v, committed %v: %w",
			m.Seq, m.View, m.Digest, s.commitDig, ErrConflict)
	}
	if s.pp != nil {
		if s.pp.Digest != m.Digest {
			return fmt.Errorf("pre-prepare seq %d view %d digest %v, accepted %v: %w",
				m.Seq, m.View, m.Digest, s.pp.Digest, ErrConflict)
		}
		if m.HasBatch() {
			if b := s.addBatch(m.Digest, m.Txs); b != nil {
				c.pool.markOrdered(m.Seq, b)
			}
			c.dirtySlots[m.Seq] = true // persist the batch
			c.tryExecute()
		}
		return nil
	}
	if seq, dup := c.digestElsewhere(m.Digest, m.Seq); dup {
		// A correct primary never orders one batch twice; refusing keeps
		// a faulty one from getting a batch prepared at two seqs (two
		// quorums of backups would share a correct one).
		return fmt.Errorf("pre-prepare seq %d repeats the batch of seq %d: %w", m.Seq, seq, ErrConflict)
	}
	var b *batch
	if m.HasBatch() {
		b = s.addBatch(m.Digest, m.Txs)
	} else {
		b, _ = s.batch(m.Digest)
	}
	if b == nil {
		return fmt.Errorf("seq %d view %d: %w", m.Seq, m.View, ErrNoBatch)
	}
	s.pp = m
	c.maxAccepted = max(c.maxAccepted, m.Seq)
	c.pool.markOrdered(m.Seq, b)
	c.sendPrepare(s)
	c.checkPrepared(s)
	return nil
}

// sendPrepare records and broadcasts our PREPARE for the slot's pre-prepare.
func (c *Core) sendPrepare(s *slot) {
	if s.sentPrepare || c.id == Primary(s.view, c.n) {
		return
	}
	p := &Prepare{View: s.view, Seq: s.seq, Digest: s.pp.Digest, Replica: c.id}
	c.sign(p)
	s.prepares[c.id] = p
	s.sentPrepare = true
	s.sentTick = c.now
	c.dirtySlots[s.seq] = true
	c.broadcast(p)
}

// voteSlot checks a PREPARE's or COMMIT's view and window and returns its
// slot. A sender below our window is answered so that it can catch up.
func (c *Core) voteSlot(view, seq uint64, from int) (*slot, error) {
	if err := c.checkView(view); err != nil {
		return nil, err
	}
	if err := c.checkWindow(seq); err != nil {
		if errors.Is(err, ErrStale) {
			c.answerStale(from)
		}
		return nil, err
	}
	return c.getSlot(seq), nil
}

// stepPrepare records a backup's PREPARE.
func (c *Core) stepPrepare(m *Prepare) error {
	s, err := c.voteSlot(m.View, m.Seq, m.Replica)
	if err != nil {
		return err
	}
	if old, ok := s.prepares[m.Replica]; ok {
		if old.Digest != m.Digest {
			return fmt.Errorf("prepare seq %d from %d: %w", m.Seq, m.Replica, ErrConflict)
		}
		if s.committed {
			c.answerLagging(s, m.Replica) // a retransmission: the sender is stuck
		}
		return nil
	}
	s.prepares[m.Replica] = m
	c.checkPrepared(s)
	return nil
}

// stepCommit records a COMMIT.
func (c *Core) stepCommit(m *Commit) error {
	s, err := c.voteSlot(m.View, m.Seq, m.Replica)
	if err != nil {
		return err
	}
	if old, ok := s.commits[m.Replica]; ok {
		if old.Digest != m.Digest {
			return fmt.Errorf("commit seq %d from %d: %w", m.Seq, m.Replica, ErrConflict)
		}
		if s.committed {
			c.answerLagging(s, m.Replica) // a retransmission: the sender is stuck
		}
		return nil
	}
	s.commits[m.Replica] = m
	c.checkCommitted(s)
	return nil
}

// matchingPrepares returns the backups' prepares matching the slot's
// pre-prepare, in ascending replica order.
func (c *Core) matchingPrepares(s *slot) []Attestation {
	var out []Attestation
	p := Primary(s.view, c.n)
	for r := 0; r < c.n; r++ {
		if m, ok := s.prepares[r]; ok && r != p && m.Digest == s.pp.Digest {
			out = append(out, Attestation{Replica: r, Sig: m.Sig})
		}
	}
	return out
}

// checkPrepared evaluates prepared(m, v, n, i) (§4.2): the pre-prepare and
// quorum-1 matching prepares from distinct backups. On becoming prepared the
// replica keeps the certificate and sends its COMMIT.
func (c *Core) checkPrepared(s *slot) {
	if s.prepared || s.pp == nil || s.view != c.view || !c.active {
		return
	}
	atts := c.matchingPrepares(s)
	if len(atts) < c.q-1 {
		return
	}
	s.prepared = true
	s.cert = &PreparedCert{View: s.view, Seq: s.seq, Digest: s.pp.Digest, PrePrepareSig: s.pp.Sig, Prepares: atts[:c.q-1]}
	cm := &Commit{View: s.view, Seq: s.seq, Digest: s.pp.Digest, Replica: c.id}
	c.sign(cm)
	s.commits[c.id] = cm
	s.sentTick = c.now
	c.dirtySlots[s.seq] = true
	c.broadcast(cm)
	c.checkCommitted(s)
}

// checkCommitted evaluates committed-local(m, v, n, i) (§4.2): prepared and
// a quorum of matching commits from distinct replicas, which become the
// batch's commit certificate.
func (c *Core) checkCommitted(s *slot) {
	if s.committed || !s.prepared {
		return
	}
	var atts []Attestation
	for r := 0; r < c.n && len(atts) < c.q; r++ {
		if m, ok := s.commits[r]; ok && m.Digest == s.pp.Digest {
			atts = append(atts, Attestation{Replica: r, Sig: m.Sig})
		}
	}
	if len(atts) < c.q {
		return
	}
	s.committed = true
	s.commitView = s.view
	s.commitDig = s.pp.Digest
	s.commitCert = encodeProof(commitCert{View: s.view, Commits: atts})
	c.dirtySlots[s.seq] = true
	c.log.Debug("committed", "view", s.view, "seq", s.seq, "digest", s.pp.Digest)
	c.tryExecute()
}

// tryExecute hands out committed batches strictly in sequence order
// (§4.2: a replica executes a request once all lower ones have executed).
// A committed batch whose txs this replica lacks (it only saw a digest-only
// pre-prepare) waits for them and triggers state transfer.
func (c *Core) tryExecute() {
	for {
		s := c.slots[c.lastExec+1]
		if s == nil || !s.committed {
			return
		}
		b, ok := s.batch(s.commitDig)
		if !ok {
			if s.seq > c.fetchTarget {
				c.fetchTarget = s.seq
				c.fetch() // committed but we lack the batch: get it now
			}
			return
		}
		c.deliver(engine.Committed{
			Height:   s.seq,
			Txs:      b.txs,
			Proposer: uint32(Primary(s.commitView, c.n)),
			Round:    s.commitView,
			Proof:    s.commitCert,
		})
		s.executed = true
		c.onExecuted(s.seq, b)
	}
}

// onExecuted is the bookkeeping after seq was handed out.
func (c *Core) onExecuted(seq uint64, b *batch) {
	c.pool.committed(seq, b)
	if c.active && c.newView != nil || c.view == 0 {
		c.vcAttempts = 0 // progress in this view: timeouts back to base
	}
	c.log.Debug("executed", "seq", seq, "txs", len(b.txs))
}

// retransmitVotes re-sends our own pre-prepares, prepares and commits for
// slots of the current view that are not yet committed here, and that we
// have not sent for a retransmission interval.
func (c *Core) retransmitVotes() {
	for seq := max(c.stable, c.lastExec) + 1; seq <= c.high(); seq++ {
		s := c.slots[seq]
		if s == nil || s.view != c.view || s.committed || s.pp == nil {
			continue
		}
		if c.now-s.sentTick < uint64(c.retransmitTicks) {
			continue
		}
		s.sentTick = c.now
		if s.pp.Replica == c.id {
			c.broadcast(s.pp)
		}
		if p := s.prepares[c.id]; p != nil && s.sentPrepare {
			c.broadcast(p)
		}
		if cm := s.commits[c.id]; cm != nil && s.prepared {
			c.broadcast(cm)
		}
	}
}

// answerLagging sends our own votes for a slot committed here to a peer
// that is still voting on it (it missed what made us commit, and nobody
// retransmits votes for committed slots). At most once per retransmission
// interval per slot.
func (c *Core) answerLagging(s *slot, to int) {
	if s.view != c.view || !c.active || s.pp == nil ||
		(s.answerTick != 0 && c.now+1-s.answerTick < uint64(c.retransmitTicks)) {
		return
	}
	s.answerTick = c.now + 1
	if s.pp.Replica == c.id {
		c.sendTo(to, s.pp)
	}
	if p := s.prepares[c.id]; p != nil && s.sentPrepare {
		c.sendTo(to, p)
	}
	if cm := s.commits[c.id]; cm != nil {
		c.sendTo(to, cm)
	}
}

// digestElsewhere reports a seq other than seq in the log whose accepted
// pre-prepare or committed batch has digest d (the null batch excepted).
func (c *Core) digestElsewhere(d crypto.Hash, seq uint64) (uint64, bool) {
	if d == NullDigest {
		return 0, false
	}
	for other := c.stable + 1; other <= c.high(); other++ {
		s := c.slots[other]
		if other == seq || s == nil {
			continue
		}
		if (s.pp != nil && s.view == c.view && s.pp.Digest == d) || (s.committed && s.commitDig == d) {
			return other, true
		}
	}
	return 0, false
}
