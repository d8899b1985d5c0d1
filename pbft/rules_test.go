package pbft

import (
	"errors"
	"slices"
	"testing"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
)

func testConfig(t testing.TB, n, id int) Config {
	signers, vals := testKeys(t, n)
	return Config{
		ID: id, ChainID: testChain, Validators: vals, Signer: signers[id],
		CheckpointInterval: 4, WindowSize: 8, MaxBatchTxs: 4, MaxBatchBytes: 1 << 16,
		BatchTimeoutTicks: 0, RequestTimeoutTicks: 10, MaxPendingTxs: 100,
	}
}

func newTestCore(t testing.TB, n, id int) *Core {
	t.Helper()
	c, err := New(testConfig(t, n, id), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func verified[M Message](m M) M {
	m.sealed().verified = true
	return m
}

func TestConfigValidate(t *testing.T) {
	signers, _ := testKeys(t, 4)
	cases := map[string]func(c *Config){
		"no validators":       func(c *Config) { c.Validators = nil },
		"too many validators": func(c *Config) { c.Validators = make([][]byte, ValidatorsMax+1) },
		"short key":           func(c *Config) { c.Validators[1] = c.Validators[1][:5] },
		"duplicate key":       func(c *Config) { c.Validators[1] = c.Validators[2] },
		"id out of range":     func(c *Config) { c.ID = 4 },
		"negative id":         func(c *Config) { c.ID = -1 },
		"no chain id":         func(c *Config) { c.ChainID = "" },
		"long chain id":       func(c *Config) { c.ChainID = string(make([]byte, ChainIDBytesMax+1)) },
		"no signer":           func(c *Config) { c.Signer = nil },
		"foreign signer":      func(c *Config) { c.Signer = signers[3] },
		"zero K":              func(c *Config) { c.CheckpointInterval = 0 },
		"K too large":         func(c *Config) { c.CheckpointInterval = CheckpointIntervalMax + 1 },
		"L not multiple of K": func(c *Config) { c.WindowSize = 6 },
		"L below K":           func(c *Config) { c.WindowSize = 0 },
		"L too large":         func(c *Config) { c.CheckpointInterval, c.WindowSize = 4, WindowSizeMax+4 },
		"zero batch txs":      func(c *Config) { c.MaxBatchTxs = 0 },
		"batch txs too large": func(c *Config) { c.MaxBatchTxs = TxsPerBatchMax + 1 },
		"zero batch bytes":    func(c *Config) { c.MaxBatchBytes = 0 },
		"batch bytes large":   func(c *Config) { c.MaxBatchBytes = BatchBytesMax + 1 },
		"negative batch wait": func(c *Config) { c.BatchTimeoutTicks = -1 },
		"huge batch wait":     func(c *Config) { c.BatchTimeoutTicks = TicksMax + 1 },
		"zero request wait":   func(c *Config) { c.RequestTimeoutTicks = 0 },
		"huge request wait":   func(c *Config) { c.RequestTimeoutTicks = TicksMax + 1 },
		"negative retransmit": func(c *Config) { c.RetransmitTicks = -1 },
		"zero pool":           func(c *Config) { c.MaxPendingTxs = 0 },
		"huge pool":           func(c *Config) { c.MaxPendingTxs = PendingTxsMax + 1 },
	}
	if err := testConfig(t, 4, 0).Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			c := testConfig(t, 4, 0)
			mutate(&c)
			if err := c.Validate(); !errors.Is(err, ErrConfig) {
				t.Fatalf("Validate = %v, want ErrConfig", err)
			}
		})
	}
}

// §4.2: a replica accepts normal-case messages only for h < seq <= H.
func TestWatermarks(t *testing.T) {
	c := newTestCore(t, 4, 1)
	c.stable = 8 // h = 8, H = 16
	cases := []struct {
		seq  uint64
		want error
	}{
		{1, ErrStale}, {8, ErrStale}, {9, nil}, {16, nil}, {17, ErrOutOfWindow}, {1 << 40, ErrOutOfWindow},
	}
	for _, tc := range cases {
		if err := c.checkWindow(tc.seq); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("seq %d: %v, want %v", tc.seq, err, tc.want)
		}
	}
}

// §4.3: a checkpoint is stable with a quorum of matching CHECKPOINTs; a
// minority or mismatching app hashes are not enough. Stability discards the
// log at and below it.
func TestCheckpointStability(t *testing.T) {
	signers, _ := testKeys(t, 4)
	cp := func(r int, seq uint64, hash string) *Checkpoint {
		return verified(signed(&Checkpoint{Seq: seq, AppHash: []byte(hash), Replica: r}, signers[r]))
	}
	cases := []struct {
		name   string
		cps    []*Checkpoint
		stable uint64
	}{
		{"two of four", []*Checkpoint{cp(1, 4, "a"), cp(2, 4, "a")}, 0},
		{"quorum", []*Checkpoint{cp(1, 4, "a"), cp(2, 4, "a"), cp(3, 4, "a")}, 4},
		{"mismatch", []*Checkpoint{cp(1, 4, "a"), cp(2, 4, "b"), cp(3, 4, "a")}, 0},
		{"duplicate sender", []*Checkpoint{cp(1, 4, "a"), cp(1, 4, "a"), cp(2, 4, "a")}, 0},
		{"not a multiple of K", []*Checkpoint{cp(1, 5, "a"), cp(2, 5, "a"), cp(3, 5, "a")}, 0},
		{"too far ahead", []*Checkpoint{cp(1, 40, "a"), cp(2, 40, "a"), cp(3, 40, "a")}, 0},
		{"later one wins", []*Checkpoint{cp(1, 8, "a"), cp(2, 8, "a"), cp(3, 8, "a"), cp(1, 4, "x"), cp(2, 4, "x"), cp(3, 4, "x")}, 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCore(t, 4, 0)
			c.getSlot(2)
			for _, m := range tc.cps {
				_ = c.Step(m)
			}
			if c.stable != tc.stable {
				t.Fatalf("stable = %d, want %d", c.stable, tc.stable)
			}
			if tc.stable > 0 {
				if _, ok := c.slots[2]; ok {
					t.Fatal("slot below the stable checkpoint kept")
				}
				if len(c.stableProof) != c.q {
					t.Fatalf("proof of %d checkpoints", len(c.stableProof))
				}
			}
		})
	}
}

// §4.4: the new primary re-issues, for every seq in (min-s, max-s], the
// batch prepared in the highest view, and a null batch where none was.
func TestNewViewComputation(t *testing.T) {
	d := func(s string) crypto.Hash { return engine.BatchDigest([][]byte{[]byte(s)}) }
	cert := func(view, seq uint64, digest crypto.Hash) PreparedCert {
		return PreparedCert{View: view, Seq: seq, Digest: digest}
	}
	vc := func(stable uint64, certs ...PreparedCert) *ViewChange {
		return &ViewChange{NewView: 9, StableSeq: stable, Prepared: certs}
	}
	cases := []struct {
		name    string
		vcs     []*ViewChange
		minS    uint64
		digests []crypto.Hash
		err     error
	}{
		{"nothing prepared", []*ViewChange{vc(0), vc(0), vc(0)}, 0, nil, nil},
		{"one prepared", []*ViewChange{vc(0, cert(0, 1, d("a"))), vc(0), vc(0)}, 0, []crypto.Hash{d("a")}, nil},
		{"gap filled with null", []*ViewChange{vc(0, cert(0, 1, d("a")), cert(0, 3, d("c"))), vc(0), vc(0)}, 0,
			[]crypto.Hash{d("a"), NullDigest, d("c")}, nil},
		{"highest view wins", []*ViewChange{vc(0, cert(1, 1, d("a"))), vc(0, cert(3, 1, d("b"))), vc(0, cert(2, 1, d("c")))}, 0,
			[]crypto.Hash{d("b")}, nil},
		{"max stable is min-s", []*ViewChange{vc(4, cert(2, 5, d("e"))), vc(0, cert(1, 2, d("b")), cert(1, 5, d("x"))), vc(0)}, 4,
			[]crypto.Hash{d("e")}, nil},
		{"certs below min-s ignored", []*ViewChange{vc(8), vc(4, cert(1, 6, d("f"))), vc(0)}, 8, nil, nil},
		{"conflict in one view", []*ViewChange{vc(0, cert(1, 1, d("a"))), vc(0, cert(1, 1, d("b"))), vc(0)}, 0, nil, ErrBadCertificate},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := computeNewViewPlan(tc.vcs)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if p.minS != tc.minS || len(p.digests) != len(tc.digests) {
				t.Fatalf("min-s %d, %d digests; want %d, %d", p.minS, len(p.digests), tc.minS, len(tc.digests))
			}
			for i := range tc.digests {
				if p.digests[i] != tc.digests[i] {
					t.Fatalf("digest %d differs", i)
				}
			}
			var pps []*PrePrepare
			for i, dg := range p.digests {
				pps = append(pps, &PrePrepare{Seq: p.minS + 1 + uint64(i), Digest: dg})
			}
			if err := p.matches(pps); err != nil {
				t.Fatalf("plan does not match its own pre-prepares: %v", err)
			}
			if len(pps) > 0 {
				pps[len(pps)-1].Digest = d("zzz")
				if err := p.matches(pps); !errors.Is(err, ErrBadCertificate) {
					t.Fatal("altered pre-prepare matched")
				}
				if err := p.matches(pps[:len(pps)-1]); !errors.Is(err, ErrBadCertificate) {
					t.Fatal("dropped pre-prepare matched")
				}
			}
		})
	}
}

// §4.4: what the Verifier cannot check (it does not know K and L) the core
// does: a VIEW-CHANGE's stable seq is a multiple of K and its certificates
// lie within L of it.
func TestViewChangeWindowValidation(t *testing.T) {
	c := newTestCore(t, 4, 1)
	cases := []struct {
		name string
		vc   *ViewChange
		want error
	}{
		{"ok", &ViewChange{NewView: 1, StableSeq: 4, Prepared: []PreparedCert{{Seq: 12}}}, nil},
		{"stable not multiple of K", &ViewChange{NewView: 1, StableSeq: 3}, ErrInvalidMessage},
		{"cert beyond window", &ViewChange{NewView: 1, StableSeq: 4, Prepared: []PreparedCert{{Seq: 13}}}, ErrOutOfWindow},
	}
	for _, tc := range cases {
		if err := c.checkCertWindow(tc.vc); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// §4.2: prepared needs the pre-prepare and quorum-1 matching prepares from
// distinct backups; committed-local additionally a quorum of matching
// commits.
func TestPreparedAndCommittedPredicates(t *testing.T) {
	signers, _ := testKeys(t, 4)
	txs := [][]byte{[]byte("t")}
	d := engine.BatchDigest(txs)
	other := engine.BatchDigest([][]byte{[]byte("u")})
	pp := verified(signed(&PrePrepare{View: 0, Seq: 1, Digest: d, Txs: txs, Replica: 0}, signers[0]))
	prep := func(r int, dg crypto.Hash) Message {
		return verified(signed(&Prepare{View: 0, Seq: 1, Digest: dg, Replica: r}, signers[r]))
	}
	com := func(r int, dg crypto.Hash) Message {
		return verified(signed(&Commit{View: 0, Seq: 1, Digest: dg, Replica: r}, signers[r]))
	}
	cases := []struct {
		name                string
		msgs                []Message
		prepared, committed bool
	}{
		{"pre-prepare only", []Message{pp}, false, false},
		{"one other prepare", []Message{pp, prep(2, d)}, true, false}, // own + replica 2 = quorum-1
		{"prepares without pre-prepare", []Message{prep(2, d), prep(3, d)}, false, false},
		{"mismatching prepare", []Message{pp, prep(2, other)}, false, false},
		{"prepared, two commits", []Message{pp, prep(2, d), com(2, d)}, true, false},
		{"prepared, quorum commits", []Message{pp, prep(2, d), com(2, d), com(3, d)}, true, true},
		{"commits first", []Message{com(2, d), com(3, d), pp, prep(3, d)}, true, true},
		{"mismatching commit", []Message{pp, prep(2, d), com(2, d), com(3, other)}, true, false},
		{"commit from primary counts", []Message{pp, prep(2, d), com(0, d), com(2, d)}, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCore(t, 4, 1)
			for _, m := range tc.msgs {
				_ = c.Step(m)
			}
			s := c.slots[1]
			if got := s != nil && s.prepared; got != tc.prepared {
				t.Fatalf("prepared = %v, want %v", got, tc.prepared)
			}
			if got := s != nil && s.committed; got != tc.committed {
				t.Fatalf("committed = %v, want %v", got, tc.committed)
			}
			if tc.committed {
				rd := c.Ready()
				if len(rd.Committed) != 1 || rd.Committed[0].Height != 1 {
					t.Fatalf("committed batches %+v", rd.Committed)
				}
			}
		})
	}
}

func TestStepRefusesUnverified(t *testing.T) {
	c := newTestCore(t, 4, 1)
	for _, m := range sampleMessages(t) {
		m, _ := Decode(Encode(m))
		if err := c.Step(m); !errors.Is(err, ErrUnverified) {
			t.Fatalf("%v: %v, want ErrUnverified", m.Kind(), err)
		}
	}
	if err := c.Step(nil); !errors.Is(err, ErrUnverified) {
		t.Fatal("nil message accepted")
	}
}

func TestProposeDuplicatesAndPoolBound(t *testing.T) {
	cfg := testConfig(t, 4, 0)
	cfg.MaxPendingTxs = 2
	cfg.BatchTimeoutTicks = 100
	c, err := New(cfg, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Propose([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := c.Propose([]byte("a")); !errors.Is(err, engine.ErrDuplicate) {
		t.Fatalf("duplicate: %v", err)
	}
	if err := c.Propose([]byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := c.Propose([]byte("c")); !errors.Is(err, engine.ErrPoolFull) {
		t.Fatalf("full pool: %v", err)
	}
	if err := c.Propose(nil); !errors.Is(err, ErrTxTooLarge) {
		t.Fatalf("empty tx: %v", err)
	}
	if err := c.Propose(make([]byte, cfg.MaxBatchBytes+1)); !errors.Is(err, ErrTxTooLarge) {
		t.Fatalf("huge tx: %v", err)
	}
}

// HasReady must not report work that Ready does not produce: the shell
// would spin.
func TestHasReadyMatchesReady(t *testing.T) {
	c := newTestCore(t, 4, 0)
	if c.HasReady() {
		t.Fatal("fresh core has work")
	}
	if err := c.Propose([]byte("a")); err != nil {
		t.Fatal(err)
	}
	for i := 0; c.HasReady(); i++ {
		if i > 3 {
			t.Fatal("HasReady stays true")
		}
		rd := c.Ready()
		if rd.IsEmpty() {
			t.Fatal("HasReady true but Ready empty")
		}
		c.Advance(rd)
	}
}

// A backup refuses a pre-prepare repeating, at another seq, a batch it
// already accepted: a faulty primary cannot get one batch prepared twice.
func TestRepeatedBatchRefused(t *testing.T) {
	signers, _ := testKeys(t, 4)
	c := newTestCore(t, 4, 1)
	txs := [][]byte{[]byte("t")}
	pp := func(seq uint64) *PrePrepare {
		return verified(signed(&PrePrepare{View: 0, Seq: seq, Digest: engine.BatchDigest(txs), Txs: txs, Replica: 0}, signers[0]))
	}
	if err := c.Step(pp(1)); err != nil {
		t.Fatal(err)
	}
	if err := c.Step(pp(2)); !errors.Is(err, ErrConflict) {
		t.Fatalf("repeated batch: %v, want ErrConflict", err)
	}
	null := verified(signed(&PrePrepare{View: 0, Seq: 3, Digest: NullDigest, Replica: 0}, signers[0]))
	if err := c.Step(null); err != nil {
		t.Fatalf("null batch: %v", err)
	}
}

// A backup relays what it admitted since its last Ready as few signed
// Requests (at most MaxBatchTxs txs each), not one signed message per tx.
func TestRelayBatched(t *testing.T) {
	_, vals := testKeys(t, 4)
	c := newTestCore(t, 4, 1)
	var want [][]byte
	for i := range 10 {
		tx := []byte{'t', byte('0' + i)}
		want = append(want, tx)
		if err := c.Propose(tx); err != nil {
			t.Fatal(err)
		}
	}
	rd := c.Ready()
	var got [][]byte
	requests := 0
	for _, env := range rd.Messages {
		r, ok := env.Msg.(*Request)
		if !ok {
			continue
		}
		requests++
		if env.To != 0 || len(r.Txs) > 4 {
			t.Fatalf("request to %d with %d txs, want to the primary with at most 4", env.To, len(r.Txs))
		}
		v := &Verifier{ChainID: testChain, Validators: vals}
		m, err := Decode(Encode(r))
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(1, m); err != nil {
			t.Fatalf("relayed request does not verify: %v", err)
		}
		got = append(got, r.Txs...)
	}
	if requests != 3 || len(got) != len(want) {
		t.Fatalf("%d requests with %d txs, want 3 with %d", requests, len(got), len(want))
	}
	for i := range want {
		if string(got[i]) != string(want[i]) {
			t.Fatalf("relayed tx %d = %q, want %q (arrival order)", i, got[i], want[i])
		}
	}
	c.Advance(rd)
	if c.HasReady() {
		t.Fatal("relays sent twice")
	}
}

// The primary takes every new tx of a relayed Request, skipping those it
// already has, and reports a tx it refused for another reason.
func TestStepRequestTakesTheRest(t *testing.T) {
	cfg := testConfig(t, 4, 0)
	cfg.BatchTimeoutTicks = 100
	cfg.MaxBatchBytes = 8
	c, err := New(cfg, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Propose([]byte("a")); err != nil {
		t.Fatal(err)
	}
	err = c.Step(verified(&Request{Txs: [][]byte{[]byte("a"), []byte("b")}, Replica: 2}))
	if err != nil {
		t.Fatalf("request overlapping the pool: %v", err)
	}
	err = c.Step(verified(&Request{Txs: [][]byte{[]byte("too large tx"), []byte("c")}, Replica: 3}))
	if !errors.Is(err, ErrTxTooLarge) {
		t.Fatalf("oversized relayed tx: %v", err)
	}
	if got := c.pool.len(); got != 3 {
		t.Fatalf("pool holds %d txs, want a, b and c", got)
	}
}

func TestFilterRequest(t *testing.T) {
	r := verified(&Request{Txs: [][]byte{[]byte("a"), []byte("b")}, Replica: 2, Sig: []byte("s")})
	keepAll := func([]byte) bool { return true }
	if FilterRequest(r, keepAll) != r {
		t.Fatal("a request keeping every tx was copied")
	}
	if FilterRequest(r, func([]byte) bool { return false }) != nil {
		t.Fatal("a request keeping no tx was returned")
	}
	got := FilterRequest(r, func(tx []byte) bool { return string(tx) == "b" })
	if len(got.Txs) != 1 || string(got.Txs[0]) != "b" || got.Replica != 2 || !Verified(got) {
		t.Fatalf("filtered request %+v verified=%v", got, Verified(got))
	}
	if u := FilterRequest(&Request{Txs: r.Txs, Replica: 2}, func(tx []byte) bool { return string(tx) == "a" }); Verified(u) {
		t.Fatal("filtering marked an unverified request verified")
	}
}

// An idle primary cuts a batch at once; one with a batch in flight lets
// txs accumulate until the batch timeout (or a full batch).
func TestIdlePrimaryCutsAtOnce(t *testing.T) {
	cfg := testConfig(t, 4, 0)
	cfg.BatchTimeoutTicks = 100
	c, err := New(cfg, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	prePrepares := func(rd Ready) (seqs []uint64) {
		for _, env := range rd.Messages {
			if pp, ok := env.Msg.(*PrePrepare); ok {
				seqs = append(seqs, pp.Seq)
			}
		}
		return seqs
	}
	if err := c.Propose([]byte("a")); err != nil {
		t.Fatal(err)
	}
	rd := c.Ready()
	if got := prePrepares(rd); len(got) != 1 || got[0] != 1 {
		t.Fatalf("idle primary sent pre-prepares %v, want seq 1 at once", got)
	}
	c.Advance(rd)
	if err := c.Propose([]byte("b")); err != nil {
		t.Fatal(err)
	}
	rd = c.Ready()
	if got := prePrepares(rd); slices.Contains(got, 2) {
		t.Fatalf("primary with seq 1 in flight cut %v before the batch timeout", got)
	}
	c.Advance(rd)
	for range cfg.BatchTimeoutTicks {
		c.Tick()
	}
	if got := prePrepares(c.Ready()); !slices.Contains(got, 2) {
		t.Fatalf("after the batch timeout: pre-prepares %v, want seq 2", got)
	}
}
