package node

import (
	"fmt"
	"runtime"
	"sync"

	dbm "github.com/cometbft/cometbft-db"

	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/ledger"
	"github.com/bftledger/bftledger/pbft"
)

// pbftRecordPrefix prefixes the PBFT core's records in the consensus
// database; the core's own keys follow it unchanged.
const pbftRecordPrefix = "pbft/"

// pbftReplica is what the adapter drives: a *pbft.Core, or a Byzantine
// wrapper around one (pbft/byzantine), which has the same methods.
type pbftReplica interface {
	Step(m pbft.Message) error
	Tick()
	Propose(tx []byte) error
	Applied(seq uint64, appHash []byte)
	HasReady() bool
	Ready() pbft.Ready
	Advance(rd pbft.Ready)
	Status() engine.Status
}

// pbftEngine adapts a PBFT replica to engine.Engine: frames are decoded and
// verified by a pbft.Verifier (concurrently, in the verify pool), the
// records of each Ready are written in one synced cometbft-db batch, and
// outgoing messages are encoded once each.
type pbftEngine struct {
	core     pbftReplica
	verifier *pbft.Verifier
	db       dbm.DB
	onSend   func(kind string) // counts outgoing messages; may be nil
}

// checkTxsPerWorkerMin is the fewest txs worth a goroutine of their own
// when a batch of txs is checked (checkTxs).
const checkTxsPerWorkerMin = 32

var _ engine.Engine = (*pbftEngine)(nil)

// loadPBFTRecords reads every record the core persisted, in key order.
func loadPBFTRecords(db dbm.DB) ([]pbft.Record, error) {
	start := []byte(pbftRecordPrefix)
	end := prefixEnd(start)
	it, err := db.Iterator(start, end)
	if err != nil {
		return nil, fmt.Errorf("%w: read pbft records: %w", ErrStorage, err)
	}
	defer it.Close()
	var recs []pbft.Record
	for ; it.Valid(); it.Next() {
		k := it.Key()[len(start):]
		recs = append(recs, pbft.Record{
			Key:   append([]byte(nil), k...),
			Value: append([]byte{}, it.Value()...),
		})
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("%w: read pbft records: %w", ErrStorage, err)
	}
	return recs, nil
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// Decode parses and verifies a frame from validator from. Safe for
// concurrent use.
func (e *pbftEngine) Decode(from int, frame []byte) (any, error) {
	m, err := pbft.Decode(frame)
	if err != nil {
		return nil, err
	}
	if err := e.verifier.Verify(from, m); err != nil {
		return nil, err
	}
	return m, nil
}

// Step feeds a message Decode returned to the core.
func (e *pbftEngine) Step(msg any) error {
	m, ok := msg.(pbft.Message)
	if !ok {
		return fmt.Errorf("node: pbft engine given a %T", msg)
	}
	return e.core.Step(m)
}

// Propose, Tick, HasReady and Status forward to the replica.
func (e *pbftEngine) Propose(tx []byte) error { return e.core.Propose(tx) }
func (e *pbftEngine) Tick()                   { e.core.Tick() }
func (e *pbftEngine) HasReady() bool          { return e.core.HasReady() }
func (e *pbftEngine) Status() engine.Status   { return e.core.Status() }

// Applied reports an applied height and its app hash to the replica.
func (e *pbftEngine) Applied(height uint64, appHash []byte) { e.core.Applied(height, appHash) }

// Ready encodes the core's outgoing messages and keeps its Ready for
// Persist and Advance.
func (e *pbftEngine) Ready() engine.Ready {
	rd := e.core.Ready()
	out := engine.Ready{Committed: rd.Committed, Persist: rd}
	if len(rd.Messages) > 0 {
		out.Messages = make([]engine.Outbound, len(rd.Messages))
		for i, env := range rd.Messages {
			out.Messages[i] = engine.Outbound{To: env.To, Data: pbft.Encode(env.Msg)}
			if e.onSend != nil {
				e.onSend(env.Msg.Kind().String())
			}
		}
	}
	return out
}

// Persist writes the records of rd in one synced batch: the group commit
// of everything the core decided since the last Ready.
func (e *pbftEngine) Persist(rd engine.Ready) error {
	prd, ok := rd.Persist.(pbft.Ready)
	if !ok {
		return fmt.Errorf("node: pbft engine given a foreign Ready (%T)", rd.Persist)
	}
	if len(prd.Persist) == 0 {
		return nil
	}
	b := e.db.NewBatch()
	defer b.Close()
	for _, r := range prd.Persist {
		key := make([]byte, 0, len(pbftRecordPrefix)+len(r.Key))
		key = append(append(key, pbftRecordPrefix...), r.Key...)
		var err error
		if r.Value == nil {
			err = b.Delete(key)
		} else {
			err = b.Set(key, r.Value)
		}
		if err != nil {
			return fmt.Errorf("batch record %x: %w", r.Key, err)
		}
	}
	if err := b.WriteSync(); err != nil {
		return fmt.Errorf("write %d records: %w", len(prd.Persist), err)
	}
	return nil
}

// Advance acknowledges a Ready that Persist wrote and the loop sent.
func (e *pbftEngine) Advance(rd engine.Ready) {
	if prd, ok := rd.Persist.(pbft.Ready); ok {
		e.core.Advance(prd)
	}
}

// blockStorage serves the core's state-transfer reads from the ledger's
// block store: block h is PBFT sequence number h.
type blockStorage struct{ store *ledger.Store }

// Committed returns block seq as the batch the core delivered at seq.
func (s blockStorage) Committed(seq uint64) (engine.Committed, bool) {
	b, err := s.store.Block(seq)
	if err != nil {
		return engine.Committed{}, false
	}
	return engine.Committed{Height: b.Height, Txs: b.Txs, Proposer: b.Proposer, Round: b.Round, Proof: b.Proof}, true
}

// HasTx implements pbft.TxIndex: a tx with a receipt in the ledger has been
// committed, however long ago, so the core never orders it again. Ledger
// queries are safe while the executor applies blocks.
func (s blockStorage) HasTx(tx []byte) bool { return s.store.HasTx(ledger.TxHash(tx)) }

// AppHash implements pbft.AppHashes: a restarted replica re-signs the
// checkpoint at its last executed seq from the ledger's record of it.
func (s blockStorage) AppHash(seq uint64) ([]byte, bool) {
	h, err := s.store.AppHash(seq)
	return h, err == nil && len(h) > 0
}

// newPBFT builds the PBFT engine from genesis and config, restoring the
// core's records from the consensus database.
func (n *Node) newPBFT() error {
	g := n.home.Genesis
	recs, err := loadPBFTRecords(n.consDB)
	if err != nil {
		return err
	}
	cfg := pbft.Config{
		ID:                  n.index,
		ChainID:             n.chainID,
		Validators:          g.ValidatorKeys(),
		Signer:              n.home.Key,
		CheckpointInterval:  g.Params.CheckpointInterval,
		WindowSize:          g.Params.WindowSize,
		MaxBatchTxs:         g.Params.MaxBatchTxs,
		MaxBatchBytes:       g.Params.MaxBatchBytes,
		BatchTimeoutTicks:   n.cfg.Consensus.BatchTimeoutTicks,
		RequestTimeoutTicks: n.cfg.Consensus.RequestTimeoutTicks,
		MaxPendingTxs:       n.cfg.Consensus.MaxPendingTxs,
		Storage:             blockStorage{n.store},
		Logger:              n.baseLog.With("component", "pbft"),
	}
	applied := n.store.Height()
	core, err := pbft.New(cfg, recs, applied)
	if err != nil {
		return fmt.Errorf("node: pbft: %w", err)
	}
	var rep pbftReplica = core
	if b := n.cfg.Unsafe.Byzantine; b != "" {
		rep, err = n.wrapByzantine(core, b)
		if err != nil {
			return err
		}
	}
	n.eng = &pbftEngine{
		core:     rep,
		verifier: &pbft.Verifier{ChainID: n.chainID, Validators: cfg.Validators, CheckTx: n.checkTx, CheckTxs: n.checkTxs},
		db:       n.consDB,
		onSend:   n.m.outbound,
	}
	n.log.Info("pbft engine", "records", len(recs), "applied", applied, "n", len(cfg.Validators))
	return nil
}

// checkTxs is checkTx of every tx in txs, with their signatures verified
// in batches, split over up to GOMAXPROCS goroutines when there are many.
func (n *Node) checkTxs(txs [][]byte) []error {
	workers := min(runtime.GOMAXPROCS(0), verifyWorkersMax, len(txs)/checkTxsPerWorkerMin)
	if workers < 2 {
		return n.txCache.checkTxs(n.chainID, txs)
	}
	errs := make([]error, len(txs))
	var wg sync.WaitGroup
	chunk := (len(txs) + workers - 1) / workers
	for lo := 0; lo < len(txs); lo += chunk {
		hi := min(lo+chunk, len(txs))
		wg.Go(func() { copy(errs[lo:hi], n.txCache.checkTxs(n.chainID, txs[lo:hi])) })
	}
	wg.Wait()
	return errs
}

// checkTx is the Verifier's admission check, with the verified-tx cache in
// front.
func (n *Node) checkTx(tx []byte) error { return n.txCache.checkTx(n.chainID, tx) }

// kindOf names a decoded message for the messages metric.
func (n *Node) kindOf(msg any) string {
	if m, ok := msg.(pbft.Message); ok {
		return m.Kind().String()
	}
	return n.mode
}

var _ pbftReplica = (*pbft.Core)(nil)
