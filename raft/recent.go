package raft

import "github.com/bftledger/bftledger/crypto"

// recentTxs remembers the last recentTxsMax txs this node saw committed,
// or appended to the log while it led, so that a leader does not order a tx
// twice when clients submit it to several nodes (each forwards its own
// batch) or when a batch is proposed again. It only filters proposals,
// never committed entries: replicas may remember different things without
// disagreeing on the log. Duplicates it misses (across leader changes) are
// harmless: the ledger applies a tx hash at most once.
type recentTxs struct {
	// term is the leader term in which the tx was appended by us, or 0 once
	// it is known committed.
	term map[crypto.Hash]uint64
	ring []crypto.Hash // FIFO of the hashes in term, oldest at head
	head int
}

func newRecentTxs() *recentTxs {
	return &recentTxs{term: make(map[crypto.Hash]uint64)}
}

// seen reports whether a tx with hash h need not be ordered again by a
// leader of term: it is committed, or this leader appended it in term.
func (r *recentTxs) seen(h crypto.Hash, term uint64) (seen, committed bool) {
	t, ok := r.term[h]
	if !ok {
		return false, false
	}
	return t == 0 || t == term, t == 0
}

// appended records that we appended h as leader of term.
func (r *recentTxs) appended(h crypto.Hash, term uint64) {
	if t, ok := r.term[h]; ok {
		if t != 0 {
			r.term[h] = term
		}
		return
	}
	r.add(h, term)
}

// committed records that h is committed.
func (r *recentTxs) committed(h crypto.Hash) {
	if _, ok := r.term[h]; ok {
		r.term[h] = 0
		return
	}
	r.add(h, 0)
}

// add remembers h, forgetting the oldest hash when full.
func (r *recentTxs) add(h crypto.Hash, term uint64) {
	if len(r.ring) < recentTxsMax {
		r.ring = append(r.ring, h)
	} else {
		delete(r.term, r.ring[r.head])
		r.ring[r.head] = h
		r.head = (r.head + 1) % recentTxsMax
	}
	r.term[h] = term
}
