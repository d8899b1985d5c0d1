package raft

import (
	"fmt"

	etcdraft "go.etcd.io/raft/v3"

	"github.com/bftledger/bftledger/engine"
)

// ReadIndex starts a linearizable read identified by rctx (1 to 64 bytes,
// unique among the node's outstanding reads, e.g. a big-endian counter).
// Raft confirms with a quorum that the leader is still the leader and
// learns the commit index at that moment (the read index); once this
// node's ledger has applied through it, the read is safe to serve from the
// local ledger, and rctx comes out of ReadyReads.
//
// How the node serves GET /v1/accounts/{a}?linearizable=true:
//
//  1. The API handler hands the request to the consensus loop (bounded
//     channel, like proposals) with a fresh rctx and a reply channel.
//  2. The loop calls ReadIndex(rctx) and remembers the waiter under rctx.
//     ErrNotReady (no leader known) or ErrTooManyReads answer at once with
//     503 + Retry-After.
//  3. After every Advance the loop calls ReadyReads and, for each rctx it
//     returns, reads the account from the ledger (which has applied
//     through the read index) and answers the waiter.
//  4. A read may be lost (leader change, dropped message) and then never
//     comes out of ReadyReads: the handler gives up after a timeout (a few
//     election timeouts, e.g. 2 s) and answers 503 so the client retries.
//
// ReadIndex works on any node: a follower asks the leader for the read
// index. It must be called from the loop goroutine like every other method.
func (e *Engine) ReadIndex(rctx []byte) error {
	if len(rctx) == 0 || len(rctx) > readCtxBytesMax {
		return fmt.Errorf("read context of %d bytes, want 1..%d: %w", len(rctx), readCtxBytesMax, ErrBadMessage)
	}
	if e.leader() == etcdraft.None {
		return engine.ErrNotReady
	}
	if len(e.reads) >= pendingReadsMax {
		return ErrTooManyReads
	}
	e.rn.ReadIndex(append([]byte(nil), rctx...))
	return nil
}

// ReadyReads returns the contexts of the reads that are now safe to serve
// from the ledger, in the order raft confirmed them, and forgets them. The
// node calls it after each Advance.
func (e *Engine) ReadyReads() [][]byte {
	out := e.readyReads
	e.readyReads = nil
	return out
}

// collectReads records the read indexes raft confirmed and releases every
// waiting read whose index the ledger has applied.
func (e *Engine) collectReads(states []etcdraft.ReadState) {
	for _, rs := range states {
		if len(e.reads) >= pendingReadsMax {
			e.log.Warn("read dropped: too many pending reads")
			continue
		}
		e.reads = append(e.reads, rs)
	}
	waiting := e.reads[:0]
	for _, rs := range e.reads {
		if rs.Index <= e.appliedIndex {
			e.readyReads = append(e.readyReads, rs.RequestCtx)
		} else {
			waiting = append(waiting, rs)
		}
	}
	clear(e.reads[len(waiting):])
	e.reads = waiting
}
