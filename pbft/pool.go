package pbft

import (
	"errors"
	"fmt"
	"slices"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
)

// pendingTx is one tx waiting to commit.
type pendingTx struct {
	tx      []byte
	hash    crypto.Hash
	arrived uint64 // tick it entered the pool
	relayed uint64 // tick it was last relayed to the primary
	seq     uint64 // seq of the current view's pre-prepare holding it, 0 = unordered
	done    bool   // committed (or dropped); lazily removed from the queue
}

// requestPool holds the txs this replica knows about that have not
// committed, in arrival order (the paper's client requests; a tx's hash is
// its identity), plus the hashes of recently committed txs so a duplicate
// is not ordered twice. It is bounded by MaxPendingTxs.
type requestPool struct {
	max       int
	byHash    map[crypto.Hash]*pendingTx
	queue     []*pendingTx // arrival order; done entries skipped and compacted
	head      int          // queue[:head] are all done
	cursor    int          // primary: queue[:cursor] are done or ordered
	unordered int          // pending txs with seq == 0
	// recent maps committed tx hashes to their seq, so a tx relayed again
	// (by a lagging replica, or a client retry) is not ordered twice. It
	// keeps the newest recentTxsMax hashes, oldest seqs evicted first; the
	// ledger itself also executes a tx hash at most once.
	recent map[crypto.Hash]uint64
	// inflight maps the txs of the current view's accepted (or sent)
	// pre-prepares not yet executed to their seq, whether or not they are
	// in the pool: a tx that arrives after its batch was ordered (a client
	// retry, a restarted primary's empty pool) is not ordered again.
	inflight map[crypto.Hash]uint64
	bySeq    map[uint64][]crypto.Hash
	seqs     []uint64 // seqs in bySeq, ascending
}

func (p *requestPool) init(max int) {
	p.max = max
	p.byHash = make(map[crypto.Hash]*pendingTx)
	p.recent = make(map[crypto.Hash]uint64)
	p.inflight = make(map[crypto.Hash]uint64)
	p.bySeq = make(map[uint64][]crypto.Hash)
}

func (p *requestPool) len() int { return len(p.byHash) }

// add takes a new tx, or returns engine.ErrDuplicate / engine.ErrPoolFull.
func (p *requestPool) add(tx []byte, now uint64) (*pendingTx, error) {
	h := hashTx(tx)
	if _, ok := p.byHash[h]; ok {
		return nil, fmt.Errorf("tx %v pending: %w", h, engine.ErrDuplicate)
	}
	if seq, ok := p.recent[h]; ok {
		return nil, fmt.Errorf("tx %v committed at %d: %w", h, seq, engine.ErrDuplicate)
	}
	if len(p.byHash) >= p.max {
		return nil, fmt.Errorf("%d txs pending: %w", len(p.byHash), engine.ErrPoolFull)
	}
	e := &pendingTx{tx: tx, hash: h, arrived: now, relayed: now, seq: p.inflight[h]}
	p.byHash[h] = e
	p.queue = append(p.queue, e)
	if e.seq == 0 {
		p.unordered++
	}
	return e, nil
}

// oldest returns the oldest pending tx, or nil.
func (p *requestPool) oldest() *pendingTx {
	for p.head < len(p.queue) && p.queue[p.head].done {
		p.queue[p.head] = nil
		p.head++
	}
	p.compact()
	if p.head == len(p.queue) {
		return nil
	}
	return p.queue[p.head]
}

// compact releases the done prefix once it dominates the queue.
func (p *requestPool) compact() {
	if p.head > 1024 && p.head > len(p.queue)/2 {
		n := copy(p.queue, p.queue[p.head:])
		clear(p.queue[n:])
		p.queue = p.queue[:n]
		p.cursor = max(0, p.cursor-p.head)
		p.head = 0
	}
}

// committed removes the txs of a batch executed at seq and remembers them.
func (p *requestPool) committed(seq uint64, b *batch) {
	hashes := b.txHashes()
	for _, h := range hashes {
		p.recent[h] = seq
		delete(p.inflight, h)
		if e, ok := p.byHash[h]; ok {
			if e.seq == 0 {
				p.unordered--
			}
			e.done = true
			delete(p.byHash, h)
		}
	}
	if len(hashes) > 0 {
		if _, ok := p.bySeq[seq]; !ok {
			p.seqs = append(p.seqs, seq) // seqs execute in ascending order
		}
		p.bySeq[seq] = hashes
		p.evict()
	}
}

// evict forgets the oldest committed txs beyond recentTxsMax.
func (p *requestPool) evict() {
	for len(p.recent) > recentTxsMax && len(p.seqs) > 0 {
		s := p.seqs[0]
		p.seqs = p.seqs[1:]
		for _, h := range p.bySeq[s] {
			if p.recent[h] == s {
				delete(p.recent, h)
			}
		}
		delete(p.bySeq, s)
	}
}

// take returns up to maxTxs / maxBytes unordered txs in arrival order and
// marks them ordered at seq. It returns nil if no tx is unordered.
func (p *requestPool) take(seq uint64, maxTxs, maxBytes int) [][]byte {
	var txs [][]byte
	bytes := 0
	for p.cursor = max(p.cursor, p.head); p.cursor < len(p.queue) && len(txs) < maxTxs; p.cursor++ {
		e := p.queue[p.cursor]
		if e.done || e.seq != 0 {
			continue
		}
		if bytes+len(e.tx) > maxBytes {
			break
		}
		bytes += len(e.tx)
		e.seq = seq
		p.unordered--
		txs = append(txs, e.tx)
	}
	return txs
}

// oldestUnordered returns the arrival tick of the oldest unordered tx.
func (p *requestPool) oldestUnordered() (uint64, bool) {
	for i := max(p.cursor, p.head); i < len(p.queue); i++ {
		if e := p.queue[i]; !e.done && e.seq == 0 {
			return e.arrived, true
		}
	}
	return 0, false
}

// unorderAll forgets every ordering (a new view starts; the new primary
// re-orders what NEW-VIEW did not carry over).
func (p *requestPool) unorderAll() {
	clear(p.inflight)
	for _, e := range p.queue[p.head:] {
		if !e.done && e.seq != 0 {
			e.seq = 0
			p.unordered++
		}
	}
	p.cursor = p.head
}

// markOrdered marks the pool's copies of a batch's txs as ordered at seq.
func (p *requestPool) markOrdered(seq uint64, b *batch) {
	for _, h := range b.txHashes() {
		p.inflight[h] = seq
		if e, ok := p.byHash[h]; ok && e.seq == 0 {
			e.seq = seq
			p.unordered--
		}
	}
}

// stale returns up to k pending txs last relayed at or before since, in
// arrival order, and marks them relayed at now.
func (p *requestPool) stale(k int, since, now uint64) []*pendingTx {
	var out []*pendingTx
	for _, e := range p.queue[p.head:] {
		if len(out) >= k {
			break
		}
		if !e.done && e.relayed <= since {
			e.relayed = now
			out = append(out, e)
		}
	}
	return out
}

// --- replica side ---------------------------------------------------------

// addTx puts a tx in the pool unless it is known to be committed.
func (c *Core) addTx(tx []byte) (*pendingTx, error) {
	if idx, ok := c.cfg.Storage.(TxIndex); ok && idx.HasTx(tx) {
		return nil, fmt.Errorf("tx committed: %w", engine.ErrDuplicate)
	}
	return c.pool.add(tx, c.now)
}

// rebuildRecent refills the committed-tx memory after a restart from the
// last batches in Storage, so retried or replayed txs are not re-ordered.
func (c *Core) rebuildRecent() {
	if c.cfg.Storage == nil {
		return
	}
	from := uint64(1)
	if span := recentRebuildWindows * c.cfg.WindowSize; c.applied > span {
		from = c.applied - span + 1
	}
	for seq := from; seq <= c.applied; seq++ {
		if b, ok := c.cfg.Storage.Committed(seq); ok && b.Height == seq && len(b.Txs) > 0 {
			c.pool.committed(seq, &batch{txs: b.Txs})
		}
	}
}

// stepRequest takes the txs another replica relayed. Txs already pending or
// committed are skipped (a relay may overlap what this replica has); the
// error reports the first tx that was refused for another reason, after
// the rest were taken.
func (c *Core) stepRequest(m *Request) error {
	var first error
	for _, tx := range m.Txs {
		var err error
		if len(tx) > c.cfg.MaxBatchBytes {
			err = fmt.Errorf("relayed tx of %d bytes: %w", len(tx), ErrTxTooLarge)
		} else {
			_, err = c.addTx(tx)
		}
		if err != nil && first == nil && !errors.Is(err, engine.ErrDuplicate) {
			first = err
		}
	}
	if c.isPrimary() && c.pool.unordered >= c.cfg.MaxBatchTxs {
		c.cutBatches(false)
	}
	return first
}

// relay queues one pending tx for the current primary, or for everyone;
// flushRelays sends the queue as Requests when Ready is called.
func (c *Core) relay(p *pendingTx, all bool) {
	p.relayed = c.now
	if all {
		c.relayAll = append(c.relayAll, p.tx)
	} else {
		c.relayPrimary = append(c.relayPrimary, p.tx)
	}
}

// flushRelays signs the queued relays into as few Requests as the batch
// limits allow and sends them: the primary's queue to the primary of the
// current view (dropped if this replica has become it, or is changing
// view: the txs stay pending and are re-relayed on retransmit), the other
// to every replica.
func (c *Core) flushRelays() {
	if len(c.relayPrimary) > 0 {
		if c.active && c.id != c.primary() {
			for _, r := range c.relayRequests(c.relayPrimary) {
				c.sendTo(c.primary(), r)
			}
		}
		clear(c.relayPrimary)
		c.relayPrimary = c.relayPrimary[:0]
	}
	if len(c.relayAll) > 0 {
		for _, r := range c.relayRequests(c.relayAll) {
			c.broadcast(r)
		}
		clear(c.relayAll)
		c.relayAll = c.relayAll[:0]
	}
}

// relayRequests packs txs into signed Requests of at most MaxBatchTxs txs
// and MaxBatchBytes bytes each.
func (c *Core) relayRequests(txs [][]byte) []*Request {
	var out []*Request
	for len(txs) > 0 {
		k, size := 0, 0
		for k < len(txs) && k < c.cfg.MaxBatchTxs && (k == 0 || size+len(txs[k]) <= c.cfg.MaxBatchBytes) {
			size += len(txs[k])
			k++
		}
		r := &Request{Txs: slices.Clone(txs[:k]), Replica: c.id}
		c.sign(r)
		out = append(out, r)
		txs = txs[k:]
	}
	return out
}

// relayPending re-relays up to k pending txs last relayed at or before
// tick since, to the primary or to everyone.
func (c *Core) relayPending(k int, since uint64, all bool) {
	for _, p := range c.pool.stale(k, since, c.now) {
		c.relay(p, all)
	}
}

// cutBatches is the primary's batching (§4.2 with batching): it issues a
// PRE-PREPARE for each full batch, and for a partial one once its oldest tx
// has waited BatchTimeoutTicks (or at once if force), while sequence
// numbers remain in the window.
func (c *Core) cutBatches(force bool) {
	// A primary that has not executed up to the stable checkpoint does not
	// know which of its pending txs those batches hold; it waits for state
	// transfer rather than order any of them twice.
	if !c.isPrimary() || c.lastExec < c.stable || c.missingBatches() {
		return
	}
	for c.pool.unordered > 0 && c.nextSeq < c.high() {
		if c.pool.unordered < c.cfg.MaxBatchTxs && !force {
			arrived, ok := c.pool.oldestUnordered()
			if !ok || c.now-arrived < uint64(c.cfg.BatchTimeoutTicks) {
				return
			}
		}
		seq := c.nextSeq + 1
		txs := c.pool.take(seq, c.cfg.MaxBatchTxs, c.cfg.MaxBatchBytes)
		if len(txs) == 0 {
			return
		}
		c.nextSeq = seq
		c.sendPrePrepare(seq, txs)
	}
}

// missingBatches reports whether a pre-prepare of this view above lastExec
// refers to a batch this primary does not hold (a NEW-VIEW re-issued a
// batch prepared elsewhere). Its txs may still sit in our pool, unmarked,
// so the primary orders nothing new until it has the batch (it arrives by
// state transfer once committed): no tx is ordered twice.
func (c *Core) missingBatches() bool {
	for seq := c.lastExec + 1; seq <= c.nextSeq; seq++ {
		if s := c.slots[seq]; s != nil && s.pp != nil && s.view == c.view {
			if _, ok := s.batch(s.pp.Digest); !ok {
				return true
			}
		}
	}
	return false
}
