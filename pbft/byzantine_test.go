package pbft_test

import (
	"testing"

	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/pbft"
	"github.com/bftledger/bftledger/pbft/pbfttest"
)

// equivocate makes replica 0 (primary of view 0) send, instead of its
// honest pre-prepare for seq 1, a pre-prepare for batch a to the replicas
// in toA and one for batch b to the others (§4.2: a faulty primary).
func equivocate(nw *pbfttest.Network, toA map[int]bool, a, b [][]byte) {
	nw.Drop = func(p pbfttest.Packet) bool { return p.From == 0 && p.Kind == pbft.KindPrePrepare && !p.Injected }
	for to := 1; to < nw.N; to++ {
		txs := b
		if toA[to] {
			txs = a
		}
		pp := &pbft.PrePrepare{View: 0, Seq: 1, Digest: engine.BatchDigest(txs), Txs: txs, Replica: 0}
		pbft.Sign(pp, nw.Opts.ChainID, nw.Nodes[0].Signer)
		nw.Inject(0, to, pp)
	}
}

// §4.2 / §4.5.1 (safety): a primary that sends conflicting pre-prepares
// cannot get two batches committed at one seq. With a quorum on batch a,
// a commits; the backup that got b never prepares it and catches up on a.
func TestEquivocatingPrimaryQuorumSide(t *testing.T) {
	nw := newNet(t, 4, pbfttest.Options{})
	a, b := [][]byte{[]byte("a")}, [][]byte{[]byte("b")}
	if err := nw.Propose(0, a[0]); err != nil {
		t.Fatal(err)
	}
	nw.Process(0) // the honest pre-prepare, dropped below
	equivocate(nw, map[int]bool{1: true, 2: true}, a, b)
	nw.Run(60)
	if err := nw.CheckAgreement(); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if d, ok := nw.Nodes[i].Committed[1]; !ok || d != engine.BatchDigest(a) {
			t.Fatalf("replica %d: seq 1 committed %v (%v), want batch a", i, d, ok)
		}
	}
}

// §4.4 (liveness): when the conflicting pre-prepares split the backups so
// that neither batch prepares, the backups time out, change view, and the
// new primary orders the pending txs.
func TestEquivocatingPrimarySplit(t *testing.T) {
	nw := newNet(t, 4, pbfttest.Options{RequestTimeoutTicks: 10})
	a, b := [][]byte{[]byte("a")}, [][]byte{[]byte("b")}
	for i := range 4 {
		_ = nw.Propose(i, a[0])
		_ = nw.Propose(i, b[0])
	}
	nw.Queue = nil // the backups' relays
	nw.ProcessAll()
	nw.Queue = nil
	equivocate(nw, map[int]bool{1: true}, a, b)
	nw.Run(200)
	if err := nw.CheckAgreement(); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 4; i++ {
		v, active := nw.Nodes[i].Core.View()
		if v == 0 || !active {
			t.Fatalf("replica %d still in view %d (active %v)", i, v, active)
		}
		if got := nw.Nodes[i].TxCount; got != 2 {
			t.Fatalf("replica %d executed %d txs, want 2", i, got)
		}
	}
}
