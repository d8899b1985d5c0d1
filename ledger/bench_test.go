package ledger

import (
	"fmt"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/internal/cputime"
)

// Reproduce the figures with:
//
//	go test -run '^$' -bench . -benchmem -count 5 ./ledger

func BenchmarkCheckTx(b *testing.B) {
	raw := katTx(b).Encode()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CheckTx("kat-chain", raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckTxs512 checks 512 txs of distinct senders as one batch;
// ns/tx compares with BenchmarkCheckTx.
func BenchmarkCheckTxs512(b *testing.B) {
	const n = 512
	raws := make([][]byte, n)
	for i := range raws {
		raws[i] = NewTransfer(testKey(b, i+1), "kat-chain", crypto.Address{1}, 1, 0).Encode()
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, errs := CheckTxs("kat-chain", raws); errs[0] != nil || errs[n-1] != nil {
			b.Fatal(errs[0], errs[n-1])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/tx")
}

func BenchmarkTxEncode(b *testing.B) {
	tx := katTx(b)
	b.ReportAllocs()
	for b.Loop() {
		tx.Encode()
	}
}

func BenchmarkTxDecode(b *testing.B) {
	raw := katTx(b).Encode()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeTx(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBlockEncodeDecode(b *testing.B) {
	txs := make([][]byte, 1000)
	for i := range txs {
		txs[i] = NewTransfer(testKey(b, i%10), testChain, crypto.Address{byte(i)}, 1, uint64(i)).Encode()
	}
	blk := &Block{Height: 1, TxRoot: TxRoot(txs), Txs: txs}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBlock(blk.Encode()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApply1000 executes and commits (WriteSync) blocks of 1,000
// transfers: 1,000 distinct senders, each paying the next, so every block
// touches 1,000 accounts and adds 1,000 receipts. Besides wall time it
// reports the CPU time the process spent per block (all threads: GC and the
// database's background work included), which a loaded machine distorts
// far less.
func BenchmarkApply1000(b *testing.B) {
	for _, backend := range []string{"memdb", BackendGoLevelDB, BackendPebble} {
		b.Run(backend, func(b *testing.B) { benchApply(b, backend, 1000) })
	}
}

func benchApply(b *testing.B, backend string, n int) {
	keys := make([]*crypto.Ed25519Signer, n)
	g := testGenesis(b, 0, 0)
	for i := range keys {
		keys[i] = testKey(b, 10_000+i)
		g.Accounts = append(g.Accounts, GenesisAccount{Address: keys[i].Address(), Balance: 1 << 40})
	}
	var s *Store
	var err error
	if backend == "memdb" {
		s, err = NewStore(dbm.NewMemDB(), g)
	} else {
		s, err = Open(b.TempDir(), backend, g)
	}
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	block := func(h uint64) engine.Committed {
		txs := make([][]byte, n)
		for i, k := range keys {
			txs[i] = NewTransfer(k, testChain, keys[(i+1)%n].Address(), 1, h-1).Encode()
		}
		return engine.Committed{Height: h, Txs: txs}
	}
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c := block(uint64(i + 1))
		b.StartTimer()
		t0 := cputime.Process()
		_, rs, err := s.Apply(c)
		cpu += cputime.Process() - t0
		if err != nil {
			b.Fatal(err)
		}
		if len(rs) != n || rs[n-1].Code != CodeOK {
			b.Fatalf("receipts %d, last %+v", len(rs), rs[len(rs)-1])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/block")
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tx/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/1e6, "cpu-ms/block")
}

func BenchmarkLtHashExpand(b *testing.B) {
	var x ltExpander
	elem := accountElem(nil, crypto.Address{1}, Account{Balance: 5, Nonce: 6})
	for b.Loop() {
		x.expand(elem)
	}
}

func BenchmarkMerkleRoot1000(b *testing.B) {
	txs := make([][]byte, 1000)
	for i := range txs {
		txs[i] = []byte(fmt.Sprint(i))
	}
	for b.Loop() {
		TxRoot(txs)
	}
}

// BenchmarkSnapshotRestore exports and verifies-and-imports the state of
// 10,000 accounts and 10 blocks' receipts: the cost of a state transfer.
func BenchmarkSnapshotRestore(b *testing.B) {
	g := testGenesis(b, 0, 0)
	for i := range 10_000 {
		var a crypto.Address
		copy(a[:], fmt.Sprintf("account-%d", i))
		g.Accounts = append(g.Accounts, GenesisAccount{Address: a, Balance: 1})
	}
	src := newMemStore(b, g)
	for i := range 10 {
		applyRaw(b, src, []byte(fmt.Sprint("x", i)), []byte(fmt.Sprint("y", i)))
	}
	h, ah, data, err := src.Snapshot()
	if err != nil {
		b.Fatal(err)
	}
	dst := newMemStore(b, g)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, _, _, err := src.Snapshot(); err != nil {
			b.Fatal(err)
		}
		if err := dst.Restore(h, ah, data); err != nil {
			b.Fatal(err)
		}
	}
}
