package bench

import (
	"context"
	"errors"
	"time"
)

// trackBlocks follows the chain on one observer node: it polls the height
// and fetches every new block, counting its txs at the time it is seen and
// retiring their in-flight entries. When the observer fails three polls in
// a row the next node takes over.
func (r *runner) trackBlocks(ctx context.Context) {
	obs, fails := 0, 0
	var last uint64
	started := false
	t := time.NewTicker(heightPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := r.trackOnce(ctx, obs, &last, &started)
		if err == nil {
			fails = 0
			continue
		}
		if ctx.Err() != nil {
			return
		}
		fails++
		r.cfg.Logger.Debug("block tracker", "observer", obs, "err", err)
		if fails >= 3 {
			obs, fails = (obs+1)%len(r.apis), 0
			r.cfg.Logger.Warn("block tracker: switching observer", "observer", obs, "err", err)
		}
	}
}

// trackOnce reads the observer's height and fetches blocks above *last.
// The first call only records the height: blocks committed before the run
// are not the run's.
func (r *runner) trackOnce(ctx context.Context, obs int, last *uint64, started *bool) error {
	st, err := r.apis[obs].status(ctx)
	if err != nil {
		return err
	}
	if !*started {
		*last, *started = st.Height, true
		return nil
	}
	for h := *last + 1; h <= st.Height; h++ {
		blk, err := r.apis[obs].block(ctx, h)
		if errors.Is(err, ErrNotFound) {
			// Pruned or not yet served: count it empty rather than stall.
			*last = h
			continue
		}
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

// resendStale re-posts, to the next node, accepted txs not committed within
// resendAfter: a node may have lost them (crash, view change). Re-posting
// the same signed bytes is safe: a tx commits at most once.
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
		byNode := make(map[int][]*Tx)
		r.mu.Lock()
		for _, fl := range r.inflight {
			if now.Sub(fl.lastSent) < resendAfter {
				continue
			}
			fl.node = (fl.node + 1) % len(r.apis)
			fl.lastSent = now
			if len(byNode[fl.node]) < BatchTxsMax {
				byNode[fl.node] = append(byNode[fl.node], fl.it.tx)
			}
		}
		r.mu.Unlock()
		for node, txs := range byNode {
			r.gen.resent.Add(int64(len(txs)))
			if _, err := r.apis[node].postBatch(ctx, txs); err != nil {
				r.cfg.Logger.Debug("resend failed", "node", node, "err", err)
			}
		}
	}
}
