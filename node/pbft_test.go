package node

import (
	"bytes"
	"testing"

	dbm "github.com/cometbft/cometbft-db"

	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/pbft"
)

// fakeReplica hands out scripted Readys.
type fakeReplica struct {
	readys   []pbft.Ready
	advanced int
}

func (f *fakeReplica) Step(pbft.Message) error { return nil }
func (f *fakeReplica) Tick()                   {}
func (f *fakeReplica) Propose([]byte) error    { return nil }
func (f *fakeReplica) Applied(uint64, []byte)  {}
func (f *fakeReplica) HasReady() bool          { return f.advanced < len(f.readys) }
func (f *fakeReplica) Ready() pbft.Ready       { return f.readys[f.advanced] }
func (f *fakeReplica) Advance(pbft.Ready)      { f.advanced++ }
func (f *fakeReplica) Status() engine.Status   { return engine.Status{Mode: engine.ModePBFT} }

// TestPBFTPersistRestore checks that the records of successive Readys land
// in the consensus db (deletes included) and read back as the core's
// restart state, untouched by keys outside the pbft prefix.
func TestPBFTPersistRestore(t *testing.T) {
	db := dbm.NewMemDB()
	if err := db.Set([]byte("other/x"), []byte("y")); err != nil {
		t.Fatal(err)
	}
	if err := db.Set([]byte("pbft0"), []byte("y")); err != nil { // just past the prefix range
		t.Fatal(err)
	}
	rep := &fakeReplica{readys: []pbft.Ready{
		{Persist: []pbft.Record{{Key: []byte("view"), Value: []byte{1}}, {Key: []byte("pp/1"), Value: []byte("a")},
			{Key: []byte{0xff, 0x00}, Value: []byte{}}}},
		{},
		{Persist: []pbft.Record{{Key: []byte("pp/1"), Value: nil}, {Key: []byte("view"), Value: []byte{2}}}},
	}}
	e := &pbftEngine{core: rep, db: db}
	for e.HasReady() {
		rd := e.Ready()
		if err := e.Persist(rd); err != nil {
			t.Fatal(err)
		}
		e.Advance(rd)
	}
	recs, err := loadPBFTRecords(db)
	if err != nil {
		t.Fatal(err)
	}
	want := []pbft.Record{{Key: []byte("view"), Value: []byte{2}}, {Key: []byte{0xff, 0x00}, Value: []byte{}}}
	if len(recs) != len(want) {
		t.Fatalf("got %d records: %q", len(recs), recs)
	}
	for _, w := range want {
		found := false
		for _, r := range recs {
			if bytes.Equal(r.Key, w.Key) {
				found = true
				if !bytes.Equal(r.Value, w.Value) || r.Value == nil {
					t.Fatalf("record %q = %q, want %q", r.Key, r.Value, w.Value)
				}
			}
		}
		if !found {
			t.Fatalf("record %q missing", w.Key)
		}
	}
}

func TestPBFTDecodeRejects(t *testing.T) {
	e := &pbftEngine{verifier: &pbft.Verifier{ChainID: testChainID, Validators: [][]byte{make([]byte, 32)}}}
	for _, frame := range [][]byte{nil, {0}, {1, 2, 3}, bytes.Repeat([]byte{0xff}, 100)} {
		if m, err := e.Decode(0, frame); err == nil {
			t.Fatalf("frame %x decoded to %v", frame, m)
		}
	}
	if err := e.Step("not a message"); err == nil {
		t.Fatal("Step took a foreign value")
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, tt := range []struct{ in, want []byte }{
		{[]byte("pbft/"), []byte("pbft0")},
		{[]byte{1, 0xff}, []byte{2}},
		{[]byte{0xff}, nil},
	} {
		if got := prefixEnd(tt.in); !bytes.Equal(got, tt.want) {
			t.Errorf("prefixEnd(%x) = %x, want %x", tt.in, got, tt.want)
		}
	}
}
