package sim

import (
	"testing"

	"github.com/bftledger/bftledger/engine"
)

// The duplicate-tx checker blames an honest primary that orders a tx
// twice, except when view changes made it legal: two batches first
// proposed in different views, the earlier one committed nowhere when the
// later one was proposed.
func TestDuplicateTxChecker(t *testing.T) {
	tx, other := []byte("tx"), []byte("other")
	b1 := engine.Committed{Height: 1, Txs: [][]byte{tx}, Proposer: 1, Round: 1}
	b2 := engine.Committed{Height: 2, Txs: [][]byte{other, tx}, Proposer: 2, Round: 2}
	d1, d2 := engine.BatchDigest(b1.Txs), engine.BatchDigest(b2.Txs)
	cases := []struct {
		name  string
		setup func(c *checker)
		want  bool // a violation
	}{
		{"same view", func(c *checker) {
			c.proposed(1, 2, d1)
			c.proposed(2, 2, d2)
		}, true},
		{"no proposal seen", func(*checker) {}, true},
		{"views differ, earlier batch uncommitted", func(c *checker) {
			c.proposed(1, 0, d2) // prepared at few replicas in view 0
			c.proposed(5, 1, d1) // re-ordered in view 1, which did not see it
		}, false},
		{"views differ, earlier batch committed first", func(c *checker) {
			c.proposed(1, 0, d1)
			c.firstCommitted[d1] = 3
			c.proposed(5, 1, d2)
		}, true},
		{"faulty primary", func(c *checker) { c.honest[2] = false }, false},
	}
	for _, tc := range cases {
		c := newChecker(4, 1, []bool{true, true, true, true}, nil)
		tc.setup(c)
		c.delivered(10, 0, b1, []byte("h1"))
		c.delivered(11, 0, b2, []byte("h2"))
		got := false
		for _, v := range c.violations {
			if v.Kind == KindDuplicateTx {
				got = true
			}
		}
		if got != tc.want {
			t.Errorf("%s: duplicate-tx violation %v, want %v (%v)", tc.name, got, tc.want, c.violations)
		}
	}
}
