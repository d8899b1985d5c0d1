package pbft

import (
	"bytes"
	"errors"
	"testing"
)

// recordsOfARun returns the records a replica persisted while it ordered,
// prepared and committed a few batches, then saw a checkpoint and a view
// change: a seed corpus with every record kind.
func recordsOfARun(t testing.TB) []Record {
	signers, _ := testKeys(t, 4)
	c := newTestCore(t, 4, 0)
	var recs []Record
	take := func() {
		rd := c.Ready()
		recs = append(recs, rd.Persist...)
		c.Advance(rd)
	}
	for i := range 3 {
		if err := c.Propose([]byte{'t', byte(i)}); err != nil {
			t.Fatal(err)
		}
		take()
		seq := uint64(i + 1)
		d := c.slots[seq].pp.Digest
		for r := 1; r < 4; r++ {
			c.Step(verified(signed(&Prepare{View: 0, Seq: seq, Digest: d, Replica: r}, signers[r])))
			c.Step(verified(signed(&Commit{View: 0, Seq: seq, Digest: d, Replica: r}, signers[r])))
		}
		take()
	}
	for r := 1; r < 4; r++ {
		c.Step(verified(signed(&ViewChange{NewView: 1, Replica: r}, signers[r])))
	}
	take()
	return recs
}

// FuzzRestore feeds a replica arbitrary persisted state (one record's key
// and value replaced, or a record added): New either refuses it with
// ErrBadState or returns a replica; it never panics.
func FuzzRestore(f *testing.F) {
	recs := recordsOfARun(f)
	for i, r := range recs {
		f.Add(uint8(i), r.Key, r.Value)
	}
	f.Add(uint8(255), []byte(keyView), []byte{})
	f.Fuzz(func(t *testing.T, at uint8, key, value []byte) {
		state := append([]Record(nil), recs...)
		if int(at) < len(state) {
			state[at] = Record{Key: key, Value: value}
		} else {
			state = append(state, Record{Key: key, Value: value})
		}
		cfg := testConfig(t, 4, 0)
		c, err := New(cfg, state, 0)
		if err != nil {
			if !errors.Is(err, ErrBadState) {
				t.Fatalf("refused with %v, want ErrBadState", err)
			}
			return
		}
		// A restored replica works: it takes a tx and hands out a Ready.
		_ = c.Propose(bytes.Repeat([]byte{'x'}, 3))
		c.Advance(c.Ready())
	})
}

// The fuzz seeds are a real replica's state: it restores as it was.
func TestRestoreOfARun(t *testing.T) {
	recs := recordsOfARun(t)
	keys := map[string]bool{}
	for _, r := range recs {
		keys[string(r.Key[:min(len(r.Key), 9)])] = true
	}
	c, err := New(testConfig(t, 4, 0), recs, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.view != 1 || c.active || len(c.slots) != 3 {
		t.Fatalf("restored view %d active %v slots %d (record keys %v)", c.view, c.active, len(c.slots), keys)
	}
}
