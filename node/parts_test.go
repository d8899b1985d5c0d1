package node

import (
	"context"
	"errors"
	"testing"

	"github.com/bftledger/bftledger/api"
	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/ledger"
)

func TestTxCache(t *testing.T) {
	c := newTxCache(3)
	h := func(i byte) crypto.Hash { return crypto.Hash{i} }
	for i := range byte(3) {
		c.add(h(i))
	}
	c.add(h(1)) // already present: no eviction
	if !c.has(h(0)) || !c.has(h(2)) {
		t.Fatal("lost an entry")
	}
	c.add(h(3)) // evicts the oldest
	if c.has(h(0)) || !c.has(h(1)) || !c.has(h(3)) {
		t.Fatal("eviction order")
	}

	user := mustKey(t)
	tx := ledger.NewTransfer(user, testChainID, crypto.Address{1}, 5, 0).Encode()
	if err := c.checkTx(testChainID, tx); err != nil {
		t.Fatal(err)
	}
	if !c.has(ledger.TxHash(tx)) {
		t.Fatal("verified tx not cached")
	}
	if err := c.checkTx(testChainID, ledger.NewTransfer(user, "other", crypto.Address{1}, 5, 0).Encode()); !errors.Is(err, ledger.ErrWrongChain) {
		t.Fatalf("got %v", err)
	}
	bad := append([]byte(nil), tx...)
	bad[len(bad)-1] ^= 1
	if err := c.checkTx(testChainID, bad); !errors.Is(err, ledger.ErrBadSignature) || c.has(ledger.TxHash(bad)) {
		t.Fatalf("bad signature: %v", err)
	}
}

func TestWaiters(t *testing.T) {
	w := newWaiters(1)
	h := crypto.Hash{1}
	notFound := func() (*ledger.Receipt, error) { return nil, ledger.ErrNotFound }

	// Found by the lookup after registering.
	r, err := w.wait(context.Background(), h, func() (*ledger.Receipt, error) { return &ledger.Receipt{TxHash: h}, nil })
	if err != nil || r.TxHash != h || w.count != 0 {
		t.Fatalf("got %v %v, count %d", r, err, w.count)
	}

	// Cancelled.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.wait(ctx, h, notFound); !errors.Is(err, context.Canceled) || w.count != 0 {
		t.Fatalf("got %v, count %d", err, w.count)
	}

	// Woken by notify; a second waiter is refused while the first waits.
	got := make(chan *ledger.Receipt)
	registered := make(chan struct{})
	go func() {
		r, _ := w.wait(context.Background(), h, func() (*ledger.Receipt, error) {
			close(registered)
			return nil, ledger.ErrNotFound
		})
		got <- r
	}()
	<-registered
	if _, err := w.wait(context.Background(), crypto.Hash{2}, notFound); !errors.Is(err, api.ErrBusy) {
		t.Fatalf("want busy, got %v", err)
	}
	w.notify([]ledger.Receipt{{TxHash: crypto.Hash{3}}, {TxHash: h, Height: 7}})
	if r := <-got; r.Height != 7 {
		t.Fatalf("got %+v", r)
	}
}
