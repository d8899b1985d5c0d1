package pbft

import (
	"errors"
	"fmt"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
)

// Errors of verification. Verify wraps them with the offending detail;
// compare with errors.Is.
var (
	// ErrUnverified: Step was given a message that has not passed
	// Verifier.Verify.
	ErrUnverified = errors.New("pbft: message not verified")
	// ErrBadSender: the message claims a sender other than the
	// transport-authenticated one, or a replica outside the validator set,
	// or a role it cannot have (a pre-prepare not from the primary).
	ErrBadSender = errors.New("pbft: wrong sender")
	// ErrBadSignature: a signature (of the message or of an embedded
	// certificate entry) does not verify.
	ErrBadSignature = errors.New("pbft: bad signature")
	// ErrBadCertificate: an embedded certificate has too few or duplicate
	// entries, or entries that do not match.
	ErrBadCertificate = errors.New("pbft: bad certificate")
	// ErrRejectedTx: CheckTx refused a tx the message carries.
	ErrRejectedTx = errors.New("pbft: tx rejected by CheckTx")
)

// MaxFaulty returns f, the number of Byzantine replicas n replicas
// tolerate: (n-1)/3.
func MaxFaulty(n int) int { return (n - 1) / 3 }

// Quorum returns the quorum size for n replicas: ceil((n+f+1)/2), which is
// 2f+1 when n = 3f+1. Any two quorums intersect in at least f+1 replicas,
// hence in at least one correct one.
func Quorum(n int) int { return (n + MaxFaulty(n) + 2) / 2 }

// Primary returns the primary of view among n replicas: view mod n.
func Primary(view uint64, n int) int { return int(view % uint64(n)) }

// Sign sets m's signature to s's signature over m's canonical sign bytes
// under chainID. It does not change m.From(): a caller that signs with a
// key other than Validators[m.From()] produces a message Verify rejects,
// which is what Byzantine tests want. Sign clears m's verified mark.
func Sign(m Message, chainID string, s crypto.Signer) {
	sig := s.Sign(SignBytes(m, chainID))
	switch m := m.(type) {
	case *Request:
		m.Sig = sig
	case *PrePrepare:
		m.Sig = sig
	case *Prepare:
		m.Sig = sig
	case *Commit:
		m.Sig = sig
	case *Checkpoint:
		m.Sig = sig
	case *ViewChange:
		m.Sig = sig
	case *NewView:
		m.Sig = sig
	case *FetchRequest:
		m.Sig = sig
	case *FetchResponse:
		m.Sig = sig
	}
	m.sealed().verified = false
}

// SignBytes returns the exact bytes a signature on m covers under chainID:
// the kind's domain label, the chain id and m's sign body.
func SignBytes(m Message, chainID string) []byte {
	return crypto.SignBytes(signDomains[m.Kind()], chainID, signBody(m))
}

func voteSignBytes(kind Kind, chainID string, view, seq uint64, d crypto.Hash, replica int) []byte {
	return crypto.SignBytes(signDomains[kind], chainID, voteBody(view, seq, d, replica))
}

// FilterRequest returns m holding only the txs keep admits (m itself if
// it keeps them all, nil if none). The copy keeps m's verified mark: every
// tx in it arrived, and was checked, with m. Fault injection uses it to
// drop some relayed txs before the core sees them.
func FilterRequest(m *Request, keep func(tx []byte) bool) *Request {
	var txs [][]byte
	for _, tx := range m.Txs {
		if keep(tx) {
			txs = append(txs, tx)
		}
	}
	switch len(txs) {
	case len(m.Txs):
		return m
	case 0:
		return nil
	}
	return &Request{Txs: txs, Replica: m.Replica, Sig: m.Sig, msgState: msgState{verified: m.verified}}
}

// Verified reports whether m has passed Verifier.Verify (and has not been
// re-signed since).
func Verified(m Message) bool { return m.sealed().verified }

// Clone returns a deep copy of m (through its encoding), not verified. A
// Byzantine wrapper mutates clones, never the core's own messages.
func Clone(m Message) Message {
	c, err := Decode(Encode(m))
	if err != nil {
		// m did not validate; copy what can be copied shallowly.
		return shallowClone(m)
	}
	return c
}

func shallowClone(m Message) Message {
	switch m := m.(type) {
	case *Request:
		c := *m
		return &c
	case *PrePrepare:
		c := *m
		return &c
	case *Prepare:
		c := *m
		return &c
	case *Commit:
		c := *m
		return &c
	case *Checkpoint:
		c := *m
		return &c
	case *ViewChange:
		c := *m
		return &c
	case *NewView:
		c := *m
		return &c
	case *FetchRequest:
		c := *m
		return &c
	case *FetchResponse:
		c := *m
		return &c
	}
	return m
}

// Verifier checks messages before they reach a Core: structure, sender,
// signatures, every embedded certificate entry, and CheckTx on every tx a
// message carries. It holds no mutable state and is safe for concurrent
// use, so the node runs it in a worker pool and the consensus loop never
// verifies a signature.
type Verifier struct {
	// ChainID is mixed into every signature.
	ChainID string
	// Validators are the replicas' public keys; replica i is Validators[i].
	Validators [][]byte
	// CheckTx is the ledger's stateless admission check (encoding, chain
	// id, client signature). Nil accepts every tx.
	CheckTx func(tx []byte) error
	// CheckTxs, if set, is CheckTx for the txs of one message at once (one
	// error per tx, the same verdicts), so their signatures can be checked
	// as a batch; Verify calls it only after the message's own signature
	// checked out.
	CheckTxs func(txs [][]byte) []error
}

// Verify checks m, received from the transport-authenticated replica from,
// and on success marks it verified so that Core.Step accepts it. It returns
// an error wrapping ErrInvalidMessage, ErrBadSender, ErrBadSignature,
// ErrBadCertificate or ErrRejectedTx.
func (v *Verifier) Verify(from int, m Message) error {
	n := len(v.Validators)
	if from < 0 || from >= n {
		return fmt.Errorf("%v from %d of %d replicas: %w", m.Kind(), from, n, ErrBadSender)
	}
	if err := m.Validate(); err != nil {
		return err
	}
	if m.From() != from {
		return fmt.Errorf("%v claims replica %d, sent by %d: %w", m.Kind(), m.From(), from, ErrBadSender)
	}
	if err := v.verifySig(m); err != nil {
		return err
	}
	var err error
	switch m := m.(type) {
	case *Request:
		err = v.checkTxs(KindRequest, m.Txs)
	case *PrePrepare:
		if p := Primary(m.View, n); m.Replica != p {
			return fmt.Errorf("pre-prepare view %d from %d, primary is %d: %w", m.View, m.Replica, p, ErrBadSender)
		}
		err = v.checkTxs(KindPrePrepare, m.Txs)
	case *Prepare:
		if Primary(m.View, n) == m.Replica {
			return fmt.Errorf("prepare view %d from its primary %d: %w", m.View, m.Replica, ErrBadSender)
		}
	case *ViewChange:
		err = v.verifyViewChangeCerts(m)
	case *NewView:
		err = v.verifyNewView(m)
	case *FetchResponse:
		err = v.verifyFetchResponse(m)
	}
	if err != nil {
		return err
	}
	m.sealed().verified = true
	return nil
}

func (v *Verifier) verifySig(m Message) error {
	r := m.From()
	if r < 0 || r >= len(v.Validators) {
		return fmt.Errorf("%v from replica %d of %d: %w", m.Kind(), r, len(v.Validators), ErrBadSender)
	}
	if !crypto.Verify(v.Validators[r], SignBytes(m, v.ChainID), sigOf(m)) {
		return fmt.Errorf("%v from replica %d: %w", m.Kind(), r, ErrBadSignature)
	}
	return nil
}

func sigOf(m Message) []byte {
	switch m := m.(type) {
	case *Request:
		return m.Sig
	case *PrePrepare:
		return m.Sig
	case *Prepare:
		return m.Sig
	case *Commit:
		return m.Sig
	case *Checkpoint:
		return m.Sig
	case *ViewChange:
		return m.Sig
	case *NewView:
		return m.Sig
	case *FetchRequest:
		return m.Sig
	case *FetchResponse:
		return m.Sig
	}
	return nil
}

func (v *Verifier) checkTxs(kind Kind, txs [][]byte) error {
	if v.CheckTxs != nil && len(txs) > 1 {
		for i, err := range v.CheckTxs(txs) {
			if err != nil {
				return fmt.Errorf("%v tx %d: %w: %w", kind, i, ErrRejectedTx, err)
			}
		}
		return nil
	}
	if v.CheckTx == nil {
		return nil
	}
	for i, tx := range txs {
		if err := v.CheckTx(tx); err != nil {
			return fmt.Errorf("%v tx %d: %w: %w", kind, i, ErrRejectedTx, err)
		}
	}
	return nil
}

// verifyCheckpointProof checks a stable checkpoint proof: a quorum of
// distinct replicas' valid CHECKPOINTs (Validate already checked that they
// match each other and are in ascending replica order).
func (v *Verifier) verifyCheckpointProof(cps []*Checkpoint) error {
	if len(cps) == 0 {
		return nil
	}
	if q := Quorum(len(v.Validators)); len(cps) < q {
		return fmt.Errorf("checkpoint proof has %d entries, quorum is %d: %w", len(cps), q, ErrBadCertificate)
	}
	for _, cp := range cps {
		if err := v.verifySig(cp); err != nil {
			return fmt.Errorf("checkpoint proof: %w", err)
		}
	}
	return nil
}

// verifyPreparedCert checks that c proves (View, Seq, Digest) prepared: the
// primary's pre-prepare signature and quorum-1 distinct backups' prepares.
func (v *Verifier) verifyPreparedCert(c *PreparedCert) error {
	n := len(v.Validators)
	p := Primary(c.View, n)
	if len(c.Prepares) < Quorum(n)-1 {
		return fmt.Errorf("prepared certificate seq %d view %d has %d prepares, need %d: %w",
			c.Seq, c.View, len(c.Prepares), Quorum(n)-1, ErrBadCertificate)
	}
	if !crypto.Verify(v.Validators[p], voteSignBytes(KindPrePrepare, v.ChainID, c.View, c.Seq, c.Digest, p), c.PrePrepareSig) {
		return fmt.Errorf("prepared certificate seq %d view %d: pre-prepare: %w", c.Seq, c.View, ErrBadSignature)
	}
	for _, a := range c.Prepares {
		if a.Replica >= n || a.Replica == p {
			return fmt.Errorf("prepared certificate seq %d view %d: prepare from %d: %w", c.Seq, c.View, a.Replica, ErrBadCertificate)
		}
		if !crypto.Verify(v.Validators[a.Replica], voteSignBytes(KindPrepare, v.ChainID, c.View, c.Seq, c.Digest, a.Replica), a.Sig) {
			return fmt.Errorf("prepared certificate seq %d view %d: prepare from %d: %w", c.Seq, c.View, a.Replica, ErrBadSignature)
		}
	}
	return nil
}

func (v *Verifier) verifyViewChangeCerts(m *ViewChange) error {
	if err := v.verifyCheckpointProof(m.CheckpointProof); err != nil {
		return fmt.Errorf("view-change from %d: %w", m.Replica, err)
	}
	for i := range m.Prepared {
		if err := v.verifyPreparedCert(&m.Prepared[i]); err != nil {
			return fmt.Errorf("view-change from %d: %w", m.Replica, err)
		}
	}
	return nil
}

func (v *Verifier) verifyNewView(m *NewView) error {
	n := len(v.Validators)
	if p := Primary(m.View, n); m.Replica != p {
		return fmt.Errorf("new-view %d from %d, primary is %d: %w", m.View, m.Replica, p, ErrBadSender)
	}
	if q := Quorum(n); len(m.ViewChanges) < q {
		return fmt.Errorf("new-view %d has %d view-changes, quorum is %d: %w", m.View, len(m.ViewChanges), q, ErrBadCertificate)
	}
	for _, vc := range m.ViewChanges {
		if err := v.verifySig(vc); err != nil {
			return fmt.Errorf("new-view %d: %w", m.View, err)
		}
		if err := v.verifyViewChangeCerts(vc); err != nil {
			return fmt.Errorf("new-view %d: %w", m.View, err)
		}
	}
	for _, pp := range m.PrePrepares {
		if err := v.verifySig(pp); err != nil {
			return fmt.Errorf("new-view %d: %w", m.View, err)
		}
	}
	// The re-issued pre-prepares must be exactly what the view-changes
	// imply (§4.4); checking it here keeps the work off the consensus loop.
	want, err := computeNewViewPlan(m.ViewChanges)
	if err != nil {
		return fmt.Errorf("new-view %d: %w", m.View, err)
	}
	if err := want.matches(m.PrePrepares); err != nil {
		return fmt.Errorf("new-view %d: %w", m.View, err)
	}
	return nil
}

func (v *Verifier) verifyFetchResponse(m *FetchResponse) error {
	if err := v.verifyCheckpointProof(m.Stable); err != nil {
		return fmt.Errorf("fetch-response from %d: %w", m.Replica, err)
	}
	for i := range m.Batches {
		b := &m.Batches[i]
		if err := VerifyCommitCertificate(v.ChainID, v.Validators, b.Seq, b.Txs, b.Proof); err != nil {
			return fmt.Errorf("fetch-response from %d: batch %d: %w", m.Replica, b.Seq, err)
		}
		if c, _ := decodeProof(b.Proof); c.View != b.View {
			return fmt.Errorf("fetch-response from %d: batch %d: view %d, proof view %d: %w", m.Replica, b.Seq, b.View, c.View, ErrBadCertificate)
		}
		if err := v.checkTxs(KindFetchResponse, b.Txs); err != nil {
			return err
		}
	}
	return nil
}

// VerifyCommitCertificate checks that proof (an engine.Committed.Proof of
// the PBFT engine) is a commit certificate for the batch txs at height: a
// quorum of distinct validators' valid COMMIT signatures for (view, height,
// engine.BatchDigest(txs)), view being recorded in the proof. Anyone holding
// the genesis validator set can check a block this way. It returns an error
// wrapping ErrBadCertificate or ErrBadSignature.
func VerifyCommitCertificate(chainID string, validators [][]byte, height uint64, txs [][]byte, proof []byte) error {
	c, err := decodeProof(proof)
	if err != nil {
		return err
	}
	n := len(validators)
	if q := Quorum(n); len(c.Commits) < q {
		return fmt.Errorf("commit certificate has %d commits, quorum is %d: %w", len(c.Commits), q, ErrBadCertificate)
	}
	d := engine.BatchDigest(txs)
	for i, a := range c.Commits {
		if a.Replica >= n || (i > 0 && a.Replica <= c.Commits[i-1].Replica) {
			return fmt.Errorf("commit certificate: replica %d out of range or order: %w", a.Replica, ErrBadCertificate)
		}
		if !crypto.Verify(validators[a.Replica], voteSignBytes(KindCommit, chainID, c.View, height, d, a.Replica), a.Sig) {
			return fmt.Errorf("commit certificate: commit from %d: %w", a.Replica, ErrBadSignature)
		}
	}
	return nil
}
