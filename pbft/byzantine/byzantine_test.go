package byzantine

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/pbft"
)

const testChain = "byz-test"

// fixture is a 4-replica network's keys and a verifier over them.
type fixture struct {
	signers []crypto.Signer
	v       *pbft.Verifier
}

func newFixture(t *testing.T, n int) *fixture {
	t.Helper()
	fx := &fixture{}
	var keys [][]byte
	for i := 0; i < n; i++ {
		seed := bytes.Repeat([]byte{byte(i + 1)}, crypto.SeedSize)
		s, err := crypto.Ed25519FromSeed(seed)
		if err != nil {
			t.Fatal(err)
		}
		fx.signers = append(fx.signers, s)
		keys = append(keys, s.PublicKey())
	}
	fx.v = &pbft.Verifier{ChainID: testChain, Validators: keys}
	return fx
}

func (fx *fixture) sign(m pbft.Message) pbft.Message {
	pbft.Sign(m, testChain, fx.signers[m.From()])
	return m
}

// honestOutput is what replica 0 (primary of view 0, and of view 4) might
// send in one Ready: one message of each kind it can originate.
func (fx *fixture) honestOutput(t *testing.T) []pbft.Envelope {
	txs := [][]byte{[]byte("tx-a"), []byte("tx-b"), []byte("tx-c")}
	d := engine.BatchDigest(txs)
	cert := fx.cert(1, 3, engine.BatchDigest([][]byte{[]byte("tx-x")}))
	vcs := make([]*pbft.ViewChange, 0, 3)
	for r := 0; r < 3; r++ {
		vcs = append(vcs, fx.sign(&pbft.ViewChange{NewView: 4, Prepared: []pbft.PreparedCert{cert}, Replica: r}).(*pbft.ViewChange))
	}
	// The view-changes imply seqs 1 and 2 null and seq 3 the prepared batch.
	var nvpps []*pbft.PrePrepare
	for seq := uint64(1); seq <= 3; seq++ {
		d := pbft.NullDigest
		if seq == 3 {
			d = cert.Digest
		}
		nvpps = append(nvpps, fx.sign(&pbft.PrePrepare{View: 4, Seq: seq, Digest: d, Replica: 0}).(*pbft.PrePrepare))
	}
	return []pbft.Envelope{
		{To: engine.Broadcast, Msg: fx.sign(&pbft.PrePrepare{View: 0, Seq: 5, Digest: d, Txs: txs, Replica: 0})},
		{To: engine.Broadcast, Msg: fx.sign(&pbft.Commit{View: 0, Seq: 5, Digest: d, Replica: 0})},
		{To: engine.Broadcast, Msg: fx.sign(&pbft.Checkpoint{Seq: 4, AppHash: bytes.Repeat([]byte{7}, 32), Replica: 0})},
		{To: engine.Broadcast, Msg: vcs[0]},
		{To: engine.Broadcast, Msg: fx.sign(&pbft.NewView{View: 4, ViewChanges: vcs, PrePrepares: nvpps, Replica: 0})},
		{To: 2, Msg: fx.sign(&pbft.Request{Txs: [][]byte{[]byte("tx-r")}, Replica: 0})},
	}
}

// cert is a genuine prepared certificate for (view, seq, d).
func (fx *fixture) cert(view, seq uint64, d crypto.Hash) pbft.PreparedCert {
	n := len(fx.signers)
	p := pbft.Primary(view, n)
	pp := fx.sign(&pbft.PrePrepare{View: view, Seq: seq, Digest: d, Replica: p}).(*pbft.PrePrepare)
	c := pbft.PreparedCert{View: view, Seq: seq, Digest: d, PrePrepareSig: pp.Sig}
	for r := 0; r < n && len(c.Prepares) < pbft.Quorum(n)-1; r++ {
		if r != p {
			pr := fx.sign(&pbft.Prepare{View: view, Seq: seq, Digest: d, Replica: r}).(*pbft.Prepare)
			c.Prepares = append(c.Prepares, pbft.Attestation{Replica: r, Sig: pr.Sig})
		}
	}
	return c
}

// fakeCore hands out a fixed Ready and records what it is given.
type fakeCore struct {
	id       int
	rd       pbft.Ready
	ready    bool
	advanced []pbft.Ready
	stepped  []pbft.Message
	proposed [][]byte
}

func (c *fakeCore) ID() int                   { return c.id }
func (c *fakeCore) Step(m pbft.Message) error { c.stepped = append(c.stepped, m); return nil }
func (c *fakeCore) Tick()                     {}
func (c *fakeCore) Propose(tx []byte) error   { c.proposed = append(c.proposed, tx); return nil }
func (c *fakeCore) Applied(uint64, []byte)    {}
func (c *fakeCore) HasReady() bool            { return c.ready }
func (c *fakeCore) Ready() pbft.Ready         { return c.rd }
func (c *fakeCore) Advance(rd pbft.Ready)     { c.advanced = append(c.advanced, rd); c.ready = false }
func (c *fakeCore) Status() engine.Status {
	return engine.Status{Mode: engine.ModePBFT, Round: 0, Leader: 0}
}

// sent expands a Ready's envelopes into (recipient, message) pairs.
func sent(rd pbft.Ready, n, self int) map[int][]pbft.Message {
	out := make(map[int][]pbft.Message)
	for _, env := range rd.Messages {
		if env.To == engine.Broadcast {
			for r := 0; r < n; r++ {
				if r != self {
					out[r] = append(out[r], env.Msg)
				}
			}
		} else {
			out[env.To] = append(out[env.To], env.Msg)
		}
	}
	return out
}

func wrapFake(t *testing.T, fx *fixture, name string) (*Replica, *fakeCore, []pbft.Envelope, [][]byte) {
	t.Helper()
	b, err := Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	out := fx.honestOutput(t)
	var before [][]byte
	for _, env := range out {
		before = append(before, pbft.Encode(env.Msg))
	}
	core := &fakeCore{id: 0, ready: true, rd: pbft.Ready{
		Persist:   []pbft.Record{{Key: []byte("k"), Value: []byte("v")}},
		Messages:  out,
		Committed: []engine.Committed{{Height: 1}},
	}}
	r := Wrap(core, b, fx.signers[0], testChain, len(fx.signers), rand.New(rand.NewPCG(1, 2)))
	return r, core, out, before
}

func TestParse(t *testing.T) {
	for _, name := range Behaviours {
		b, err := Parse(name)
		if err != nil {
			t.Fatalf("Parse(%q): %v", name, err)
		}
		if b.Name() != name {
			t.Fatalf("Parse(%q).Name() = %q", name, b.Name())
		}
	}
	if _, err := Parse("honest-ish"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("Parse(unknown) = %v, want ErrUnknown", err)
	}
}

// TestPassThrough: every behaviour leaves Persist and Committed alone,
// never mutates the core's own messages, advances the core with the Ready
// the core produced, and keeps Ready stable until Advance.
func TestPassThrough(t *testing.T) {
	fx := newFixture(t, 4)
	for _, name := range Behaviours {
		t.Run(name, func(t *testing.T) {
			r, core, out, before := wrapFake(t, fx, name)
			if !r.HasReady() {
				t.Fatal("no Ready")
			}
			rd := r.Ready()
			rd2 := r.Ready()
			if len(rd.Messages) != len(rd2.Messages) {
				t.Fatal("Ready changed before Advance")
			}
			if len(rd.Persist) != 1 || len(rd.Committed) != 1 {
				t.Fatalf("Persist/Committed not passed through: %+v", rd)
			}
			for i, env := range out {
				if !bytes.Equal(pbft.Encode(env.Msg), before[i]) {
					t.Fatalf("behaviour mutated the core's %v", env.Msg.Kind())
				}
			}
			r.Advance(rd)
			if len(core.advanced) != 1 || len(core.advanced[0].Messages) != len(out) {
				t.Fatalf("core advanced with %+v", core.advanced)
			}
			if r.HasReady() {
				t.Fatal("Ready left after Advance")
			}
		})
	}
}

// verdicts verifies every message as received from replica 0.
func verdicts(fx *fixture, rd pbft.Ready) (ok, bad int) {
	for _, msgs := range sent(rd, len(fx.signers), 0) {
		for _, m := range msgs {
			if err := fx.v.Verify(0, pbft.Clone(m)); err != nil {
				bad++
			} else {
				ok++
			}
		}
	}
	return ok, bad
}

func TestSilent(t *testing.T) {
	fx := newFixture(t, 4)
	r, _, _, _ := wrapFake(t, fx, NameSilent)
	if rd := r.Ready(); len(rd.Messages) != 0 {
		t.Fatalf("silent sent %d messages", len(rd.Messages))
	}
}

func TestBadSignatureAndForgeSenderAreRejected(t *testing.T) {
	fx := newFixture(t, 4)
	for _, name := range []string{NameBadSignature, NameForgeSender} {
		mutated := 0
		for seed := uint64(0); seed < 8; seed++ {
			r, _, out, _ := wrapFake(t, fx, name)
			r.ctx.Rng = rand.New(rand.NewPCG(seed, 0))
			for _, env := range r.Ready().Messages {
				if slices.ContainsFunc(out, func(o pbft.Envelope) bool { return o.Msg == env.Msg }) {
					continue
				}
				mutated++
				if err := fx.v.Verify(0, pbft.Clone(env.Msg)); err == nil {
					t.Fatalf("%s: mutated %v passed verification", name, env.Msg.Kind())
				} else if !errors.Is(err, pbft.ErrBadSignature) && !errors.Is(err, pbft.ErrBadSender) {
					t.Fatalf("%s: %v rejected for the wrong reason: %v", name, env.Msg.Kind(), err)
				}
			}
		}
		if mutated == 0 {
			t.Fatalf("%s changed nothing", name)
		}
	}
}

func TestEquivocate(t *testing.T) {
	fx := newFixture(t, 4)
	r, _, _, _ := wrapFake(t, fx, NameEquivocate)
	by := sent(r.Ready(), 4, 0)
	digest := func(r int, k pbft.Kind) crypto.Hash {
		for _, m := range by[r] {
			switch m := m.(type) {
			case *pbft.PrePrepare:
				if k == pbft.KindPrePrepare && len(m.Txs) > 0 {
					if err := fx.v.Verify(0, pbft.Clone(m)); err != nil {
						t.Fatalf("equivocating pre-prepare to %d does not verify: %v", r, err)
					}
					return m.Digest
				}
			case *pbft.Commit:
				if k == pbft.KindCommit {
					if err := fx.v.Verify(0, pbft.Clone(m)); err != nil {
						t.Fatalf("equivocating commit to %d does not verify: %v", r, err)
					}
					return m.Digest
				}
			}
		}
		t.Fatalf("replica %d got no %v", r, k)
		return crypto.Hash{}
	}
	for _, k := range []pbft.Kind{pbft.KindPrePrepare, pbft.KindCommit} {
		// Groups: {1} hears the batch, {2, 3} the altered one.
		if digest(1, k) == digest(2, k) || digest(2, k) != digest(3, k) {
			t.Fatalf("%v: digests to 1,2,3 = %x %x %x", k, digest(1, k), digest(2, k), digest(3, k))
		}
		if digest(2, pbft.KindPrePrepare) != digest(2, pbft.KindCommit) {
			t.Fatal("second group's commit is not for its pre-prepare")
		}
	}
}

func TestLieCheckpoint(t *testing.T) {
	fx := newFixture(t, 4)
	r, _, _, _ := wrapFake(t, fx, NameLieCheckpoint)
	found := false
	for _, env := range r.Ready().Messages {
		if cp, ok := env.Msg.(*pbft.Checkpoint); ok {
			found = true
			if bytes.Equal(cp.AppHash, bytes.Repeat([]byte{7}, 32)) {
				t.Fatal("checkpoint app hash unchanged")
			}
			if err := fx.v.Verify(0, pbft.Clone(cp)); err != nil {
				t.Fatalf("lying checkpoint must be validly signed: %v", err)
			}
		}
	}
	if !found {
		t.Fatal("no checkpoint sent")
	}
}

func TestForgeViewChangeRejected(t *testing.T) {
	fx := newFixture(t, 4)
	for seed := uint64(0); seed < 8; seed++ {
		r, _, _, _ := wrapFake(t, fx, NameForgeViewChange)
		r.ctx.Rng = rand.New(rand.NewPCG(seed, 0))
		for _, env := range r.Ready().Messages {
			if vc, ok := env.Msg.(*pbft.ViewChange); ok {
				err := fx.v.Verify(0, pbft.Clone(vc))
				if !errors.Is(err, pbft.ErrBadSignature) && !errors.Is(err, pbft.ErrBadCertificate) {
					t.Fatalf("seed %d: forged view-change: Verify = %v", seed, err)
				}
			}
		}
	}
}

func TestBadNewViewAltersBatches(t *testing.T) {
	fx := newFixture(t, 4)
	for seed := uint64(0); seed < 8; seed++ {
		r, _, out, _ := wrapFake(t, fx, NameBadNewView)
		r.ctx.Rng = rand.New(rand.NewPCG(seed, 0))
		orig := out[4].Msg.(*pbft.NewView)
		if err := fx.v.Verify(0, pbft.Clone(orig)); err != nil {
			t.Fatalf("the honest new-view does not verify: %v", err)
		}
		for _, env := range r.Ready().Messages {
			nv, ok := env.Msg.(*pbft.NewView)
			if !ok {
				continue
			}
			if bytes.Equal(pbft.Encode(nv), pbft.Encode(orig)) {
				t.Fatalf("seed %d: new-view unchanged", seed)
			}
			if err := fx.v.Verify(0, pbft.Clone(nv)); !errors.Is(err, pbft.ErrBadCertificate) {
				t.Fatalf("seed %d: bad new-view: Verify = %v, want ErrBadCertificate", seed, err)
			}
		}
	}
}

func TestViewInflation(t *testing.T) {
	fx := newFixture(t, 4)
	r, _, _, _ := wrapFake(t, fx, NameViewInflation)
	far := false
	for _, env := range r.Ready().Messages {
		if vc, ok := env.Msg.(*pbft.ViewChange); ok && vc.NewView >= inflateViews {
			far = true
			if err := fx.v.Verify(0, pbft.Clone(vc)); err != nil {
				t.Fatalf("inflated view-change must verify: %v", err)
			}
		}
	}
	if !far {
		t.Fatal("no far view-change")
	}
	r.Advance(r.Ready())
	for range inflateEveryTicks {
		r.Tick()
	}
	if !r.HasReady() || len(r.Ready().Messages) == 0 {
		t.Fatal("no spontaneous view-change after inflateEveryTicks")
	}
}

func TestCensor(t *testing.T) {
	fx := newFixture(t, 4)
	b := &Censor{Match: func(tx []byte) bool { return bytes.HasPrefix(tx, []byte("tx-r")) }}
	core := &fakeCore{ready: true, rd: pbft.Ready{Messages: fx.honestOutput(t)}}
	r := Wrap(core, b, fx.signers[0], testChain, 4, rand.New(rand.NewPCG(1, 1)))
	for _, env := range r.Ready().Messages {
		if _, ok := env.Msg.(*pbft.Request); ok {
			t.Fatal("censored tx relayed")
		}
	}
	_ = r.Propose([]byte("tx-r1"))
	_ = r.Propose([]byte("tx-ok"))
	req := fx.sign(&pbft.Request{Txs: [][]byte{[]byte("tx-r2")}, Replica: 1})
	_ = r.Step(req)
	if len(core.proposed) != 1 || len(core.stepped) != 0 {
		t.Fatalf("core saw censored txs: proposed %q, stepped %d", core.proposed, len(core.stepped))
	}

	// A relayed Request mixing censored and other txs reaches the core
	// without the censored ones, still verified.
	mixed := pbft.Clone(fx.sign(&pbft.Request{Txs: [][]byte{[]byte("tx-r3"), []byte("tx-ok2")}, Replica: 2}))
	if err := fx.v.Verify(2, mixed); err != nil {
		t.Fatal(err)
	}
	_ = r.Step(mixed)
	if len(core.stepped) != 1 {
		t.Fatalf("stepped %d messages, want the filtered request", len(core.stepped))
	}
	got, ok := core.stepped[0].(*pbft.Request)
	if !ok || len(got.Txs) != 1 || string(got.Txs[0]) != "tx-ok2" || !pbft.Verified(got) {
		t.Fatalf("core got %+v (verified %v), want only tx-ok2, verified", core.stepped[0], pbft.Verified(core.stepped[0]))
	}

	// Its own mixed relay goes out without the censored tx, re-signed.
	r.Advance(r.Ready())
	core.ready = true
	core.rd = pbft.Ready{Messages: []pbft.Envelope{{To: 1, Msg: fx.sign(&pbft.Request{Txs: [][]byte{[]byte("tx-r4"), []byte("tx-ok3")}, Replica: 0})}}}
	var sent *pbft.Request
	for _, env := range r.Ready().Messages {
		if req, ok := env.Msg.(*pbft.Request); ok {
			sent = req
		}
	}
	if sent == nil || len(sent.Txs) != 1 || string(sent.Txs[0]) != "tx-ok3" {
		t.Fatalf("relayed %+v, want only tx-ok3", sent)
	}
	if err := fx.v.Verify(0, pbft.Clone(sent)); err != nil {
		t.Fatalf("filtered relay does not verify: %v", err)
	}
}

func TestReplayAndSeqSkipSendExtra(t *testing.T) {
	fx := newFixture(t, 4)
	for _, name := range []string{NameReplay, NameSeqSkip} {
		r, _, out, _ := wrapFake(t, fx, name)
		changed := false
		for range 4 {
			rd := r.Ready()
			for _, env := range rd.Messages {
				if !slices.ContainsFunc(out, func(o pbft.Envelope) bool { return o.Msg == env.Msg }) {
					changed = true
				}
			}
			r.Advance(rd)
			r.core.(*fakeCore).ready = true
		}
		if !changed {
			t.Fatalf("%s sent nothing of its own", name)
		}
	}
}
