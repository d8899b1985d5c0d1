package ledger

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
)

// Apply executes the committed batch c as block c.Height and makes it
// durable. c.Height must be Height()+1 (else ErrBadHeight), and c must keep
// the hard limits every engine enforces before it orders a batch: at most
// BlockTxsMax txs, each at most TxBytesMax bytes, BatchBytesMax in all, and a
// proof of at most ProofBytesMax bytes (else ErrBadBatch). Neither error
// changes anything.
//
// Execution follows the rules documented on execute (see doc.go): a receipt
// for each tx executed, in order; txs that repeat an executed tx are
// skipped. The block, its receipts, the changed accounts, the app hash state
// and the new height go to the database in ONE batch written with
// WriteSync, so a crash leaves the store at the previous block or this one.
//
// Apply decodes each tx and checks its chain id, but it does not verify
// signatures. That is safe because nothing reaches a committed batch
// without a check: every tx passed CheckTx when a replica admitted it, a
// PBFT backup verifies every tx of a PRE-PREPARE before it PREPAREs (so 2f+1
// replicas, f+1 of them honest, checked the batch before it could commit),
// Raft replicates only what its (trusted, crash-fault) leader admitted, and
// blocks fetched by state transfer are checked against their commit
// certificates. It also keeps execution, which is sequential, free of the
// most expensive per-tx work; admission verifies in parallel.
//
// The returned block aliases c.Txs and c.Proof; the caller must not modify
// them afterwards. A returned storage error is fatal: see Store.
func (s *Store) Apply(c engine.Committed) (*Block, []Receipt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return nil, nil, err
	}
	height := s.height.Load()
	if c.Height != height+1 {
		return nil, nil, fmt.Errorf("batch for height %d, store at %d: %w", c.Height, height, ErrBadHeight)
	}
	if err := checkBatch(c); err != nil {
		return nil, nil, err
	}
	if len(s.cache)+2*len(c.Txs) > accountCacheMax {
		clear(s.cache)
	}
	ex, err := execute(s.chainID, c.Height, c.Txs, s)
	if err != nil {
		return nil, nil, s.fail(fmt.Errorf("height %d: %w", c.Height, err))
	}
	blk, err := s.commit(c, ex)
	if err != nil {
		return nil, nil, s.fail(fmt.Errorf("height %d: %w", c.Height, err))
	}
	s.log.Debug("applied block", "height", blk.Height, "txs", len(blk.Txs),
		"receipts", len(ex.receipts), "app_hash", blk.AppHash.String())
	return blk, ex.receipts, nil
}

// checkBatch checks c against the hard limits of a block.
func checkBatch(c engine.Committed) error {
	if len(c.Txs) > BlockTxsMax {
		return fmt.Errorf("height %d: %d txs > %d: %w", c.Height, len(c.Txs), BlockTxsMax, ErrBadBatch)
	}
	total := 0
	for i, tx := range c.Txs {
		if len(tx) > TxBytesMax {
			return fmt.Errorf("height %d: tx %d of %d bytes > %d: %w", c.Height, i, len(tx), TxBytesMax, ErrBadBatch)
		}
		total += len(tx)
	}
	if total > BatchBytesMax {
		return fmt.Errorf("height %d: %d tx bytes > %d: %w", c.Height, total, BatchBytesMax, ErrBadBatch)
	}
	if len(c.Proof) > ProofBytesMax {
		return fmt.Errorf("height %d: proof of %d bytes > %d: %w", c.Height, len(c.Proof), ProofBytesMax, ErrBadBatch)
	}
	return nil
}

// fail records a storage failure; it is returned by every later write.
func (s *Store) fail(err error) error {
	err = fmt.Errorf("ledger: storage failure (fatal; reopen the store): %w", err)
	if s.failed == nil {
		s.failed = err
		s.log.Error("ledger storage failure", "err", err)
	}
	return err
}

// commit folds ex into the app hash, writes the block in one synced batch
// and, once it is durable, advances the in-memory state.
func (s *Store) commit(c engine.Committed, ex *execution) (*Block, error) {
	lanes := s.lanes
	batch := s.db.NewBatch()
	defer batch.Close()
	var buf []byte
	// Sorted so the batch, like everything else here, is the same on every
	// run; the lane sums do not depend on order.
	changed := slices.SortedFunc(maps.Keys(ex.accounts), func(a, b crypto.Address) int {
		return bytes.Compare(a[:], b[:])
	})
	for _, a := range changed {
		t := ex.accounts[a]
		if t.before == t.after {
			continue
		}
		if !t.before.IsZero() {
			buf = accountElem(buf, a, t.before)
			lanes.sub(s.x.expand(buf))
		}
		var err error
		if t.after.IsZero() {
			err = batch.Delete(accountKey(a))
		} else {
			buf = accountElem(buf, a, t.after)
			lanes.add(s.x.expand(buf))
			err = batch.Set(accountKey(a), encodeAccount(t.after))
		}
		if err != nil {
			return nil, err
		}
	}
	if len(ex.encoded) > 0 {
		buf = receiptsElem(buf, c.Height, ex.encoded)
		lanes.add(s.x.expand(buf))
	}
	for i, enc := range ex.encoded {
		if err := batch.Set(receiptKey(ex.receipts[i].TxHash), enc); err != nil {
			return nil, err
		}
	}
	blk := &Block{
		Height:   c.Height,
		PrevHash: s.lastHash,
		TxRoot:   TxRoot(c.Txs),
		AppHash:  lanes.appHash(s.chainID, c.Height),
		Proposer: c.Proposer,
		Round:    c.Round,
		Txs:      c.Txs,
		Proof:    c.Proof,
	}
	if err := s.writeHead(batch, blk, &lanes); err != nil {
		return nil, err
	}
	if err := batch.WriteSync(); err != nil {
		return nil, fmt.Errorf("write batch: %w", err)
	}
	s.lanes = lanes
	s.lastHash = blk.Hash()
	for _, a := range changed {
		if t := ex.accounts[a]; !t.after.IsZero() {
			s.cache[a] = t.after
		} else {
			delete(s.cache, a)
		}
	}
	s.height.Store(blk.Height)
	return blk, nil
}

// writeHead adds the block, its app hash, the lane state and the height to
// batch.
func (s *Store) writeHead(batch interface{ Set(k, v []byte) error }, blk *Block, lanes *ltHash) error {
	var h [8]byte
	putUint64(h[:], blk.Height)
	for _, kv := range [][2][]byte{
		{heightKey(prefixBlock, blk.Height), blk.Encode()},
		{heightKey(prefixAppHash, blk.Height), blk.AppHash[:]},
		{keyLanes, lanes.bytes()},
		{keyHeight, h[:]},
	} {
		if err := batch.Set(kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}
