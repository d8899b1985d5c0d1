package node

import (
	"sync"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/ledger"
)

// txCache remembers the hashes of txs whose admission checks (signature
// included) have passed, so that a tx admitted through the API or relayed
// by a peer is not verified again when a pre-prepare carries it. It holds at
// most size hashes and forgets the oldest first. Safe for concurrent use.
type txCache struct {
	mu   sync.Mutex
	set  map[crypto.Hash]struct{}
	ring []crypto.Hash // insertion order; ring[next] is the oldest once full
	next int
	full bool
}

func newTxCache(size int) *txCache {
	return &txCache{set: make(map[crypto.Hash]struct{}, size), ring: make([]crypto.Hash, size)}
}

// add records h as verified.
func (c *txCache) add(h crypto.Hash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.set[h]; ok {
		return
	}
	if c.full {
		delete(c.set, c.ring[c.next])
	}
	c.ring[c.next] = h
	c.set[h] = struct{}{}
	c.next++
	if c.next == len(c.ring) {
		c.next, c.full = 0, true
	}
}

// has reports whether h was recorded and not yet forgotten.
func (c *txCache) has(h crypto.Hash) bool {
	c.mu.Lock()
	_, ok := c.set[h]
	c.mu.Unlock()
	return ok
}

// checkTx is admission with the cache in front: a tx whose hash is cached
// passed ledger.CheckTx before (the hash covers every byte, signature
// included), so it passes again; any other tx is checked and, if it
// passes, cached.
func (c *txCache) checkTx(chainID string, tx []byte) error {
	h := ledger.TxHash(tx)
	if c.has(h) {
		return nil
	}
	if _, err := ledger.CheckTx(chainID, tx); err != nil {
		return err
	}
	c.add(h)
	return nil
}

// checkTxs is checkTx of every tx in txs: the uncached ones are checked
// as one batch (ledger.CheckTxs) and those that pass are cached.
func (c *txCache) checkTxs(chainID string, txs [][]byte) []error {
	errs := make([]error, len(txs))
	hashes := make([]crypto.Hash, len(txs))
	var todo [][]byte
	var idx []int
	for i, tx := range txs {
		hashes[i] = ledger.TxHash(tx)
		if !c.has(hashes[i]) {
			todo, idx = append(todo, tx), append(idx, i)
		}
	}
	if len(todo) == 0 {
		return errs
	}
	_, checked := ledger.CheckTxs(chainID, todo)
	for k, i := range idx {
		if errs[i] = checked[k]; errs[i] == nil {
			c.add(hashes[i])
		}
	}
	return errs
}
