package byzantine

import (
	"crypto/sha256"
	"slices"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/pbft"
)

// Silent sends nothing: a crashed replica that still counts as a member.
type Silent struct{}

// Name implements Behaviour.
func (Silent) Name() string { return NameSilent }

// Transform implements Behaviour: every message is dropped.
func (Silent) Transform([]pbft.Envelope, *Context) []pbft.Envelope { return nil }

// BadSignature corrupts half of its messages: the outer signature, or (for
// VIEW-CHANGE and NEW-VIEW) one signature of a certificate inside, the
// outer one re-signed so that only the embedded certificate is bad.
type BadSignature struct{}

// Name implements Behaviour.
func (BadSignature) Name() string { return NameBadSignature }

// Transform implements Behaviour.
func (BadSignature) Transform(out []pbft.Envelope, ctx *Context) []pbft.Envelope {
	res := make([]pbft.Envelope, 0, len(out))
	for _, env := range out {
		if ctx.Rng.IntN(2) == 0 {
			res = append(res, env)
			continue
		}
		m := ctx.Clone(env.Msg)
		if !corruptEmbedded(m, ctx) {
			flip(*sigOf(m), ctx)
		}
		res = append(res, pbft.Envelope{To: env.To, Msg: m})
	}
	return res
}

// corruptEmbedded flips a bit of a signature inside m's certificates and
// re-signs m; false if m has none.
func corruptEmbedded(m pbft.Message, ctx *Context) bool {
	var sigs []*[]byte
	switch m := m.(type) {
	case *pbft.ViewChange:
		sigs = certSigs(m)
	case *pbft.NewView:
		for _, vc := range m.ViewChanges {
			sigs = append(sigs, &vc.Sig)
		}
		for _, pp := range m.PrePrepares {
			sigs = append(sigs, &pp.Sig)
		}
	}
	if len(sigs) == 0 {
		return false
	}
	flip(*sigs[ctx.Rng.IntN(len(sigs))], ctx)
	ctx.Sign(m)
	return true
}

func certSigs(vc *pbft.ViewChange) []*[]byte {
	var sigs []*[]byte
	for _, cp := range vc.CheckpointProof {
		sigs = append(sigs, &cp.Sig)
	}
	for i := range vc.Prepared {
		c := &vc.Prepared[i]
		sigs = append(sigs, &c.PrePrepareSig)
		for j := range c.Prepares {
			sigs = append(sigs, &c.Prepares[j].Sig)
		}
	}
	return sigs
}

// ForgeSender makes half of its messages claim to come from another
// replica, signed with its own key.
type ForgeSender struct{}

// Name implements Behaviour.
func (ForgeSender) Name() string { return NameForgeSender }

// Transform implements Behaviour.
func (ForgeSender) Transform(out []pbft.Envelope, ctx *Context) []pbft.Envelope {
	res := make([]pbft.Envelope, 0, len(out))
	peers := ctx.Peers()
	for _, env := range out {
		if ctx.Rng.IntN(2) == 0 || len(peers) == 0 {
			res = append(res, env)
			continue
		}
		m := ctx.Clone(env.Msg)
		setReplica(m, peers[ctx.Rng.IntN(len(peers))])
		ctx.Sign(m)
		res = append(res, pbft.Envelope{To: env.To, Msg: m})
	}
	return res
}

// Replay re-sends old messages at random, and adds copies of new votes
// moved to a stale view or sequence number (re-signed).
type Replay struct {
	history []pbft.Envelope
}

// Name implements Behaviour.
func (*Replay) Name() string { return NameReplay }

// Transform implements Behaviour.
func (b *Replay) Transform(out []pbft.Envelope, ctx *Context) []pbft.Envelope {
	res := slices.Clone(out)
	for i := 0; i < replayPerReady && len(b.history) > 0; i++ {
		if ctx.Rng.IntN(2) == 0 {
			old := b.history[ctx.Rng.IntN(len(b.history))]
			res = append(res, old)
		}
	}
	for _, env := range out {
		if ctx.Rng.IntN(4) == 0 {
			if m := stale(env.Msg, ctx); m != nil {
				res = append(res, pbft.Envelope{To: env.To, Msg: m})
			}
		}
		if len(b.history) == replayHistoryMax {
			b.history = slices.Delete(b.history, 0, 1)
		}
		b.history = append(b.history, pbft.Envelope{To: env.To, Msg: ctx.Clone(env.Msg)})
	}
	return res
}

// stale returns a re-signed copy of a vote in an older view, or at an older
// sequence number; nil for other kinds or when there is nothing older.
func stale(m pbft.Message, ctx *Context) pbft.Message {
	back := func(view, seq *uint64) bool {
		switch {
		case *view > 0 && ctx.Rng.IntN(2) == 0:
			*view--
		case *seq > 1:
			*seq--
		default:
			return false
		}
		return true
	}
	cp := ctx.Clone(m)
	ok := false
	switch cp := cp.(type) {
	case *pbft.PrePrepare:
		ok = back(&cp.View, &cp.Seq)
	case *pbft.Prepare:
		ok = back(&cp.View, &cp.Seq)
	case *pbft.Commit:
		ok = back(&cp.View, &cp.Seq)
	case *pbft.Checkpoint:
		if cp.Seq > 1 {
			cp.Seq--
			ok = true
		}
	}
	if !ok {
		return nil
	}
	ctx.Sign(cp)
	return cp
}

// SeqSkip sends a random half of the recipients of each PRE-PREPARE (and,
// as a backup, of each PREPARE and COMMIT) a copy at another sequence
// number: past a small gap, or beyond the high watermark.
type SeqSkip struct{}

// Name implements Behaviour.
func (SeqSkip) Name() string { return NameSeqSkip }

// Transform implements Behaviour.
func (SeqSkip) Transform(out []pbft.Envelope, ctx *Context) []pbft.Envelope {
	res := make([]pbft.Envelope, 0, len(out))
	for _, env := range out {
		var seq *uint64
		cp := ctx.Clone(env.Msg)
		switch cp := cp.(type) {
		case *pbft.PrePrepare:
			seq = &cp.Seq
		case *pbft.Prepare:
			seq = &cp.Seq
		case *pbft.Commit:
			seq = &cp.Seq
		}
		if seq == nil {
			res = append(res, env)
			continue
		}
		if ctx.Rng.IntN(2) == 0 {
			*seq += skipBeyondWindow + uint64(ctx.Rng.IntN(skipBeyondWindow))
		} else {
			*seq += 1 + uint64(ctx.Rng.IntN(3))
		}
		ctx.Sign(cp)
		for _, r := range ctx.Recipients(env) {
			if ctx.Rng.IntN(2) == 0 {
				res = append(res, to(r, cp))
			} else {
				res = append(res, to(r, env.Msg))
			}
		}
	}
	return res
}

// LieCheckpoint sends CHECKPOINTs whose app hash is wrong.
type LieCheckpoint struct{}

// Name implements Behaviour.
func (LieCheckpoint) Name() string { return NameLieCheckpoint }

// Transform implements Behaviour.
func (LieCheckpoint) Transform(out []pbft.Envelope, ctx *Context) []pbft.Envelope {
	res := make([]pbft.Envelope, 0, len(out))
	for _, env := range out {
		if _, ok := env.Msg.(*pbft.Checkpoint); !ok {
			res = append(res, env)
			continue
		}
		cp := ctx.Clone(env.Msg).(*pbft.Checkpoint)
		h := sha256.Sum256(cp.AppHash)
		wrong := make([]byte, len(cp.AppHash))
		copy(wrong, h[:])
		wrong[0] ^= 0x80 // differs even if the app hash were all h
		cp.AppHash = wrong
		ctx.Sign(cp)
		res = append(res, pbft.Envelope{To: env.To, Msg: cp})
	}
	return res
}

// ForgeViewChange sends VIEW-CHANGEs whose prepared certificates are
// fabricated (a certificate for a batch nobody prepared, its signatures
// made with the faulty replica's own key under other replicas' indices) or
// altered (a real certificate pointing at another digest).
type ForgeViewChange struct{}

// Name implements Behaviour.
func (ForgeViewChange) Name() string { return NameForgeViewChange }

// Transform implements Behaviour.
func (ForgeViewChange) Transform(out []pbft.Envelope, ctx *Context) []pbft.Envelope {
	res := make([]pbft.Envelope, 0, len(out))
	for _, env := range out {
		vc, ok := env.Msg.(*pbft.ViewChange)
		if !ok || vc.Replica != ctx.ID {
			res = append(res, env)
			continue
		}
		cp := ctx.Clone(vc).(*pbft.ViewChange)
		if len(cp.Prepared) > 0 && ctx.Rng.IntN(2) == 0 {
			c := &cp.Prepared[ctx.Rng.IntN(len(cp.Prepared))]
			c.Digest = randomDigest(ctx)
		} else {
			fabricateCert(cp, ctx)
		}
		ctx.Sign(cp)
		res = append(res, pbft.Envelope{To: env.To, Msg: cp})
	}
	return res
}

// fabricateCert adds to vc a prepared certificate for a random digest at a
// sequence number just above its stable checkpoint, in the view before
// vc's, "signed" by the primary and 2f backups with the faulty key.
func fabricateCert(vc *pbft.ViewChange, ctx *Context) {
	seq := vc.StableSeq + 1 + uint64(ctx.Rng.IntN(4))
	for i := range vc.Prepared {
		if vc.Prepared[i].Seq == seq {
			vc.Prepared[i].Digest = randomDigest(ctx)
			return
		}
	}
	view := vc.NewView - 1
	d := crypto.Hash(randomDigest(ctx))
	primary := ctx.Primary(view)
	pp := &pbft.PrePrepare{View: view, Seq: seq, Digest: d, Replica: primary}
	ctx.Sign(pp)
	cert := pbft.PreparedCert{View: view, Seq: seq, Digest: d, PrePrepareSig: pp.Sig}
	for r := 0; r < ctx.N && len(cert.Prepares) < 2*ctx.F; r++ {
		if r == primary {
			continue
		}
		p := &pbft.Prepare{View: view, Seq: seq, Digest: d, Replica: r}
		ctx.Sign(p)
		cert.Prepares = append(cert.Prepares, pbft.Attestation{Replica: r, Sig: p.Sig})
	}
	i, _ := slices.BinarySearchFunc(vc.Prepared, seq, func(c pbft.PreparedCert, s uint64) int {
		switch {
		case c.Seq < s:
			return -1
		case c.Seq > s:
			return 1
		}
		return 0
	})
	vc.Prepared = slices.Insert(vc.Prepared, i, cert)
}

// BadNewView, as the new primary, sends NEW-VIEWs that drop the last
// re-issued batch or replace one with another digest (re-signing the
// pre-prepare and the NEW-VIEW with its own, legitimate, key).
type BadNewView struct{}

// Name implements Behaviour.
func (BadNewView) Name() string { return NameBadNewView }

// Transform implements Behaviour.
func (BadNewView) Transform(out []pbft.Envelope, ctx *Context) []pbft.Envelope {
	res := make([]pbft.Envelope, 0, len(out))
	for _, env := range out {
		nv, ok := env.Msg.(*pbft.NewView)
		if !ok || nv.Replica != ctx.ID || len(nv.PrePrepares) == 0 {
			res = append(res, env)
			continue
		}
		cp := ctx.Clone(nv).(*pbft.NewView)
		if ctx.Rng.IntN(2) == 0 {
			cp.PrePrepares = cp.PrePrepares[:len(cp.PrePrepares)-1]
		} else {
			pp := cp.PrePrepares[ctx.Rng.IntN(len(cp.PrePrepares))]
			if pp.Digest != pbft.NullDigest {
				pp.Digest = pbft.NullDigest
			} else {
				pp.Digest = engine.BatchDigest([][]byte{[]byte("bad-new-view")})
			}
			ctx.Sign(pp)
		}
		ctx.Sign(cp)
		res = append(res, pbft.Envelope{To: env.To, Msg: cp})
	}
	return res
}

// ViewInflation sends VIEW-CHANGEs for a view far ahead: half of its own
// VIEW-CHANGEs are replaced by such a copy, and every inflateEveryTicks it
// sends one of its own accord.
type ViewInflation struct {
	last *pbft.ViewChange // the last VIEW-CHANGE the core sent (a copy)
}

// Name implements Behaviour.
func (*ViewInflation) Name() string { return NameViewInflation }

// Transform implements Behaviour.
func (b *ViewInflation) Transform(out []pbft.Envelope, ctx *Context) []pbft.Envelope {
	res := make([]pbft.Envelope, 0, len(out))
	for _, env := range out {
		vc, ok := env.Msg.(*pbft.ViewChange)
		if !ok || vc.Replica != ctx.ID {
			res = append(res, env)
			continue
		}
		b.last = ctx.Clone(vc).(*pbft.ViewChange)
		if ctx.Rng.IntN(2) == 0 {
			res = append(res, env)
		}
		res = append(res, pbft.Envelope{To: env.To, Msg: b.inflate(ctx)})
	}
	return res
}

// OnTick implements Ticker.
func (b *ViewInflation) OnTick(ctx *Context) []pbft.Envelope {
	if ctx.Ticks%inflateEveryTicks != 0 {
		return nil
	}
	return []pbft.Envelope{{To: engine.Broadcast, Msg: b.inflate(ctx)}}
}

// inflate returns a signed VIEW-CHANGE for a view inflateViews past both
// the current view and the last VIEW-CHANGE.
func (b *ViewInflation) inflate(ctx *Context) *pbft.ViewChange {
	var vc *pbft.ViewChange
	if b.last != nil {
		vc = ctx.Clone(b.last).(*pbft.ViewChange)
	} else {
		vc = &pbft.ViewChange{Replica: ctx.ID}
	}
	vc.NewView = max(vc.NewView, ctx.Status.Round) + inflateViews
	ctx.Sign(vc)
	return vc
}

// Censor never orders one client's txs: it drops them when they are
// proposed to it or relayed to it, and never relays them. As primary, that
// starves the client until the backups' request timers replace it.
type Censor struct {
	// Match picks the censored txs. Nil: a fixed quarter of all txs (those
	// whose SHA-256 starts with 0b00), so the behaviour needs no knowledge
	// of the tx format.
	Match func(tx []byte) bool
}

// Name implements Behaviour.
func (*Censor) Name() string { return NameCensor }

// Admit implements TxFilter.
func (b *Censor) Admit(tx []byte) bool { return !b.censored(tx) }

func (b *Censor) censored(tx []byte) bool {
	if b.Match != nil {
		return b.Match(tx)
	}
	h := sha256.Sum256(tx)
	return h[0]>>6 == 0
}

// Transform implements Behaviour: censored txs are never relayed (a
// Request that also holds others is re-signed without them).
func (b *Censor) Transform(out []pbft.Envelope, ctx *Context) []pbft.Envelope {
	res := make([]pbft.Envelope, 0, len(out))
	for _, env := range out {
		if req, ok := env.Msg.(*pbft.Request); ok {
			kept := pbft.FilterRequest(req, b.Admit)
			if kept == nil {
				continue
			}
			if kept != req {
				kept = &pbft.Request{Txs: kept.Txs, Replica: req.Replica}
				ctx.Sign(kept)
				env.Msg = kept
			}
		}
		res = append(res, env)
	}
	return res
}
