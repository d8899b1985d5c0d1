package client

import (
	"context"
	"testing"
	"time"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/ledger"
)

// BenchmarkVerifyReceipt is the client's cost per signed receipt: one
// Ed25519 verification over the receipt's sign bytes.
func BenchmarkVerifyReceipt(b *testing.B) {
	c := fuzzClient(b)
	s := testSigner(b, 2)
	r := ledger.Receipt{TxHash: crypto.Sum([]byte("tx")), Height: 3, Index: 1}
	sr := SignedReceipt{Receipt: r, Validator: 2, PublicKey: s.PublicKey(), Signature: s.Sign(ledger.ReceiptSignBytes(testChain, &r))}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.VerifyReceipt(r.TxHash, &sr); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWaitReceipts gathers f+1 = 2 matching receipts from four
// in-process HTTP nodes that already hold them: the client-side overhead
// of one acknowledged transfer, network and JSON included.
func BenchmarkWaitReceipts(b *testing.B) {
	fn := newFakeNetB(b, 4)
	h := crypto.Sum([]byte("tx"))
	for _, n := range fn.nodes {
		n.commit(ledger.Receipt{TxHash: h, Height: 1})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fn.c.WaitReceipts(ctx, h, 0); err != nil {
			b.Fatal(err)
		}
	}
}
