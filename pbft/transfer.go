package pbft

import (
	"fmt"
	"sort"

	"github.com/bftledger/bftledger/engine"
)

// State transfer. A replica behind the others (it missed votes, crashed,
// or was partitioned past the window) learns so from a stable checkpoint
// above what it executed, or from f+1 peers showing higher sequence
// numbers (at least one of them correct). It then asks one peer at a time
// for the committed batches after its last executed one; each batch comes
// with its commit certificate, which the Verifier checks, so no peer has to
// be trusted. Peers serve from their log and from Storage.

// claimTarget returns the highest seq that f+1 other replicas have shown.
func (c *Core) claimTarget() uint64 {
	claims := make([]uint64, 0, c.n-1)
	for r, s := range c.claims {
		if r != c.id {
			claims = append(claims, s)
		}
	}
	if len(claims) < c.f+1 {
		return 0
	}
	sort.Slice(claims, func(i, j int) bool { return claims[i] > claims[j] })
	return claims[c.f]
}

// maybeFetch runs once per retransmission interval. A replica that made
// no progress during the interval asks one peer (round robin) for
// committed batches after its last executed one: a probe that costs one
// small message per interval while idle, and is what lets a replica that
// restarted or healed from a partition into an idle network learn that it
// is behind. A replica that knows it is behind (fetchTarget) asks anyway.
func (c *Core) maybeFetch() {
	if c.lastExec != c.fetchMark && c.lastExec >= max(c.fetchTarget, c.claimTarget()) {
		return // progressing by itself
	}
	c.fetch()
}

// fetch sends a FETCH-REQUEST for the batches after lastExec to the next
// peer (round robin, preferring peers that showed they are ahead). It asks
// for as many as one response may carry; the peer sends what it has.
func (c *Core) fetch() {
	if c.n == 1 {
		return
	}
	low := c.lastExec + 1
	peer := -1
	for i := 1; i <= c.n; i++ {
		r := (c.fetchPeer + i) % c.n
		if r != c.id && c.claims[r] >= low {
			peer = r
			break
		}
	}
	if peer < 0 {
		peer = (c.fetchPeer + 1) % c.n
		if peer == c.id {
			peer = (peer + 1) % c.n
		}
	}
	c.fetchPeer = peer
	m := &FetchRequest{Low: low, High: low + FetchBatchesMax - 1, Replica: c.id}
	c.sign(m)
	c.sendTo(peer, m)
	c.log.Debug("fetching", "peer", peer, "low", m.Low, "high", m.High)
}

// committedBatch returns the committed batch at seq from the log or from
// Storage.
func (c *Core) committedBatch(seq uint64) (FetchedBatch, bool) {
	if s := c.slots[seq]; s != nil && s.committed {
		if b, ok := s.batch(s.commitDig); ok {
			return FetchedBatch{Seq: seq, View: s.commitView, Txs: b.txs, Proof: s.commitCert}, true
		}
	}
	if c.cfg.Storage != nil && seq <= c.applied {
		if b, ok := c.cfg.Storage.Committed(seq); ok && b.Height == seq {
			return FetchedBatch{Seq: seq, View: b.Round, Txs: b.Txs, Proof: b.Proof}, true
		}
	}
	return FetchedBatch{}, false
}

// stepFetchRequest answers with our stable checkpoint proof and as many of
// the asked-for committed batches as we hold, within a byte budget.
func (c *Core) stepFetchRequest(m *FetchRequest) error {
	// Bound the work one peer can ask of us: a catching-up replica sends
	// one request per response, so a few per tick is plenty.
	if c.fetchServed[m.Replica].tick != c.now+1 {
		c.fetchServed[m.Replica] = servedCount{tick: c.now + 1}
	}
	if c.fetchServed[m.Replica].n >= fetchAnswersPerTick {
		return fmt.Errorf("fetch-request from %d: %d already served this tick: %w", m.Replica, fetchAnswersPerTick, ErrRateLimited)
	}
	c.fetchServed[m.Replica].n++
	resp := &FetchResponse{Replica: c.id}
	if c.stable >= m.Low {
		resp.Stable = c.stableProof
	}
	budget := fetchBytesMax
	for seq := m.Low; seq <= m.High && seq <= c.lastExec; seq++ {
		b, ok := c.committedBatch(seq)
		if !ok {
			break
		}
		size := len(b.Proof) + 16
		for _, tx := range b.Txs {
			size += 4 + len(tx)
		}
		if len(resp.Batches) > 0 && size > budget {
			break
		}
		budget -= size
		resp.Batches = append(resp.Batches, b)
	}
	if len(resp.Batches) == 0 && len(resp.Stable) == 0 {
		return nil
	}
	c.sign(resp)
	c.sendTo(m.Replica, resp)
	return nil
}

// stepFetchResponse adopts a newer stable checkpoint and delivers the
// batches that continue our executed prefix. The Verifier has checked
// every commit certificate against its batch.
func (c *Core) stepFetchResponse(m *FetchResponse) error {
	if len(m.Stable) > 0 {
		seq := m.Stable[0].Seq
		if seq%c.cfg.CheckpointInterval != 0 {
			return fmt.Errorf("fetched checkpoint %d not a multiple of %d: %w", seq, c.cfg.CheckpointInterval, ErrInvalidMessage)
		}
		if seq > c.stable {
			c.makeStable(seq, m.Stable)
			c.cutBatches(false)
		}
	}
	progressed := false
	for i := range m.Batches {
		b := &m.Batches[i]
		if b.Seq != c.lastExec+1 {
			continue
		}
		c.deliver(engine.Committed{
			Height:   b.Seq,
			Txs:      b.Txs,
			Proposer: uint32(Primary(b.View, c.n)),
			Round:    b.View,
			Proof:    b.Proof,
		})
		if s := c.slots[b.Seq]; s != nil {
			s.executed = true
		}
		c.onExecuted(b.Seq, &batch{txs: b.Txs})
		progressed = true
	}
	if progressed {
		c.cutBatches(false) // a missing batch may have arrived
	}
	if progressed {
		c.log.Info("state transfer", "peer", m.Replica, "executed", c.lastExec, "stable", c.stable)
		c.tryExecute()
		if len(m.Batches) == FetchBatchesMax || c.lastExec < max(c.fetchTarget, c.claimTarget()) {
			c.fetch()
		}
	}
	return nil
}

// answerStale tells a peer that sent us something below our stable
// checkpoint about that checkpoint (at most once per retransmission
// interval per peer), so it can move its window and fetch.
func (c *Core) answerStale(to int) {
	if c.stableProof == nil || !c.mayAnswer(c.staleAnswer, to) {
		return
	}
	resp := &FetchResponse{Stable: c.stableProof, Replica: c.id}
	c.sign(resp)
	c.sendTo(to, resp)
}

// mayAnswer rate-limits answers to lagging peers: at most one per peer per
// retransmission interval for each kind of answer (last holds, per peer, 1
// + the tick of the previous answer).
func (c *Core) mayAnswer(last []uint64, to int) bool {
	if to == c.id || (last[to] != 0 && c.now+1-last[to] < uint64(c.retransmitTicks)) {
		return false
	}
	last[to] = c.now + 1
	return true
}

// servedCount counts the FETCH-REQUESTs answered for one peer in one tick.
type servedCount struct {
	tick uint64 // 1 + the tick counted
	n    int
}
