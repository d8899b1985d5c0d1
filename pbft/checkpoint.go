package pbft

import (
	"bytes"
	"fmt"
)

// Applied reports that the ledger has executed seq with app hash appHash
// (seq must not exceed what Ready.Committed handed out). At multiples of
// CheckpointInterval the replica signs and broadcasts its CHECKPOINT
// (§4.3); the app hash is compared with the stable checkpoint, if known.
func (c *Core) Applied(seq uint64, appHash []byte) {
	assert(seq <= c.lastExec, "Applied beyond what was handed out")
	if seq > c.applied {
		c.applied = seq
	}
	if seq%c.cfg.CheckpointInterval != 0 || seq == 0 || len(appHash) == 0 || len(appHash) > AppHashBytesMax {
		return
	}
	if seq == c.stable && !bytes.Equal(appHash, c.stableHash) {
		c.log.Error("app hash differs from the stable checkpoint: this replica's ledger diverged",
			"seq", seq, "ours", fmt.Sprintf("%x", appHash), "stable", fmt.Sprintf("%x", c.stableHash))
		return
	}
	if seq <= c.stable {
		return
	}
	cp := &Checkpoint{Seq: seq, AppHash: append([]byte(nil), appHash...), Replica: c.id}
	c.sign(cp)
	c.ownCkpt = cp
	c.appHashes[seq] = cp.AppHash
	c.broadcast(cp)
	c.addCheckpoint(cp)
}

// stepCheckpoint records a peer's CHECKPOINT. Checkpoints are kept for
// seqs in (h, H + L]: a little beyond the window, so a replica that lags
// by less than a window can still see a checkpoint become stable.
func (c *Core) stepCheckpoint(m *Checkpoint) error {
	if m.Seq <= c.stable {
		if m.Seq < c.stable {
			c.answerStale(m.Replica)
		}
		return fmt.Errorf("checkpoint %d <= stable %d: %w", m.Seq, c.stable, ErrStale)
	}
	if m.Seq%c.cfg.CheckpointInterval != 0 {
		return fmt.Errorf("checkpoint %d not a multiple of %d: %w", m.Seq, c.cfg.CheckpointInterval, ErrInvalidMessage)
	}
	if m.Seq > c.high()+c.cfg.WindowSize {
		return fmt.Errorf("checkpoint %d: %w", m.Seq, ErrOutOfWindow)
	}
	c.addCheckpoint(m)
	return nil
}

// addCheckpoint stores a checkpoint (the first from each replica per seq)
// and makes seq stable once a quorum matches.
func (c *Core) addCheckpoint(m *Checkpoint) {
	byReplica := c.checkpoints[m.Seq]
	if byReplica == nil {
		byReplica = make(map[int]*Checkpoint)
		c.checkpoints[m.Seq] = byReplica
	}
	if _, ok := byReplica[m.Replica]; ok {
		return
	}
	byReplica[m.Replica] = m
	var proof []*Checkpoint
	for r := 0; r < c.n; r++ {
		if cp, ok := byReplica[r]; ok && bytes.Equal(cp.AppHash, m.AppHash) {
			proof = append(proof, cp)
		}
	}
	if len(proof) >= c.q {
		c.makeStable(m.Seq, proof[:c.q])
		c.cutBatches(false) // the window moved: the primary may order more
	}
}

// makeStable moves the low watermark to seq with its proof (§4.3): the log,
// checkpoints and certificates at or below seq are discarded. If the
// replica has not executed up to seq it fetches the missing batches.
func (c *Core) makeStable(seq uint64, proof []*Checkpoint) {
	if seq <= c.stable {
		return
	}
	if len(proof) < c.q || proof[0].Seq != seq {
		// Proofs come verified (from our own count, a NEW-VIEW or a
		// FETCH-RESPONSE), but a Verifier built for another validator set
		// must not be able to make us adopt a short one.
		c.log.Error("refusing a stable checkpoint without a quorum proof", "seq", seq, "proof", len(proof))
		return
	}
	if own, ok := c.appHashes[seq]; ok && !bytes.Equal(own, proof[0].AppHash) {
		c.log.Error("stable checkpoint app hash differs from ours: this replica's ledger diverged",
			"seq", seq, "ours", fmt.Sprintf("%x", own), "stable", fmt.Sprintf("%x", proof[0].AppHash))
	}
	c.stable = seq
	c.stableProof = proof
	c.stableHash = proof[0].AppHash
	c.log.Info("stable checkpoint", "seq", seq, "app_hash", fmt.Sprintf("%x", c.stableHash), "executed", c.lastExec)
	c.out.Persist = append(c.out.Persist, Record{Key: []byte(keyStable), Value: encodeStableRecord(proof)})
	for _, s := range sortedSeqs(c.slots) {
		if s > seq {
			break
		}
		c.deleteSlotRecords(c.slots[s])
		delete(c.slots, s)
		delete(c.dirtySlots, s)
	}
	for s := range c.checkpoints {
		if s <= seq {
			delete(c.checkpoints, s)
		}
	}
	for s := range c.appHashes {
		if s < seq {
			delete(c.appHashes, s)
		}
	}
	if c.nextSeq < seq {
		c.nextSeq = seq
	}
	if c.lastExec < seq {
		c.fetchTarget = max(c.fetchTarget, seq)
		c.fetch()
	}
}
