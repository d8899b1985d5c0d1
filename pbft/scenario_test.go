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

func proposeAll(t *testing.T, nw *pbfttest.Network, from, count int, prefix string) {
	t.Helper()
	for i := range count {
		if err := nw.Propose(from, []byte(fmt.Sprintf("%s%d", prefix, i))); err != nil {
			t.Fatal(err)
		}
	}
}

func TestViewChangeOnCrashedPrimary(t *testing.T) {
	nw := newNet(t, 4, pbfttest.Options{})
	proposeAll(t, nw, 1, 5, "a")
	nw.Run(3)
	requireHeights(t, nw, 1)
	nw.Crash(0)
	for i := 1; i < 4; i++ {
		proposeAll(t, nw, i, 3, fmt.Sprintf("b%d-", i))
	}
	nw.Run(100)
	for i := 1; i < 4; i++ {
		v, active := nw.Nodes[i].Core.View()
		if v != 1 || !active {
			t.Fatalf("replica %d in view %d active %v, want 1 true", i, v, active)
		}
	}
	requireHeights(t, nw, 2, 1, 2, 3)
	for i := 1; i < 4; i++ {
		if got := nw.Nodes[i].TxCount; got != 14 {
			t.Fatalf("replica %d executed %d txs, want 14", i, got)
		}
	}
	// The old primary comes back and catches up.
	if err := nw.Restart(0); err != nil {
		t.Fatal(err)
	}
	proposeAll(t, nw, 2, 3, "c")
	nw.Run(100)
	requireHeights(t, nw, nw.Nodes[1].Store.Applied)
	if v, _ := nw.Nodes[0].Core.View(); v != 1 {
		t.Fatalf("restarted replica in view %d, want 1", v)
	}
}

func TestCheckpointsTruncateAndLaggardCatchesUp(t *testing.T) {
	nw := newNet(t, 4, pbfttest.Options{CheckpointInterval: 2, WindowSize: 4, MaxBatchTxs: 1})
	// Replica 3 is cut off while the others run far past the window.
	nw.Drop = func(p pbfttest.Packet) bool { return p.To == 3 || p.From == 3 }
	proposeAll(t, nw, 0, 20, "x")
	nw.Run(60)
	requireHeights(t, nw, 20, 0, 1, 2)
	if st, _ := nw.Nodes[0].Core.StableCheckpoint(); st < 16 {
		t.Fatalf("stable checkpoint %d, want >= 16", st)
	}
	if h := nw.Nodes[3].Store.Applied; h != 0 {
		t.Fatalf("isolated replica at %d", h)
	}
	nw.Drop = nil
	proposeAll(t, nw, 0, 2, "y")
	nw.Run(60)
	requireHeights(t, nw, 22)
}
