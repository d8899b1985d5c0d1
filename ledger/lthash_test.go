package ledger

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

// naiveLanes unpacks h into its 1024 uint16 lanes.
func naiveLanes(h *ltHash) []uint16 {
	b := h.bytes()
	out := make([]uint16, ltLanes)
	for i := range out {
		out[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return out
}

// TestLtHashLaneArithmetic checks the packed add and sub against lane-by-
// lane uint16 arithmetic, including the carry and borrow edge values.
func TestLtHashLaneArithmetic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	edge := []uint64{0, 0xffff_ffff_ffff_ffff, 0x8000_8000_8000_8000, 0x7fff_7fff_7fff_7fff, 0x0001_ffff_8000_7fff}
	for i := range 200 {
		var a, b ltHash
		for w := range a {
			if i < len(edge)*len(edge) {
				a[w], b[w] = edge[i%len(edge)], edge[i/len(edge)]
			} else {
				a[w], b[w] = r.Uint64(), r.Uint64()
			}
		}
		la, lb := naiveLanes(&a), naiveLanes(&b)
		sum, diff := a, a
		sum.add(&b)
		diff.sub(&b)
		ls, ld := naiveLanes(&sum), naiveLanes(&diff)
		for k := range la {
			if ls[k] != la[k]+lb[k] || ld[k] != la[k]-lb[k] {
				t.Fatalf("case %d lane %d: %#x+%#x=%#x (got %#x), -=%#x (got %#x)",
					i, k, la[k], lb[k], la[k]+lb[k], ls[k], la[k]-lb[k], ld[k])
			}
		}
	}
}

// TestLtHashMultiset: the hash of a set does not depend on the order
// elements were added in, and removing an element undoes adding it.
func TestLtHashMultiset(t *testing.T) {
	var x ltExpander
	elems := make([][]byte, 50)
	for i := range elems {
		elems[i] = []byte(fmt.Sprintf("element %d", i))
	}
	var fwd, back, withExtra ltHash
	for _, e := range elems {
		fwd.add(x.expand(e))
	}
	for i := len(elems) - 1; i >= 0; i-- {
		back.add(x.expand(elems[i]))
	}
	if fwd != back {
		t.Fatal("order changed the hash")
	}
	withExtra = fwd
	withExtra.add(x.expand([]byte("extra")))
	if withExtra == fwd {
		t.Fatal("adding an element changed nothing")
	}
	withExtra.sub(x.expand([]byte("extra")))
	if withExtra != fwd {
		t.Fatal("sub did not undo add")
	}
	if fwd.appHash("c", 1) == fwd.appHash("c", 2) || fwd.appHash("c", 1) == fwd.appHash("d", 1) {
		t.Fatal("app hash ignores chain id or height")
	}
	var rt ltHash
	if err := rt.setBytes(fwd.bytes()); err != nil || rt != fwd {
		t.Fatal("bytes/setBytes round trip")
	}
	if err := rt.setBytes(make([]byte, 5)); err == nil {
		t.Fatal("setBytes accepted 5 bytes")
	}
}

// TestLtHashKnownAnswer pins the expansion and app hash, which every
// replica must compute identically.
func TestLtHashKnownAnswer(t *testing.T) {
	var x ltExpander
	var h ltHash
	h.add(x.expand([]byte("a")))
	got := h.appHash("kat-chain", 1)
	const want = "0d55391e69d44e9e87e534110224933ea2e60e8e9bc990f68b9596050c88f38d"
	if got.String() != want {
		t.Fatalf("app hash %s, want %s", got, want)
	}
}
