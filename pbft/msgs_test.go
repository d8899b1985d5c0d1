package pbft

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/internal/wire"
)

const testChain = "test-chain"

func testKeys(t testing.TB, n int) ([]crypto.Signer, [][]byte) {
	t.Helper()
	signers := make([]crypto.Signer, n)
	vals := make([][]byte, n)
	for i := range n {
		seed := sha256.Sum256([]byte(fmt.Sprintf("pbft test key %d", i)))
		s, err := crypto.Ed25519FromSeed(seed[:])
		if err != nil {
			t.Fatal(err)
		}
		signers[i], vals[i] = s, s.PublicKey()
	}
	return signers, vals
}

func signed[M Message](m M, s crypto.Signer) M {
	Sign(m, testChain, s)
	return m
}

// sampleMessages returns one valid, signed message of every kind for n=4.
func sampleMessages(t testing.TB) []Message {
	signers, _ := testKeys(t, 4)
	txs := [][]byte{[]byte("tx-a"), []byte("tx-b")}
	d := engine.BatchDigest(txs)
	cp := func(r int) *Checkpoint {
		return signed(&Checkpoint{Seq: 4, AppHash: []byte("app-hash-4"), Replica: r}, signers[r])
	}
	cert := PreparedCert{View: 0, Seq: 5, Digest: d,
		PrePrepareSig: signers[0].Sign(voteSignBytes(KindPrePrepare, testChain, 0, 5, d, 0))}
	for r := 1; r <= 2; r++ {
		cert.Prepares = append(cert.Prepares, Attestation{Replica: r, Sig: signers[r].Sign(voteSignBytes(KindPrepare, testChain, 0, 5, d, r))})
	}
	vc := func(r int) *ViewChange {
		return signed(&ViewChange{NewView: 1, StableSeq: 4, CheckpointProof: []*Checkpoint{cp(0), cp(1), cp(2)},
			Prepared: []PreparedCert{cert}, Replica: r}, signers[r])
	}
	nv := &NewView{View: 1, ViewChanges: []*ViewChange{vc(0), vc(2), vc(3)}, Replica: 1}
	nv.PrePrepares = []*PrePrepare{signed(&PrePrepare{View: 1, Seq: 5, Digest: d, Replica: 1}, signers[1])}
	Sign(nv, testChain, signers[1])
	var commits []Attestation
	for r := 0; r < 3; r++ {
		commits = append(commits, Attestation{Replica: r, Sig: signers[r].Sign(voteSignBytes(KindCommit, testChain, 0, 5, d, r))})
	}
	proof := encodeProof(commitCert{View: 0, Commits: commits})
	return []Message{
		signed(&Request{Txs: [][]byte{[]byte("tx-a")}, Replica: 2}, signers[2]),
		signed(&PrePrepare{View: 0, Seq: 5, Digest: d, Txs: txs, Replica: 0}, signers[0]),
		signed(&PrePrepare{View: 4, Seq: 6, Digest: NullDigest, Replica: 0}, signers[0]),
		signed(&Prepare{View: 0, Seq: 5, Digest: d, Replica: 1}, signers[1]),
		signed(&Commit{View: 0, Seq: 5, Digest: d, Replica: 3}, signers[3]),
		cp(3),
		vc(3),
		nv,
		signed(&FetchRequest{Low: 5, High: 9, Replica: 3}, signers[3]),
		signed(&FetchResponse{Stable: []*Checkpoint{cp(0), cp(1), cp(2)},
			Batches: []FetchedBatch{{Seq: 5, View: 0, Txs: txs, Proof: proof}}, Replica: 0}, signers[0]),
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, m := range sampleMessages(t) {
		t.Run(m.Kind().String(), func(t *testing.T) {
			b := Encode(m)
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !bytes.Equal(Encode(got), b) {
				t.Fatal("re-encoding differs")
			}
			m.sealed().verified = false
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("decoded %+v, want %+v", got, m)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	good := Encode(sampleMessages(t)[3]) // a prepare
	cases := map[string][]byte{
		"empty":         nil,
		"one byte":      {codecVersion},
		"bad version":   append([]byte{9}, good[1:]...),
		"unknown kind":  append([]byte{codecVersion, 77}, good[2:]...),
		"trailing byte": append(append([]byte(nil), good...), 0),
		"truncated":     good[:len(good)-1],
		"too large":     make([]byte, MessageBytesMax+1),
	}
	// A pre-prepare whose batch flag is set but holds no txs is not canonical.
	e := wire.NewEncoder(0)
	e.Uint8(codecVersion)
	e.Uint8(uint8(KindPrePrepare))
	encodeVote(e, 0, 1, NullDigest, 0)
	e.Bool(true)
	e.Count(0)
	e.VarBytes(make([]byte, crypto.SignatureSize))
	cases["empty batch flag"] = e.Bytes()
	// A list count larger than the input can hold is refused before allocating.
	e = wire.NewEncoder(0)
	e.Uint8(codecVersion)
	e.Uint8(uint8(KindFetchResponse))
	e.Count(0)
	e.Uint32(FetchBatchesMax)
	cases["huge count"] = e.Bytes()
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode(b); !errors.Is(err, ErrDecode) {
				t.Fatalf("Decode = %v, want ErrDecode", err)
			}
		})
	}
}

func TestDecodeDoesNotAliasInput(t *testing.T) {
	b := Encode(sampleMessages(t)[1])
	m, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	clear(b)
	if string(m.(*PrePrepare).Txs[0]) != "tx-a" {
		t.Fatal("decoded message aliases the frame")
	}
}

func TestVerify(t *testing.T) {
	signers, vals := testKeys(t, 4)
	v := &Verifier{ChainID: testChain, Validators: vals}
	for _, m := range sampleMessages(t) {
		t.Run(m.Kind().String(), func(t *testing.T) {
			m, _ := Decode(Encode(m))
			if Verified(m) {
				t.Fatal("decoded message is verified")
			}
			if err := v.Verify(m.From(), m); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !Verified(m) {
				t.Fatal("not marked verified")
			}
			// Another sender than the one it claims.
			other, _ := Decode(Encode(m))
			if err := v.Verify((m.From()+1)%4, other); !errors.Is(err, ErrBadSender) {
				t.Fatalf("forged sender: %v", err)
			}
			// Signed by the wrong key.
			Sign(other, testChain, signers[(m.From()+1)%4])
			if err := v.Verify(m.From(), other); !errors.Is(err, ErrBadSignature) || Verified(other) {
				t.Fatalf("wrong key: %v", err)
			}
			// Signed for another chain.
			Sign(other, "other-chain", signers[m.From()])
			if err := v.Verify(m.From(), other); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("other chain: %v", err)
			}
		})
	}
}

func TestVerifyRejectsBadCertificates(t *testing.T) {
	signers, vals := testKeys(t, 4)
	v := &Verifier{ChainID: testChain, Validators: vals}
	msgs := sampleMessages(t)
	vcOf := func() *ViewChange { m, _ := Decode(Encode(msgs[6])); return m.(*ViewChange) }
	cases := map[string]func(vc *ViewChange){
		"too few prepares":      func(vc *ViewChange) { vc.Prepared[0].Prepares = vc.Prepared[0].Prepares[:1] },
		"prepare from primary":  func(vc *ViewChange) { vc.Prepared[0].Prepares[0].Replica = 0 },
		"forged prepare":        func(vc *ViewChange) { vc.Prepared[0].Prepares[1].Sig = vc.Prepared[0].Prepares[0].Sig },
		"altered digest":        func(vc *ViewChange) { vc.Prepared[0].Digest[0] ^= 1 },
		"short checkpoint cert": func(vc *ViewChange) { vc.CheckpointProof = vc.CheckpointProof[:2] },
		"forged checkpoint": func(vc *ViewChange) {
			vc.CheckpointProof[1].AppHash = []byte("app-hash-4")
			vc.CheckpointProof[1].Sig = vc.CheckpointProof[0].Sig
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			vc := vcOf()
			mutate(vc)
			Sign(vc, testChain, signers[vc.Replica])
			if err := v.Verify(vc.Replica, vc); err == nil {
				t.Fatal("Verify accepted a bad certificate")
			}
		})
	}
	t.Run("new-view with altered pre-prepares", func(t *testing.T) {
		m, _ := Decode(Encode(msgs[7]))
		nv := m.(*NewView)
		nv.PrePrepares[0] = signed(&PrePrepare{View: 1, Seq: 5, Digest: NullDigest, Replica: 1}, signers[1])
		Sign(nv, testChain, signers[1])
		if err := v.Verify(1, nv); !errors.Is(err, ErrBadCertificate) {
			t.Fatalf("Verify = %v, want ErrBadCertificate", err)
		}
	})
	t.Run("pre-prepare not from primary", func(t *testing.T) {
		pp := signed(&PrePrepare{View: 1, Seq: 1, Digest: NullDigest, Replica: 0}, signers[0])
		if err := v.Verify(0, pp); !errors.Is(err, ErrBadSender) {
			t.Fatalf("Verify = %v, want ErrBadSender", err)
		}
	})
	t.Run("CheckTx refuses", func(t *testing.T) {
		v := &Verifier{ChainID: testChain, Validators: vals, CheckTx: func([]byte) error { return errors.New("no") }}
		m, _ := Decode(Encode(msgs[1]))
		if err := v.Verify(0, m); !errors.Is(err, ErrRejectedTx) {
			t.Fatalf("Verify = %v, want ErrRejectedTx", err)
		}
	})
	t.Run("CheckTxs checks a message's txs together, after its signature", func(t *testing.T) {
		calls := 0
		v := &Verifier{ChainID: testChain, Validators: vals,
			CheckTx: func([]byte) error { t.Error("CheckTx used for a batch"); return nil },
			CheckTxs: func(txs [][]byte) []error {
				calls++
				errs := make([]error, len(txs))
				for i, tx := range txs {
					if string(tx) == "bad" {
						errs[i] = errors.New("no")
					}
				}
				return errs
			}}
		txs := [][]byte{[]byte("a"), []byte("bad"), []byte("c")}
		req := signed(&Request{Txs: txs, Replica: 2}, signers[2])
		if err := v.Verify(2, Clone(req)); !errors.Is(err, ErrRejectedTx) || !strings.Contains(err.Error(), "tx 1") {
			t.Fatalf("Verify = %v, want ErrRejectedTx for tx 1", err)
		}
		forged := Clone(req)
		forged.(*Request).Sig[0] ^= 1
		if err := v.Verify(2, forged); !errors.Is(err, ErrBadSignature) || calls != 1 {
			t.Fatalf("Verify = %v after %d CheckTxs calls, want ErrBadSignature before any tx check", err, calls)
		}
		good := signed(&Request{Txs: [][]byte{[]byte("a"), []byte("c")}, Replica: 2}, signers[2])
		if err := v.Verify(2, Clone(good)); err != nil || calls != 2 {
			t.Fatalf("Verify = %v after %d CheckTxs calls", err, calls)
		}
	})
}

func TestVerifyCommitCertificate(t *testing.T) {
	_, vals := testKeys(t, 4)
	fr := sampleMessages(t)[9].(*FetchResponse)
	b := fr.Batches[0]
	if err := VerifyCommitCertificate(testChain, vals, b.Seq, b.Txs, b.Proof); err != nil {
		t.Fatal(err)
	}
	if err := VerifyCommitCertificate(testChain, vals, b.Seq+1, b.Txs, b.Proof); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("other height: %v", err)
	}
	if err := VerifyCommitCertificate(testChain, vals, b.Seq, b.Txs[:1], b.Proof); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("other txs: %v", err)
	}
	c, _ := decodeProof(b.Proof)
	c.Commits = c.Commits[:2]
	if err := VerifyCommitCertificate(testChain, vals, b.Seq, b.Txs, encodeProof(c)); !errors.Is(err, ErrBadCertificate) {
		t.Fatalf("short certificate: %v", err)
	}
	c, _ = decodeProof(b.Proof)
	c.Commits[1] = c.Commits[0]
	if err := VerifyCommitCertificate(testChain, vals, b.Seq, b.Txs, encodeProof(c)); !errors.Is(err, ErrBadCertificate) {
		t.Fatalf("duplicate signer: %v", err)
	}
	if err := VerifyCommitCertificate(testChain, vals, b.Seq, b.Txs, append(b.Proof, 0)); !errors.Is(err, ErrBadCertificate) {
		t.Fatalf("trailing byte: %v", err)
	}
}

func TestQuorumSizes(t *testing.T) {
	// f = (n-1)/3; quorum = ceil((n+f+1)/2): any two quorums share f+1.
	cases := []struct{ n, f, q int }{
		{1, 0, 1}, {2, 0, 2}, {3, 0, 2}, {4, 1, 3}, {5, 1, 4}, {6, 1, 4},
		{7, 2, 5}, {8, 2, 6}, {9, 2, 6}, {10, 3, 7}, {13, 4, 9}, {31, 10, 21}, {32, 10, 22},
	}
	for _, c := range cases {
		if f, q := MaxFaulty(c.n), Quorum(c.n); f != c.f || q != c.q {
			t.Errorf("n=%d: f=%d q=%d, want f=%d q=%d", c.n, f, q, c.f, c.q)
		}
		if 2*Quorum(c.n)-c.n < MaxFaulty(c.n)+1 {
			t.Errorf("n=%d: quorums intersect in fewer than f+1", c.n)
		}
		if Quorum(c.n) > c.n-MaxFaulty(c.n) {
			t.Errorf("n=%d: quorum not reachable with f silent", c.n)
		}
	}
}

func TestFuzzSeedsDecode(t *testing.T) {
	for _, m := range sampleMessages(t) {
		if _, err := Decode(Encode(m)); err != nil {
			t.Fatal(err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, m := range sampleMessages(f) {
		f.Add(Encode(m))
	}
	_, vals := testKeys(f, 4)
	v := &Verifier{ChainID: testChain, Validators: vals}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to the same bytes (one encoding per value).
		if !bytes.Equal(Encode(m), b) {
			t.Fatalf("non-canonical encoding accepted: %x", b)
		}
		// Verification never panics, whatever it is given.
		for from := -1; from <= 4; from++ {
			_ = v.Verify(from, m)
		}
	})
}
