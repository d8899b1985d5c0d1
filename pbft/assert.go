package pbft

import "fmt"

// assert panics if cond is false. It guards this package's own invariants
// (pre/postconditions of its state transitions), never peer input: a peer
// can only ever make Step return an error.
func assert(cond bool, msg string) {
	if !cond {
		panic(fmt.Sprintf("pbft: invariant violated: %s", msg))
	}
}
