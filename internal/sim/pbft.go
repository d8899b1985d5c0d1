package sim

import (
	"fmt"
	"log/slog"
	"math/rand/v2"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/pbft"
	"github.com/bftledger/bftledger/pbft/byzantine"
)

// PBFTParams are the consensus parameters every simulated PBFT replica
// shares (pbft.Config without identity, keys and storage).
type PBFTParams struct {
	CheckpointInterval  uint64 // K
	WindowSize          uint64 // L, a multiple of K
	MaxBatchTxs         int
	MaxBatchBytes       int
	BatchTimeoutTicks   int
	RequestTimeoutTicks int
	MaxPendingTxs       int
}

// PBFT is the Engine of pbft.Core replicas. Every frame a replica receives
// goes through pbft.Decode, Verifier.Verify (with the transport's sender)
// and Core.Step, exactly as in the node, so forged and mis-signed messages
// meet the real checks. Byzantine replicas are cores wrapped by
// byzantine.Wrap.
type PBFT struct {
	ChainID    string
	Params     PBFTParams
	Signers    []crypto.Signer // replica i's key; Validators[i] is its public key
	Validators [][]byte
	// Byzantine maps a replica to its behaviour. A behaviour keeps state,
	// so each faulty replica has its own; they never restart.
	Byzantine map[int]byzantine.Behaviour
	// Rand seeds the Byzantine wrappers' choices.
	Rand     *rand.Rand
	verifier *pbft.Verifier
	logger   *slog.Logger
}

// NewPBFT returns an engine of n replicas whose keys derive from rng,
// admitting txs with checkTx (nil accepts all).
func NewPBFT(n int, chainID string, p PBFTParams, rng *rand.Rand, checkTx func([]byte) error, logger *slog.Logger) (*PBFT, error) {
	e := &PBFT{ChainID: chainID, Params: p, Byzantine: make(map[int]byzantine.Behaviour), logger: logger,
		Rand: rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))}
	for i := 0; i < n; i++ {
		seed := make([]byte, crypto.SeedSize)
		for j := range seed {
			seed[j] = byte(rng.Uint32())
		}
		s, err := crypto.Ed25519FromSeed(seed)
		if err != nil {
			return nil, fmt.Errorf("sim: key %d: %w", i, err)
		}
		e.Signers = append(e.Signers, s)
		e.Validators = append(e.Validators, s.PublicKey())
	}
	e.verifier = &pbft.Verifier{ChainID: chainID, Validators: e.Validators, CheckTx: checkTx}
	if e.logger == nil {
		e.logger = slog.New(slog.DiscardHandler)
	}
	return e, nil
}

// Name implements Engine.
func (e *PBFT) Name() string { return "pbft" }

// VerifyProof implements Engine: the commit certificate must convince a
// client holding only the validator set.
func (e *PBFT) VerifyProof(c engine.Committed) error {
	return pbft.VerifyCommitCertificate(e.ChainID, e.Validators, c.Height, c.Txs, c.Proof)
}

// ProposedBatch implements BatchTracer: a PRE-PREPARE frame's view and
// batch digest.
func (e *PBFT) ProposedBatch(frame []byte) (view uint64, digest crypto.Hash, ok bool) {
	if len(frame) < 2 || pbft.Kind(frame[1]) != pbft.KindPrePrepare {
		return 0, crypto.Hash{}, false
	}
	m, err := pbft.Decode(frame)
	if err != nil {
		return 0, crypto.Hash{}, false
	}
	pp := m.(*pbft.PrePrepare)
	return pp.View, pp.Digest, true
}

// config returns replica id's core configuration.
func (e *PBFT) config(id int, st Storage) pbft.Config {
	p := e.Params
	return pbft.Config{
		ID: id, ChainID: e.ChainID, Validators: e.Validators, Signer: e.Signers[id],
		CheckpointInterval: p.CheckpointInterval, WindowSize: p.WindowSize,
		MaxBatchTxs: p.MaxBatchTxs, MaxBatchBytes: p.MaxBatchBytes,
		BatchTimeoutTicks: p.BatchTimeoutTicks, RequestTimeoutTicks: p.RequestTimeoutTicks,
		MaxPendingTxs: p.MaxPendingTxs, Storage: pbftStorage{st},
		Logger: e.logger,
	}
}

// NewReplica implements Engine.
func (e *PBFT) NewReplica(id int, state []Record, applied uint64, st Storage) (Replica, error) {
	recs := make([]pbft.Record, len(state))
	for i, r := range state {
		recs[i] = pbft.Record{Key: r.Key, Value: r.Value}
	}
	core, err := pbft.New(e.config(id, st), recs, applied)
	if err != nil {
		return nil, err
	}
	r := &pbftReplica{core: core, v: e.verifier}
	if b, ok := e.Byzantine[id]; ok {
		r.core = byzantine.Wrap(core, b, e.Signers[id], e.ChainID, len(e.Validators),
			rand.New(rand.NewPCG(e.Rand.Uint64(), e.Rand.Uint64())))
	}
	return r, nil
}

// pbftStorage adapts a Storage to pbft.Storage.
type pbftStorage struct{ st Storage }

func (s pbftStorage) Committed(seq uint64) (engine.Committed, bool) { return s.st.Committed(seq) }

// HasTx implements pbft.TxIndex when the simulator's storage can answer it,
// as the node's ledger does.
func (s pbftStorage) HasTx(tx []byte) bool {
	idx, ok := s.st.(pbft.TxIndex)
	return ok && idx.HasTx(tx)
}

// pbftReplica adapts a core (honest or wrapped) to Replica.
type pbftReplica struct {
	core byzantine.Core
	v    *pbft.Verifier
	rd   pbft.Ready
}

func (r *pbftReplica) Step(from int, frame []byte) error {
	m, err := pbft.Decode(frame)
	if err != nil {
		return err
	}
	if err := r.v.Verify(from, m); err != nil {
		return err
	}
	return r.core.Step(m)
}

func (r *pbftReplica) Tick()                            { r.core.Tick() }
func (r *pbftReplica) Propose(tx []byte) error          { return r.core.Propose(tx) }
func (r *pbftReplica) Applied(h uint64, appHash []byte) { r.core.Applied(h, appHash) }
func (r *pbftReplica) HasReady() bool                   { return r.core.HasReady() }
func (r *pbftReplica) Status() engine.Status            { return r.core.Status() }

func (r *pbftReplica) Ready() Ready {
	r.rd = r.core.Ready()
	out := Ready{Committed: r.rd.Committed}
	for _, rec := range r.rd.Persist {
		out.Persist = append(out.Persist, Record{Key: rec.Key, Value: rec.Value})
	}
	for _, env := range r.rd.Messages {
		out.Messages = append(out.Messages, engine.Outbound{To: env.To, Data: pbft.Encode(env.Msg)})
	}
	return out
}

func (r *pbftReplica) Advance() { r.core.Advance(r.rd); r.rd = pbft.Ready{} }
