package ledger

import (
	"bytes"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	dbm "github.com/cometbft/cometbft-db"

	"github.com/bftledger/bftledger/crypto"
)

// someBlocks applies n blocks of transfers among keys 0..3.
func someBlocks(t testing.TB, s *Store, n int) {
	t.Helper()
	for i := range n {
		var txs []*Tx
		for k := range 4 {
			from := testKey(t, k)
			nonce := mustAccount(t, s, from.Address()).Nonce
			txs = append(txs, NewTransfer(from, testChain, testKey(t, (k+i+1)%5).Address(), uint64(1+k), nonce))
		}
		applyTxs(t, s, txs...)
	}
}

func TestStoreReopen(t *testing.T) {
	for _, backend := range []string{BackendGoLevelDB, BackendPebble} {
		t.Run(backend, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "home", "data") // created on first open
			g := testGenesis(t, 4, 1000)
			s, err := Open(dir, backend, g)
			if err != nil {
				t.Fatal(err)
			}
			h0, _ := s.AppHash(0)
			someBlocks(t, s, 3)
			last, _ := s.LatestBlock()
			acc := mustAccount(t, s, testKey(t, 0).Address())
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Apply(engineCommitted(4, nil, nil)); !errors.Is(err, ErrClosed) {
				t.Fatalf("apply after close: %v", err)
			}

			s, err = Open(dir, backend, g)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Height() != 3 {
				t.Fatalf("height %d after reopen", s.Height())
			}
			got, err := s.LatestBlock()
			if err != nil || got.Hash() != last.Hash() {
				t.Fatalf("latest block %v, %v", got, err)
			}
			if again, _ := s.AppHash(0); !bytes.Equal(again, h0) {
				t.Fatal("genesis app hash changed")
			}
			if mustAccount(t, s, testKey(t, 0).Address()) != acc {
				t.Fatal("account changed across reopen")
			}
			// Chain continues from the stored head.
			blk, _ := applyRaw(t, s)
			if blk.PrevHash != last.Hash() {
				t.Fatal("block 4 does not link to block 3")
			}
			checkSupply(t, s)
		})
	}
}

func TestStoreGenesisMismatch(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, "", testGenesis(t, 2, 10))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(dir, "", testGenesis(t, 2, 11)); !errors.Is(err, ErrGenesisMismatch) {
		t.Fatalf("err %v, want ErrGenesisMismatch", err)
	}
	if _, err := Open(dir, "rocks", testGenesis(t, 2, 10)); !errors.Is(err, ErrUnknownBackend) {
		t.Fatalf("err %v, want ErrUnknownBackend", err)
	}
	if _, err := Open(dir, "", &Genesis{}); !errors.Is(err, ErrBadGenesis) {
		t.Fatalf("err %v, want ErrBadGenesis", err)
	}
}

func TestStoreQueries(t *testing.T) {
	g := testGenesis(t, 4, 1000)
	s := newMemStore(t, g)
	if _, err := s.LatestBlock(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("latest block at 0: %v", err)
	}
	if _, err := s.Receipt(crypto.Hash{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("receipt: %v", err)
	}
	if _, err := s.AppHash(1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("app hash 1: %v", err)
	}
	if acc := mustAccount(t, s, crypto.Address{1}); !acc.IsZero() {
		t.Fatalf("absent account %+v", acc)
	}
	someBlocks(t, s, 2)
	b1, err := s.Block(1)
	if err != nil {
		t.Fatal(err)
	}
	if b1.PrevHash != g.Hash() || b1.Proposer != 1 || b1.Round != 2 || string(b1.Proof) != "proof" {
		t.Fatalf("block 1 = %+v", b1)
	}
	b2, _ := s.Block(2)
	if b2.PrevHash != b1.Hash() {
		t.Fatal("block 2 does not link to block 1")
	}
	ah, _ := s.AppHash(2)
	if !bytes.Equal(ah, b2.AppHash[:]) {
		t.Fatal("AppHash(2) differs from block 2")
	}
}

// TestSnapshotRestore: a snapshot restores into a fresh store, which then
// executes the next blocks exactly like the original, replays included.
func TestSnapshotRestore(t *testing.T) {
	g := testGenesis(t, 4, 1000)
	src := newMemStore(t, g)
	someBlocks(t, src, 3)
	replay, _ := src.Block(2)
	h, appHash, data, err := src.Snapshot()
	if err != nil || h != 3 {
		t.Fatal(h, err)
	}
	dst := newMemStore(t, g)
	someBlocks(t, dst, 1) // dst applied block 1 itself, then falls behind
	if err := dst.Restore(h, appHash, data); err != nil {
		t.Fatal(err)
	}
	if dst.Height() != 3 {
		t.Fatalf("height %d", dst.Height())
	}
	// Blocks it applied itself stay; the ones it skipped are absent.
	if b1, err := dst.Block(1); err != nil || b1.Hash() != mustBlock(t, src, 1).Hash() {
		t.Fatalf("block 1: %v", err)
	}
	if _, err := dst.Block(2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("block 2: %v", err)
	}
	if _, err := dst.AppHash(2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("app hash 2: %v", err)
	}
	if b3, err := dst.LatestBlock(); err != nil || b3.Hash() != mustBlock(t, src, 3).Hash() {
		t.Fatalf("block 3: %v", err)
	}
	for _, s := range []*Store{src, dst} {
		if _, rs := applyRaw(t, s, replay.Txs...); len(rs) != 0 {
			t.Fatalf("replayed txs got receipts %+v", rs)
		}
	}
	someBlocks(t, src, 2)
	someBlocks(t, dst, 2)
	a, _ := src.LatestBlock()
	b, _ := dst.LatestBlock()
	if a.Hash() != b.Hash() {
		t.Fatal("restored store diverged")
	}
	checkSupply(t, dst)

	// A snapshot of the restored store is the same snapshot.
	_, ah1, d1, _ := src.Snapshot()
	_, ah2, d2, _ := dst.Snapshot()
	if !bytes.Equal(ah1, ah2) || !bytes.Equal(d1, d2) {
		t.Fatal("snapshots differ")
	}
}

func TestRestoreRejects(t *testing.T) {
	g := testGenesis(t, 4, 1000)
	src := newMemStore(t, g)
	someBlocks(t, src, 2)
	h, appHash, data, _ := src.Snapshot()
	sd, err := DecodeSnapshot(data)
	if err != nil {
		t.Fatal(err)
	}
	reencode := func(f func(sd *SnapshotData)) []byte {
		c, _ := DecodeSnapshot(data)
		f(c)
		return c.Encode()
	}
	otherHash := bytes.Clone(appHash)
	otherHash[0] ^= 1
	cases := []struct {
		name    string
		h       uint64
		appHash []byte
		data    []byte
		want    error
	}{
		{"wrong app hash", h, otherHash, data, ErrBadSnapshot},
		{"wrong height", h + 1, appHash, data, ErrBadSnapshot},
		{"garbage", h, appHash, []byte("x"), ErrBadSnapshot},
		{"trailing", h, appHash, append(bytes.Clone(data), 0), ErrBadSnapshot},
		{"balance moved", h, appHash, reencode(func(sd *SnapshotData) {
			sd.Accounts[0].Account.Balance--
			sd.Accounts[1].Account.Balance++
		}), ErrBadSnapshot},
		{"money printed", h, appHash, reencode(func(sd *SnapshotData) { sd.Accounts[0].Account.Balance++ }), ErrBadSnapshot},
		{"receipt dropped", h, appHash, reencode(func(sd *SnapshotData) { sd.Receipts = sd.Receipts[1:] }), ErrBadSnapshot},
		{"receipt changed", h, appHash, reencode(func(sd *SnapshotData) { sd.Receipts[0].Code = CodeBadNonce }), ErrBadSnapshot},
		{"unsorted", h, appHash, reencode(func(sd *SnapshotData) {
			sd.Accounts[0], sd.Accounts[1] = sd.Accounts[1], sd.Accounts[0]
		}), ErrBadSnapshot},
		{"receipts unsorted", h, appHash, reencode(func(sd *SnapshotData) {
			sd.Receipts[0], sd.Receipts[1] = sd.Receipts[1], sd.Receipts[0]
		}), ErrBadSnapshot},
		{"receipt moved to another block", h, appHash, reencode(func(sd *SnapshotData) {
			last := sd.Receipts[len(sd.Receipts)-1]
			last.Index += 100
			last.Height = h
		}), ErrBadSnapshot},
		{"no block", h, appHash, reencode(func(sd *SnapshotData) { sd.Block = nil }), ErrBadSnapshot},
		{"other chain", h, appHash, reencode(func(sd *SnapshotData) { sd.ChainID = "other" }), ErrWrongChain},
	}
	dst := newMemStore(t, g)
	before, _, beforeData, _ := dst.Snapshot()
	for _, tc := range cases {
		if err := dst.Restore(tc.h, tc.appHash, tc.data); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
	after, _, afterData, _ := dst.Snapshot()
	if before != after || !bytes.Equal(beforeData, afterData) {
		t.Fatal("a refused restore changed the store")
	}
	if len(sd.Accounts) == 0 || len(sd.Receipts) == 0 {
		t.Fatal("snapshot is empty")
	}
}

func TestRestoreGenesisSnapshot(t *testing.T) {
	g := testGenesis(t, 3, 7)
	src := newMemStore(t, g)
	h, ah, data, err := src.Snapshot()
	if err != nil || h != 0 {
		t.Fatal(h, err)
	}
	dst, err := NewStore(dbm.NewMemDB(), g)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	someBlocks(t, dst, 1)
	if err := dst.Restore(0, ah, data); err != nil {
		t.Fatal(err)
	}
	if dst.Height() != 0 {
		t.Fatal("height")
	}
	if _, err := dst.Block(1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("block above the snapshot survived: %v", err)
	}
	blk, _ := applyRaw(t, dst)
	if blk.PrevHash != g.Hash() {
		t.Fatal("block 1 after restoring genesis does not link to genesis")
	}
}

// TestRestoreOnDisk restores a snapshot into stores on both disk backends
// over local history, reopens them and continues.
func TestRestoreOnDisk(t *testing.T) {
	g := testGenesis(t, 4, 1000)
	src := newMemStore(t, g)
	someBlocks(t, src, 5)
	h, ah, data, err := src.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for _, backend := range []string{BackendGoLevelDB, BackendPebble} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir, backend, g)
			if err != nil {
				t.Fatal(err)
			}
			someBlocks(t, s, 2)
			if err := s.Restore(h, ah, data); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s, err = Open(dir, backend, g)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Height() != h || mustBlock(t, s, h).Hash() != mustBlock(t, src, h).Hash() {
				t.Fatalf("reopened at %d", s.Height())
			}
			_, ah2, data2, _ := s.Snapshot()
			if !bytes.Equal(ah2, ah) || !bytes.Equal(data2, data) {
				t.Fatal("restored state differs after reopen")
			}
			checkSupply(t, s)
		})
	}
}

// TestQueriesDuringApply runs readers against a store while blocks are
// applied (the race detector checks the store's synchronisation), and
// checks that every height a reader sees has its block.
func TestQueriesDuringApply(t *testing.T) {
	g := testGenesis(t, 4, 1000)
	s := newMemStore(t, g)
	addr := testKey(t, 0).Address()
	done := make(chan struct{})
	errs := make(chan error, 3)
	var wg sync.WaitGroup
	stop := sync.OnceFunc(func() { close(done); wg.Wait() })
	defer stop() // also when someBlocks fails the test
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				h := s.Height()
				if h == 0 {
					continue
				}
				if _, err := s.Block(h); err != nil {
					errs <- err
					return
				}
				if _, err := s.AppHash(h); err != nil {
					errs <- err
					return
				}
				if _, err := s.Account(addr); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	someBlocks(t, s, 20)
	stop()
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
