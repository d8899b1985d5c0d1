package bench

import (
	"strings"
	"testing"
)

const testHash = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

func TestDecodeReceipt(t *testing.T) {
	pub := strings.Repeat("ab", 32)
	sig := strings.Repeat("cd", 64)
	good := `{"receipt":{"tx_hash":"` + testHash + `","height":3,"index":1,"code":0,"message":""},"validator":2,"public_key":"` + pub + `","signature":"` + sig + `"}`
	r, err := decodeReceipt([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if r.Receipt.Height != 3 || r.Validator != 2 || len(r.pub) != 32 || len(r.sig) != 64 {
		t.Errorf("decoded %+v", r)
	}
	for name, bad := range map[string]string{
		"not json":  `{`,
		"bad hash":  strings.Replace(good, testHash, "zz", 1),
		"validator": strings.Replace(good, `"validator":2`, `"validator":-1`, 1),
		"short key": strings.Replace(good, pub, "abcd", 1),
		"bad sig":   strings.Replace(good, sig, "xx", 1),
	} {
		if _, err := decodeReceipt([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDecodeBatchStatusBlock(t *testing.T) {
	if _, err := decodeBatch([]byte(`{"results":[{"hash":"`+testHash+`"}]}`), 1); err != nil {
		t.Error(err)
	}
	if _, err := decodeBatch([]byte(`{"results":[]}`), 1); err == nil {
		t.Error("short batch answer accepted")
	}
	if _, err := decodeStatus([]byte(`{"mode":"pbft","height":9,"view":2}`)); err != nil {
		t.Error(err)
	}
	if _, err := decodeStatus([]byte(`{"mode":"paxos"}`)); err == nil {
		t.Error("unknown mode accepted")
	}
	blk, err := decodeBlock([]byte(`{"height":4,"tx_hashes":["` + testHash + `"],"txs":["00"]}`))
	if err != nil || blk.Height != 4 || len(blk.TxHashes) != 1 {
		t.Errorf("block %+v %v", blk, err)
	}
	for _, bad := range []string{`{"height":0}`, `{"height":1,"tx_hashes":["ab"]}`, `[]`} {
		if _, err := decodeBlock([]byte(bad)); err == nil {
			t.Errorf("block %s accepted", bad)
		}
	}
}

func TestBatchBody(t *testing.T) {
	got := string(batchBody([]*Tx{{Hex: "aa"}, {Hex: "bb"}}))
	if got != `{"txs":["aa","bb"]}` {
		t.Errorf("batchBody = %s", got)
	}
}

func FuzzDecodeAnswers(f *testing.F) {
	f.Add([]byte(`{"receipt":{"tx_hash":"` + testHash + `"},"validator":0,"public_key":"","signature":""}`))
	f.Add([]byte(`{"height":4,"tx_hashes":["` + testHash + `"]}`))
	f.Add([]byte(`{"results":[{"hash":"x","code":"busy"}]}`))
	f.Add([]byte(`{"mode":"raft","term":3}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := decodeReceipt(b); err == nil && (len(r.pub) != 32 || len(r.sig) != 64 || r.Validator < 0) {
			t.Errorf("receipt accepted with bad fields: %+v", r)
		}
		if blk, err := decodeBlock(b); err == nil {
			if blk.Height == 0 {
				t.Error("block height 0 accepted")
			}
			for _, h := range blk.TxHashes {
				if len(h) != 64 {
					t.Errorf("tx hash %q accepted", h)
				}
			}
		}
		if res, err := decodeBatch(b, 1); err == nil && len(res) != 1 {
			t.Errorf("batch of %d results accepted for 1 tx", len(res))
		}
		if st, err := decodeStatus(b); err == nil && st.Mode != ModePBFT && st.Mode != ModeRaft {
			t.Errorf("status mode %q accepted", st.Mode)
		}
	})
}
