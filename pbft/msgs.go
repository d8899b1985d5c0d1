package pbft

import (
	"errors"
	"fmt"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
)

// Kind names a message type. Its value is the kind byte of the encoding
// (codec.go), so the numbers never change.
type Kind uint8

// Message kinds.
const (
	KindRequest       Kind = 1 // a client tx relayed to the primary
	KindPrePrepare    Kind = 2 // the primary's ordering proposal
	KindPrepare       Kind = 3
	KindCommit        Kind = 4
	KindCheckpoint    Kind = 5
	KindViewChange    Kind = 6
	KindNewView       Kind = 7
	KindFetchRequest  Kind = 8 // state transfer: ask for committed batches
	KindFetchResponse Kind = 9 // state transfer: committed batches + proofs
)

var kindNames = [...]string{
	KindRequest: "request", KindPrePrepare: "pre-prepare", KindPrepare: "prepare",
	KindCommit: "commit", KindCheckpoint: "checkpoint", KindViewChange: "view-change",
	KindNewView: "new-view", KindFetchRequest: "fetch-request", KindFetchResponse: "fetch-response",
}

// String returns the kind's name as used in logs and metrics.
func (k Kind) String() string {
	if k == 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("kind(%d)", uint8(k))
	}
	return kindNames[k]
}

// Message is one PBFT protocol message. The set of implementations is closed
// (sealed): *Request, *PrePrepare, *Prepare, *Commit, *Checkpoint,
// *ViewChange, *NewView, *FetchRequest and *FetchResponse.
//
// A message travels: Decode (size-limited, strict) → Verifier.Verify
// (Validate, sender, signatures, embedded certificates, CheckTx) → Core.Step.
// Verify marks the message verified; Step refuses any message not so marked.
//
// The struct fields keep the paper's names (View, Seq, ...), so the view a
// message belongs to is read through ViewNum rather than a View method.
type Message interface {
	// Kind returns the message type.
	Kind() Kind
	// From returns the replica index that claims to have sent (and signed)
	// the message; Verify requires it to equal the transport's sender.
	From() int
	// ViewNum returns the view the message belongs to: the new view for a
	// VIEW-CHANGE, 0 for messages outside views (REQUEST, CHECKPOINT, FETCH).
	ViewNum() uint64
	// Validate checks the message's own structure (ranges, lengths, digests),
	// without signatures or any replica state.
	Validate() error

	sealed() *msgState
}

// msgState is the unexported part every message embeds.
type msgState struct {
	// verified is set by Verifier.Verify on success. A message a test or a
	// Byzantine wrapper builds by hand is never verified until it has been
	// through Verify (normally after Encode/Decode).
	verified bool
}

// Errors of message validation. Validate wraps them with details; compare
// with errors.Is.
var (
	ErrInvalidMessage = errors.New("pbft: invalid message")
	ErrBadDigest      = errors.New("pbft: batch digest mismatch")
)

// NullDigest is the digest of the empty (null) batch that NEW-VIEW issues
// for sequence numbers no prepared certificate covers.
var NullDigest = engine.BatchDigest(nil)

func invalid(kind Kind, format string, args ...any) error {
	return fmt.Errorf("%v: %s: %w", kind, fmt.Sprintf(format, args...), ErrInvalidMessage)
}

func checkReplica(kind Kind, r int) error {
	if r < 0 || r >= ValidatorsMax {
		return invalid(kind, "replica %d out of range", r)
	}
	return nil
}

func checkSig(kind Kind, sig []byte) error {
	if len(sig) != crypto.SignatureSize {
		return invalid(kind, "signature is %d bytes, want %d", len(sig), crypto.SignatureSize)
	}
	return nil
}

// checkBatch validates a batch's shape and that it hashes to digest.
func checkBatch(kind Kind, txs [][]byte, digest crypto.Hash) error {
	if err := checkBatchShape(kind, txs); err != nil {
		return err
	}
	if engine.BatchDigest(txs) != digest {
		return fmt.Errorf("%v: %w", kind, ErrBadDigest)
	}
	return nil
}

// checkBatchShape validates the number and sizes of a batch's txs.
func checkBatchShape(kind Kind, txs [][]byte) error {
	if len(txs) > TxsPerBatchMax {
		return invalid(kind, "%d txs > %d", len(txs), TxsPerBatchMax)
	}
	total := 0
	for i, tx := range txs {
		if len(tx) == 0 || len(tx) > TxBytesMax {
			return invalid(kind, "tx %d is %d bytes (want 1..%d)", i, len(tx), TxBytesMax)
		}
		total += len(tx)
	}
	if total > BatchBytesMax {
		return invalid(kind, "batch is %d bytes > %d", total, BatchBytesMax)
	}
	return nil
}

// Request relays client transactions (already admitted by the ledger's
// CheckTx at the replica that received them) to the primary. Each tx carries
// its own client signature; the relaying replica signs the wrapper too, so a
// relay is attributable like every other message. A replica relays what it
// admitted since its last Ready as one Request, so the signature is paid
// once per batch of relayed txs, not once per tx.
type Request struct {
	Txs     [][]byte // client-signed transactions, opaque to PBFT
	Replica int      // the relaying replica
	Sig     []byte   // Replica's signature (domain "request")
	msgState
}

// Kind implements Message.
func (*Request) Kind() Kind { return KindRequest }

// From implements Message.
func (m *Request) From() int { return m.Replica }

// ViewNum implements Message; a REQUEST belongs to no view.
func (*Request) ViewNum() uint64 { return 0 }

// Validate implements Message.
func (m *Request) Validate() error {
	if len(m.Txs) == 0 {
		return invalid(KindRequest, "no txs")
	}
	if err := checkBatchShape(KindRequest, m.Txs); err != nil {
		return err
	}
	if err := checkReplica(KindRequest, m.Replica); err != nil {
		return err
	}
	return checkSig(KindRequest, m.Sig)
}

func (m *Request) sealed() *msgState { return &m.msgState }

// PrePrepare is the primary's proposal to order batch Digest at (View, Seq)
// (Castro–Liskov §4.2). The signature covers (View, Seq, Digest, Replica),
// not the batch itself: the batch is bound through Digest ==
// engine.BatchDigest(Txs). That lets a PRE-PREPARE travel without its batch
// ("digest-only") inside NEW-VIEW, where backups already hold the batch or
// fetch it. In the normal case the primary always sends the batch.
type PrePrepare struct {
	View    uint64
	Seq     uint64
	Digest  crypto.Hash
	Txs     [][]byte // the batch; nil when digest-only or a null batch
	Replica int      // the primary of View
	Sig     []byte
	msgState
}

// Kind implements Message.
func (*PrePrepare) Kind() Kind { return KindPrePrepare }

// From implements Message.
func (m *PrePrepare) From() int { return m.Replica }

// ViewNum implements Message.
func (m *PrePrepare) ViewNum() uint64 { return m.View }

// HasBatch reports whether the message carries its batch: it has txs, or it
// proposes the null batch (whose txs are known to be empty).
func (m *PrePrepare) HasBatch() bool { return len(m.Txs) > 0 || m.Digest == NullDigest }

// Validate implements Message.
func (m *PrePrepare) Validate() error {
	if m.Seq == 0 {
		return invalid(KindPrePrepare, "sequence number 0")
	}
	if err := checkReplica(KindPrePrepare, m.Replica); err != nil {
		return err
	}
	if len(m.Txs) > 0 {
		if err := checkBatch(KindPrePrepare, m.Txs, m.Digest); err != nil {
			return err
		}
	}
	return checkSig(KindPrePrepare, m.Sig)
}

func (m *PrePrepare) sealed() *msgState { return &m.msgState }

// Prepare is a backup's agreement with the pre-prepare (View, Seq, Digest).
type Prepare struct {
	View    uint64
	Seq     uint64
	Digest  crypto.Hash
	Replica int
	Sig     []byte
	msgState
}

// Kind implements Message.
func (*Prepare) Kind() Kind { return KindPrepare }

// From implements Message.
func (m *Prepare) From() int { return m.Replica }

// ViewNum implements Message.
func (m *Prepare) ViewNum() uint64 { return m.View }

// Validate implements Message.
func (m *Prepare) Validate() error {
	if m.Seq == 0 {
		return invalid(KindPrepare, "sequence number 0")
	}
	if err := checkReplica(KindPrepare, m.Replica); err != nil {
		return err
	}
	return checkSig(KindPrepare, m.Sig)
}

func (m *Prepare) sealed() *msgState { return &m.msgState }

// Commit says its sender has prepared (View, Seq, Digest). 2f+1 matching
// commits make the batch committed; they are the batch's commit certificate.
type Commit struct {
	View    uint64
	Seq     uint64
	Digest  crypto.Hash
	Replica int
	Sig     []byte
	msgState
}

// Kind implements Message.
func (*Commit) Kind() Kind { return KindCommit }

// From implements Message.
func (m *Commit) From() int { return m.Replica }

// ViewNum implements Message.
func (m *Commit) ViewNum() uint64 { return m.View }

// Validate implements Message.
func (m *Commit) Validate() error {
	if m.Seq == 0 {
		return invalid(KindCommit, "sequence number 0")
	}
	if err := checkReplica(KindCommit, m.Replica); err != nil {
		return err
	}
	return checkSig(KindCommit, m.Sig)
}

func (m *Commit) sealed() *msgState { return &m.msgState }

// Checkpoint states that its sender's ledger, having executed every batch up
// to Seq, has app hash AppHash (§4.3). A quorum of matching checkpoints is a
// stable checkpoint, its proof.
type Checkpoint struct {
	Seq     uint64
	AppHash []byte
	Replica int
	Sig     []byte
	msgState
}

// Kind implements Message.
func (*Checkpoint) Kind() Kind { return KindCheckpoint }

// From implements Message.
func (m *Checkpoint) From() int { return m.Replica }

// ViewNum implements Message; a CHECKPOINT belongs to no view.
func (*Checkpoint) ViewNum() uint64 { return 0 }

// Validate implements Message.
func (m *Checkpoint) Validate() error {
	if m.Seq == 0 {
		return invalid(KindCheckpoint, "sequence number 0")
	}
	if len(m.AppHash) == 0 || len(m.AppHash) > AppHashBytesMax {
		return invalid(KindCheckpoint, "app hash is %d bytes (want 1..%d)", len(m.AppHash), AppHashBytesMax)
	}
	if err := checkReplica(KindCheckpoint, m.Replica); err != nil {
		return err
	}
	return checkSig(KindCheckpoint, m.Sig)
}

func (m *Checkpoint) sealed() *msgState { return &m.msgState }

// Attestation is one replica's signature inside a certificate, stored
// compactly: the signed fields are those of the certificate.
type Attestation struct {
	Replica int
	Sig     []byte
}

// PreparedCert proves that (View, Seq, Digest) was prepared (§4.2): the
// primary of View signed a PRE-PREPARE for it and 2f distinct backups
// signed matching PREPAREs. It is stored compactly: the signatures are over
// the fields of the certificate.
type PreparedCert struct {
	View          uint64
	Seq           uint64
	Digest        crypto.Hash
	PrePrepareSig []byte        // primary(View)'s PRE-PREPARE signature
	Prepares      []Attestation // PREPARE signatures, distinct backups, ascending Replica
}

// validate checks the certificate's shape (not its signatures).
func (c *PreparedCert) validate() error {
	if c.Seq == 0 {
		return invalid(KindViewChange, "prepared certificate with sequence number 0")
	}
	if err := checkSig(KindViewChange, c.PrePrepareSig); err != nil {
		return err
	}
	if len(c.Prepares) > quorumMax-1 {
		return invalid(KindViewChange, "%d prepares > %d", len(c.Prepares), quorumMax-1)
	}
	for i, a := range c.Prepares {
		if err := checkReplica(KindViewChange, a.Replica); err != nil {
			return err
		}
		if i > 0 && a.Replica <= c.Prepares[i-1].Replica {
			return invalid(KindViewChange, "prepares not in ascending replica order")
		}
		if err := checkSig(KindViewChange, a.Sig); err != nil {
			return err
		}
	}
	return nil
}

// ViewChange asks to move to view NewView (§4.4). It carries the sender's
// stable checkpoint (StableSeq with its proof; empty at seq 0) and a
// prepared certificate for every sequence number above StableSeq that the
// sender prepared, with the highest view it prepared in.
type ViewChange struct {
	NewView         uint64
	StableSeq       uint64
	CheckpointProof []*Checkpoint  // a quorum of matching CHECKPOINTs for StableSeq, ascending Replica
	Prepared        []PreparedCert // ascending Seq, each in (StableSeq, StableSeq+L]
	Replica         int
	Sig             []byte
	msgState
}

// Kind implements Message.
func (*ViewChange) Kind() Kind { return KindViewChange }

// From implements Message.
func (m *ViewChange) From() int { return m.Replica }

// ViewNum implements Message: the view being moved to.
func (m *ViewChange) ViewNum() uint64 { return m.NewView }

// Validate implements Message. Quorum sizes and the window depend on the
// configuration and are checked by Verify.
func (m *ViewChange) Validate() error {
	if m.NewView == 0 {
		return invalid(KindViewChange, "view change to view 0")
	}
	if err := checkReplica(KindViewChange, m.Replica); err != nil {
		return err
	}
	if (m.StableSeq == 0) != (len(m.CheckpointProof) == 0) {
		return invalid(KindViewChange, "stable seq %d with %d checkpoint proofs", m.StableSeq, len(m.CheckpointProof))
	}
	if len(m.CheckpointProof) > ValidatorsMax {
		return invalid(KindViewChange, "%d checkpoint proofs > %d", len(m.CheckpointProof), ValidatorsMax)
	}
	for i, cp := range m.CheckpointProof {
		if err := cp.Validate(); err != nil {
			return err
		}
		if cp.Seq != m.StableSeq || string(cp.AppHash) != string(m.CheckpointProof[0].AppHash) {
			return invalid(KindViewChange, "checkpoint proof does not match seq %d", m.StableSeq)
		}
		if i > 0 && cp.Replica <= m.CheckpointProof[i-1].Replica {
			return invalid(KindViewChange, "checkpoint proof not in ascending replica order")
		}
	}
	if len(m.Prepared) > WindowSizeMax {
		return invalid(KindViewChange, "%d prepared certificates > %d", len(m.Prepared), WindowSizeMax)
	}
	for i := range m.Prepared {
		c := &m.Prepared[i]
		if err := c.validate(); err != nil {
			return err
		}
		if c.View >= m.NewView {
			return invalid(KindViewChange, "prepared certificate of view %d >= new view %d", c.View, m.NewView)
		}
		if c.Seq <= m.StableSeq || c.Seq > m.StableSeq+WindowSizeMax {
			return invalid(KindViewChange, "prepared certificate seq %d outside (%d, %d]", c.Seq, m.StableSeq, m.StableSeq+WindowSizeMax)
		}
		if i > 0 && c.Seq <= m.Prepared[i-1].Seq {
			return invalid(KindViewChange, "prepared certificates not in ascending seq order")
		}
	}
	return checkSig(KindViewChange, m.Sig)
}

func (m *ViewChange) sealed() *msgState { return &m.msgState }

// NewView starts view View (§4.4): a quorum of VIEW-CHANGEs for View and the
// PRE-PREPAREs the new primary computed from them, one per sequence number
// in (min-s, max-s], each re-issuing the prepared batch with the highest view
// or a null batch. The pre-prepares are digest-only; the primary re-sends
// them with their batches as ordinary PRE-PREPAREs.
type NewView struct {
	View        uint64
	ViewChanges []*ViewChange // a quorum, distinct senders, ascending Replica
	PrePrepares []*PrePrepare // ascending Seq, contiguous
	Replica     int           // primary of View
	Sig         []byte
	msgState
}

// Kind implements Message.
func (*NewView) Kind() Kind { return KindNewView }

// From implements Message.
func (m *NewView) From() int { return m.Replica }

// ViewNum implements Message.
func (m *NewView) ViewNum() uint64 { return m.View }

// Validate implements Message.
func (m *NewView) Validate() error {
	if m.View == 0 {
		return invalid(KindNewView, "new view 0")
	}
	if err := checkReplica(KindNewView, m.Replica); err != nil {
		return err
	}
	if len(m.ViewChanges) == 0 || len(m.ViewChanges) > quorumMax {
		return invalid(KindNewView, "%d view changes (want 1..%d)", len(m.ViewChanges), quorumMax)
	}
	for i, vc := range m.ViewChanges {
		if err := vc.Validate(); err != nil {
			return err
		}
		if vc.NewView != m.View {
			return invalid(KindNewView, "view change for view %d in new view %d", vc.NewView, m.View)
		}
		if i > 0 && vc.Replica <= m.ViewChanges[i-1].Replica {
			return invalid(KindNewView, "view changes not in ascending replica order")
		}
	}
	if len(m.PrePrepares) > WindowSizeMax {
		return invalid(KindNewView, "%d pre-prepares > %d", len(m.PrePrepares), WindowSizeMax)
	}
	for i, pp := range m.PrePrepares {
		if err := pp.Validate(); err != nil {
			return err
		}
		if pp.View != m.View || pp.Replica != m.Replica {
			return invalid(KindNewView, "pre-prepare (view %d, replica %d) in new view %d of %d", pp.View, pp.Replica, m.View, m.Replica)
		}
		if len(pp.Txs) > 0 {
			return invalid(KindNewView, "pre-prepare carries its batch")
		}
		if i > 0 && pp.Seq != m.PrePrepares[i-1].Seq+1 {
			return invalid(KindNewView, "pre-prepares not contiguous")
		}
	}
	return checkSig(KindNewView, m.Sig)
}

func (m *NewView) sealed() *msgState { return &m.msgState }

// FetchRequest asks a peer for the committed batches Low..High (inclusive)
// with their commit certificates: state transfer for a replica that fell
// behind.
type FetchRequest struct {
	Low     uint64
	High    uint64
	Replica int
	Sig     []byte
	msgState
}

// Kind implements Message.
func (*FetchRequest) Kind() Kind { return KindFetchRequest }

// From implements Message.
func (m *FetchRequest) From() int { return m.Replica }

// ViewNum implements Message; a FETCH-REQUEST belongs to no view.
func (*FetchRequest) ViewNum() uint64 { return 0 }

// Validate implements Message.
func (m *FetchRequest) Validate() error {
	if m.Low == 0 || m.High < m.Low || m.High-m.Low >= FetchBatchesMax {
		return invalid(KindFetchRequest, "range %d..%d (want 1 <= low <= high < low+%d)", m.Low, m.High, FetchBatchesMax)
	}
	if err := checkReplica(KindFetchRequest, m.Replica); err != nil {
		return err
	}
	return checkSig(KindFetchRequest, m.Sig)
}

func (m *FetchRequest) sealed() *msgState { return &m.msgState }

// FetchedBatch is one committed batch as state transfer ships it: what the
// ledger needs to apply it, and its commit certificate (Proof, the encoding
// VerifyCommitCertificate checks), so the receiver trusts no single peer.
type FetchedBatch struct {
	Seq   uint64
	View  uint64 // the view it committed in; its primary is View mod n
	Txs   [][]byte
	Proof []byte
}

// FetchResponse answers a FETCH-REQUEST: the sender's stable checkpoint
// proof (may be empty) and consecutive committed batches from the requested
// Low. It may carry fewer batches than asked (byte budget, or what the
// sender has).
type FetchResponse struct {
	Stable  []*Checkpoint // a quorum of matching CHECKPOINTs, ascending Replica; may be empty
	Batches []FetchedBatch
	Replica int
	Sig     []byte
	msgState
}

// Kind implements Message.
func (*FetchResponse) Kind() Kind { return KindFetchResponse }

// From implements Message.
func (m *FetchResponse) From() int { return m.Replica }

// ViewNum implements Message; a FETCH-RESPONSE belongs to no view.
func (*FetchResponse) ViewNum() uint64 { return 0 }

// Validate implements Message.
func (m *FetchResponse) Validate() error {
	if err := checkReplica(KindFetchResponse, m.Replica); err != nil {
		return err
	}
	if len(m.Stable) > ValidatorsMax {
		return invalid(KindFetchResponse, "%d checkpoints > %d", len(m.Stable), ValidatorsMax)
	}
	for i, cp := range m.Stable {
		if err := cp.Validate(); err != nil {
			return err
		}
		if cp.Seq != m.Stable[0].Seq || string(cp.AppHash) != string(m.Stable[0].AppHash) {
			return invalid(KindFetchResponse, "checkpoint proof does not match")
		}
		if i > 0 && cp.Replica <= m.Stable[i-1].Replica {
			return invalid(KindFetchResponse, "checkpoint proof not in ascending replica order")
		}
	}
	if len(m.Batches) > FetchBatchesMax {
		return invalid(KindFetchResponse, "%d batches > %d", len(m.Batches), FetchBatchesMax)
	}
	for i := range m.Batches {
		b := &m.Batches[i]
		if b.Seq == 0 || (i > 0 && b.Seq != m.Batches[i-1].Seq+1) {
			return invalid(KindFetchResponse, "batch seqs not consecutive from 1 or more")
		}
		if len(b.Proof) == 0 || len(b.Proof) > proofBytesMax {
			return invalid(KindFetchResponse, "proof is %d bytes (want 1..%d)", len(b.Proof), proofBytesMax)
		}
		if err := checkBatchShape(KindFetchResponse, b.Txs); err != nil {
			return err
		}
	}
	return checkSig(KindFetchResponse, m.Sig)
}

func (m *FetchResponse) sealed() *msgState { return &m.msgState }

// Compile-time proof that every message type implements Message.
var (
	_ Message = (*Request)(nil)
	_ Message = (*PrePrepare)(nil)
	_ Message = (*Prepare)(nil)
	_ Message = (*Commit)(nil)
	_ Message = (*Checkpoint)(nil)
	_ Message = (*ViewChange)(nil)
	_ Message = (*NewView)(nil)
	_ Message = (*FetchRequest)(nil)
	_ Message = (*FetchResponse)(nil)
)
