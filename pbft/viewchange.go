package pbft

import (
	"fmt"
	"sort"

	"github.com/bftledger/bftledger/crypto"
)

// startViewChange moves to view v (> the current one) and asks for it with
// a VIEW-CHANGE (§4.4): the stable checkpoint with its proof and a prepared
// certificate for every prepared sequence number above it. Normal-case
// messages are refused until a NEW-VIEW for v is adopted.
func (c *Core) startViewChange(v uint64) {
	if v <= c.view {
		return
	}
	c.view = v
	c.active = false
	c.viewStart = c.now
	c.vcAttempts++
	c.vcCount++
	c.newView = nil
	c.timerKey = waitKey{}
	c.maxAccepted = 0
	c.dirtyView = true
	vc := &ViewChange{NewView: v, StableSeq: c.stable, CheckpointProof: c.stableProof, Replica: c.id}
	for seq := c.stable + 1; seq <= c.high(); seq++ {
		if s := c.slots[seq]; s != nil && s.cert != nil {
			vc.Prepared = append(vc.Prepared, *s.cert)
		}
	}
	c.sign(vc)
	c.ownVC = vc
	c.vcs[c.id] = vc
	c.out.Persist = append(c.out.Persist, Record{Key: []byte(keyVC), Value: Encode(vc)})
	c.broadcast(vc)
	for _, s := range c.slots {
		s.resetView(v)
	}
	c.pool.unorderAll()
	c.log.Info("view change", "view", v, "stable", c.stable, "prepared", len(vc.Prepared),
		"timeout_ticks", c.timeoutTicks())
	c.maybeSendNewView()
}

// maybeJoinHigherView applies the join rule (§4.4 liveness): once f+1
// other replicas have been seen in views above ours, at least one correct
// replica is there, so this one moves to the smallest of those f+1 views
// rather than waiting for its own timer.
func (c *Core) maybeJoinHigherView() {
	var views []uint64
	for r, v := range c.peerView {
		if r != c.id && v > c.view {
			views = append(views, v)
		}
	}
	if len(views) < c.f+1 {
		return
	}
	sort.Slice(views, func(i, j int) bool { return views[i] > views[j] })
	target := views[c.f]
	c.log.Info("joining a higher view", "view", target, "from", c.view)
	c.startViewChange(target)
}

// checkCertWindow checks what the Verifier cannot: that the prepared
// certificates lie within the configured window above the sender's stable
// checkpoint, and that the checkpoint is a multiple of K.
func (c *Core) checkCertWindow(vc *ViewChange) error {
	if vc.StableSeq%c.cfg.CheckpointInterval != 0 {
		return fmt.Errorf("view-change from %d: stable seq %d not a multiple of %d: %w",
			vc.Replica, vc.StableSeq, c.cfg.CheckpointInterval, ErrInvalidMessage)
	}
	for i := range vc.Prepared {
		if s := vc.Prepared[i].Seq; s > vc.StableSeq+c.cfg.WindowSize {
			return fmt.Errorf("view-change from %d: prepared seq %d beyond %d+%d: %w",
				vc.Replica, s, vc.StableSeq, c.cfg.WindowSize, ErrOutOfWindow)
		}
	}
	return nil
}

// stepViewChange records a peer's VIEW-CHANGE (its highest one only, so a
// faulty replica cannot fill memory with views), answers a replica that is
// behind, and lets the new primary send NEW-VIEW.
func (c *Core) stepViewChange(m *ViewChange) error {
	if err := c.checkCertWindow(m); err != nil {
		return err
	}
	if m.NewView < c.view || (m.NewView == c.view && c.active) {
		// The sender missed the NEW-VIEW of a view we are in: the primary
		// re-sends it.
		if m.NewView == c.view && c.isPrimary() && c.newView != nil && c.mayAnswer(c.nvAnswer, m.Replica) {
			c.sendTo(m.Replica, c.newView)
		}
		return fmt.Errorf("view-change to %d at view %d: %w", m.NewView, c.view, ErrStale)
	}
	if old := c.vcs[m.Replica]; old == nil || m.NewView > old.NewView {
		c.vcs[m.Replica] = m
	}
	c.maybeSendNewView()
	return nil
}

// maybeSendNewView is the new primary's part (§4.4): with a quorum of
// VIEW-CHANGEs for its view it computes the re-issued pre-prepares, sends
// NEW-VIEW and enters the view.
func (c *Core) maybeSendNewView() {
	if c.active || c.primary() != c.id {
		return
	}
	var vcs []*ViewChange
	for r := 0; r < c.n && len(vcs) < c.q; r++ {
		if vc := c.vcs[r]; vc != nil && vc.NewView == c.view {
			vcs = append(vcs, vc)
		}
	}
	if len(vcs) < c.q {
		return
	}
	plan, err := computeNewViewPlan(vcs)
	if err != nil {
		// Only possible with more than f faulty replicas.
		c.log.Error("cannot compute new view", "view", c.view, "err", err)
		return
	}
	nv := &NewView{View: c.view, ViewChanges: vcs, Replica: c.id}
	for i, d := range plan.digests {
		pp := &PrePrepare{View: c.view, Seq: plan.minS + 1 + uint64(i), Digest: d, Replica: c.id}
		c.sign(pp)
		nv.PrePrepares = append(nv.PrePrepares, pp)
	}
	c.sign(nv)
	c.broadcast(nv)
	c.log.Info("sent new view", "view", c.view, "min_s", plan.minS, "reissued", len(plan.digests))
	c.enterView(nv, plan)
}

// stepNewView adopts a NEW-VIEW for the view being changed to, or for any
// higher view. The Verifier has checked the view-changes and recomputed
// the pre-prepares; the window is checked here.
func (c *Core) stepNewView(m *NewView) error {
	if m.View < c.view || (m.View == c.view && c.active) {
		return fmt.Errorf("new-view %d at view %d: %w", m.View, c.view, ErrStale)
	}
	for _, vc := range m.ViewChanges {
		if err := c.checkCertWindow(vc); err != nil {
			return err
		}
	}
	plan, err := computeNewViewPlan(m.ViewChanges)
	if err != nil {
		return err
	}
	if err := plan.matches(m.PrePrepares); err != nil {
		return err
	}
	c.enterView(m, plan)
	return nil
}

// enterView makes nv's view current (§4.4): adopt its stable checkpoint if
// newer, accept its pre-prepares and prepare them, and (as primary)
// re-send the batches and resume ordering after max-s.
func (c *Core) enterView(nv *NewView, plan newViewPlan) {
	c.view = nv.View
	c.active = true
	c.newView = nv
	c.viewStart = c.now
	c.timerKey = waitKey{}
	c.maxAccepted = 0
	c.dirtyView = true
	c.out.Persist = append(c.out.Persist, Record{Key: []byte(keyNV), Value: Encode(nv)})
	if plan.minS > c.stable && plan.stable != nil {
		c.makeStable(plan.minS, plan.stable.CheckpointProof)
	}
	for _, s := range c.slots {
		if s.view != c.view {
			s.resetView(c.view)
		}
	}
	c.pool.unorderAll()
	primary := c.primary() == c.id
	for _, pp := range nv.PrePrepares {
		if pp.Seq <= c.stable || pp.Seq > c.high() {
			continue
		}
		s := c.getSlot(pp.Seq)
		if s.committed && s.commitDig != pp.Digest {
			// Impossible with at most f faulty replicas: the plan keeps
			// every committed batch.
			c.log.Error("new view re-issues another batch for a committed seq", "seq", pp.Seq, "view", c.view)
			continue
		}
		s.pp = pp
		c.maxAccepted = max(c.maxAccepted, pp.Seq)
		c.dirtySlots[pp.Seq] = true
		b, known := s.batch(pp.Digest)
		if known {
			c.pool.markOrdered(pp.Seq, b)
		}
		if primary {
			if known && len(b.txs) > 0 {
				full := &PrePrepare{View: pp.View, Seq: pp.Seq, Digest: pp.Digest, Txs: b.txs, Replica: c.id, Sig: pp.Sig}
				c.broadcast(full)
			}
		} else {
			c.sendPrepare(s)
		}
		c.checkPrepared(s)
	}
	if primary {
		c.nextSeq = max(c.stable, plan.minS+uint64(len(plan.digests)))
	} else {
		c.relayPending(relayPerRetransmit, c.now, false)
	}
	c.log.Info("entered view", "view", c.view, "primary", c.primary(), "stable", c.stable, "reissued", len(nv.PrePrepares))
	c.tryExecute()
	if primary {
		c.cutBatches(false)
	}
}

// newViewPlan is what a NEW-VIEW must re-issue, computed from its
// view-changes (§4.4).
type newViewPlan struct {
	minS    uint64        // the highest stable checkpoint among the view-changes
	stable  *ViewChange   // the first view-change whose checkpoint is minS (nil if minS == 0)
	digests []crypto.Hash // for minS+1, minS+2, ..., max-s
	views   []uint64      // the view each digest was prepared in (0 for a null batch)
}

// computeNewViewPlan implements the new primary's decision (§4.4): min-s
// is the latest stable checkpoint in the view-changes; for every seq in
// (min-s, max-s] it re-issues the digest of the prepared certificate with
// the highest view, or the null batch if none. Two certificates for one seq
// and view with different digests cannot both exist with at most f faulty
// replicas; they make the plan fail.
func computeNewViewPlan(vcs []*ViewChange) (newViewPlan, error) {
	var p newViewPlan
	for _, vc := range vcs {
		if p.stable == nil || vc.StableSeq > p.minS {
			p.minS = vc.StableSeq
			p.stable = vc
		}
	}
	if p.minS == 0 {
		p.stable = nil
	}
	type choice struct {
		view   uint64
		digest crypto.Hash
	}
	best := make(map[uint64]choice)
	maxS := p.minS
	for _, vc := range vcs {
		for i := range vc.Prepared {
			cert := &vc.Prepared[i]
			if cert.Seq <= p.minS {
				continue
			}
			cur, ok := best[cert.Seq]
			switch {
			case !ok || cert.View > cur.view:
				best[cert.Seq] = choice{cert.View, cert.Digest}
			case cert.View == cur.view && cert.Digest != cur.digest:
				return p, fmt.Errorf("seq %d view %d prepared with two digests: %w", cert.Seq, cert.View, ErrBadCertificate)
			}
			maxS = max(maxS, cert.Seq)
		}
	}
	if maxS-p.minS > WindowSizeMax {
		return p, fmt.Errorf("new view spans %d seqs: %w", maxS-p.minS, ErrBadCertificate)
	}
	for seq := p.minS + 1; seq <= maxS; seq++ {
		if ch, ok := best[seq]; ok {
			p.digests = append(p.digests, ch.digest)
			p.views = append(p.views, ch.view)
		} else {
			p.digests = append(p.digests, NullDigest)
			p.views = append(p.views, 0)
		}
	}
	return p, nil
}

// matches checks a NEW-VIEW's pre-prepares against the plan.
func (p newViewPlan) matches(pps []*PrePrepare) error {
	if len(pps) != len(p.digests) {
		return fmt.Errorf("new-view re-issues %d pre-prepares, view-changes imply %d: %w", len(pps), len(p.digests), ErrBadCertificate)
	}
	for i, pp := range pps {
		if pp.Seq != p.minS+1+uint64(i) || pp.Digest != p.digests[i] {
			return fmt.Errorf("new-view pre-prepare seq %d digest %v, view-changes imply seq %d digest %v: %w",
				pp.Seq, pp.Digest, p.minS+1+uint64(i), p.digests[i], ErrBadCertificate)
		}
	}
	return nil
}
