package bench

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// baseline returns the greatest height any node reports before the load
// starts, trying for up to baselineWait until at least one answers.
func (r *runner) baseline(ctx context.Context) (height uint64, err error) {
	deadline := time.Now().Add(baselineWait)
	for {
		answered := false
		for _, a := range r.apis {
			cctx, cancel := context.WithTimeout(ctx, statusPoll)
			st, serr := a.status(cctx)
			cancel()
			if serr == nil {
				answered, height = true, max(height, st.Height)
			} else {
				err = serr
			}
		}
		if answered {
			return height, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return 0, fmt.Errorf("%w: no node answers /v1/status: %w", ErrNode, err)
		}
		pause(ctx, statusPoll)
	}
}

// trackBlocks follows the chain from height last: each poll it reads every
// node's height and fetches the new blocks from the node furthest ahead,
// counting each block's txs at the time it is first seen anywhere (a block
// an honest replica executed is final) and retiring their in-flight
// entries. Following the furthest node keeps one lagging replica from
// slowing the closed loop down. A block no node serves after a few rounds
// is skipped.
func (r *runner) trackBlocks(ctx context.Context, last uint64) {
	missing := 0
	t := time.NewTicker(heightPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := r.trackOnce(ctx, &last)
		if err == nil || ctx.Err() != nil {
			missing = 0
			continue
		}
		r.cfg.Logger.Debug("block tracker", "height", last+1, "err", err)
		if errors.Is(err, ErrNotFound) {
			if missing++; missing > 3*len(r.apis) {
				r.cfg.Logger.Warn("block tracker: no node serves a block; skipping it", "height", last+1)
				last++
				missing = 0
			}
		}
	}
}

// trackOnce fetches the blocks above *last from the node with the greatest
// height.
func (r *runner) trackOnce(ctx context.Context, last *uint64) error {
	best, top := -1, *last
	var err error
	for i, a := range r.apis {
		cctx, cancel := context.WithTimeout(ctx, statusPoll)
		st, serr := a.status(cctx)
		cancel()
		if serr != nil {
			err = serr
			continue
		}
		if st.Height > top {
			best, top = i, st.Height
		}
	}
	if best < 0 {
		return err // nothing new anywhere (err is nil if every node answered)
	}
	for h := *last + 1; h <= top; h++ {
		blk, err := r.apis[best].block(ctx, h)
		if err != nil {
			return err
		}
		r.observeBlock(blk, time.Now())
		*last = h
	}
	return nil
}

// observeBlock counts blk's txs at now and retires their in-flight entries.
func (r *runner) observeBlock(blk *blockReply, now time.Time) {
	var done []*flight
	r.mu.Lock()
	r.points = append(r.points, Point{T: r.since(now), Count: len(blk.TxHashes)})
	for _, h := range blk.TxHashes {
		fl, ok := r.inflight[h]
		if !ok {
			continue
		}
		delete(r.inflight, h)
		r.commits = append(r.commits, commitSample{firstAt: fl.it.firstAt, lat: now.Sub(fl.it.firstAt), phase: fl.phase})
		done = append(done, fl)
	}
	r.mu.Unlock()
	r.cfg.Logger.Debug("block", "height", blk.Height, "txs", len(blk.TxHashes), "in_flight", len(done))
	for _, fl := range done {
		r.pool.committed(fl.it.acct)
		fl.w.release()
	}
}

// pollStatus reads every node's status each statusPoll, keeping the latest
// and recording view (PBFT) or term (Raft) changes as events.
func (r *runner) pollStatus(ctx context.Context) {
	t := time.NewTicker(statusPoll)
	defer t.Stop()
	for {
		for i, a := range r.apis {
			cctx, cancel := context.WithTimeout(ctx, statusPoll)
			st, err := a.status(cctx)
			cancel()
			if err != nil {
				continue
			}
			now := time.Now()
			r.mu.Lock()
			r.status[i] = st
			if ev, ok := r.rounds.observe(i, r.cfg.Mode, st); ok {
				ev.T = round2(r.since(now).Seconds())
				r.events = append(r.events, ev)
			}
			r.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// roundTracker turns status readings into events: the first node to report
// a view (or term) above every one seen so far marks a change.
type roundTracker struct {
	started bool
	max     uint64
}

func (rt *roundTracker) observe(node int, mode string, st *statusReply) (Event, bool) {
	round := st.View
	kind := "view-change"
	if mode == ModeRaft {
		round, kind = st.Term, "leader-change"
	}
	if !rt.started {
		rt.started, rt.max = true, round
		return Event{}, false
	}
	if round <= rt.max {
		return Event{}, false
	}
	rt.max = round
	return Event{Kind: kind, Node: node, Round: round, Leader: st.Leader}, true
}

// resendStale handles accepted txs not seen in a block within resendAfter.
// One that has a receipt committed in a block the tracker missed (it was
// posted again after a failed post, say): it is retired. Any other is
// re-posted to the next node, which is safe: a tx commits at most once.
func (r *runner) resendStale(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		var stale []*flight
		r.mu.Lock()
		for _, fl := range r.inflight {
			if now.Sub(fl.lastSent) >= resendAfter && len(stale) < BatchTxsMax {
				fl.lastSent = now
				stale = append(stale, fl)
			}
		}
		r.mu.Unlock()
		byNode := make(map[int][]*Tx)
		for _, fl := range stale {
			if _, err := r.apis[0].receipt(ctx, fl.it.id, 0); err == nil {
				r.retire(fl)
				continue
			}
			r.mu.Lock()
			fl.node = (fl.node + 1) % len(r.apis)
			node := fl.node
			r.mu.Unlock()
			byNode[node] = append(byNode[node], fl.it.tx)
		}
		for node, txs := range byNode {
			r.gen.resent.Add(int64(len(txs)))
			if _, err := r.apis[node].postBatch(ctx, txs); err != nil {
				r.cfg.Logger.Debug("resend failed", "node", node, "err", err)
			}
		}
	}
}

// retire removes a committed flight whose block was not observed.
func (r *runner) retire(fl *flight) {
	r.mu.Lock()
	_, ok := r.inflight[fl.it.id]
	delete(r.inflight, fl.it.id)
	r.mu.Unlock()
	if ok {
		r.gen.retired.Add(1)
		r.pool.committed(fl.it.acct)
		fl.w.release()
	}
}
