package ledger

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func testBlock(t *testing.T) *Block {
	txs := [][]byte{katTx(t).Encode(), []byte("junk kept as ordered")}
	return &Block{
		Height:   9,
		PrevHash: TxHash([]byte("prev")),
		TxRoot:   TxRoot(txs),
		AppHash:  TxHash([]byte("app")),
		Proposer: 3,
		Round:    4,
		Txs:      txs,
		Proof:    []byte("proof"),
	}
}

func TestBlockRoundTrip(t *testing.T) {
	for _, b := range []*Block{testBlock(t), {TxRoot: TxRoot(nil)}} {
		enc := b.Encode()
		got, err := DecodeBlock(enc)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, b) || got.Hash() != b.Hash() {
			t.Fatalf("round trip: %+v != %+v", got, b)
		}
	}
}

func TestBlockHashCoversAgreedFields(t *testing.T) {
	base := testBlock(t)
	h := base.Hash()
	for name, f := range map[string]func(b *Block){
		"proof":    func(b *Block) { b.Proof = []byte("another valid proof") },
		"proposer": func(b *Block) { b.Proposer++ },
		"round":    func(b *Block) { b.Round++ },
	} {
		c := *base
		f(&c)
		if c.Hash() != h {
			t.Errorf("hash covers the %s", name)
		}
	}
	for name, f := range map[string]func(b *Block){
		"height":    func(b *Block) { b.Height++ },
		"prev hash": func(b *Block) { b.PrevHash[0] ^= 1 },
		"tx root":   func(b *Block) { b.TxRoot[0] ^= 1 },
		"app hash":  func(b *Block) { b.AppHash[0] ^= 1 },
		"tx count":  func(b *Block) { b.Txs = b.Txs[:1] },
	} {
		c := *base
		f(&c)
		if c.Hash() == h {
			t.Errorf("hash ignores %s", name)
		}
	}
}

func TestDecodeBlockStrict(t *testing.T) {
	good := testBlock(t).Encode()
	badRoot := testBlock(t)
	badRoot.TxRoot[0] ^= 1
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrBadEncoding},
		{"version", append([]byte{2}, good[1:]...), ErrBadEncoding},
		{"trailing", append(bytes.Clone(good), 0), ErrBadEncoding},
		{"truncated", good[:len(good)-1], ErrBadEncoding},
		{"tx root mismatch", badRoot.Encode(), ErrBadEncoding},
		{"huge tx count", func() []byte {
			b := bytes.Clone(good[:blockHeaderBytes])
			copy(b[blockHeaderBytes-4:], []byte{0xff, 0xff, 0xff, 0xff})
			return b
		}(), ErrBadEncoding},
		{"oversize", make([]byte, BlockBytesMax+1), ErrTooLarge},
	}
	for _, tc := range cases {
		if _, err := DecodeBlock(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestReceiptEncoding(t *testing.T) {
	r := &Receipt{TxHash: TxHash([]byte("x")), Height: 5, Index: 2, Code: CodeBadNonce, Message: "nonce 3, want 1"}
	got, err := DecodeReceipt(r.Encode())
	if err != nil || *got != *r {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	if _, err := DecodeReceipt(append(r.Encode(), 0)); !errors.Is(err, ErrBadEncoding) {
		t.Fatalf("trailing byte: %v", err)
	}
	sb := ReceiptSignBytes("c", r)
	if !bytes.HasSuffix(sb, r.Encode()) || !bytes.Contains(sb, []byte(ReceiptDomain)) {
		t.Fatal("sign bytes do not carry domain and receipt")
	}
	if bytes.Equal(sb, ReceiptSignBytes("d", r)) {
		t.Fatal("sign bytes ignore the chain id")
	}
	for c := CodeOK; c <= CodeOverflow; c++ {
		if CodeName(c) == "unknown" {
			t.Errorf("code %d has no name", c)
		}
	}
}
