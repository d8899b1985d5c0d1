package pbft_test

import (
	"fmt"
	"testing"

	"github.com/bftledger/bftledger/pbft/pbfttest"
)

func newNet(t *testing.T, n int, o pbfttest.Options) *pbfttest.Network {
	t.Helper()
	nw, err := pbfttest.New(n, o)
	if err != nil {
		t.Fatal(err)
	}
	return nw
}

func requireHeights(t *testing.T, nw *pbfttest.Network, want uint64, nodes ...int) {
	t.Helper()
	if err := nw.CheckAgreement(); err != nil {
		t.Fatal(err)
	}
	if len(nodes) == 0 {
		for i := range nw.N {
			nodes = append(nodes, i)
		}
	}
	for _, i := range nodes {
		if h := nw.Nodes[i].Store.Applied; h < want {
			t.Fatalf("replica %d at height %d, want >= %d (heights %v, errors %v)", i, h, want, nw.Heights(), nw.Errors)
		}
	}
}

func TestNormalCaseCommits(t *testing.T) {
	for _, n := range []int{1, 4, 5, 7, 10} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			nw := newNet(t, n, pbfttest.Options{MaxBatchTxs: 4})
			for i := range 40 {
				if err := nw.Propose(i%n, []byte(fmt.Sprintf("tx%d", i))); err != nil {
					t.Fatal(err)
				}
			}
			nw.Run(50)
			requireHeights(t, nw, 10)
			for i, nd := range nw.Nodes {
				if nd.TxCount != 40 {
					t.Fatalf("replica %d executed %d txs, want 40", i, nd.TxCount)
				}
			}
		})
	}
}
