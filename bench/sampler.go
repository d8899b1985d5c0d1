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

// collectReceipts long-polls the first need nodes (starting with the one
// the tx went to) and, for each that fails or disagrees, one more node,
// until need matching valid receipts from distinct validators are in.
func (r *runner) collectReceipts(ctx context.Context, id string, firstAt time.Time, node int) sample {
	s := sample{firstAt: firstAt}
	type answer struct {
		pos   int
		reply *receiptReply
		err   error
	}
	answers := make(chan answer, len(r.apis))
	ask := func(pos int) {
		go func() {
			rep, err := r.apis[pos].receipt(ctx, id, receiptWait)
			answers <- answer{pos, rep, err}
		}()
	}
	next, pending := 0, 0
	for ; next < r.need && next < len(r.apis); next++ {
		ask((node + next) % len(r.apis))
		pending++
	}
	votes := make(map[receiptKey]int)
	for pending > 0 {
		a := <-answers
		pending--
		if a.err == nil {
			if err := r.checkReceipt(a.pos, a.reply); err != nil {
				r.cfg.Logger.Warn("bad receipt", "node", a.pos, "tx", id, "err", err)
			} else {
				k := receiptKey{a.reply.Receipt.Height, a.reply.Receipt.Index, a.reply.Receipt.Code}
				votes[k]++
				if votes[k] >= r.need {
					s.lat, s.ok, s.code = time.Since(firstAt), true, k.code
					break
				}
				continue
			}
		}
		if next < len(r.apis) && ctx.Err() == nil {
			ask((node + next) % len(r.apis))
			next++
			pending++
		}
	}
	// Drain answers still on their way so their goroutines end.
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
