package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/ledger"
)

// recorder logs what the loop asks of the engine and the transport, in
// order.
type recorder struct {
	events     []string
	readys     []engine.Ready
	persistErr error
}

func (r *recorder) Decode(int, []byte) (any, error) { return nil, nil }
func (r *recorder) Step(any) error                  { return nil }
func (r *recorder) Propose([]byte) error            { return nil }
func (r *recorder) Tick()                           {}
func (r *recorder) HasReady() bool                  { return len(r.readys) > 0 }
func (r *recorder) Ready() engine.Ready             { return r.readys[0] }
func (r *recorder) Status() engine.Status           { return engine.Status{} }
func (r *recorder) Applied(h uint64, _ []byte) {
	r.events = append(r.events, fmt.Sprintf("applied %d", h))
}
func (r *recorder) Persist(engine.Ready) error {
	r.events = append(r.events, "persist")
	return r.persistErr
}
func (r *recorder) Advance(engine.Ready) {
	r.events = append(r.events, "advance")
	r.readys = r.readys[1:]
}
func (r *recorder) Send(to int, _ []byte) bool {
	r.events = append(r.events, fmt.Sprintf("send %d", to))
	return true
}
func (r *recorder) Broadcast([]byte) { r.events = append(r.events, "broadcast") }

// loopNode is a Node with just what handleReady needs, over an in-memory
// ledger.
func loopNode(t *testing.T, rec *recorder) (*Node, *testNet) {
	t.Helper()
	tn := newTestNet(t, 1, engine.ModePBFT, 1, nil)
	if err := tn.g.Validate(); err != nil {
		t.Fatal(err)
	}
	store, err := ledger.NewStore(dbm.NewMemDB(), tn.g)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return &Node{
		eng: rec, out: rec, store: store, index: 0,
		m: newMetrics(prometheus.NewRegistry()), waiters: newWaiters(10),
		log: slog.New(slog.DiscardHandler),
	}, tn
}

// TestHandleReadyOrder checks the crash-recovery order: persist before any
// message leaves, apply (and report the app hash) before Advance, and the
// receipt reaches a waiting client.
func TestHandleReadyOrder(t *testing.T) {
	rec := &recorder{}
	n, tn := loopNode(t, rec)
	tx := ledger.NewTransfer(tn.users[0], testChainID, crypto.Address{9}, 5, 0).Encode()
	rec.readys = []engine.Ready{
		{Messages: []engine.Outbound{{To: engine.Broadcast}, {To: 0}, {To: 2}},
			Committed: []engine.Committed{{Height: 1, Txs: [][]byte{tx}}}},
		{Committed: []engine.Committed{{Height: 1, Txs: [][]byte{tx}}}}, // re-delivered: skipped
	}
	got := make(chan *ledger.Receipt, 1)
	registered := make(chan struct{})
	go func() {
		r, _ := n.waiters.wait(context.Background(), ledger.TxHash(tx), func() (*ledger.Receipt, error) {
			close(registered)
			return nil, ledger.ErrNotFound
		})
		got <- r
	}()
	<-registered
	if err := n.handleReady(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"persist", "broadcast", "send 2", "applied 1", "advance", "persist", "advance"}
	if fmt.Sprint(rec.events) != fmt.Sprint(want) {
		t.Fatalf("events %v, want %v", rec.events, want)
	}
	if r := <-got; r.Height != 1 || r.Code != ledger.CodeOK {
		t.Fatalf("receipt %+v", r)
	}
}

// TestHandleReadyPersistFails checks that a failed persist sends nothing
// and is fatal.
func TestHandleReadyPersistFails(t *testing.T) {
	rec := &recorder{persistErr: errors.New("disk on fire")}
	n, _ := loopNode(t, rec)
	rec.readys = []engine.Ready{{Messages: []engine.Outbound{{To: engine.Broadcast}}}}
	if err := n.handleReady(context.Background()); !errors.Is(err, ErrStorage) {
		t.Fatalf("got %v", err)
	}
	if fmt.Sprint(rec.events) != "[persist]" {
		t.Fatalf("events %v", rec.events)
	}
}

// TestHandleReadyGap checks that a committed height beyond the next one is
// refused as fatal rather than applied out of order.
func TestHandleReadyGap(t *testing.T) {
	rec := &recorder{}
	n, _ := loopNode(t, rec)
	rec.readys = []engine.Ready{{Committed: []engine.Committed{{Height: 2}}}}
	if err := n.handleReady(context.Background()); !errors.Is(err, ErrStorage) {
		t.Fatalf("got %v", err)
	}
}

// TestExecutorPipeline checks the PBFT path: the loop queues the batch and
// advances without waiting; the executor applies it and hands the app hash
// back for the loop to report.
func TestExecutorPipeline(t *testing.T) {
	rec := &recorder{}
	n, tn := loopNode(t, rec)
	n.execQ = make(chan engine.Committed, execQueueLen)
	n.execDone = make(chan appliedBlock, execQueueLen)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.runExecutor(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	tx := ledger.NewTransfer(tn.users[0], testChainID, crypto.Address{9}, 5, 0).Encode()
	rec.readys = []engine.Ready{{Committed: []engine.Committed{{Height: 1, Txs: [][]byte{tx}}}}}
	if err := n.handleReady(ctx); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rec.events) != "[persist advance]" {
		t.Fatalf("events %v", rec.events)
	}
	a := <-n.execDone
	want, err := n.store.AppHash(1)
	if err != nil || a.height != 1 || string(a.appHash) != string(want) {
		t.Fatalf("applied %d %x, want 1 %x (%v)", a.height, a.appHash, want, err)
	}
}
