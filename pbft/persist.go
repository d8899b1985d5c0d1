package pbft

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
)

// The persistence contract (DESIGN.md "Crash recovery"): before a replica
// sends a message that commits it to something, the fact is in
// Ready.Persist of the same or an earlier Ready:
//
//   - pbft/view: the view and whether it is active (a replica never goes
//     back to a lower view, so never votes twice in one view);
//   - pbft/slot/<seq>: per sequence number in the window, the pre-prepare
//     accepted or sent in the slot's view (digest-only), whether we sent
//     PREPARE and COMMIT, the prepared certificate with the highest view,
//     and the commit certificate once committed;
//   - pbft/batch/<seq><digest>: the batch of that pre-prepare or commit,
//     written once (a slot record changes up to three times per batch);
//   - pbft/stable: the stable checkpoint proof (slots at or below it are
//     deleted in the same batch);
//   - pbft/view-change: our latest VIEW-CHANGE (re-sent verbatim after a
//     restart, never a different one for the same view);
//   - pbft/new-view: the NEW-VIEW adopted (or, at a primary, sent).
//
// Signatures are deterministic (Ed25519), so re-signing a restored vote
// yields the very message sent before the crash.

// flushPersist turns dirty state into records at the end of the output.
func (c *Core) flushPersist() {
	if c.dirtyView {
		c.out.Persist = append(c.out.Persist, Record{Key: []byte(keyView), Value: encodeViewRecord(c.view, c.active)})
		c.dirtyView = false
	}
	if len(c.dirtySlots) == 0 {
		return
	}
	for _, seq := range sortedSeqs(c.dirtySlots) {
		s := c.slots[seq]
		delete(c.dirtySlots, seq)
		if s == nil {
			continue
		}
		c.persistBatches(s)
		c.out.Persist = append(c.out.Persist, Record{Key: slotKey(seq), Value: encodeSlotRecord(s.record())})
	}
}

// persistBatches writes, once each, the batches the slot's pre-prepare or
// commit refer to.
func (c *Core) persistBatches(s *slot) {
	for _, d := range [2]crypto.Hash{s.ppDigest(), s.commitDig} {
		if b, ok := s.batch(d); ok && !b.persisted && !d.IsZero() {
			b.persisted = true
			c.out.Persist = append(c.out.Persist, Record{Key: batchKey(s.seq, d), Value: encodeBatchRecord(b.txs)})
		}
	}
}

// deleteSlotRecords appends the deletion of a slot's records.
func (c *Core) deleteSlotRecords(s *slot) {
	c.out.Persist = append(c.out.Persist, Record{Key: slotKey(s.seq)})
	for _, d := range sortedDigests(s.batches) {
		if s.batches[d].persisted {
			c.out.Persist = append(c.out.Persist, Record{Key: batchKey(s.seq, d)})
		}
	}
}

func sortedDigests(m map[crypto.Hash]*batch) []crypto.Hash {
	out := make([]crypto.Hash, 0, len(m))
	for d := range m {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i][:], out[j][:]) < 0 })
	return out
}

// ppDigest returns the digest of the slot's pre-prepare, or zero.
func (s *slot) ppDigest() crypto.Hash {
	if s.pp == nil {
		return crypto.Hash{}
	}
	return s.pp.Digest
}

// record returns the durable part of the slot.
func (s *slot) record() *slotRecord {
	r := &slotRecord{view: s.view, sentPrepare: s.sentPrepare, prepared: s.prepared, cert: s.cert}
	if s.pp != nil {
		pp := *s.pp
		pp.msgState = msgState{}
		pp.Txs = nil
		r.pp = &pp
	}
	if s.committed {
		r.committed = true
		r.commitView = s.commitView
		r.commitDig = s.commitDig
		r.commitCert = s.commitCert
	}
	return r
}

func badState(key []byte, err error) error {
	return fmt.Errorf("%w: record %q: %w", ErrBadState, key, err)
}

// restore rebuilds the replica from its records (see the contract above).
func (c *Core) restore(state []Record) error {
	var slotRecs []uint64
	recs := make(map[uint64]*slotRecord)
	type batchRec struct {
		seq uint64
		d   crypto.Hash
		txs [][]byte
	}
	var batches []batchRec
	for _, r := range state {
		if r.Value == nil {
			continue
		}
		key := string(r.Key)
		switch {
		case key == keyView:
			v, active, err := decodeViewRecord(r.Value)
			if err != nil {
				return badState(r.Key, err)
			}
			c.view, c.active = v, active
		case key == keyStable:
			proof, err := decodeStableRecord(r.Value)
			if err != nil {
				return badState(r.Key, err)
			}
			if len(proof) > 0 {
				c.stable, c.stableProof, c.stableHash = proof[0].Seq, proof, proof[0].AppHash
			}
		case key == keyVC:
			m, err := Decode(r.Value)
			vc, ok := m.(*ViewChange)
			if err != nil || !ok || vc.Replica != c.id {
				return badState(r.Key, fmt.Errorf("not our view-change: %v", err))
			}
			c.ownVC = vc
		case key == keyNV:
			m, err := Decode(r.Value)
			nv, ok := m.(*NewView)
			if err != nil || !ok {
				return badState(r.Key, fmt.Errorf("not a new-view: %v", err))
			}
			c.newView = nv
		case len(key) == len(keyBatchPref)+8+crypto.HashSize && bytes.HasPrefix(r.Key, []byte(keyBatchPref)):
			txs, err := decodeBatchRecord(r.Value)
			if err != nil {
				return badState(r.Key, err)
			}
			seq := beUint64(r.Key[len(keyBatchPref) : len(keyBatchPref)+8])
			var d crypto.Hash
			copy(d[:], r.Key[len(keyBatchPref)+8:])
			batches = append(batches, batchRec{seq, d, txs})
		case len(key) == len(keySlotPref)+8 && bytes.HasPrefix(r.Key, []byte(keySlotPref)):
			seq := beUint64(r.Key[len(keySlotPref):])
			sr, err := decodeSlotRecord(r.Value)
			if err != nil {
				return badState(r.Key, err)
			}
			recs[seq] = sr
			slotRecs = append(slotRecs, seq)
		default:
			return badState(r.Key, fmt.Errorf("unknown key"))
		}
	}
	if c.newView != nil && c.newView.View != c.view {
		c.newView = nil
	}
	if c.ownVC != nil && c.ownVC.NewView <= c.view {
		c.vcs[c.id] = c.ownVC
	}
	sort.Slice(slotRecs, func(i, j int) bool { return slotRecs[i] < slotRecs[j] })
	for _, seq := range slotRecs {
		if seq <= c.stable || seq > c.high()+c.cfg.WindowSize {
			continue
		}
		c.restoreSlot(seq, recs[seq])
	}
	for _, br := range batches {
		if s := c.slots[br.seq]; s != nil && engine.BatchDigest(br.txs) == br.d {
			if b := s.addBatch(br.d, br.txs); b != nil {
				b.persisted = true
			}
		}
	}
	// The txs of batches ordered but not executed must not be ordered
	// again when they reach the (empty) pool.
	for _, seq := range sortedSeqs(c.slots) {
		s := c.slots[seq]
		if seq <= c.lastExec || s.pp == nil || s.view != c.view {
			continue
		}
		if b, ok := s.batch(s.pp.Digest); ok {
			c.pool.markOrdered(seq, b)
		}
	}
	c.nextSeq = max(c.nextSeq, c.stable)
	if nv := c.newView; nv != nil && nv.Replica == c.id && len(nv.PrePrepares) > 0 {
		// Our NEW-VIEW assigned these seqs, even those whose slots
		// committed in an earlier view and so hold no record of it.
		c.nextSeq = max(c.nextSeq, nv.PrePrepares[len(nv.PrePrepares)-1].Seq)
	}
	if c.lastExec < c.stable {
		c.fetchTarget = c.stable
	}
	return nil
}

// restoreSlot rebuilds one slot and our own votes in it.
func (c *Core) restoreSlot(seq uint64, r *slotRecord) {
	s := &slot{seq: seq, view: r.view, prepares: make(map[int]*Prepare), commits: make(map[int]*Commit), cert: r.cert}
	c.slots[seq] = s
	if r.pp != nil {
		s.pp = r.pp
		s.pp.verified = true
	}
	if r.committed {
		s.committed = true
		s.commitView, s.commitDig, s.commitCert = r.commitView, r.commitDig, r.commitCert
		s.executed = seq <= c.lastExec
	}
	if s.pp != nil && r.sentPrepare {
		p := &Prepare{View: s.view, Seq: seq, Digest: s.pp.Digest, Replica: c.id}
		c.sign(p)
		s.prepares[c.id] = p
		s.sentPrepare = true
	}
	if s.pp != nil && r.prepared {
		cm := &Commit{View: s.view, Seq: seq, Digest: s.pp.Digest, Replica: c.id}
		c.sign(cm)
		s.commits[c.id] = cm
		s.prepared = true
	}
	if s.view == c.view && s.pp != nil && s.pp.Replica == c.id && seq > c.nextSeq {
		c.nextSeq = seq
	}
	if s.view != c.view {
		s.resetView(c.view)
	}
}

func beUint64(b []byte) uint64 {
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v
}
