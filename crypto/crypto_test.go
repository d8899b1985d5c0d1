package crypto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

// RFC 8032 section 7.1, TEST 2: a one-byte message.
const (
	rfc8032Seed = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
	rfc8032Pub  = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
	rfc8032Msg  = "72"
	rfc8032Sig  = "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da" +
		"085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEd25519RFC8032(t *testing.T) {
	s, err := Ed25519FromSeed(unhex(t, rfc8032Seed))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(s.PublicKey()); got != rfc8032Pub {
		t.Fatalf("public key %s", got)
	}
	sig := s.Sign(unhex(t, rfc8032Msg))
	if got := hex.EncodeToString(sig); got != rfc8032Sig {
		t.Fatalf("signature %s", got)
	}
	if !Verify(s.PublicKey(), unhex(t, rfc8032Msg), sig) {
		t.Fatal("valid signature refused")
	}
	if Verify(s.PublicKey(), []byte{0x73}, sig) {
		t.Fatal("signature over another message accepted")
	}
	if !bytes.Equal(s.Seed(), unhex(t, rfc8032Seed)) || len(s.PrivateKey()) != PrivateKeySize {
		t.Fatal("seed or private key wrong")
	}
}

func TestVerifyNeverPanics(t *testing.T) {
	for _, c := range []struct{ pub, sig []byte }{
		{nil, nil}, {make([]byte, 31), make([]byte, 64)}, {make([]byte, 32), make([]byte, 63)},
		{bytes.Repeat([]byte{0xff}, 32), make([]byte, 64)},
	} {
		if Verify(c.pub, []byte("m"), c.sig) {
			t.Fatal("accepted a malformed signature")
		}
	}
}

func TestSignDomainSeparation(t *testing.T) {
	s, _ := Ed25519FromSeed(make([]byte, SeedSize))
	sig := SignDomain(s, "dom/a", "chain", []byte("msg"))
	if !VerifyDomain(s.PublicKey(), "dom/a", "chain", []byte("msg"), sig) {
		t.Fatal("valid domain signature refused")
	}
	for _, c := range [][3]string{{"dom/b", "chain", "msg"}, {"dom/a", "chain2", "msg"}, {"dom/a", "chain", "msh"}} {
		if VerifyDomain(s.PublicKey(), c[0], c[1], []byte(c[2]), sig) {
			t.Fatalf("signature accepted under %v", c)
		}
	}
	// Length prefixes keep (domain, chain) boundaries unambiguous.
	if bytes.Equal(SignBytes("ab", "c", nil), SignBytes("a", "bc", nil)) {
		t.Fatal("sign bytes ambiguous")
	}
	want := "00000001" + "61" + "00000002" + "6263" + "6d"
	if got := hex.EncodeToString(SignBytes("a", "bc", []byte("m"))); got != want {
		t.Fatalf("sign bytes %s, want %s", got, want)
	}
}

func TestAddresses(t *testing.T) {
	pub := unhex(t, rfc8032Pub)
	a := AddressOf(pub)
	// First 20 bytes of SHA-256(public key).
	h := Sum(pub)
	if !bytes.Equal(a[:], h[:AddressSize]) {
		t.Fatal("address is not the hash prefix")
	}
	for _, s := range []string{a.String(), "0x" + a.String(), "0X" + a.String()} {
		got, err := ParseAddress(s)
		if err != nil || got != a {
			t.Fatalf("ParseAddress(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "0x", "zz", a.String()[:38], a.String() + "00"} {
		if _, err := ParseAddress(s); !errors.Is(err, ErrBadAddress) {
			t.Fatalf("ParseAddress(%q) err %v", s, err)
		}
	}
	var back Address
	txt, _ := a.MarshalText()
	if err := back.UnmarshalText(txt); err != nil || back != a {
		t.Fatal("text round trip")
	}
	hh, err := ParseHash(h.String())
	if err != nil || hh != h || h.IsZero() || !(Hash{}).IsZero() {
		t.Fatal("hash parse")
	}
	if _, err := ParseHash("abc"); err == nil {
		t.Fatal("short hash accepted")
	}
}

func TestGenerate(t *testing.T) {
	if _, err := Ed25519FromSeed(make([]byte, 31)); !errors.Is(err, ErrBadPrivateKey) {
		t.Fatalf("short seed: %v", err)
	}
	s, err := GenerateEd25519(bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	if !Verify(s.PublicKey(), []byte("x"), s.Sign([]byte("x"))) {
		t.Fatal("generated key cannot sign")
	}
	if _, err := GenerateEd25519(bytes.NewReader(nil)); err == nil {
		t.Fatal("generate from an empty reader succeeded")
	}
}

// A batch gives, per signature, the same verdict as Verify: valid ones,
// corrupted ones, and inputs of the wrong length.
func TestBatchAgreesWithVerify(t *testing.T) {
	var pubs, msgs, sigs [][]byte
	for i := range 40 {
		s, err := Ed25519FromSeed(bytes.Repeat([]byte{byte(i + 1)}, SeedSize))
		if err != nil {
			t.Fatal(err)
		}
		msg := []byte{'m', byte(i)}
		pubs, msgs, sigs = append(pubs, s.PublicKey()), append(msgs, msg), append(sigs, s.Sign(msg))
	}
	for _, all := range []bool{true, false} {
		b := NewBatch(len(pubs))
		want := make([]bool, len(pubs))
		for i := range pubs {
			pub, msg, sig := pubs[i], msgs[i], sigs[i]
			if !all {
				switch i % 5 {
				case 1:
					sig = append([]byte(nil), sig...)
					sig[3] ^= 1
				case 2:
					msg = []byte("another message")
				case 3:
					pub = pub[:31]
				case 4:
					sig = append(sig, 0)
				}
			}
			want[i] = Verify(pub, msg, sig)
			b.Add(pub, msg, sig)
		}
		if b.Len() != len(pubs) {
			t.Fatalf("Len %d", b.Len())
		}
		gotAll, valid := b.Verify()
		if gotAll != all {
			t.Fatalf("all valid = %v, want %v", gotAll, all)
		}
		for i := range want {
			if valid[i] != want[i] || (all && !valid[i]) {
				t.Fatalf("all=%v: signature %d: batch says %v, Verify says %v", all, i, valid[i], want[i])
			}
		}
	}
	if all, valid := NewBatch(0).Verify(); !all || len(valid) != 0 {
		t.Fatal("empty batch")
	}
}

func BenchmarkVerify(b *testing.B) {
	s, _ := Ed25519FromSeed(bytes.Repeat([]byte{1}, SeedSize))
	msg := make([]byte, 200)
	sig := s.Sign(msg)
	for b.Loop() {
		if !Verify(s.PublicKey(), msg, sig) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkBatch64(b *testing.B) {
	const n = 64
	var pubs, sigs [][]byte
	msg := make([]byte, 200)
	for i := range n {
		s, _ := Ed25519FromSeed(bytes.Repeat([]byte{byte(i + 1)}, SeedSize))
		pubs, sigs = append(pubs, s.PublicKey()), append(sigs, s.Sign(msg))
	}
	for b.Loop() {
		batch := NewBatch(n)
		for i := range n {
			batch.Add(pubs[i], msg, sigs[i])
		}
		if all, _ := batch.Verify(); !all {
			b.Fatal("invalid")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sig")
}
