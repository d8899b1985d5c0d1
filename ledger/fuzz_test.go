package ledger

import (
	"bytes"
	"testing"
)

// The fuzz targets check that decoders never panic, and that whatever they
// accept re-encodes to exactly the input (the encoding is canonical).

func FuzzDecodeTx(f *testing.F) {
	tx := katTx(f)
	f.Add(tx.Encode())
	f.Add(tx.SignBytes())
	f.Add([]byte{TxVersion})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := CheckTx("kat-chain", b); err == nil {
			if _, err := DecodeTx(b); err != nil {
				t.Fatal("CheckTx accepted what DecodeTx refuses")
			}
		}
		tx, err := DecodeTx(b)
		if err != nil {
			return
		}
		if !bytes.Equal(tx.Encode(), b) {
			t.Fatalf("not canonical: %x re-encodes as %x", b, tx.Encode())
		}
		if tx.Hash() != TxHash(b) {
			t.Fatal("hash differs from TxHash of the input")
		}
	})
}

func FuzzDecodeBlock(f *testing.F) {
	blk := &Block{Height: 3, Proposer: 1, Round: 2, Txs: [][]byte{katTx(f).Encode(), {1, 2}}, Proof: []byte("p")}
	blk.TxRoot = TxRoot(blk.Txs)
	f.Add(blk.Encode())
	empty := &Block{TxRoot: TxRoot(nil)}
	f.Add(empty.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		blk, err := DecodeBlock(b)
		if err != nil {
			return
		}
		if !bytes.Equal(blk.Encode(), b) {
			t.Fatal("not canonical")
		}
		if TxRoot(blk.Txs) != blk.TxRoot {
			t.Fatal("accepted a block whose tx root does not match")
		}
	})
}

func FuzzDecodeReceipt(f *testing.F) {
	f.Add((&Receipt{Height: 1, Code: CodeBadNonce, Message: "nonce 1, want 0"}).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeReceipt(b)
		if err != nil {
			return
		}
		if !bytes.Equal(r.Encode(), b) {
			t.Fatal("not canonical")
		}
	})
}

func FuzzDecodeSnapshot(f *testing.F) {
	g := testGenesis(f, 3, 100)
	s := newMemStore(f, g)
	_, _, data, err := s.Snapshot()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	someBlocks(f, s, 1)
	_, _, data, _ = s.Snapshot()
	f.Add(data)
	f.Fuzz(func(t *testing.T, b []byte) {
		sd, err := DecodeSnapshot(b)
		if err != nil {
			return
		}
		if !bytes.Equal(sd.Encode(), b) {
			t.Fatal("not canonical")
		}
	})
}

func FuzzParseGenesis(f *testing.F) {
	g := testGenesis(f, 2, 10)
	b, _ := g.Encode()
	f.Add(b)
	f.Add([]byte(`{"chain_id":"c","consensus":"raft","validators":[{"name":"n","public_key":"` +
		g.Validators[0].PublicKey + `","p2p_addr":"/ip4/1.2.3.4/tcp/1","api_addr":"http://h:1"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := ParseGenesis(b)
		if err != nil {
			return
		}
		enc, err := g.Encode()
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseGenesis(enc)
		if err != nil {
			t.Fatalf("re-encoded genesis refused: %v", err)
		}
		if again.Hash() != g.Hash() {
			t.Fatal("re-encoding changed the hash")
		}
	})
}
