package sim

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/bftledger/bftledger/engine"
)

// crash points: where in a replica's life a crash hits.
const (
	crashNone         = iota
	crashAfterPersist // mid-Ready: records durable, messages and batches lost
	crashAfterSend    // mid-Ready: records durable, messages sent, batches not applied
)

// node is the simulator's view of one replica: the engine instance (nil
// while crashed) and everything that survives a crash.
type node struct {
	id      int
	rep     Replica
	honest  bool
	records map[string][]byte           // durable engine records
	machine StateMachine                // durable state machine
	history map[uint64]engine.Committed // durable applied batches (Storage)
	applied map[string]struct{}         // durable: every tx in history, as the ledger's receipt index
	// crashAt is a pending torn crash, taken at the next Ready.
	crashAt   int
	downUntil uint64
}

// Committed implements Storage.
func (nd *node) Committed(h uint64) (engine.Committed, bool) {
	c, ok := nd.history[h]
	return c, ok
}

// HasTx reports whether tx is in an applied batch, as the node's ledger
// index answers pbft.TxIndex.
func (nd *node) HasTx(tx []byte) bool {
	_, ok := nd.applied[string(tx)]
	return ok
}

func (nd *node) state() []Record {
	if len(nd.records) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(nd.records))
	out := make([]Record, len(keys))
	for i, k := range keys {
		out[i] = Record{Key: []byte(k), Value: nd.records[k]}
	}
	return out
}

// clientTx is one tx a client submitted.
type clientTx struct {
	tx       []byte
	client   int
	lastSent uint64
}

// Sim is one simulated run. Build it with New and run it with Run; it is
// single threaded and owns every replica it starts.
type Sim struct {
	cfg   Config
	app   App
	rng   *rand.Rand
	net   *network
	nodes []*node
	check *checker
	log   *slog.Logger

	tick    uint64
	healed  bool
	partEnd uint64 // tick the current partition ends (0: none)

	txs        []*clientTx // every tx submitted, in order
	clientSeq  []uint64
	stepErrors int
	crashes    int
	restarts   int
	partitions int
	trace      []string
	// tap, if set, sees every frame a replica sends (tests collect corpora
	// with it).
	tap func(from, to int, data []byte)
	// tracer is the engine as a BatchTracer, nil if it is not one.
	tracer BatchTracer
}

// Result is what a run found.
type Result struct {
	Seed       uint64
	Violations []Violation
	// Ticks is the run's length; LivenessTicks how long the healed phase
	// took to commit every tx (== Config.LivenessTicks when it failed).
	Ticks         uint64
	LivenessTicks uint64
	Heights       []uint64 // last height each replica applied
	TxsSubmitted  int
	TxsAccepted   int
	StepErrors    int // frames replicas refused (bad input is expected from Byzantine peers)
	Crashes       int
	Restarts      int
	Partitions    int
	Net           NetStats
	// DupTxs counts txs ordered twice and excused: by a faulty primary, or
	// by view changes that re-proposed a batch no honest replica had
	// committed (the ledger executes a tx once either way).
	DupTxs int
	Trace  []string // the last events, for a failure report
}

// Failed reports whether the run broke an invariant.
func (r *Result) Failed() bool { return len(r.Violations) > 0 }

// Summary is a one-line account of the run.
func (r *Result) Summary() string {
	return fmt.Sprintf("seed %d: %d ticks (liveness %d), heights %v, txs %d/%d, step errors %d, crashes %d, partitions %d, net %+v, excused duplicate txs %d, violations %d",
		r.Seed, r.Ticks, r.LivenessTicks, r.Heights, r.TxsAccepted, r.TxsSubmitted, r.StepErrors,
		r.Crashes, r.Partitions, r.Net, r.DupTxs, len(r.Violations))
}

// Report is a multi-line failure report: the summary, the violations and
// the last events.
func (r *Result) Report() string {
	var b strings.Builder
	b.WriteString(r.Summary())
	b.WriteString("\nviolations:\n")
	for _, v := range r.Violations {
		b.WriteString("  " + v.String() + "\n")
	}
	b.WriteString("last events:\n")
	for _, l := range r.Trace {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// New validates cfg and builds the run: the network, the state machines
// and the replicas, all from cfg.Seed.
func New(cfg Config) (*Sim, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	app := cfg.App
	if app == nil {
		app = EchoApp{TxBytes: 32}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rng := cfg.Rand
	if rng == nil {
		rng = rand.New(rand.NewPCG(cfg.Seed, 0))
	}
	s := &Sim{
		cfg: cfg, app: app, rng: rng, log: log.With("seed", cfg.Seed),
		net:       newNetwork(cfg.N, rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())), cfg.Faults),
		clientSeq: make([]uint64, cfg.Clients),
	}
	honest := make([]bool, cfg.N)
	for i := range honest {
		honest[i] = !slices.Contains(cfg.Byzantine, i)
	}
	s.check = newChecker(cfg.N, cfg.F(), honest, cfg.Engine.VerifyProof)
	s.tracer, _ = cfg.Engine.(BatchTracer)
	if cfg.MaxViolations > 0 {
		s.check.maxViolations = cfg.MaxViolations
	}
	for id := 0; id < cfg.N; id++ {
		m, err := app.NewMachine(id)
		if err != nil {
			return nil, fmt.Errorf("sim: machine %d: %w", id, err)
		}
		nd := &node{id: id, honest: honest[id], records: make(map[string][]byte), machine: m,
			history: make(map[uint64]engine.Committed), applied: make(map[string]struct{})}
		if nd.rep, err = cfg.Engine.NewReplica(id, nil, 0, nd); err != nil {
			return nil, fmt.Errorf("sim: replica %d: %w", id, err)
		}
		s.nodes = append(s.nodes, nd)
	}
	return s, nil
}

// Run runs the safety phase (faults on), then heals the network, restarts
// crashed replicas and runs the liveness phase: within LivenessTicks every
// tx submitted so far must be seen committed by clients (KindLiveness) and
// then be in every honest replica's history (KindCatchUp). While laggards
// catch up, clients keep a trickle of new txs going, as live traffic would,
// so that checkpoints move on past them.
//
// A panic inside a replica (an engine's assertion) ends the run with a
// KindPanic violation carrying the stack, so one bad seed does not hide the
// others.
func (s *Sim) Run() (res *Result) {
	defer func() {
		if p := recover(); p != nil {
			s.check.violations = append(s.check.violations, Violation{Kind: KindPanic, Tick: s.tick,
				Detail: fmt.Sprintf("%v\n%s", p, debug.Stack())})
			res = s.result(0)
		}
	}()
	for i := 0; i < s.cfg.SafetyTicks && !s.stopped(); i++ {
		s.step()
	}
	s.heal()
	start := s.tick
	pending := len(s.txs) // the txs that must commit everywhere
	accepted, done := false, false
	for i := 0; i < s.cfg.LivenessTicks && !s.stopped() && !done; i++ {
		s.step()
		if i%8 != 7 {
			continue
		}
		if !accepted && s.allAccepted(pending) {
			accepted = true
			s.event("liveness: every pending tx seen committed by clients")
		}
		if accepted {
			done = s.allCommitted(pending)
			if !done && i%probeEveryTicks == 7 {
				s.probe()
			}
		}
	}
	switch {
	case s.stopped():
	case !accepted:
		s.check.fail(s.tick, KindLiveness, "%s", s.livenessDetail(pending))
	case !done:
		s.check.fail(s.tick, KindCatchUp, "%s", s.livenessDetail(pending))
	default:
		// Only the txs the phase waited for: a probe seen committed at the
		// last check may not have reached every replica yet.
		txs := make([][]byte, pending)
		for i, ct := range s.txs[:pending] {
			txs[i] = ct.tx
		}
		s.check.checkHistories(s.tick, txs)
	}
	return s.result(s.tick - start)
}

// stopped reports whether enough violations were found to stop early.
func (s *Sim) stopped() bool { return len(s.check.violations) >= s.check.maxViolations }

func (s *Sim) result(liveness uint64) *Result {
	r := &Result{
		Seed: s.cfg.Seed, Violations: s.check.violations, Ticks: s.tick, LivenessTicks: liveness,
		TxsSubmitted: len(s.txs), StepErrors: s.stepErrors,
		Crashes: s.crashes, Restarts: s.restarts, Partitions: s.partitions, Net: s.net.stats,
		DupTxs: s.check.byzantineDups + s.check.viewChangeDups, Trace: s.trace,
	}
	for _, nd := range s.nodes {
		r.Heights = append(r.Heights, nd.machine.Height())
	}
	for _, ct := range s.txs {
		if s.accepted(ct) {
			r.TxsAccepted++
		}
	}
	return r
}

// event records a notable event for the failure report and the log.
func (s *Sim) event(format string, args ...any) {
	line := fmt.Sprintf("t=%d ", s.tick) + fmt.Sprintf(format, args...)
	if len(s.trace) >= traceLines {
		s.trace = slices.Delete(s.trace, 0, len(s.trace)-traceLines+1)
	}
	s.trace = append(s.trace, line)
	s.log.Debug(line)
}

// step runs one tick: faults, clients, replica timers, then every frame
// due this tick.
func (s *Sim) step() {
	s.tick++
	s.net.now = s.tick
	if !s.healed {
		s.injectFaults()
	}
	s.restartDue()
	s.submit()
	for _, nd := range s.nodes {
		if nd.rep != nil {
			nd.rep.Tick()
			s.drain(nd)
		}
	}
	for {
		p, ok := s.net.due()
		if !ok {
			break
		}
		nd := s.nodes[p.to]
		if nd.rep == nil {
			s.net.stats.ToDown++
			continue
		}
		s.net.stats.Delivered++
		if err := nd.rep.Step(p.from, p.data); err != nil {
			s.stepErrors++
		}
		s.drain(nd)
	}
}

// drain processes nd's Ready until it has none: persist, send, apply,
// Advance.
func (s *Sim) drain(nd *node) {
	for round := 0; nd.rep != nil && nd.rep.HasReady(); round++ {
		if round == maxReadyRounds {
			s.check.fail(s.tick, KindReplicaError, "replica %d still has Ready after %d rounds", nd.id, round)
			return
		}
		rd := nd.rep.Ready()
		for _, r := range rd.Persist {
			if r.Value == nil {
				delete(nd.records, string(r.Key))
			} else {
				nd.records[string(r.Key)] = append([]byte(nil), r.Value...)
			}
		}
		if nd.crashAt == crashAfterPersist {
			s.crash(nd, "torn: after persist, before send and apply")
			return
		}
		for _, m := range rd.Messages {
			if s.tap != nil {
				s.tap(nd.id, m.To, m.Data)
			}
			if s.tracer != nil {
				if view, d, ok := s.tracer.ProposedBatch(m.Data); ok {
					s.check.proposed(s.tick, view, d)
				}
			}
			if m.To == engine.Broadcast {
				for to := range s.nodes {
					s.net.send(nd.id, to, m.Data)
				}
			} else {
				s.net.send(nd.id, m.To, m.Data)
			}
		}
		if nd.crashAt == crashAfterSend {
			s.crash(nd, "torn: after persist and send, before apply")
			return
		}
		for _, c := range rd.Committed {
			s.apply(nd, c)
		}
		nd.rep.Advance()
	}
}

// apply executes one committed batch on nd's machine and reports it.
func (s *Sim) apply(nd *node, c engine.Committed) {
	if c.Height <= nd.machine.Height() {
		s.check.fail(s.tick, KindOrder, "replica %d delivered height %d, already applied %d", nd.id, c.Height, nd.machine.Height())
		return
	}
	appHash, err := nd.machine.Apply(c)
	if err != nil {
		s.check.fail(s.tick, KindApply, "replica %d height %d: %v", nd.id, c.Height, err)
		return
	}
	nd.history[c.Height] = c
	for _, tx := range c.Txs {
		nd.applied[string(tx)] = struct{}{}
	}
	s.check.delivered(s.tick, nd.id, c, appHash)
	s.check.checkSupply(s.tick, nd.id, nd.machine)
	nd.rep.Applied(c.Height, appHash)
}

// crash stops nd; it restarts from its records after a random downtime.
func (s *Sim) crash(nd *node, how string) {
	nd.rep = nil
	nd.crashAt = crashNone
	down := s.cfg.MinDownTicks + s.rng.IntN(s.cfg.MaxDownTicks-s.cfg.MinDownTicks+1)
	nd.downUntil = s.tick + uint64(down)
	s.crashes++
	s.event("crash replica %d (%s) at height %d for %d ticks", nd.id, how, nd.machine.Height(), down)
}

// restart starts nd again from its durable records and applied height.
func (s *Sim) restart(nd *node) {
	rep, err := s.cfg.Engine.NewReplica(nd.id, nd.state(), nd.machine.Height(), nd)
	if err != nil {
		s.check.fail(s.tick, KindReplicaError, "restart replica %d: %v", nd.id, err)
		nd.downUntil = s.tick + 1
		return
	}
	nd.rep = rep
	s.restarts++
	s.event("restart replica %d at height %d with %d records", nd.id, nd.machine.Height(), len(nd.records))
	s.drain(nd)
}

func (s *Sim) restartDue() {
	for _, nd := range s.nodes {
		if nd.rep == nil && (s.healed || s.tick >= nd.downUntil) {
			s.restart(nd)
		}
	}
}

// heal ends the safety phase: no more partitions, loss, duplication or
// crashes, short delays, and every crashed replica restarts.
func (s *Sim) heal() {
	s.healed = true
	s.net.heal()
	s.net.faults = Faults{MaxDelayTicks: s.cfg.HealDelayTicks}
	for _, nd := range s.nodes {
		nd.crashAt = crashNone
	}
	s.partEnd = 0
	s.event("heal: network whole, crashed replicas restart")
	s.restartDue()
}

// injectFaults ends or starts partitions and crashes replicas.
func (s *Sim) injectFaults() {
	if s.partEnd != 0 && s.tick >= s.partEnd {
		s.net.heal()
		s.partEnd = 0
		s.event("partition healed")
	}
	if s.partEnd == 0 && s.perMille(s.cfg.PartitionPerMille) {
		s.partition()
	}
	if s.perMille(s.cfg.CrashPerMille) {
		s.crashOne()
	}
}

func (s *Sim) perMille(p int) bool { return p > 0 && s.rng.IntN(1000) < p }

// partition installs one random partition.
func (s *Sim) partition() {
	n := s.cfg.N
	side := make([]bool, n)
	var what string
	switch s.rng.IntN(3) {
	case 0: // halves
		for _, i := range s.rng.Perm(n)[:n/2] {
			side[i] = true
		}
		s.net.partition(side)
		what = fmt.Sprintf("halves %v", side)
	case 1: // isolate the primary
		p := s.primary()
		side[p] = true
		s.net.partition(side)
		what = fmt.Sprintf("isolate primary %d", p)
	default: // one-way: a random set cannot send to the others
		dst := make([]bool, n)
		for i := range n {
			if s.rng.IntN(2) == 0 {
				side[i] = true
			} else {
				dst[i] = true
			}
		}
		s.net.oneWay(side, dst)
		what = fmt.Sprintf("one-way from %v to %v", side, dst)
	}
	d := s.cfg.MinPartitionTicks + s.rng.IntN(s.cfg.MaxPartitionTicks-s.cfg.MinPartitionTicks+1)
	s.partEnd = s.tick + uint64(d)
	s.partitions++
	s.event("partition for %d ticks: %s", d, what)
}

// primary returns the leader most live replicas report (0 if none).
func (s *Sim) primary() int {
	votes := make([]int, s.cfg.N)
	for _, nd := range s.nodes {
		if nd.rep != nil {
			if l := nd.rep.Status().Leader; l >= 0 && l < s.cfg.N {
				votes[l]++
			}
		}
	}
	best := 0
	for i, v := range votes {
		if v > votes[best] {
			best = i
		}
	}
	return best
}

// crashOne crashes a random honest live replica, if MaxDown allows.
func (s *Sim) crashOne() {
	var live []*node
	down := 0
	for _, nd := range s.nodes {
		switch {
		case nd.rep == nil:
			down++
		case nd.honest && nd.crashAt == crashNone:
			live = append(live, nd)
		}
	}
	if down >= s.cfg.MaxDown || len(live) == 0 {
		return
	}
	nd := live[s.rng.IntN(len(live))]
	if s.rng.IntN(100) < s.cfg.TornCrashPercent {
		nd.crashAt = crashAfterPersist + s.rng.IntN(2)
		return
	}
	s.crash(nd, "clean")
}

// submit lets clients send new txs and re-send pending ones.
func (s *Sim) submit() {
	if !s.healed && len(s.txs) < s.cfg.Txs && s.rng.IntN(4) == 0 {
		c := s.rng.IntN(s.cfg.Clients)
		if s.pendingOf(c) < s.app.Outstanding() {
			s.newTx(c, s.rng.IntN(100) < s.cfg.SubmitAllPercent)
		}
	}
	for _, ct := range s.txs {
		if s.tick-ct.lastSent >= uint64(s.cfg.ResubmitTicks) && !s.accepted(ct) {
			ct.lastSent = s.tick
			s.proposeAll(ct)
		}
	}
}

// newTx makes client's next tx and sends it to every replica or to one.
func (s *Sim) newTx(c int, all bool) {
	tx := s.app.NewTx(c, s.clientSeq[c], s.rng)
	s.clientSeq[c]++
	ct := &clientTx{tx: tx, client: c, lastSent: s.tick}
	s.txs = append(s.txs, ct)
	if all {
		s.proposeAll(ct)
	} else {
		s.propose(s.nodes[s.rng.IntN(len(s.nodes))], ct)
	}
}

func (s *Sim) pendingOf(client int) int {
	n := 0
	for _, ct := range s.txs {
		if ct.client == client && !s.accepted(ct) {
			n++
		}
	}
	return n
}

func (s *Sim) accepted(ct *clientTx) bool {
	_, ok := s.check.accepted[string(ct.tx)]
	return ok
}

func (s *Sim) proposeAll(ct *clientTx) {
	for _, nd := range s.nodes {
		s.propose(nd, ct)
	}
}

func (s *Sim) propose(nd *node, ct *clientTx) {
	if nd.rep == nil {
		return
	}
	if err := nd.rep.Propose(ct.tx); err != nil && !errors.Is(err, engine.ErrDuplicate) &&
		!errors.Is(err, engine.ErrPoolFull) && !errors.Is(err, engine.ErrNotReady) {
		s.event("replica %d refused tx %s: %v", nd.id, short(ct.tx), err)
	}
	s.drain(nd)
}

// allAccepted reports whether clients saw each of the first n txs
// committed.
func (s *Sim) allAccepted(n int) bool {
	for _, ct := range s.txs[:n] {
		if !s.accepted(ct) {
			return false
		}
	}
	return true
}

// allCommitted reports whether each of the first n txs is in every honest
// replica's history.
func (s *Sim) allCommitted(n int) bool {
	if !s.allAccepted(n) {
		return false
	}
	for _, ct := range s.txs[:n] {
		for _, nd := range s.nodes {
			if nd.honest && s.check.txCount[nd.id][string(ct.tx)] == 0 {
				return false
			}
		}
	}
	return true
}

// probe submits one new tx to every replica, from a client with room for
// it, to keep traffic going while laggards catch up.
func (s *Sim) probe() {
	if len(s.txs) >= maxTxs {
		return
	}
	for _, c := range s.rng.Perm(s.cfg.Clients) {
		if s.pendingOf(c) < s.app.Outstanding() {
			s.newTx(c, true)
			return
		}
	}
}

// livenessDetail says what was still missing when liveness failed.
func (s *Sim) livenessDetail(n int) string {
	pending := 0
	for _, ct := range s.txs[:n] {
		if !s.accepted(ct) {
			pending++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "after %d healed ticks: %d of %d txs not seen committed by clients (%d probes sent);",
		s.cfg.LivenessTicks, pending, n, len(s.txs)-n)
	for _, nd := range s.nodes {
		missing := 0
		for _, ct := range s.txs[:n] {
			if s.check.txCount[nd.id][string(ct.tx)] == 0 {
				missing++
			}
		}
		st := engine.Status{}
		if nd.rep != nil {
			st = nd.rep.Status()
		}
		fmt.Fprintf(&b, " r%d(honest=%v h=%d missing=%d view=%d role=%s stable=%d pending=%d)",
			nd.id, nd.honest, nd.machine.Height(), missing, st.Round, st.Role, st.StableCheckpoint, st.PendingTxs)
	}
	return b.String()
}
