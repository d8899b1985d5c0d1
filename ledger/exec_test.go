package ledger

import (
	"errors"
	"math"
	"testing"

	"github.com/bftledger/bftledger/crypto"
)

// TestExecutionRules checks every execution rule with a table: each case
// starts from a fresh store where keys 0 and 1 hold 100 each, applies its
// txs as one block, and checks the receipts and the resulting accounts.
func TestExecutionRules(t *testing.T) {
	g := testGenesis(t, 2, 100)
	a, b := testKey(t, 0), testKey(t, 1)
	stranger := testKey(t, 7)
	xfer := func(s *crypto.Ed25519Signer, to crypto.Address, amount, nonce uint64) []byte {
		return NewTransfer(s, testChain, to, amount, nonce).Encode()
	}
	valid := xfer(a, b.Address(), 10, 0)
	tests := []struct {
		name    string
		txs     [][]byte
		codes   []uint32 // receipt codes in order
		indexes []uint32 // receipt indexes, when not 0..n-1
		wantA   Account
		wantB   Account
	}{
		{"transfer", [][]byte{valid}, []uint32{CodeOK}, nil, Account{90, 1}, Account{110, 0}},
		{"whole balance", [][]byte{xfer(a, b.Address(), 100, 0)}, []uint32{CodeOK}, nil, Account{0, 1}, Account{200, 0}},
		{"two in order", [][]byte{valid, xfer(a, b.Address(), 5, 1)}, []uint32{CodeOK, CodeOK}, nil, Account{85, 2}, Account{115, 0}},
		{"nonce too high", [][]byte{xfer(a, b.Address(), 10, 1)}, []uint32{CodeBadNonce}, nil, Account{100, 0}, Account{100, 0}},
		{"nonce reused", [][]byte{valid, xfer(a, b.Address(), 11, 0)}, []uint32{CodeOK, CodeBadNonce}, nil, Account{90, 1}, Account{110, 0}},
		{"insufficient funds", [][]byte{xfer(a, b.Address(), 101, 0)}, []uint32{CodeInsufficientFunds}, nil, Account{100, 0}, Account{100, 0}},
		{"later tx still runs", [][]byte{xfer(a, b.Address(), 101, 0), xfer(a, b.Address(), 1, 0)}, []uint32{CodeInsufficientFunds, CodeOK}, nil, Account{99, 1}, Account{101, 0}},
		{"zero amount", [][]byte{xfer(a, b.Address(), 0, 0)}, []uint32{CodeBadAmount}, nil, Account{100, 0}, Account{100, 0}},
		{"empty sender", [][]byte{xfer(stranger, a.Address(), 1, 0)}, []uint32{CodeInsufficientFunds}, nil, Account{100, 0}, Account{100, 0}},
		{"wrong chain", [][]byte{NewTransfer(a, "other", b.Address(), 1, 0).Encode()}, []uint32{CodeWrongChain}, nil, Account{100, 0}, Account{100, 0}},
		{"garbage", [][]byte{[]byte("not a tx")}, []uint32{CodeBadEncoding}, nil, Account{100, 0}, Account{100, 0}},
		{"empty entry", [][]byte{{}}, []uint32{CodeBadEncoding}, nil, Account{100, 0}, Account{100, 0}},
		{"trailing byte", [][]byte{append(xfer(a, b.Address(), 1, 0), 0)}, []uint32{CodeBadEncoding}, nil, Account{100, 0}, Account{100, 0}},
		{"self transfer moves only the nonce", [][]byte{xfer(a, a.Address(), 60, 0)}, []uint32{CodeOK}, nil, Account{100, 1}, Account{100, 0}},
		{"self transfer over balance", [][]byte{xfer(a, a.Address(), 101, 0)}, []uint32{CodeInsufficientFunds}, nil, Account{100, 0}, Account{100, 0}},
		{"duplicate in batch skipped", [][]byte{valid, valid, xfer(a, b.Address(), 1, 1)}, []uint32{CodeOK, CodeOK}, []uint32{0, 2}, Account{89, 2}, Account{111, 0}},
		{"failed duplicate skipped", [][]byte{xfer(a, b.Address(), 1, 5), xfer(a, b.Address(), 1, 5)}, []uint32{CodeBadNonce}, nil, Account{100, 0}, Account{100, 0}},
		{"empty batch", nil, nil, nil, Account{100, 0}, Account{100, 0}},
		// A bad signature is not execution's business (see Store.Apply).
		{"signature not rechecked", [][]byte{badSig(t, valid)}, []uint32{CodeOK}, nil, Account{90, 1}, Account{110, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newMemStore(t, g)
			blk, rs := applyRaw(t, s, tc.txs...)
			if len(rs) != len(tc.codes) {
				t.Fatalf("%d receipts, want %d: %+v", len(rs), len(tc.codes), rs)
			}
			for i, r := range rs {
				idx := uint32(i)
				if tc.indexes != nil {
					idx = tc.indexes[i]
				}
				if r.Code != tc.codes[i] || r.Index != idx || r.Height != 1 || r.TxHash != TxHash(tc.txs[idx]) {
					t.Errorf("receipt %d = %+v, want code %d (%s) index %d", i, r, tc.codes[i], CodeName(tc.codes[i]), idx)
				}
				if (r.Code == CodeOK) != (r.Message == "") {
					t.Errorf("receipt %d: code %d with message %q", i, r.Code, r.Message)
				}
				stored, err := s.Receipt(r.TxHash)
				if err != nil || *stored != r {
					t.Errorf("stored receipt %d = %+v, %v; want %+v", i, stored, err, r)
				}
			}
			if len(blk.Txs) != len(tc.txs) {
				t.Errorf("block holds %d txs, want all %d", len(blk.Txs), len(tc.txs))
			}
			if got := mustAccount(t, s, a.Address()); got != tc.wantA {
				t.Errorf("sender = %+v, want %+v", got, tc.wantA)
			}
			if got := mustAccount(t, s, b.Address()); got != tc.wantB {
				t.Errorf("recipient = %+v, want %+v", got, tc.wantB)
			}
			checkSupply(t, s)
		})
	}
}

func badSig(t *testing.T, raw []byte) []byte {
	t.Helper()
	tx, err := DecodeTx(raw)
	if err != nil {
		t.Fatal(err)
	}
	tx.Sig[0] ^= 1
	return tx.Encode()
}

func checkSupply(t testing.TB, s *Store) {
	t.Helper()
	got, err := s.TotalSupply()
	if err != nil {
		t.Fatal(err)
	}
	if want := s.Genesis().TotalSupply(); got != want {
		t.Fatalf("total supply %d, want %d", got, want)
	}
}

// TestReplayAcrossBlocks: a tx already executed in an earlier block is
// skipped, whether it succeeded or failed, and keeps its first receipt.
func TestReplayAcrossBlocks(t *testing.T) {
	s := newMemStore(t, testGenesis(t, 2, 100))
	a, b := testKey(t, 0), testKey(t, 1)
	ok := NewTransfer(a, testChain, b.Address(), 10, 0)
	failed := NewTransfer(a, testChain, b.Address(), 1000, 1) // no funds yet
	applyTxs(t, s, ok, failed)
	first, _ := s.Receipt(failed.Hash())
	// Fund a so the failed tx would now succeed: it must still be skipped.
	applyTxs(t, s, NewTransfer(b, testChain, a.Address(), 100, 0))
	_, rs := applyTxs(t, s, ok, failed)
	if len(rs) != 0 {
		t.Fatalf("replays got receipts %+v", rs)
	}
	if got := mustAccount(t, s, a.Address()); got != (Account{190, 1}) {
		t.Fatalf("sender = %+v after replays", got)
	}
	again, _ := s.Receipt(failed.Hash())
	if *again != *first || again.Height != 1 {
		t.Fatalf("receipt changed: %+v -> %+v", first, again)
	}
	if !s.HasTx(ok.Hash()) || s.HasTx(crypto.Hash{}) {
		t.Fatal("HasTx wrong")
	}
}

// TestOverflow drives the two overflow checks through a store whose state
// was restored with extreme values (a genesis cannot produce them).
func TestOverflow(t *testing.T) {
	a, b := testKey(t, 0), testKey(t, 1)
	g := testGenesis(t, 0, 0)
	g.Accounts = []GenesisAccount{{a.Address(), 10}, {b.Address(), math.MaxUint64 - 10}}
	s := newMemStore(t, g)
	_, rs := applyTxs(t, s, NewTransfer(a, testChain, b.Address(), 1, 0))
	if rs[0].Code != CodeOK {
		t.Fatalf("receipt %+v", rs[0])
	}
	// b now holds MaxUint64-9; a transfer of 10 from a would overflow it.
	_, rs = applyTxs(t, s, NewTransfer(a, testChain, b.Address(), 9, 1))
	if rs[0].Code != CodeOK {
		t.Fatalf("receipt %+v", rs[0])
	}
	// a is now empty and b holds the whole supply, MaxUint64: a self
	// transfer of all of it must not overflow.
	_, rs = applyTxs(t, s, NewTransfer(b, testChain, b.Address(), math.MaxUint64, 0))
	if rs[0].Code != CodeOK {
		t.Fatalf("self transfer of everything: %+v", rs[0])
	}
	checkSupply(t, s)

	ex := &execution{accounts: map[crypto.Address]*touched{
		a.Address(): {before: Account{5, math.MaxUint64}, after: Account{5, math.MaxUint64}},
		b.Address(): {before: Account{math.MaxUint64, 0}, after: Account{math.MaxUint64, 0}},
	}}
	code, _, err := ex.applyTx(testChain, NewTransfer(a, testChain, b.Address(), 1, math.MaxUint64).Encode(), nil)
	if err != nil || code != CodeOverflow {
		t.Fatalf("nonce overflow: code %d err %v", code, err)
	}
	ex.accounts[a.Address()].after.Nonce = 0
	code, _, err = ex.applyTx(testChain, NewTransfer(a, testChain, b.Address(), 1, 0).Encode(), nil)
	if err != nil || code != CodeOverflow {
		t.Fatalf("balance overflow: code %d err %v", code, err)
	}
}

func TestApplyRefusesBadBatches(t *testing.T) {
	s := newMemStore(t, testGenesis(t, 1, 100))
	cases := []struct {
		name string
		c    func() (uint64, [][]byte, []byte)
		want error
	}{
		{"height 2", func() (uint64, [][]byte, []byte) { return 2, nil, nil }, ErrBadHeight},
		{"height 0", func() (uint64, [][]byte, []byte) { return 0, nil, nil }, ErrBadHeight},
		{"too many txs", func() (uint64, [][]byte, []byte) { return 1, make([][]byte, BlockTxsMax+1), nil }, ErrBadBatch},
		{"tx too long", func() (uint64, [][]byte, []byte) { return 1, [][]byte{make([]byte, TxBytesMax+1)}, nil }, ErrBadBatch},
		{"proof too long", func() (uint64, [][]byte, []byte) { return 1, nil, make([]byte, ProofBytesMax+1) }, ErrBadBatch},
	}
	for _, tc := range cases {
		h, txs, proof := tc.c()
		_, _, err := s.Apply(engineCommitted(h, txs, proof))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
	if s.Height() != 0 {
		t.Fatalf("height %d after refused batches", s.Height())
	}
	applyRaw(t, s) // still usable
}
