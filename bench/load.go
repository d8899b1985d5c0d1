package bench

import (
	"context"
	"sync"
	"time"
)

// closedLoop runs clients until ctx is done. Each client takes up to
// BatchTxs ready transfers, posts them as one batch to a node (clients and
// rounds rotate over the nodes), and waits until all of the batch's
// accepted transfers are seen in blocks before posting again.
func (r *runner) closedLoop(ctx context.Context, clients int) {
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.closedClient(ctx, c)
		}()
	}
	wg.Wait()
}

func (r *runner) closedClient(ctx context.Context, c int) {
	node := c % len(r.apis)
	batch := make([]item, 0, r.cfg.BatchTxs)
	for ctx.Err() == nil {
		batch = batch[:0]
		it, ok := r.pool.takeWait(ctx)
		if !ok {
			return
		}
		batch = append(batch, it)
		for len(batch) < cap(batch) {
			it, ok := r.pool.take(time.Now())
			if !ok {
				break
			}
			batch = append(batch, it)
		}
		w := newWaiter()
		accepted, busy := r.submit(ctx, node, batch, w)
		node = (node + 1) % len(r.apis)
		if accepted == 0 {
			if busy > 0 {
				pause(ctx, busyBackoff)
			}
			continue
		}
		select {
		case <-w.done:
		case <-ctx.Done():
			return
		}
	}
}

// openLoop releases transfers at rate tx/s until ctx is done, whatever the
// cluster does: a slow cluster sees its in-flight set grow. Latency counts
// from each tx's scheduled release, so a stalled sender cannot hide delay
// (no coordinated omission).
func (r *runner) openLoop(ctx context.Context, rate float64) {
	queue := make(chan []item, sendQueueLen)
	var wg sync.WaitGroup
	for s := range sendersPerNode * len(r.apis) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			node := s % len(r.apis)
			for batch := range queue {
				r.submit(ctx, node, batch, nil)
				node = (node + 1) % len(r.apis)
			}
		}()
	}
	defer func() { close(queue); wg.Wait() }()

	start := time.Now()
	tick := time.NewTicker(openTick)
	defer tick.Stop()
	released := int64(0)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			due := int64(rate*now.Sub(start).Seconds()) - released
			released += due
			r.releaseDue(now, due, queue)
		}
	}
}

// releaseDue takes due ready transfers and queues them in batches; what it
// cannot take or queue is counted as shortfall, never queued unboundedly.
func (r *runner) releaseDue(now time.Time, due int64, queue chan<- []item) {
	for due > 0 {
		n := min(int(due), r.cfg.BatchTxs)
		batch := make([]item, 0, n)
		for len(batch) < n {
			it, ok := r.pool.take(now)
			if !ok {
				break
			}
			batch = append(batch, it)
		}
		due -= int64(n)
		if short := n - len(batch); short > 0 {
			// No account is ready: the rest of what is due is short too.
			r.gen.shortfall.Add(int64(short) + due)
			due = 0
		}
		if len(batch) == 0 {
			return
		}
		select {
		case queue <- batch:
		default:
			r.gen.overloaded.Add(int64(len(batch)))
			for _, it := range batch {
				r.pool.retry(it.acct)
			}
		}
	}
}

// submit registers batch as in flight, posts it to node, and sorts the
// answers: accepted txs stay in flight (and count for w); busy ones and
// those of a failed post go back to the pool for a retry; refused ones
// retire their account. It returns the accepted and busy counts.
func (r *runner) submit(ctx context.Context, node int, batch []item, w *waiter) (accepted, busy int) {
	now := time.Now()
	phase := int(r.phase.Load())
	fls := make([]*flight, len(batch))
	txs := make([]*Tx, len(batch))
	if w != nil {
		w.remaining.Store(int64(len(batch)) + 1) // +1 until the answers are sorted
	}
	firsts := 0
	r.mu.Lock()
	for i, it := range batch {
		fl := &flight{it: it, phase: phase, node: node, lastSent: now, w: w, sample: it.sample}
		r.inflight[it.id] = fl
		fls[i], txs[i] = fl, it.tx
		if it.first {
			firsts++
		}
	}
	r.mu.Unlock()
	r.gen.released.Add(int64(firsts))
	r.gen.posted.Add(int64(len(batch)))
	r.gen.batches.Add(1)

	// The post outlives the phase: cancelling it could leave txs the node
	// accepted looking refused.
	results, err := r.apis[node].postBatch(r.bg, txs)
	if err != nil {
		// The node may have taken some of them: leave all in flight, and
		// resendStale posts them again (to another node) if they do not
		// commit. Retrying them now could not tell a lost tx from a taken one.
		r.gen.postErrors.Add(1)
		r.cfg.Logger.Debug("batch post failed", "node", node, "err", err)
		w.release()
		if ctx.Err() == nil {
			pause(ctx, busyBackoff)
		}
		return len(batch), 0
	}
	for i, res := range results {
		switch {
		case res.Error == "" || res.Code == "duplicate" || res.Code == "already_pending":
			accepted++
			if fls[i].sample {
				r.startSample(fls[i], node)
			}
		case retryable(res.Code):
			busy++
			r.unregister(batch[i:i+1], func(a int) { r.pool.retry(a) }, w)
		default:
			r.countRejected(res.Code)
			r.cfg.Logger.Warn("tx refused", "node", node, "code", res.Code, "err", res.Error)
			r.unregister(batch[i:i+1], func(a int) { r.pool.kill(a) }, w)
		}
	}
	r.gen.accepted.Add(int64(accepted))
	r.gen.busy.Add(int64(busy))
	w.release()
	return accepted, busy
}

// retryable reports whether a refusal is about the node's state (a full
// pool, no leader yet, a transient fault) rather than the tx itself.
func retryable(code string) bool {
	switch code {
	case "busy", "rate_limited", "unavailable", "internal":
		return true
	}
	return false
}

// unregister removes txs from the in-flight set (unless a block already
// took them) and hands their accounts to then.
func (r *runner) unregister(batch []item, then func(acct int), w *waiter) {
	for _, it := range batch {
		r.mu.Lock()
		_, ok := r.inflight[it.id]
		delete(r.inflight, it.id)
		r.mu.Unlock()
		if ok {
			then(it.acct)
			w.release()
		}
	}
}

// pause waits d or until ctx is done. It paces retries against a busy
// node; nothing waits on it for correctness.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
