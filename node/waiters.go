package node

import (
	"context"
	"sync"

	"github.com/bftledger/bftledger/api"
	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/ledger"
)

// waiters holds the clients long-polling for receipts. At most max wait at
// once; more get api.ErrBusy. Safe for concurrent use.
type waiters struct {
	mu    sync.Mutex
	max   int
	count int
	byTx  map[crypto.Hash][]chan *ledger.Receipt
}

func newWaiters(max int) *waiters {
	return &waiters{max: max, byTx: make(map[crypto.Hash][]chan *ledger.Receipt)}
}

// wait registers for h's receipt, calls lookup (which closes the race with
// a commit that happened before registering), and waits until the receipt
// arrives or ctx ends.
func (w *waiters) wait(ctx context.Context, h crypto.Hash, lookup func() (*ledger.Receipt, error)) (*ledger.Receipt, error) {
	ch := make(chan *ledger.Receipt, 1)
	w.mu.Lock()
	if w.count >= w.max {
		w.mu.Unlock()
		return nil, api.ErrBusy
	}
	w.count++
	w.byTx[h] = append(w.byTx[h], ch)
	w.mu.Unlock()
	defer w.remove(h, ch)

	if r, err := lookup(); err == nil {
		return r, nil
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (w *waiters) remove(h crypto.Hash, ch chan *ledger.Receipt) {
	w.mu.Lock()
	defer w.mu.Unlock()
	list := w.byTx[h]
	for i, c := range list {
		if c == ch {
			list = append(list[:i], list[i+1:]...)
			w.count--
			break
		}
	}
	if len(list) == 0 {
		delete(w.byTx, h)
	} else {
		w.byTx[h] = list
	}
}

// notify hands each receipt to the clients waiting for it.
func (w *waiters) notify(receipts []ledger.Receipt) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.count == 0 {
		return
	}
	for i := range receipts {
		for _, ch := range w.byTx[receipts[i].TxHash] {
			select {
			case ch <- &receipts[i]:
			default: // already notified
			}
		}
	}
}
