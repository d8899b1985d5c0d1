package raft

import (
	"github.com/bftledger/bftledger/crypto"
)

// pendingTx is a tx accepted by Propose and not yet seen committed.
type pendingTx struct {
	tx   []byte
	hash crypto.Hash
	// batch is the proposed batch carrying the tx, nil while queued.
	batch *proposed
	// done: seen committed (possibly in another node's batch), or given
	// up on; the tx is no longer in pool.byHash and is skipped wherever it
	// still sits.
	done bool
	// attempts counts the batches carrying the tx that raft accepted.
	attempts int
}

// proposed is a batch this node handed to raft and has not yet seen
// committed in full.
type proposed struct {
	txs       []*pendingTx
	remaining int    // txs not yet seen committed
	tick      uint64 // pool clock when proposed
}

// pool holds the txs this node accepted and has not seen committed: queued
// ones wait to be cut into a batch, proposed ones wait to be committed and
// are proposed again if that takes too long (a lost forward or a leader
// change). Its size is bounded by Config.MaxPendingTxs; every structure in
// it is deterministic (no map iteration), so a seeded test replays exactly.
type pool struct {
	maxTxs, maxBatchTxs, maxBatchBytes int
	timeoutTicks, reproposeTicks       uint64

	byHash map[crypto.Hash]*pendingTx
	queue  []*pendingTx // FIFO of queued txs; done ones are skipped
	queued int          // queued txs not done
	bytes  int          // bytes of queued txs not done
	// oldest is the clock when the oldest queued tx was queued.
	oldest   uint64
	inflight []*proposed
	clock    uint64
	// dropped counts txs given up on after proposeAttemptsMax proposals.
	dropped uint64
}

func newPool(cfg *Config, reproposeTicks uint64) *pool {
	return &pool{
		maxTxs:         cfg.MaxPendingTxs,
		maxBatchTxs:    cfg.MaxBatchTxs,
		maxBatchBytes:  cfg.MaxBatchBytes,
		timeoutTicks:   uint64(cfg.BatchTimeoutTicks),
		reproposeTicks: reproposeTicks,
		byHash:         make(map[crypto.Hash]*pendingTx),
	}
}

// len is the number of pending txs.
func (p *pool) len() int { return len(p.byHash) }

// has reports whether a tx with hash h is pending.
func (p *pool) has(h crypto.Hash) bool { _, ok := p.byHash[h]; return ok }

// full reports whether the pool holds Config.MaxPendingTxs txs.
func (p *pool) full() bool { return len(p.byHash) >= p.maxTxs }

// add queues tx; the caller checked has and full.
func (p *pool) add(tx []byte, h crypto.Hash) {
	ptx := &pendingTx{tx: tx, hash: h}
	p.byHash[h] = ptx
	p.enqueue(ptx)
}

func (p *pool) enqueue(ptx *pendingTx) {
	if p.queued == 0 {
		p.oldest = p.clock
	}
	ptx.batch = nil
	p.queue = append(p.queue, ptx)
	p.queued++
	p.bytes += len(ptx.tx)
	// Done txs linger in the queue until cut; drop them when they pile up
	// so the slice stays within a small multiple of the pool bound.
	if len(p.queue) > 2*p.maxTxs {
		live := p.queue[:0]
		for _, q := range p.queue {
			if !q.done {
				live = append(live, q)
			}
		}
		clear(p.queue[len(live):])
		p.queue = live
	}
}

// committed marks the tx with hash h committed, wherever it is.
func (p *pool) committed(h crypto.Hash) {
	ptx, ok := p.byHash[h]
	if !ok {
		return
	}
	delete(p.byHash, h)
	ptx.done = true
	if ptx.batch != nil {
		ptx.batch.remaining--
		return
	}
	p.queued--
	p.bytes -= len(ptx.tx)
}

// tick advances the pool clock and moves the txs of batches that have been
// in flight too long back to the queue.
func (p *pool) tick() {
	p.clock++
	live := p.inflight[:0]
	for _, b := range p.inflight {
		switch {
		case b.remaining == 0:
		case p.clock-b.tick >= p.reproposeTicks:
			for _, ptx := range b.txs {
				switch {
				case ptx.done:
				case ptx.attempts >= proposeAttemptsMax:
					// Probably committed where this node could not see
					// it (in entries a snapshot replaced); if not, the
					// client submits it again.
					delete(p.byHash, ptx.hash)
					ptx.done = true
					p.dropped++
				default:
					p.enqueue(ptx)
				}
			}
		default:
			live = append(live, b)
		}
	}
	clear(p.inflight[len(live):])
	p.inflight = live
}

// inflightLive counts in-flight batches with txs not yet committed.
func (p *pool) inflightLive() int {
	n := 0
	for _, b := range p.inflight {
		if b.remaining > 0 {
			n++
		}
	}
	return n
}

// shouldCut reports whether a batch should be cut now: a full batch is
// queued, or few batches of ours are in flight, or the oldest queued tx has
// waited BatchTimeoutTicks.
func (p *pool) shouldCut() bool {
	switch {
	case p.queued == 0:
		return false
	case p.queued >= p.maxBatchTxs || p.bytes >= p.maxBatchBytes:
		return true
	case p.clock-p.oldest >= p.timeoutTicks:
		return true
	default:
		return p.inflightLive() < inflightBatchesMax
	}
}

// cut takes the next batch off the queue: at most maxBatchTxs txs and
// maxBatchBytes bytes (a tx alone may be up to maxBatchBytes). The caller
// proposes it and then calls sent or requeue.
func (p *pool) cut() *proposed {
	b := &proposed{tick: p.clock}
	bytes, i := 0, 0
	for ; i < len(p.queue); i++ {
		ptx := p.queue[i]
		if ptx.done {
			continue
		}
		if len(b.txs) == p.maxBatchTxs || (len(b.txs) > 0 && bytes+len(ptx.tx) > p.maxBatchBytes) {
			break
		}
		b.txs = append(b.txs, ptx)
		bytes += len(ptx.tx)
	}
	clear(p.queue[:i])
	p.queue = p.queue[i:]
	p.queued -= len(b.txs)
	p.bytes -= bytes
	b.remaining = len(b.txs)
	return b
}

// sent records b as proposed.
func (p *pool) sent(b *proposed) {
	for _, ptx := range b.txs {
		ptx.batch = b
		ptx.attempts++
	}
	p.inflight = append(p.inflight, b)
}

// requeue puts the txs of a batch raft refused back at the front of the
// queue, in order.
func (p *pool) requeue(b *proposed) {
	q := make([]*pendingTx, 0, len(b.txs)+len(p.queue))
	wasEmpty := p.queued == 0
	for _, ptx := range b.txs {
		if ptx.done {
			continue
		}
		ptx.batch = nil
		q = append(q, ptx)
		p.queued++
		p.bytes += len(ptx.tx)
	}
	p.queue = append(q, p.queue...)
	if wasEmpty {
		p.oldest = b.tick
	}
}

// txs returns the tx bytes of b.
func (b *proposed) data() [][]byte {
	txs := make([][]byte, len(b.txs))
	for i, ptx := range b.txs {
		txs[i] = ptx.tx
	}
	return txs
}
