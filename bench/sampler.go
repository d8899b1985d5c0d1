package bench

import (
	"bytes"
	"context"
	"fmt"
	"time"
)

// startSample measures one accepted tx's latency: from its first release to
// the moment the client holds the receipts it needs (f+1 matching receipts
// signed by distinct validators under PBFT, one under Raft). When
// samplersMax samples are already running, the sample is skipped and
// counted: the generator never blocks on measurement.
func (r *runner) startSample(fl *flight, node int) {
	ctx := r.bg
	select {
	case r.samplers <- struct{}{}:
	default:
		r.gen.sampleSkips.Add(1)
		return
	}
	r.samplerWG.Add(1)
	go func() {
		defer r.samplerWG.Done()
		defer func() { <-r.samplers }()
		s := r.collectReceipts(ctx, fl.it.id, fl.it.firstAt, node)
		s.phase = fl.phase
		r.mu.Lock()
		r.samples = append(r.samples, s)
		r.mu.Unlock()
	}()
}

// receiptKey is what f+1 receipts must agree on.
type receiptKey struct {
	height uint64
	index  uint32
	code   uint32
}

// collectReceipts long-polls every node at once and stops at the first
// need matching valid receipts from distinct validators (f+1 under PBFT,
// one under Raft), as a client that wants its proof soonest would: the
// fastest validators answer first, whichever node the tx went to. The
// polls still running are cancelled.
func (r *runner) collectReceipts(ctx context.Context, id string, firstAt time.Time, node int) sample {
	s := sample{firstAt: firstAt}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type answer struct {
		pos   int
		reply *receiptReply
		err   error
	}
	answers := make(chan answer, len(r.apis))
	for k := range r.apis {
		pos := (node + k) % len(r.apis)
		go func() {
			rep, err := r.apis[pos].receipt(ctx, id, receiptWait)
			answers <- answer{pos, rep, err}
		}()
	}
	votes := make(map[receiptKey]int)
	pending := len(r.apis)
	for ; pending > 0 && !s.ok; pending-- {
		a := <-answers
		if a.err != nil {
			continue
		}
		if err := r.checkReceipt(a.pos, a.reply); err != nil {
			r.cfg.Logger.Warn("bad receipt", "node", a.pos, "tx", id, "err", err)
			continue
		}
		k := receiptKey{a.reply.Receipt.Height, a.reply.Receipt.Index, a.reply.Receipt.Code}
		votes[k]++
		if votes[k] >= r.need {
			s.lat, s.ok, s.code = time.Since(firstAt), true, k.code
		}
	}
	// Cancel and drain the polls still running so their goroutines end.
	cancel()
	for ; pending > 0; pending-- {
		<-answers
	}
	return s
}

// checkReceipt checks that a receipt comes from the validator asked, under
// its genesis key, with a valid signature.
func (r *runner) checkReceipt(pos int, rep *receiptReply) error {
	n := r.cfg.Nodes[pos]
	if rep.Validator != n.Index {
		return fmt.Errorf("%w: node %d signed as validator %d", ErrNode, n.Index, rep.Validator)
	}
	if n.PublicKey != nil && !bytes.Equal(rep.pub, n.PublicKey) {
		return fmt.Errorf("%w: validator %d receipt under a key not in genesis", ErrNode, n.Index)
	}
	if r.cfg.VerifyReceipt != nil {
		if err := r.cfg.VerifyReceipt(&rep.Receipt, rep.pub, rep.sig); err != nil {
			return fmt.Errorf("%w: validator %d receipt signature: %w", ErrNode, n.Index, err)
		}
	}
	return nil
}
