// Package pbfttest is a small deterministic harness for pbft.Core: n
// replicas in one goroutine, an in-order virtual network that every message
// crosses as bytes (Encode → Decode → Verifier.Verify → Step, like the real
// node), in-memory persistence with crash and restart, and a hash-chain
// state machine. Tests drive it step by step: propose, tick, deliver,
// drop, crash, restart, and check.
//
// The broad randomized fault simulator is internal/sim; this harness is for
// readable scenario tests (pbft/testdata/*.txt) and benchmarks.
package pbfttest

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/pbft"
)

// Options configures a Network. Zero fields take the defaults shown.
type Options struct {
	ChainID             string // "pbfttest"
	CheckpointInterval  uint64 // 4
	WindowSize          uint64 // 8
	MaxBatchTxs         int    // 16
	MaxBatchBytes       int    // 1 MiB
	BatchTimeoutTicks   int    // 0
	RequestTimeoutTicks int    // 20
	RetransmitTicks     int    // 5
	MaxPendingTxs       int    // 10000
	// Logger, if set, is given to every core.
	Logger *slog.Logger
	// CheckTx, if set, is the Verifier's admission check.
	CheckTx func([]byte) error
	// VerifyEach verifies every delivered frame at every receiver, as real
	// replicas do, instead of once per broadcast (benchmarks).
	VerifyEach bool
	// SkipCertCheck skips re-verifying every delivered commit certificate
	// (benchmarks of the core alone).
	SkipCertCheck bool
}

func (o *Options) defaults() {
	if o.ChainID == "" {
		o.ChainID = "pbfttest"
	}
	if o.CheckpointInterval == 0 {
		o.CheckpointInterval = 4
	}
	if o.WindowSize == 0 {
		o.WindowSize = 2 * o.CheckpointInterval
	}
	if o.MaxBatchTxs == 0 {
		o.MaxBatchTxs = 16
	}
	if o.MaxBatchBytes == 0 {
		o.MaxBatchBytes = 1 << 20
	}
	if o.RequestTimeoutTicks == 0 {
		o.RequestTimeoutTicks = 20
	}
	if o.RetransmitTicks == 0 {
		o.RetransmitTicks = 5
	}
	if o.MaxPendingTxs == 0 {
		o.MaxPendingTxs = 10000
	}
}

// Packet is one message in flight, as bytes.
type Packet struct {
	From, To int
	Kind     pbft.Kind
	Frame    []byte
	Injected bool // put in flight by Inject, not sent by a core
}

// Node is one replica and what survives its crashes.
type Node struct {
	ID      int
	Core    *pbft.Core // nil while crashed
	Signer  crypto.Signer
	Records map[string][]byte // durable records
	Store   *MemStorage       // committed batches and app hashes (the "ledger")
	// Committed lists every delivered batch digest by height, for checks.
	Committed map[uint64]crypto.Hash
	// TxCount counts txs delivered (duplicates included).
	TxCount int
}

// MemStorage is an in-memory ledger: committed batches and a hash-chain app
// hash. It implements pbft.Storage.
type MemStorage struct {
	Batches  map[uint64]engine.Committed
	Hashes   map[uint64][]byte // app hash after each height
	Applied  uint64
	lastHash []byte
}

// AppHash implements pbft.AppHashes.
func (s *MemStorage) AppHash(seq uint64) ([]byte, bool) {
	h, ok := s.Hashes[seq]
	return h, ok
}

// Committed implements pbft.Storage.
func (s *MemStorage) Committed(seq uint64) (engine.Committed, bool) {
	b, ok := s.Batches[seq]
	return b, ok
}

func (s *MemStorage) apply(b engine.Committed) []byte {
	h := sha256.New()
	h.Write(s.lastHash)
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], b.Height)
	h.Write(buf[:])
	d := engine.BatchDigest(b.Txs)
	h.Write(d[:])
	s.lastHash = h.Sum(nil)
	s.Batches[b.Height] = b
	s.Hashes[b.Height] = s.lastHash
	s.Applied = b.Height
	return s.lastHash
}

// Network is n replicas over an in-order virtual network.
type Network struct {
	Opts     Options
	N        int
	Nodes    []*Node
	Verifier *pbft.Verifier
	// Queue holds messages in flight, oldest first.
	Queue []Packet
	// Drop, if set, decides whether a packet is lost when delivered.
	Drop func(p Packet) bool
	// Trace, if set, receives one line per delivered message.
	Trace func(line string)
	// Errors counts Step/Verify errors by kind name (dropped input).
	Errors map[string]int
	// Violations collects safety violations found while applying.
	Violations []string

	// verified caches decoded, verified messages by sender and frame hash:
	// a broadcast is verified once, not once per receiver. Cores never
	// modify received messages, so sharing them is safe.
	verified map[verifyKey]pbft.Message
}

type verifyKey struct {
	from int
	hash [32]byte
}

// decodeVerify is what the node's worker pool does: Decode then Verify.
func (nw *Network) decodeVerify(p Packet) (pbft.Message, error) {
	if nw.Opts.VerifyEach {
		m, err := pbft.Decode(p.Frame)
		if err == nil {
			err = nw.Verifier.Verify(p.From, m)
		}
		return m, err
	}
	key := verifyKey{p.From, sha256.Sum256(p.Frame)}
	if m, ok := nw.verified[key]; ok {
		return m, nil
	}
	m, err := pbft.Decode(p.Frame)
	if err == nil {
		err = nw.Verifier.Verify(p.From, m)
	}
	if err != nil {
		return nil, err
	}
	if nw.verified == nil || len(nw.verified) >= verifyCacheMax {
		nw.verified = make(map[verifyKey]pbft.Message)
	}
	nw.verified[key] = m
	return m, nil
}

// verifyCacheMax bounds the verification cache; it is dropped when full.
const verifyCacheMax = 1 << 14

// New builds a network of n replicas with deterministic keys.
func New(n int, opts Options) (*Network, error) {
	opts.defaults()
	nw := &Network{Opts: opts, N: n, Errors: make(map[string]int)}
	vals := make([][]byte, n)
	signers := make([]crypto.Signer, n)
	for i := range n {
		seed := sha256.Sum256([]byte(fmt.Sprintf("pbfttest key %d", i)))
		s, err := crypto.Ed25519FromSeed(seed[:])
		if err != nil {
			return nil, err
		}
		signers[i] = s
		vals[i] = s.PublicKey()
	}
	nw.Verifier = &pbft.Verifier{ChainID: opts.ChainID, Validators: vals, CheckTx: opts.CheckTx}
	for i := range n {
		nd := &Node{
			ID: i, Signer: signers[i], Records: make(map[string][]byte),
			Store:     &MemStorage{Batches: make(map[uint64]engine.Committed), Hashes: make(map[uint64][]byte)},
			Committed: make(map[uint64]crypto.Hash),
		}
		nw.Nodes = append(nw.Nodes, nd)
		if err := nw.start(nd); err != nil {
			return nil, err
		}
	}
	return nw, nil
}

// Config returns the pbft.Config of replica i.
func (nw *Network) Config(i int) pbft.Config {
	o := nw.Opts
	return pbft.Config{
		ID: i, ChainID: o.ChainID, Validators: nw.Verifier.Validators, Signer: nw.Nodes[i].Signer,
		CheckpointInterval: o.CheckpointInterval, WindowSize: o.WindowSize,
		MaxBatchTxs: o.MaxBatchTxs, MaxBatchBytes: o.MaxBatchBytes, BatchTimeoutTicks: o.BatchTimeoutTicks,
		RequestTimeoutTicks: o.RequestTimeoutTicks, RetransmitTicks: o.RetransmitTicks,
		MaxPendingTxs: o.MaxPendingTxs, Storage: nw.Nodes[i].Store, Logger: o.Logger,
	}
}

func (nw *Network) start(nd *Node) error {
	var recs []pbft.Record
	keys := make([]string, 0, len(nd.Records))
	for k := range nd.Records {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		recs = append(recs, pbft.Record{Key: []byte(k), Value: nd.Records[k]})
	}
	core, err := pbft.New(nw.Config(nd.ID), recs, nd.Store.Applied)
	if err != nil {
		return err
	}
	nd.Core = core
	return nil
}

// Crash stops replica i: its core and the messages addressed to it are
// lost; its records and ledger survive.
func (nw *Network) Crash(i int) {
	nw.Nodes[i].Core = nil
	q := nw.Queue[:0]
	for _, p := range nw.Queue {
		if p.To != i {
			q = append(q, p)
		}
	}
	nw.Queue = q
}

// Restart starts replica i again from its records and applied height.
func (nw *Network) Restart(i int) error {
	if nw.Nodes[i].Core != nil {
		return fmt.Errorf("replica %d is running", i)
	}
	return nw.start(nw.Nodes[i])
}

// Propose gives tx to replica i.
func (nw *Network) Propose(i int, tx []byte) error {
	c := nw.Nodes[i].Core
	if c == nil {
		return fmt.Errorf("replica %d is down", i)
	}
	return c.Propose(tx)
}

// Tick ticks every running replica once.
func (nw *Network) Tick() {
	for _, nd := range nw.Nodes {
		if nd.Core != nil {
			nd.Core.Tick()
		}
	}
}

// Process carries out replica i's Ready: persist, send (enqueue), apply,
// report Applied, Advance. It reports whether there was anything.
func (nw *Network) Process(i int) bool {
	nd := nw.Nodes[i]
	if nd.Core == nil || !nd.Core.HasReady() {
		return false
	}
	rd := nd.Core.Ready()
	for _, r := range rd.Persist {
		if r.Value == nil {
			delete(nd.Records, string(r.Key))
		} else {
			nd.Records[string(r.Key)] = append([]byte(nil), r.Value...)
		}
	}
	for _, env := range rd.Messages {
		frame := pbft.Encode(env.Msg)
		if env.To == engine.Broadcast {
			for to := range nw.N {
				if to != i {
					nw.Queue = append(nw.Queue, Packet{From: i, To: to, Kind: env.Msg.Kind(), Frame: frame})
				}
			}
		} else {
			nw.Queue = append(nw.Queue, Packet{From: i, To: env.To, Kind: env.Msg.Kind(), Frame: frame})
		}
	}
	for _, b := range rd.Committed {
		nw.check(nd, b)
		ah := nd.Store.apply(b)
		nd.TxCount += len(b.Txs)
		nd.Core.Applied(b.Height, ah)
	}
	nd.Core.Advance(rd)
	return true
}

// check verifies a delivered batch: in order, with a valid certificate, and
// the same as every other replica's at its height.
func (nw *Network) check(nd *Node, b engine.Committed) {
	if b.Height != nd.Store.Applied+1 {
		nw.Violations = append(nw.Violations, fmt.Sprintf("replica %d delivered %d after %d", nd.ID, b.Height, nd.Store.Applied))
	}
	if nw.Opts.SkipCertCheck {
		// the harness's own check, not part of the replica's work
	} else if err := pbft.VerifyCommitCertificate(nw.Opts.ChainID, nw.Verifier.Validators, b.Height, b.Txs, b.Proof); err != nil {
		nw.Violations = append(nw.Violations, fmt.Sprintf("replica %d height %d: %v", nd.ID, b.Height, err))
	}
	d := engine.BatchDigest(b.Txs)
	nd.Committed[b.Height] = d
	for _, o := range nw.Nodes {
		if od, ok := o.Committed[b.Height]; ok && od != d {
			nw.Violations = append(nw.Violations, fmt.Sprintf("height %d: replica %d has %v, replica %d has %v", b.Height, nd.ID, d, o.ID, od))
		}
	}
}

// ProcessAll processes every replica once; it reports whether any had work.
func (nw *Network) ProcessAll() bool {
	any := false
	for i := range nw.N {
		if nw.Process(i) {
			any = true
		}
	}
	return any
}

// Inject puts a message in flight from replica from to replica to, as if
// from had sent it (a Byzantine replica's forgery, signed by the caller).
func (nw *Network) Inject(from, to int, m pbft.Message) {
	nw.Queue = append(nw.Queue, Packet{From: from, To: to, Kind: m.Kind(), Frame: pbft.Encode(m), Injected: true})
}

// DeliverOne delivers the oldest packet in flight (or drops it per Drop).
// It reports whether there was one.
func (nw *Network) DeliverOne() bool {
	if len(nw.Queue) == 0 {
		return false
	}
	p := nw.Queue[0]
	nw.Queue = nw.Queue[1:]
	if len(nw.Queue) == 0 {
		nw.Queue = nil
	}
	nd := nw.Nodes[p.To]
	if nd.Core == nil || (nw.Drop != nil && nw.Drop(p)) {
		return true
	}
	m, err := nw.decodeVerify(p)
	if err == nil {
		err = nd.Core.Step(m)
		if nw.Trace != nil {
			nw.Trace(fmt.Sprintf("%d->%d %s", p.From, p.To, Describe(m)))
		}
	}
	if err != nil {
		nw.Errors[p.Kind.String()]++
	}
	return true
}

// Stabilize processes and delivers until nothing is in flight and no
// replica has work (no ticks pass). It gives up after maxSteps deliveries
// and reports whether it became quiet.
func (nw *Network) Stabilize(maxSteps int) bool {
	for steps := 0; steps < maxSteps; steps++ {
		worked := nw.ProcessAll()
		if !nw.DeliverOne() && !worked {
			return true
		}
	}
	return false
}

// Run alternates ticks with stabilization for ticks ticks.
func (nw *Network) Run(ticks int) {
	for range ticks {
		nw.Tick()
		nw.Stabilize(1 << 20)
	}
}

// Describe renders a message in one short line for traces and golden files.
func Describe(m pbft.Message) string {
	switch m := m.(type) {
	case *pbft.Request:
		return "request txs=" + joinTxs(m.Txs)
	case *pbft.PrePrepare:
		batch := "digest-only"
		if m.HasBatch() {
			batch = "txs=" + joinTxs(m.Txs)
		}
		return fmt.Sprintf("pre-prepare v=%d s=%d %s", m.View, m.Seq, batch)
	case *pbft.Prepare:
		return fmt.Sprintf("prepare v=%d s=%d d=%s", m.View, m.Seq, m.Digest.String()[:8])
	case *pbft.Commit:
		return fmt.Sprintf("commit v=%d s=%d d=%s", m.View, m.Seq, m.Digest.String()[:8])
	case *pbft.Checkpoint:
		return fmt.Sprintf("checkpoint s=%d", m.Seq)
	case *pbft.ViewChange:
		return fmt.Sprintf("view-change v=%d stable=%d prepared=%d", m.NewView, m.StableSeq, len(m.Prepared))
	case *pbft.NewView:
		return fmt.Sprintf("new-view v=%d vcs=%d pps=%d", m.View, len(m.ViewChanges), len(m.PrePrepares))
	case *pbft.FetchRequest:
		return fmt.Sprintf("fetch-request %d..%d", m.Low, m.High)
	case *pbft.FetchResponse:
		st := uint64(0)
		if len(m.Stable) > 0 {
			st = m.Stable[0].Seq
		}
		return fmt.Sprintf("fetch-response stable=%d batches=%d", st, len(m.Batches))
	}
	return m.Kind().String()
}

func joinTxs(txs [][]byte) string {
	parts := make([]string, len(txs))
	for i, tx := range txs {
		parts[i] = string(tx)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// Heights returns each replica's applied height.
func (nw *Network) Heights() []uint64 {
	out := make([]uint64, nw.N)
	for i, nd := range nw.Nodes {
		out[i] = nd.Store.Applied
	}
	return out
}

// CheckAgreement reports a violation if two replicas hold different
// batches at a height, or recorded violations earlier.
func (nw *Network) CheckAgreement() error {
	if len(nw.Violations) > 0 {
		return fmt.Errorf("safety: %s", strings.Join(nw.Violations, "; "))
	}
	return nil
}
