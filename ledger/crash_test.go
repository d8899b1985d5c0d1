package ledger

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	dbm "github.com/cometbft/cometbft-db"

	"github.com/bftledger/bftledger/engine"
)

var errInjected = errors.New("injected storage failure")

// faultDB wraps a database and fails (or panics) at one chosen point of the
// next batch: at its n-th Set or Delete, or at WriteSync (n = ops). Reads
// can be made to fail too.
type faultDB struct {
	dbm.DB
	failAt   int  // op number that fails; -1: none
	panics   bool // panic instead of returning an error
	ops      int  // ops seen in the current batch
	failGets bool
}

func (f *faultDB) Get(k []byte) ([]byte, error) {
	if f.failGets {
		return nil, errInjected
	}
	return f.DB.Get(k)
}

func (f *faultDB) Has(k []byte) (bool, error) {
	if f.failGets {
		return false, errInjected
	}
	return f.DB.Has(k)
}

func (f *faultDB) NewBatch() dbm.Batch {
	f.ops = 0
	return &faultBatch{Batch: f.DB.NewBatch(), db: f}
}

type faultBatch struct {
	dbm.Batch
	db *faultDB
}

func (b *faultBatch) step() error {
	n := b.db.ops
	b.db.ops++
	if n != b.db.failAt {
		return nil
	}
	if b.db.panics {
		panic(errInjected)
	}
	return errInjected
}

func (b *faultBatch) Set(k, v []byte) error {
	if err := b.step(); err != nil {
		return err
	}
	return b.Batch.Set(k, v)
}

func (b *faultBatch) Delete(k []byte) error {
	if err := b.step(); err != nil {
		return err
	}
	return b.Batch.Delete(k)
}

func (b *faultBatch) WriteSync() error {
	if err := b.step(); err != nil {
		return err
	}
	return b.Batch.WriteSync()
}

// crashBlock returns the deterministic batch for height h on top of s:
// transfers among keys 0..7 with the senders' current nonces, plus one
// failing tx and one replay.
func crashBlock(t testing.TB, s *Store, h uint64) engine.Committed {
	var txs [][]byte
	for i := range 3 {
		k := testKey(t, int(h+uint64(i))%8)
		nonce := mustAccount(t, s, k.Address()).Nonce
		txs = append(txs, NewTransfer(k, testChain, testKey(t, int(h+uint64(i)+1)%8).Address(), h%7+1, nonce).Encode())
	}
	txs = append(txs, NewTransfer(testKey(t, 0), testChain, testKey(t, 1).Address(), 1, 1<<40).Encode(), txs[0])
	return engine.Committed{Height: h, Txs: txs, Proposer: uint32(h % 4), Round: h / 10}
}

// TestCrashAtEveryWritePoint fails, then panics, at each operation of a
// block's batch in turn. Each time the failing store must refuse further
// writes, and a store reopened on the same database must be exactly at the
// previous block, then apply the block exactly as a store that never failed.
func TestCrashAtEveryWritePoint(t *testing.T) {
	g := testGenesis(t, 8, 1000)
	ref := newMemStore(t, g)
	for h := uint64(1); h <= 3; h++ {
		if _, _, err := ref.Apply(crashBlock(t, ref, h)); err != nil {
			t.Fatal(err)
		}
	}
	want, _ := ref.Block(3)
	prev, _ := ref.Block(2)

	// Count the ops of block 3's batch.
	probe := &faultDB{DB: dbm.NewMemDB(), failAt: -1}
	ps, err := NewStore(probe, g)
	if err != nil {
		t.Fatal(err)
	}
	for h := uint64(1); h <= 3; h++ {
		if _, _, err := ps.Apply(crashBlock(t, ps, h)); err != nil {
			t.Fatal(err)
		}
	}
	points := probe.ops
	if points < 10 {
		t.Fatalf("block 3 batch has only %d write points", points)
	}

	for _, panics := range []bool{false, true} {
		for at := 0; at < points; at++ {
			name := fmt.Sprintf("panic=%v/op=%d", panics, at)
			mem := dbm.NewMemDB()
			fdb := &faultDB{DB: mem, failAt: -1}
			s, err := NewStore(fdb, g)
			if err != nil {
				t.Fatal(err)
			}
			for h := uint64(1); h <= 2; h++ {
				if _, _, err := s.Apply(crashBlock(t, s, h)); err != nil {
					t.Fatal(err)
				}
			}
			c := crashBlock(t, s, 3)
			fdb.failAt, fdb.panics = at, panics
			err = applyRecovering(s, c)
			if !errors.Is(err, errInjected) {
				t.Fatalf("%s: apply err %v", name, err)
			}
			if !panics {
				// A failed store stays failed until reopened.
				fdb.failAt = -1
				if _, _, err := s.Apply(c); !errors.Is(err, errInjected) {
					t.Fatalf("%s: store usable after a storage failure: %v", name, err)
				}
			}
			re, err := NewStore(mem, g)
			if err != nil {
				t.Fatalf("%s: reopen: %v", name, err)
			}
			if re.Height() != 2 || mustBlock(t, re, 2).Hash() != prev.Hash() {
				t.Fatalf("%s: reopened at height %d", name, re.Height())
			}
			blk, _, err := re.Apply(crashBlock(t, re, 3))
			if err != nil || blk.Hash() != want.Hash() {
				t.Fatalf("%s: reapplied block differs (%v)", name, err)
			}
			checkSupply(t, re)
		}
	}
}

func applyRecovering(s *Store, c engine.Committed) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err, _ = r.(error)
		}
	}()
	_, _, err = s.Apply(c)
	return err
}

func TestReadFailureChangesNothing(t *testing.T) {
	g := testGenesis(t, 8, 1000)
	mem := dbm.NewMemDB()
	fdb := &faultDB{DB: mem, failAt: -1}
	s, err := NewStore(fdb, g)
	if err != nil {
		t.Fatal(err)
	}
	c := crashBlock(t, s, 1)
	fdb.failGets = true
	if _, _, err := s.Apply(c); !errors.Is(err, errInjected) {
		t.Fatalf("err %v", err)
	}
	fdb.failGets = false
	re, err := NewStore(mem, g)
	if err != nil || re.Height() != 0 {
		t.Fatalf("reopen: %v at %d", err, re.Height())
	}
}

// TestCrashKillChild runs a child process that applies blocks to a
// goleveldb store as fast as it can and reports each durable height; the
// parent SIGKILLs it after some reports, reopens the store and checks it is
// exactly at some block the child reached or the one after (the write in
// flight), identical to a reference store.
func TestCrashKillChild(t *testing.T) {
	if dir := os.Getenv("LEDGER_CRASH_CHILD_DIR"); dir != "" {
		crashChild(t, dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	g := testGenesis(t, 8, 1000)
	ref := newMemStore(t, g)
	for _, killAfter := range []int{1, 7, 25} {
		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKillChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "LEDGER_CRASH_CHILD_DIR="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		var reported uint64
		for sc.Scan() {
			line := sc.Text()
			if h, ok := strings.CutPrefix(line, "applied "); ok {
				reported, _ = strconv.ParseUint(h, 10, 64)
				if reported >= uint64(killAfter) {
					break
				}
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
		if reported < uint64(killAfter) {
			t.Fatalf("child reported only %d blocks", reported)
		}
		s, err := Open(dir, BackendGoLevelDB, g)
		if err != nil {
			t.Fatalf("reopen after kill at %d: %v", reported, err)
		}
		h := s.Height()
		if h < reported {
			t.Fatalf("store at %d, child had made %d durable", h, reported)
		}
		for ref.Height() < h {
			if _, _, err := ref.Apply(crashBlock(t, ref, ref.Height()+1)); err != nil {
				t.Fatal(err)
			}
		}
		refAH, _ := ref.AppHash(h)
		gotAH, _ := s.AppHash(h)
		if string(refAH) != string(gotAH) || mustBlock(t, s, h).Hash() != mustBlock(t, ref, h).Hash() {
			t.Fatalf("store at %d differs from the reference", h)
		}
		checkSupply(t, s)
		if _, _, err := s.Apply(crashBlock(t, s, h+1)); err != nil {
			t.Fatalf("apply after restart: %v", err)
		}
		s.Close()
	}
}

// crashChild applies blocks until killed (or a bound, so that a lost parent
// cannot leave it running).
func crashChild(t *testing.T, dir string) {
	s, err := Open(dir, BackendGoLevelDB, testGenesis(t, 8, 1000))
	if err != nil {
		t.Fatal(err)
	}
	for h := uint64(1); h <= 5000; h++ {
		if _, _, err := s.Apply(crashBlock(t, s, h)); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("applied %d\n", h)
	}
	s.Close()
}
