package client

import (
	"encoding/json"
	"testing"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/ledger"
)

// fuzzClient is a PBFT client over four deterministic validator keys.
func fuzzClient(t testing.TB) *Client {
	var keys [][]byte
	for i := range 4 {
		keys = append(keys, testSigner(t, i).PublicKey())
	}
	c, err := New([]string{"http://127.0.0.1:1"}, Options{ChainID: testChain, Mode: "pbft", Validators: keys})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FuzzSignedReceipt feeds arbitrary node answers to GET /v1/txs/{hash}
// through decoding and verification: nothing may panic, and nothing
// without a genuine signature may verify.
func FuzzSignedReceipt(f *testing.F) {
	s := testSigner(f, 1)
	r := ledger.Receipt{TxHash: crypto.Sum([]byte("tx")), Height: 3, Index: 1, Code: 0}
	good, _ := json.Marshal(SignedReceipt{Receipt: r, Validator: 1, PublicKey: s.PublicKey(), Signature: s.Sign(ledger.ReceiptSignBytes(testChain, &r))})
	f.Add(good)
	f.Add([]byte(`{"receipt":{"tx_hash":"00","height":1},"validator":-1,"public_key":"","signature":"zz"}`))
	f.Add([]byte(`{"validator":99999999999999999999}`))
	c := fuzzClient(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var sr SignedReceipt
		if decodeJSON(b, &sr) != nil {
			return
		}
		if err := c.VerifyReceipt(r.TxHash, &sr); err == nil {
			// Only a receipt signed by validator 1's key can verify here.
			if sr.Validator != 1 || sr.Receipt != r {
				t.Fatalf("forged receipt verified: %+v", sr)
			}
		}
	})
}

// FuzzBlock feeds arbitrary answers to GET /v1/blocks/{height} through
// decoding and verification.
func FuzzBlock(f *testing.F) {
	tx := ledger.NewTransfer(testSigner(f, 9), testChain, testSigner(f, 8).Address(), 1, 0).Encode()
	b := ledger.Block{Height: 1, TxRoot: ledger.TxRoot([][]byte{tx}), Txs: [][]byte{tx}}
	good, _ := json.Marshal(Block{Height: 1, Hash: b.Hash(), TxRoot: b.TxRoot, Txs: []HexBytes{tx}, TxHashes: []crypto.Hash{ledger.TxHash(tx)}, Proof: []byte{1, 2, 3}})
	f.Add(good)
	f.Add([]byte(`{"height":1,"txs":["00"],"tx_hashes":[]}`))
	c := fuzzClient(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var blk Block
		if decodeJSON(data, &blk) != nil {
			return
		}
		if err := c.VerifyBlock(&blk); err == nil || blk.Certified {
			// No fuzz input carries 2f+1 genuine COMMIT signatures.
			t.Fatalf("block verified without a certificate: %+v", blk)
		}
	})
}
