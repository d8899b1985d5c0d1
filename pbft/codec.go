package pbft

import (
	"errors"
	"fmt"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/internal/wire"
)

// This file is the one encoding of PBFT messages, certificates and persisted
// records, built on internal/wire (fixed-width big-endian integers,
// u32-length-prefixed byte strings and lists).
//
// A message is: version byte (codecVersion), kind byte, then the body of its
// kind. Every body ends with the sender (u32) and its signature, and the
// signature covers the body without the signature, under a domain label per
// kind and the chain id (crypto.SignBytes) — except PRE-PREPARE, whose
// signature covers (view, seq, digest, replica) and not the batch, so that a
// pre-prepare can travel digest-only (see PrePrepare).
//
// Changing any layout here means a new codecVersion.

// codecVersion is the first byte of every encoded message.
const codecVersion = 1

// proofVersion is the first byte of an encoded commit certificate.
const proofVersion = 1

// recordVersion is the first byte of every persisted record value.
const recordVersion = 1

// Domain labels of the signatures, one per kind, plus the commit
// certificate (which reuses the COMMIT label: its entries are COMMITs).
var signDomains = [...]string{
	KindRequest:       "bftledger/pbft/request/v1",
	KindPrePrepare:    "bftledger/pbft/pre-prepare/v1",
	KindPrepare:       "bftledger/pbft/prepare/v1",
	KindCommit:        "bftledger/pbft/commit/v1",
	KindCheckpoint:    "bftledger/pbft/checkpoint/v1",
	KindViewChange:    "bftledger/pbft/view-change/v1",
	KindNewView:       "bftledger/pbft/new-view/v1",
	KindFetchRequest:  "bftledger/pbft/fetch-request/v1",
	KindFetchResponse: "bftledger/pbft/fetch-response/v1",
}

// ErrDecode is wrapped by every Decode failure (along with the wire error,
// when there is one).
var ErrDecode = errors.New("pbft: cannot decode message")

// Encode returns the canonical encoding of m, signature included. It is the
// only encoding of messages; Decode(Encode(m)) yields an equal message.
func Encode(m Message) []byte {
	e := wire.NewEncoder(encodedSizeHint(m))
	e.Uint8(codecVersion)
	e.Uint8(uint8(m.Kind()))
	encodeBody(e, m, true)
	return e.Bytes()
}

func encodedSizeHint(m Message) int {
	switch m := m.(type) {
	case *PrePrepare:
		n := 128
		for _, tx := range m.Txs {
			n += 4 + len(tx)
		}
		return n
	case *Request:
		n := 96
		for _, tx := range m.Txs {
			n += 4 + len(tx)
		}
		return n
	case *Prepare, *Commit, *Checkpoint, *FetchRequest:
		return 160
	default:
		return 4096
	}
}

// encodeBody writes m's body; withSig false gives the bytes m's signature
// covers (for every kind but PRE-PREPARE, see ppSignBody).
func encodeBody(e *wire.Encoder, m Message, withSig bool) {
	switch m := m.(type) {
	case *Request:
		encodeTxs(e, m.Txs)
		e.Uint32(uint32(m.Replica))
		sigField(e, m.Sig, withSig)
	case *PrePrepare:
		encodePrePrepare(e, m, withSig)
	case *Prepare:
		encodeVote(e, m.View, m.Seq, m.Digest, m.Replica)
		sigField(e, m.Sig, withSig)
	case *Commit:
		encodeVote(e, m.View, m.Seq, m.Digest, m.Replica)
		sigField(e, m.Sig, withSig)
	case *Checkpoint:
		encodeCheckpoint(e, m, withSig)
	case *ViewChange:
		encodeViewChange(e, m, withSig)
	case *NewView:
		e.Uint64(m.View)
		e.Count(len(m.ViewChanges))
		for _, vc := range m.ViewChanges {
			encodeViewChange(e, vc, true)
		}
		e.Count(len(m.PrePrepares))
		for _, pp := range m.PrePrepares {
			encodePrePrepare(e, pp, true)
		}
		e.Uint32(uint32(m.Replica))
		sigField(e, m.Sig, withSig)
	case *FetchRequest:
		e.Uint64(m.Low)
		e.Uint64(m.High)
		e.Uint32(uint32(m.Replica))
		sigField(e, m.Sig, withSig)
	case *FetchResponse:
		e.Count(len(m.Stable))
		for _, cp := range m.Stable {
			encodeCheckpoint(e, cp, true)
		}
		e.Count(len(m.Batches))
		for i := range m.Batches {
			b := &m.Batches[i]
			e.Uint64(b.Seq)
			e.Uint64(b.View)
			encodeTxs(e, b.Txs)
			e.VarBytes(b.Proof)
		}
		e.Uint32(uint32(m.Replica))
		sigField(e, m.Sig, withSig)
	default:
		panic(fmt.Sprintf("pbft: encode of unknown message type %T", m))
	}
}

func sigField(e *wire.Encoder, sig []byte, withSig bool) {
	if withSig {
		e.VarBytes(sig)
	}
}

func encodeVote(e *wire.Encoder, view, seq uint64, d crypto.Hash, replica int) {
	e.Uint64(view)
	e.Uint64(seq)
	e.Fixed(d[:])
	e.Uint32(uint32(replica))
}

func encodeTxs(e *wire.Encoder, txs [][]byte) {
	e.Count(len(txs))
	for _, tx := range txs {
		e.VarBytes(tx)
	}
}

func encodePrePrepare(e *wire.Encoder, m *PrePrepare, withSig bool) {
	encodeVote(e, m.View, m.Seq, m.Digest, m.Replica)
	e.Bool(len(m.Txs) > 0)
	if len(m.Txs) > 0 {
		encodeTxs(e, m.Txs)
	}
	sigField(e, m.Sig, withSig)
}

func encodeCheckpoint(e *wire.Encoder, m *Checkpoint, withSig bool) {
	e.Uint64(m.Seq)
	e.VarBytes(m.AppHash)
	e.Uint32(uint32(m.Replica))
	sigField(e, m.Sig, withSig)
}

func encodeViewChange(e *wire.Encoder, m *ViewChange, withSig bool) {
	e.Uint64(m.NewView)
	e.Uint64(m.StableSeq)
	e.Count(len(m.CheckpointProof))
	for _, cp := range m.CheckpointProof {
		encodeCheckpoint(e, cp, true)
	}
	e.Count(len(m.Prepared))
	encodeCertList(e, m.Prepared)
	e.Uint32(uint32(m.Replica))
	sigField(e, m.Sig, withSig)
}

// signBody returns the bytes m's signature covers (before the domain label
// and chain id are prefixed by crypto.SignBytes).
func signBody(m Message) []byte {
	switch m := m.(type) {
	case *PrePrepare:
		return voteBody(m.View, m.Seq, m.Digest, m.Replica)
	case *Prepare:
		return voteBody(m.View, m.Seq, m.Digest, m.Replica)
	case *Commit:
		return voteBody(m.View, m.Seq, m.Digest, m.Replica)
	}
	e := wire.NewEncoder(encodedSizeHint(m))
	encodeBody(e, m, false)
	return e.Bytes()
}

// voteBody is what PRE-PREPARE, PREPARE and COMMIT signatures cover.
func voteBody(view, seq uint64, d crypto.Hash, replica int) []byte {
	e := wire.NewEncoder(8 + 8 + crypto.HashSize + 4)
	encodeVote(e, view, seq, d, replica)
	return e.Bytes()
}

// Decode parses one encoded message strictly: known version and kind,
// every length within limits.go before allocating, no trailing bytes, then
// Validate. It does not check signatures (Verifier.Verify does). The result
// does not alias frame.
func Decode(frame []byte) (Message, error) {
	if len(frame) > MessageBytesMax {
		return nil, fmt.Errorf("%w: %d bytes > %d", ErrDecode, len(frame), MessageBytesMax)
	}
	if len(frame) < headerBytes {
		return nil, fmt.Errorf("%w: %d bytes", ErrDecode, len(frame))
	}
	if frame[0] != codecVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrDecode, frame[0], codecVersion)
	}
	buf := append([]byte(nil), frame[headerBytes:]...)
	d := wire.NewDecoder(buf)
	var m Message
	switch Kind(frame[1]) {
	case KindRequest:
		r := &Request{}
		r.Txs = decodeTxs(d)
		r.Replica = decodeReplica(d)
		r.Sig = decodeSig(d)
		m = r
	case KindPrePrepare:
		m = decodePrePrepare(d)
	case KindPrepare:
		p := &Prepare{}
		p.View, p.Seq, p.Digest, p.Replica = decodeVote(d)
		p.Sig = decodeSig(d)
		m = p
	case KindCommit:
		c := &Commit{}
		c.View, c.Seq, c.Digest, c.Replica = decodeVote(d)
		c.Sig = decodeSig(d)
		m = c
	case KindCheckpoint:
		m = decodeCheckpoint(d)
	case KindViewChange:
		m = decodeViewChange(d)
	case KindNewView:
		m = decodeNewView(d)
	case KindFetchRequest:
		f := &FetchRequest{}
		f.Low = d.Uint64()
		f.High = d.Uint64()
		f.Replica = decodeReplica(d)
		f.Sig = decodeSig(d)
		m = f
	case KindFetchResponse:
		m = decodeFetchResponse(d)
	default:
		return nil, fmt.Errorf("%w: unknown kind %d", ErrDecode, frame[1])
	}
	if err := d.Finish(); err != nil {
		return nil, fmt.Errorf("%w: %v: %w", ErrDecode, Kind(frame[1]), err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDecode, err)
	}
	return m, nil
}

func decodeSig(d *wire.Decoder) []byte { return d.VarBytes(crypto.SignatureSize) }

func decodeReplica(d *wire.Decoder) int {
	r := d.Uint32()
	if r >= ValidatorsMax {
		d.Fail(fmt.Errorf("replica %d >= %d: %w", r, ValidatorsMax, wire.ErrTooLong))
		return 0
	}
	return int(r)
}

func decodeVote(d *wire.Decoder) (view, seq uint64, digest crypto.Hash, replica int) {
	view = d.Uint64()
	seq = d.Uint64()
	copy(digest[:], d.Fixed(crypto.HashSize))
	replica = decodeReplica(d)
	return
}

func decodeTxs(d *wire.Decoder) [][]byte {
	n := d.Count(TxsPerBatchMax, 4)
	if d.Err() != nil || n == 0 {
		return nil
	}
	txs := make([][]byte, n)
	for i := range txs {
		txs[i] = d.VarBytes(TxBytesMax)
	}
	return txs
}

func decodePrePrepare(d *wire.Decoder) *PrePrepare {
	p := &PrePrepare{}
	p.View, p.Seq, p.Digest, p.Replica = decodeVote(d)
	if d.Bool() {
		p.Txs = decodeTxs(d)
		if d.Err() == nil && len(p.Txs) == 0 {
			d.Fail(fmt.Errorf("batch flag with no txs: %w", wire.ErrNonCanonical))
		}
	}
	p.Sig = decodeSig(d)
	return p
}

func decodeCheckpoint(d *wire.Decoder) *Checkpoint {
	c := &Checkpoint{}
	c.Seq = d.Uint64()
	c.AppHash = d.VarBytes(AppHashBytesMax)
	c.Replica = decodeReplica(d)
	c.Sig = decodeSig(d)
	return c
}

// checkpointBytesMin is the smallest encoded checkpoint.
const checkpointBytesMin = 8 + 4 + 4 + 4

func decodeCheckpoints(d *wire.Decoder) []*Checkpoint {
	n := d.Count(ValidatorsMax, checkpointBytesMin)
	if d.Err() != nil || n == 0 {
		return nil
	}
	cps := make([]*Checkpoint, n)
	for i := range cps {
		cps[i] = decodeCheckpoint(d)
	}
	return cps
}

func decodeViewChange(d *wire.Decoder) *ViewChange {
	v := &ViewChange{}
	v.NewView = d.Uint64()
	v.StableSeq = d.Uint64()
	v.CheckpointProof = decodeCheckpoints(d)
	n := d.Count(WindowSizeMax, 8+8+crypto.HashSize+4+4)
	if d.Err() == nil && n > 0 {
		v.Prepared = make([]PreparedCert, n)
		for i := range v.Prepared {
			v.Prepared[i] = *decodeCert(d)
			if d.Err() != nil {
				break
			}
		}
	}
	v.Replica = decodeReplica(d)
	v.Sig = decodeSig(d)
	return v
}

func decodeNewView(d *wire.Decoder) *NewView {
	v := &NewView{}
	v.View = d.Uint64()
	n := d.Count(quorumMax, 8+8+4+4+4+4)
	if d.Err() == nil && n > 0 {
		v.ViewChanges = make([]*ViewChange, n)
		for i := range v.ViewChanges {
			v.ViewChanges[i] = decodeViewChange(d)
		}
	}
	n = d.Count(WindowSizeMax, 8+8+crypto.HashSize+4+1+4)
	if d.Err() == nil && n > 0 {
		v.PrePrepares = make([]*PrePrepare, n)
		for i := range v.PrePrepares {
			v.PrePrepares[i] = decodePrePrepare(d)
		}
	}
	v.Replica = decodeReplica(d)
	v.Sig = decodeSig(d)
	return v
}

func decodeFetchResponse(d *wire.Decoder) *FetchResponse {
	f := &FetchResponse{}
	f.Stable = decodeCheckpoints(d)
	n := d.Count(FetchBatchesMax, 8+8+4+4)
	if d.Err() == nil && n > 0 {
		f.Batches = make([]FetchedBatch, n)
		for i := range f.Batches {
			b := &f.Batches[i]
			b.Seq = d.Uint64()
			b.View = d.Uint64()
			b.Txs = decodeTxs(d)
			b.Proof = d.VarBytes(proofBytesMax)
		}
	}
	f.Replica = decodeReplica(d)
	f.Sig = decodeSig(d)
	return f
}

// commitCert is a decoded commit certificate: the COMMITs of a quorum for
// (view, seq, digest), stored as attestations.
type commitCert struct {
	View    uint64
	Commits []Attestation // ascending Replica
}

// encodeProof returns the canonical encoding of a commit certificate, the
// Proof of engine.Committed and FetchedBatch.
func encodeProof(c commitCert) []byte {
	e := wire.NewEncoder(1 + 8 + 4 + len(c.Commits)*attestationBytes)
	e.Uint8(proofVersion)
	e.Uint64(c.View)
	e.Count(len(c.Commits))
	for _, a := range c.Commits {
		e.Uint32(uint32(a.Replica))
		e.VarBytes(a.Sig)
	}
	return e.Bytes()
}

// decodeProof parses an encoded commit certificate strictly.
func decodeProof(b []byte) (commitCert, error) {
	var c commitCert
	if len(b) > proofBytesMax {
		return c, fmt.Errorf("proof is %d bytes > %d: %w", len(b), proofBytesMax, ErrBadCertificate)
	}
	d := wire.NewDecoder(b)
	if v := d.Uint8(); d.Err() == nil && v != proofVersion {
		return c, fmt.Errorf("proof version %d, want %d: %w", v, proofVersion, ErrBadCertificate)
	}
	c.View = d.Uint64()
	n := d.Count(ValidatorsMax, 4+4)
	if d.Err() == nil && n > 0 {
		c.Commits = make([]Attestation, n)
		for i := range c.Commits {
			c.Commits[i].Replica = decodeReplica(d)
			c.Commits[i].Sig = decodeSig(d)
		}
	}
	if err := d.Finish(); err != nil {
		return c, fmt.Errorf("proof: %w: %w", ErrBadCertificate, err)
	}
	return c, nil
}

// --- persisted records ----------------------------------------------------
//
// Records are this replica's own state, read back only by New. Messages
// inside them (the adopted NEW-VIEW, the own VIEW-CHANGE, pre-prepares,
// checkpoints) use the message encoding above.

// Record keys. Slot keys end in the big-endian seq, so they sort by seq.
const (
	keyView      = "pbft/view"
	keyStable    = "pbft/stable"
	keyVC        = "pbft/view-change"
	keyNV        = "pbft/new-view"
	keySlotPref  = "pbft/slot/"
	keyBatchPref = "pbft/batch/"
)

// batchKey names the record of one batch of a slot: seq then digest.
func batchKey(seq uint64, d crypto.Hash) []byte {
	e := wire.NewEncoder(len(keyBatchPref) + 8 + crypto.HashSize)
	e.Fixed([]byte(keyBatchPref))
	e.Uint64(seq)
	e.Fixed(d[:])
	return e.Bytes()
}

func encodeBatchRecord(txs [][]byte) []byte {
	n := 1 + 4
	for _, tx := range txs {
		n += 4 + len(tx)
	}
	e := wire.NewEncoder(n)
	e.Uint8(recordVersion)
	encodeTxs(e, txs)
	return e.Bytes()
}

func decodeBatchRecord(b []byte) ([][]byte, error) {
	d := wire.NewDecoder(append([]byte(nil), b...))
	if v := d.Uint8(); d.Err() == nil && v != recordVersion {
		d.Fail(fmt.Errorf("record version %d: %w", v, wire.ErrNonCanonical))
	}
	txs := decodeTxs(d)
	return txs, d.Finish()
}

func slotKey(seq uint64) []byte {
	e := wire.NewEncoder(len(keySlotPref) + 8)
	e.Fixed([]byte(keySlotPref))
	e.Uint64(seq)
	return e.Bytes()
}

func encodeViewRecord(view uint64, active bool) []byte {
	e := wire.NewEncoder(10)
	e.Uint8(recordVersion)
	e.Uint64(view)
	e.Bool(active)
	return e.Bytes()
}

func decodeViewRecord(b []byte) (view uint64, active bool, err error) {
	d := wire.NewDecoder(b)
	if v := d.Uint8(); d.Err() == nil && v != recordVersion {
		d.Fail(fmt.Errorf("record version %d: %w", v, wire.ErrNonCanonical))
	}
	view = d.Uint64()
	active = d.Bool()
	return view, active, d.Finish()
}

func encodeStableRecord(proof []*Checkpoint) []byte {
	e := wire.NewEncoder(1 + 4 + len(proof)*checkpointBytesMax)
	e.Uint8(recordVersion)
	e.Count(len(proof))
	for _, cp := range proof {
		encodeCheckpoint(e, cp, true)
	}
	return e.Bytes()
}

func decodeStableRecord(b []byte) ([]*Checkpoint, error) {
	d := wire.NewDecoder(b)
	if v := d.Uint8(); d.Err() == nil && v != recordVersion {
		d.Fail(fmt.Errorf("record version %d: %w", v, wire.ErrNonCanonical))
	}
	cps := decodeCheckpoints(d)
	if err := d.Finish(); err != nil {
		return nil, err
	}
	for _, cp := range cps {
		if err := cp.Validate(); err != nil {
			return nil, err
		}
	}
	return cps, nil
}

// slotRecord is the durable part of a slot. Its batches are separate
// records (batchKey), written once.
type slotRecord struct {
	view        uint64
	pp          *PrePrepare // digest-only; nil if none
	sentPrepare bool
	prepared    bool
	cert        *PreparedCert
	committed   bool
	commitView  uint64
	commitDig   crypto.Hash
	commitCert  []byte
}

func encodeSlotRecord(r *slotRecord) []byte {
	e := wire.NewEncoder(256)
	e.Uint8(recordVersion)
	e.Uint64(r.view)
	e.Bool(r.pp != nil)
	if r.pp != nil {
		encodePrePrepare(e, r.pp, true)
	}
	e.Bool(r.sentPrepare)
	e.Bool(r.prepared)
	e.Bool(r.cert != nil)
	if r.cert != nil {
		e.Count(1)
		encodeCertList(e, []PreparedCert{*r.cert})
	}
	e.Bool(r.committed)
	if r.committed {
		e.Uint64(r.commitView)
		e.Fixed(r.commitDig[:])
		e.VarBytes(r.commitCert)
	}
	return e.Bytes()
}

func encodeCertList(e *wire.Encoder, certs []PreparedCert) {
	for i := range certs {
		c := &certs[i]
		e.Uint64(c.View)
		e.Uint64(c.Seq)
		e.Fixed(c.Digest[:])
		e.VarBytes(c.PrePrepareSig)
		e.Count(len(c.Prepares))
		for _, a := range c.Prepares {
			e.Uint32(uint32(a.Replica))
			e.VarBytes(a.Sig)
		}
	}
}

func decodeCert(d *wire.Decoder) *PreparedCert {
	c := &PreparedCert{}
	c.View = d.Uint64()
	c.Seq = d.Uint64()
	copy(c.Digest[:], d.Fixed(crypto.HashSize))
	c.PrePrepareSig = decodeSig(d)
	k := d.Count(quorumMax-1, 4+4)
	if d.Err() == nil && k > 0 {
		c.Prepares = make([]Attestation, k)
		for j := range c.Prepares {
			c.Prepares[j].Replica = decodeReplica(d)
			c.Prepares[j].Sig = decodeSig(d)
		}
	}
	return c
}

func decodeSlotRecord(b []byte) (*slotRecord, error) {
	d := wire.NewDecoder(append([]byte(nil), b...))
	if v := d.Uint8(); d.Err() == nil && v != recordVersion {
		d.Fail(fmt.Errorf("record version %d: %w", v, wire.ErrNonCanonical))
	}
	r := &slotRecord{}
	r.view = d.Uint64()
	if d.Bool() {
		r.pp = decodePrePrepare(d)
	}
	r.sentPrepare = d.Bool()
	r.prepared = d.Bool()
	if d.Bool() {
		if n := d.Count(1, 1); d.Err() == nil && n == 1 {
			r.cert = decodeCert(d)
		}
	}
	r.committed = d.Bool()
	if r.committed {
		r.commitView = d.Uint64()
		copy(r.commitDig[:], d.Fixed(crypto.HashSize))
		r.commitCert = d.VarBytes(proofBytesMax)
	}
	if err := d.Finish(); err != nil {
		return nil, err
	}
	if r.pp != nil {
		if err := r.pp.Validate(); err != nil {
			return nil, err
		}
	}
	return r, nil
}
