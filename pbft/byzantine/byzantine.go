package byzantine

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/pbft"
)

// Behaviour names, as accepted by Parse and by the node's `[unsafe]
// byzantine` setting.
const (
	NameEquivocate      = "equivocate"
	NameSilent          = "silent"
	NameBadSignature    = "bad-signature"
	NameForgeSender     = "forge-sender"
	NameReplay          = "replay"
	NameSeqSkip         = "seq-skip"
	NameLieCheckpoint   = "lie-checkpoint"
	NameForgeViewChange = "forge-view-change"
	NameBadNewView      = "bad-new-view"
	NameViewInflation   = "view-inflation"
	NameCensor          = "censor"
)

// Behaviours lists every behaviour Parse knows, in a fixed order.
var Behaviours = []string{
	NameEquivocate, NameSilent, NameBadSignature, NameForgeSender, NameReplay, NameSeqSkip,
	NameLieCheckpoint, NameForgeViewChange, NameBadNewView, NameViewInflation, NameCensor,
}

// ErrUnknown is returned by Parse for a name not in Behaviours.
var ErrUnknown = errors.New("byzantine: unknown behaviour")

// Parse returns the behaviour called name, with its default settings.
func Parse(name string) (Behaviour, error) {
	switch name {
	case NameEquivocate:
		return &Equivocate{}, nil
	case NameSilent:
		return Silent{}, nil
	case NameBadSignature:
		return BadSignature{}, nil
	case NameForgeSender:
		return ForgeSender{}, nil
	case NameReplay:
		return &Replay{}, nil
	case NameSeqSkip:
		return SeqSkip{}, nil
	case NameLieCheckpoint:
		return LieCheckpoint{}, nil
	case NameForgeViewChange:
		return ForgeViewChange{}, nil
	case NameBadNewView:
		return BadNewView{}, nil
	case NameViewInflation:
		return &ViewInflation{}, nil
	case NameCensor:
		return &Censor{}, nil
	}
	return nil, fmt.Errorf("%w: %q (want one of %v)", ErrUnknown, name, Behaviours)
}

// Behaviour is one way of being faulty. Transform receives the envelopes
// the honest core wants to send and returns what the faulty replica sends
// instead. It must not modify the messages it is given (the core may still
// hold them): it copies (Context.Clone) before mutating, and re-signs
// (Context.Sign) after.
//
// A Behaviour may also implement Observer, TxFilter or Ticker.
type Behaviour interface {
	Name() string
	Transform(out []pbft.Envelope, ctx *Context) []pbft.Envelope
}

// Observer is a Behaviour that looks at every message before the core
// steps it (equivocate remembers batches this way).
type Observer interface {
	Observe(m pbft.Message, ctx *Context)
}

// TxFilter is a Behaviour that hides some txs from the core: Propose and
// REQUESTs of a tx Admit refuses are dropped silently.
type TxFilter interface {
	Admit(tx []byte) bool
}

// Ticker is a Behaviour that sends messages of its own accord.
type Ticker interface {
	OnTick(ctx *Context) []pbft.Envelope
}

// Core is what Wrap wraps: the methods of *pbft.Core.
type Core interface {
	Step(m pbft.Message) error
	Tick()
	Propose(tx []byte) error
	Applied(seq uint64, appHash []byte)
	HasReady() bool
	Ready() pbft.Ready
	Advance(rd pbft.Ready)
	Status() engine.Status
}

var _ Core = (*pbft.Core)(nil)

// Context is what a Behaviour knows about the replica it corrupts.
type Context struct {
	ID      int           // the faulty replica's index
	N       int           // replicas
	F       int           // (N-1)/3
	ChainID string        // signatures are bound to it
	Signer  crypto.Signer // the faulty replica's own key
	Rng     *rand.Rand    // every random choice
	Status  engine.Status // the core's status, refreshed before each call
	Ticks   uint64        // ticks since Wrap
}

// Sign re-signs m (after a mutation) with the faulty replica's own key.
func (c *Context) Sign(m pbft.Message) { pbft.Sign(m, c.ChainID, c.Signer) }

// Clone returns a deep copy of m, safe to mutate.
func (c *Context) Clone(m pbft.Message) pbft.Message { return pbft.Clone(m) }

// Peers returns every replica index but the faulty one, ascending.
func (c *Context) Peers() []int {
	out := make([]int, 0, c.N-1)
	for i := 0; i < c.N; i++ {
		if i != c.ID {
			out = append(out, i)
		}
	}
	return out
}

// Recipients returns the replicas an envelope goes to.
func (c *Context) Recipients(env pbft.Envelope) []int {
	if env.To == engine.Broadcast {
		return c.Peers()
	}
	return []int{env.To}
}

// Primary returns the primary of view v.
func (c *Context) Primary(v uint64) int { return int(v % uint64(c.N)) }

// Replica is a faulty replica: an honest core whose outputs a Behaviour
// rewrites. It has the methods of *pbft.Core and, like it, is single
// threaded.
type Replica struct {
	core Core
	b    Behaviour
	ctx  Context

	coreRd   pbft.Ready // the core's Ready behind rd (valid when fromCore)
	rd       pbft.Ready // what Ready returns until Advance
	haveRd   bool
	fromCore bool
	extra    []pbft.Envelope // sent of the behaviour's own accord (Ticker)
}

// Wrap makes core faulty in the way b describes. signer is the faulty
// replica's own key (the core's), chainID the network's, n the number of
// replicas, rng the source of every random choice. The replica's index is
// the core's ID() if it has that method, else learnt from the first message
// the core sends (behaviours do nothing before they know it).
func Wrap(core Core, b Behaviour, signer crypto.Signer, chainID string, n int, rng *rand.Rand) *Replica {
	id := -1
	if c, ok := core.(interface{ ID() int }); ok {
		id = c.ID()
	}
	return &Replica{core: core, b: b, ctx: Context{
		ID: id, N: n, F: (n - 1) / 3, ChainID: chainID, Signer: signer, Rng: rng,
	}}
}

// Behaviour returns the behaviour the replica follows.
func (r *Replica) Behaviour() Behaviour { return r.b }

// Step feeds m to the core, unless the behaviour filters it.
func (r *Replica) Step(m pbft.Message) error {
	if o, ok := r.b.(Observer); ok {
		r.ctx.Status = r.core.Status()
		o.Observe(m, &r.ctx)
	}
	if f, ok := r.b.(TxFilter); ok {
		if req, ok := m.(*pbft.Request); ok {
			kept := pbft.FilterRequest(req, f.Admit)
			if kept == nil {
				return nil
			}
			m = kept
		}
	}
	return r.core.Step(m)
}

// Tick advances the core's clock and lets a Ticker act.
func (r *Replica) Tick() {
	r.core.Tick()
	r.ctx.Ticks++
	if t, ok := r.b.(Ticker); ok && r.ctx.ID >= 0 {
		r.ctx.Status = r.core.Status()
		r.extra = append(r.extra, t.OnTick(&r.ctx)...)
	}
}

// Propose hands tx to the core, unless the behaviour filters it (then it
// pretends to accept it).
func (r *Replica) Propose(tx []byte) error {
	if f, ok := r.b.(TxFilter); ok && !f.Admit(tx) {
		return nil
	}
	return r.core.Propose(tx)
}

// Applied passes through to the core.
func (r *Replica) Applied(seq uint64, appHash []byte) { r.core.Applied(seq, appHash) }

// HasReady reports whether the core or the behaviour has work.
func (r *Replica) HasReady() bool { return r.haveRd || len(r.extra) > 0 || r.core.HasReady() }

// Ready returns the core's Ready with its messages rewritten by the
// behaviour; Persist and Committed are the core's own. It stays the same
// until Advance.
func (r *Replica) Ready() pbft.Ready {
	if r.haveRd {
		return r.rd
	}
	var out []pbft.Envelope
	r.fromCore = r.core.HasReady()
	if r.fromCore {
		r.coreRd = r.core.Ready()
		out = append(out, r.coreRd.Messages...)
	} else {
		r.coreRd = pbft.Ready{}
	}
	if r.ctx.ID < 0 && len(out) > 0 {
		r.ctx.ID = out[0].Msg.From()
	}
	msgs := out
	if r.ctx.ID >= 0 {
		r.ctx.Status = r.core.Status()
		msgs = r.b.Transform(out, &r.ctx)
	}
	msgs = append(msgs, r.extra...)
	r.extra = nil
	r.rd = pbft.Ready{Persist: r.coreRd.Persist, Messages: msgs, Committed: r.coreRd.Committed}
	r.haveRd = true
	return r.rd
}

// Advance acknowledges the last Ready (the caller's copy is ignored: the
// core gets back exactly the Ready it produced).
func (r *Replica) Advance(pbft.Ready) {
	if r.fromCore {
		r.core.Advance(r.coreRd)
	}
	r.rd, r.coreRd, r.haveRd, r.fromCore = pbft.Ready{}, pbft.Ready{}, false, false
}

// Status passes through to the core.
func (r *Replica) Status() engine.Status { return r.core.Status() }
