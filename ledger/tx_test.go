package ledger

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/bftledger/bftledger/crypto"
)

// Known-answer vectors: the key with seed 00 01 .. 1f (public key
// 03a107bf..31b8, as in many Ed25519 test suites) sends 1000 to the address
// 0x1111.. with nonce 7 on chain "kat-chain". Ed25519 is deterministic, so
// the encoding, hash and signature are fixed; a change here breaks every
// client and every stored chain.
const (
	katPublicKey = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
	katSignBytes = "01" + "00000009" + "6b61742d636861696e" + katPublicKey +
		"1111111111111111111111111111111111111111" + "00000000000003e8" + "0000000000000007"
	katSig = "b8b91bd8cb36131fb2fd613a9eb5653a36398cdca380dc94bf55a69a392f47cb" +
		"985d9ecb2b677f97c3d288ef3a702ea36640d23756b5579f681b9f6c1ff5b00b"
	katHash = "6fdb688d11adf51901aaf5f58963855cf651f7956023af55884b00576d94d85d"
)

func katKey(t testing.TB) *crypto.Ed25519Signer {
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = byte(i)
	}
	s, err := crypto.Ed25519FromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func katTx(t testing.TB) *Tx {
	var to crypto.Address
	for i := range to {
		to[i] = 0x11
	}
	return NewTransfer(katKey(t), "kat-chain", to, 1000, 7)
}

func TestTxKnownAnswer(t *testing.T) {
	tx := katTx(t)
	if got := hex.EncodeToString(tx.From); got != katPublicKey {
		t.Fatalf("public key %s, want %s", got, katPublicKey)
	}
	if got := hex.EncodeToString(tx.SignBytes()); got != katSignBytes {
		t.Fatalf("sign bytes\n got %s\nwant %s", got, katSignBytes)
	}
	if got := hex.EncodeToString(tx.Sig); got != katSig {
		t.Fatalf("signature\n got %s\nwant %s", got, katSig)
	}
	if got := hex.EncodeToString(tx.Encode()); got != katSignBytes+katSig {
		t.Fatalf("encoding\n got %s\nwant %s", got, katSignBytes+katSig)
	}
	if got := tx.Hash().String(); got != katHash {
		t.Fatalf("hash %s, want %s", got, katHash)
	}
	// The signature covers the domain and chain id, checked independently
	// of Tx's own helpers.
	sb, _ := hex.DecodeString(katSignBytes)
	sig, _ := hex.DecodeString(katSig)
	msg := append([]byte{0, 0, 0, byte(len(TxDomain))}, TxDomain...)
	msg = append(msg, 0, 0, 0, 9)
	msg = append(msg, "kat-chain"...)
	msg = append(msg, sb...)
	if !crypto.Verify(tx.From, msg, sig) {
		t.Fatal("signature does not verify over domain || chain id || sign bytes")
	}
}

func TestTxRoundTrip(t *testing.T) {
	tx := katTx(t)
	b := tx.Encode()
	got, err := DecodeTx(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Encode(), b) || got.Hash() != tx.Hash() || got.Hash() != TxHash(b) {
		t.Fatal("round trip changed the tx")
	}
	if got.Sender() != katKey(t).Address() {
		t.Fatal("wrong sender")
	}
	if !got.VerifySignature() {
		t.Fatal("signature does not verify")
	}
	// The decoded tx must not alias its input.
	b[len(b)-1] ^= 0xff
	if !got.VerifySignature() {
		t.Fatal("decoded tx aliases its input")
	}
}

func TestDecodeTxStrict(t *testing.T) {
	good := katTx(t).Encode()
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrBadEncoding},
		{"version 0", mutate(func(b []byte) []byte { b[0] = 0; return b }), ErrBadEncoding},
		{"version 2", mutate(func(b []byte) []byte { b[0] = 2; return b }), ErrBadEncoding},
		{"truncated", good[:len(good)-1], ErrBadEncoding},
		{"trailing", append(bytes.Clone(good), 0), ErrBadEncoding},
		{"chain id length past end", mutate(func(b []byte) []byte { b[4] = 0xff; return b }), ErrBadEncoding},
		{"chain id too long", mutate(func(b []byte) []byte { b[3] = 0; b[2] = 1; return b }), ErrBadEncoding},
		{"oversize", make([]byte, TxBytesMax+1), ErrTooLarge},
	}
	for _, tc := range cases {
		if _, err := DecodeTx(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestCheckTx(t *testing.T) {
	k := katKey(t)
	to := testKey(t, 1).Address()
	good := NewTransfer(k, testChain, to, 5, 0)
	forged := NewTransfer(k, testChain, to, 5, 0)
	forged.Amount = 6 // signature was over 5
	otherKey := NewTransfer(k, testChain, to, 5, 0)
	otherKey.From = testKey(t, 2).PublicKey()
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"valid", good.Encode(), nil},
		{"too large", make([]byte, TxBytesMax+1), ErrTooLarge},
		{"garbage", []byte{1, 2, 3}, ErrBadEncoding},
		{"wrong chain", NewTransfer(k, "other-chain", to, 5, 0).Encode(), ErrWrongChain},
		{"zero amount", NewTransfer(k, testChain, to, 0, 0).Encode(), ErrBadAmount},
		{"altered amount", forged.Encode(), ErrBadSignature},
		{"other sender", otherKey.Encode(), ErrBadSignature},
		{"signed for another chain", func() []byte {
			tx := NewTransfer(k, "other-chain", to, 5, 0)
			tx.ChainID = testChain
			return tx.Encode()
		}(), ErrBadSignature},
	}
	for _, tc := range cases {
		tx, err := CheckTx(testChain, tc.b)
		if !errors.Is(err, tc.want) || (err == nil) != (tx != nil) {
			t.Errorf("%s: tx %v err %v, want %v", tc.name, tx != nil, err, tc.want)
		}
	}
	// CheckTxs gives every tx the verdict CheckTx gives it, in a batch
	// with valid ones around the bad ones, and in a batch of valid ones.
	var bs [][]byte
	for i, tc := range cases {
		bs = append(bs, tc.b, NewTransfer(k, testChain, to, 1, uint64(i+1)).Encode())
	}
	for _, batch := range [][][]byte{bs, {bs[1], bs[3], bs[5]}} {
		txs, errs := CheckTxs(testChain, batch)
		for i, b := range batch {
			want, werr := CheckTx(testChain, b)
			if (errs[i] == nil) != (werr == nil) || (werr != nil && errs[i].Error() != werr.Error()) ||
				(txs[i] == nil) != (want == nil) || (want != nil && txs[i].Hash() != want.Hash()) {
				t.Errorf("CheckTxs #%d: tx %v err %v; CheckTx: tx %v err %v", i, txs[i] != nil, errs[i], want != nil, werr)
			}
		}
	}
}
