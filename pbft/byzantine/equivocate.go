package byzantine

import (
	"slices"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/pbft"
)

// Equivocate says two things at once. As primary, each PRE-PREPARE goes
// with its batch to one group of backups and with an altered batch (first
// two txs swapped, or the null batch for a single tx) to the other; as any
// replica, each PREPARE and COMMIT goes with one digest to the first group
// and another digest to the second.
//
// The groups split the honest replicas (all but Colluders and itself) in
// two halves by index; colluders are in the first group. Colluders compute
// the same alteration, so f+1 colluding equivocators can make the two
// halves commit different batches: the negative control of the simulator.
type Equivocate struct {
	// Colluders are the other faulty replicas equivocating in concert.
	Colluders []int

	batches map[slot][][]byte // batches seen in PRE-PREPAREs, by (view, seq)
	order   []slot            // insertion order, to bound batches
}

type slot struct{ view, seq uint64 }

// Name implements Behaviour.
func (*Equivocate) Name() string { return NameEquivocate }

// Observe implements Observer: remember batches, so votes can be cast for
// the altered one too.
func (b *Equivocate) Observe(m pbft.Message, _ *Context) {
	if pp, ok := m.(*pbft.PrePrepare); ok && len(pp.Txs) > 0 {
		b.remember(slot{pp.View, pp.Seq}, pp.Txs)
	}
}

func (b *Equivocate) remember(s slot, txs [][]byte) {
	if b.batches == nil {
		b.batches = make(map[slot][][]byte)
	}
	if _, ok := b.batches[s]; ok {
		return
	}
	if len(b.order) == batchMemoryMax {
		delete(b.batches, b.order[0])
		b.order = slices.Delete(b.order, 0, 1)
	}
	b.batches[s] = txs
	b.order = append(b.order, s)
}

// second reports whether replica r is in the second group.
func (b *Equivocate) second(r int, ctx *Context) bool {
	var honest []int
	for i := 0; i < ctx.N; i++ {
		if i != ctx.ID && !slices.Contains(b.Colluders, i) {
			honest = append(honest, i)
		}
	}
	i := slices.Index(honest, r)
	return i >= 0 && i >= len(honest)/2
}

// alter returns the other batch for txs: the first two txs swapped, or the
// null batch; ok is false for a batch with no alternative (the null batch).
func alter(txs [][]byte) (alt [][]byte, d crypto.Hash, ok bool) {
	switch len(txs) {
	case 0:
		return nil, d, false
	case 1:
		return nil, pbft.NullDigest, true
	}
	alt = slices.Clone(txs)
	alt[0], alt[1] = alt[1], alt[0]
	d = engine.BatchDigest(alt)
	if d == engine.BatchDigest(txs) { // two equal txs
		return nil, pbft.NullDigest, true
	}
	return alt, d, true
}

// Transform implements Behaviour.
func (b *Equivocate) Transform(out []pbft.Envelope, ctx *Context) []pbft.Envelope {
	res := make([]pbft.Envelope, 0, len(out)+ctx.N)
	for _, env := range out {
		var twin pbft.Message
		switch m := env.Msg.(type) {
		case *pbft.PrePrepare:
			if m.Replica == ctx.ID && len(m.Txs) > 0 {
				b.remember(slot{m.View, m.Seq}, m.Txs)
				if alt, d, ok := alter(m.Txs); ok {
					cp := ctx.Clone(m).(*pbft.PrePrepare)
					cp.Txs, cp.Digest = alt, d
					ctx.Sign(cp)
					twin = cp
				}
			}
		case *pbft.Prepare:
			cp := ctx.Clone(m).(*pbft.Prepare)
			cp.Digest = b.otherDigest(m.View, m.Seq, m.Digest, ctx)
			ctx.Sign(cp)
			twin = cp
		case *pbft.Commit:
			cp := ctx.Clone(m).(*pbft.Commit)
			cp.Digest = b.otherDigest(m.View, m.Seq, m.Digest, ctx)
			ctx.Sign(cp)
			twin = cp
		}
		if twin == nil {
			res = append(res, env)
			continue
		}
		for _, r := range ctx.Recipients(env) {
			if b.second(r, ctx) {
				res = append(res, to(r, twin))
			} else {
				res = append(res, to(r, env.Msg))
			}
		}
	}
	return res
}

// otherDigest is the digest the second group hears for (view, seq): the
// altered batch's if the batch is known, else a digest nobody proposed.
func (b *Equivocate) otherDigest(view, seq uint64, d crypto.Hash, ctx *Context) crypto.Hash {
	if txs, ok := b.batches[slot{view, seq}]; ok && engine.BatchDigest(txs) == d {
		if _, alt, ok := alter(txs); ok {
			return alt
		}
	}
	return crypto.Sum(d[:])
}
