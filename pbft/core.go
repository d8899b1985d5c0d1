package pbft

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
)

// Errors Step returns for input it drops. None of them is fatal: the shell
// logs them (at debug level) and goes on.
var (
	// ErrStale: the message belongs to an older view, or to a sequence
	// number at or below the stable checkpoint.
	ErrStale = errors.New("pbft: stale message")
	// ErrOutOfWindow: the sequence number is above the high watermark.
	ErrOutOfWindow = errors.New("pbft: sequence number outside window")
	// ErrWrongView: a normal-case message for a view this replica is not
	// (or not yet) working in.
	ErrWrongView = errors.New("pbft: message for another view")
	// ErrConflict: the message conflicts with one accepted earlier from
	// the same sender (equivocation); the first one stands.
	ErrConflict = errors.New("pbft: conflicting message")
	// ErrNoBatch: a normal-case PRE-PREPARE came without its batch.
	ErrNoBatch = errors.New("pbft: pre-prepare without its batch")
	// ErrRateLimited: a peer asked for more state transfer than a replica
	// serves per tick.
	ErrRateLimited = errors.New("pbft: rate limited")
	// ErrTxTooLarge: Propose got a tx that cannot fit any batch.
	ErrTxTooLarge = errors.New("pbft: tx larger than a batch")
	// ErrBadState: New was given records it cannot decode. Storage
	// corruption is fatal to the replica.
	ErrBadState = errors.New("pbft: bad persisted state")
)

// Core is one PBFT replica as a deterministic state machine. It never
// blocks, starts no goroutine, reads no clock and does no I/O: the shell
// feeds it verified messages (Step), ticks (Tick) and txs (Propose), and
// carries out its Ready. All methods must be called from one goroutine.
//
// Iteration over maps never decides output order: outputs follow sequence
// numbers or replica indices, so equal inputs give equal outputs.
type Core struct {
	cfg Config
	log *slog.Logger
	n   int // replicas
	f   int // tolerated faults, (n-1)/3
	q   int // quorum, ceil((n+f+1)/2)
	id  int // Config.ID

	now uint64 // ticks since New

	// View state (§4.4).
	view       uint64 // current view; while !active, the view being changed to
	active     bool   // false from sending VIEW-CHANGE until NEW-VIEW is adopted
	viewStart  uint64 // tick at which the current view (or its change) began
	vcAttempts int    // successive view changes without progress; doubles timeouts
	vcCount    uint64 // view changes started since New (Status)
	ownVC      *ViewChange
	vcs        []*ViewChange // per replica: its highest-view VIEW-CHANGE seen
	newView    *NewView      // adopted NEW-VIEW of the current view (nil in view 0)
	peerView   []uint64      // per replica: the highest view it was seen in

	// Log and watermarks (§4.2, §4.3).
	stable      uint64        // h: last stable checkpoint
	stableProof []*Checkpoint // quorum of CHECKPOINTs for stable (nil at 0)
	stableHash  []byte        // app hash at stable (nil at 0)
	slots       map[uint64]*slot
	nextSeq     uint64 // primary: highest seq assigned in this view
	lastExec    uint64 // highest seq handed out in Ready.Committed
	applied     uint64 // highest seq the ledger reported through Applied
	checkpoints map[uint64]map[int]*Checkpoint
	ownCkpt     *Checkpoint // latest own CHECKPOINT (retransmitted)
	appHashes   map[uint64][]byte

	pool requestPool
	// relayPrimary and relayAll queue txs to relay to the primary or to
	// every replica; Ready signs them into Requests (flushRelays).
	relayPrimary, relayAll [][]byte

	// State transfer.
	claims      []uint64      // per replica: the highest seq it showed us
	fetchTarget uint64        // highest seq known (or claimed by f+1) to be committed
	fetchPeer   int           // round-robin cursor over peers to fetch from
	fetchMark   uint64        // lastExec at the previous retransmission
	staleAnswer []uint64      // per replica: 1 + tick we last answered its stale message
	nvAnswer    []uint64      // per replica: 1 + tick we last re-sent it our NEW-VIEW
	fetchServed []servedCount // per replica: FETCH-REQUESTs answered this tick

	// Timers.
	retransmitTicks int
	lastRetransmit  uint64
	timerKey        waitKey // what the request timer watches
	timedSince      uint64  // tick the timer (re)started
	maxAccepted     uint64  // highest seq with a pre-prepare accepted in this view

	// Output, drained by Ready/Advance.
	out        Ready
	dirtySlots map[uint64]bool
	dirtyView  bool
}

// New returns a replica for cfg. state holds every Record persisted so far
// (nil on first start), in any order; applied is the last sequence number
// the ledger has executed. A restarted replica resumes from exactly that
// state. New returns an error wrapping ErrConfig or ErrBadState.
func New(cfg Config, state []Record, applied uint64) (*Core, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := len(cfg.Validators)
	c := &Core{
		cfg:         cfg,
		log:         log.With("node", cfg.ID),
		n:           n,
		f:           MaxFaulty(n),
		q:           Quorum(n),
		id:          cfg.ID,
		active:      true,
		vcs:         make([]*ViewChange, n),
		peerView:    make([]uint64, n),
		slots:       make(map[uint64]*slot),
		checkpoints: make(map[uint64]map[int]*Checkpoint),
		appHashes:   make(map[uint64][]byte),
		claims:      make([]uint64, n),
		staleAnswer: make([]uint64, n),
		nvAnswer:    make([]uint64, n),
		fetchServed: make([]servedCount, n),
		dirtySlots:  make(map[uint64]bool),
		lastExec:    applied,
		applied:     applied,
	}
	c.pool.init(cfg.MaxPendingTxs)
	c.retransmitTicks = cfg.RetransmitTicks
	if c.retransmitTicks == 0 {
		c.retransmitTicks = max(1, cfg.RequestTimeoutTicks/4)
	}
	c.rebuildRecent()
	if err := c.restore(state); err != nil {
		return nil, err
	}
	c.fetchMark = c.lastExec
	if ah, ok := cfg.Storage.(AppHashes); ok {
		if cp := applied - applied%cfg.CheckpointInterval; cp > c.stable {
			if h, ok := ah.AppHash(cp); ok {
				c.Applied(cp, h)
			}
		}
	}
	c.log.Info("replica started", "view", c.view, "active", c.active, "stable", c.stable,
		"applied", applied, "n", n, "f", c.f, "quorum", c.q)
	c.tryExecute()
	return c, nil
}

// primary returns the primary of the current view.
func (c *Core) primary() int { return Primary(c.view, c.n) }

// isPrimary reports whether this replica leads the current, active view.
func (c *Core) isPrimary() bool { return c.active && c.primary() == c.id }

// high returns H, the high watermark.
func (c *Core) high() uint64 { return c.stable + c.cfg.WindowSize }

// inWindow reports whether h < seq <= H, and why not.
func (c *Core) checkWindow(seq uint64) error {
	if seq <= c.stable {
		return fmt.Errorf("seq %d <= stable %d: %w", seq, c.stable, ErrStale)
	}
	if seq > c.high() {
		return fmt.Errorf("seq %d > high watermark %d: %w", seq, c.high(), ErrOutOfWindow)
	}
	return nil
}

// checkView checks that a normal-case message belongs to the active view.
func (c *Core) checkView(v uint64) error {
	if v < c.view {
		return fmt.Errorf("view %d < %d: %w", v, c.view, ErrStale)
	}
	if v > c.view || !c.active {
		return fmt.Errorf("view %d, at %d (active %v): %w", v, c.view, c.active, ErrWrongView)
	}
	return nil
}

// Step feeds one verified message to the replica. It returns ErrUnverified
// for a message that has not passed Verifier.Verify (or a Verifier for
// another validator set), and ErrStale, ErrOutOfWindow, ErrWrongView,
// ErrConflict or ErrNoBatch (wrapped) for input it drops. Peer input never
// makes it panic.
func (c *Core) Step(m Message) error {
	if m == nil || !m.sealed().verified {
		return ErrUnverified
	}
	from := m.From()
	if from < 0 || from >= c.n || from == c.id {
		return fmt.Errorf("%v from %d: %w", m.Kind(), from, ErrBadSender)
	}
	c.notePeerView(from, m)
	var err error
	switch m := m.(type) {
	case *Request:
		err = c.stepRequest(m)
	case *PrePrepare:
		err = c.stepPrePrepare(m)
	case *Prepare:
		err = c.stepPrepare(m)
	case *Commit:
		err = c.stepCommit(m)
	case *Checkpoint:
		err = c.stepCheckpoint(m)
	case *ViewChange:
		err = c.stepViewChange(m)
	case *NewView:
		err = c.stepNewView(m)
	case *FetchRequest:
		err = c.stepFetchRequest(m)
	case *FetchResponse:
		err = c.stepFetchResponse(m)
	}
	if err != nil {
		c.log.Debug("dropped message", "kind", m.Kind(), "peer", from, "err", err)
	}
	c.maybeJoinHigherView()
	return err
}

// notePeerView records what a message tells about its sender's view and
// progress (for the join rule and for lag detection).
func (c *Core) notePeerView(from int, m Message) {
	var seq uint64
	switch m := m.(type) {
	case *PrePrepare:
		seq = m.Seq
	case *Prepare:
		seq = m.Seq
	case *Commit:
		seq = m.Seq
	case *Checkpoint:
		seq = m.Seq
	}
	if seq > c.claims[from] {
		c.claims[from] = seq
	}
	switch m.(type) {
	case *PrePrepare, *Prepare, *Commit, *ViewChange, *NewView:
		if v := m.ViewNum(); v > c.peerView[from] {
			c.peerView[from] = v
		}
	}
}

// Tick advances the replica's logical clock by one tick: batch, request and
// view-change timeouts, retransmissions and state-transfer retries.
func (c *Core) Tick() {
	c.now++
	if c.active {
		if c.id == c.primary() {
			c.cutBatches(false)
		} else if c.requestTimerExpired() {
			c.log.Info("request timer expired", "view", c.view, "waited", c.now-c.timedSince)
			c.startViewChange(c.view + 1)
		}
	} else if !c.viewChangeQuorum() {
		// §4.5.2: the view-change timer runs only once 2f+1 replicas asked
		// for this view; otherwise a replica whose VIEW-CHANGEs were lost
		// would race ahead alone and the honest replicas drift apart.
		c.viewStart = c.now
	} else if c.now-c.viewStart >= c.timeoutTicks() {
		c.log.Info("view change timed out", "view", c.view)
		c.startViewChange(c.view + 1)
	}
	if c.now-c.lastRetransmit >= uint64(c.retransmitTicks) {
		c.lastRetransmit = c.now
		c.retransmit()
	}
}

// viewChangeQuorum reports whether a quorum of replicas (this one
// included) have sent VIEW-CHANGEs for the current view or a later one: a
// replica that moved past this view asked for it first.
func (c *Core) viewChangeQuorum() bool {
	n := 0
	for _, vc := range c.vcs {
		if vc != nil && vc.NewView >= c.view {
			n++
		}
	}
	return n >= c.q
}

// timeoutTicks is the request / view-change timeout, doubled per
// successive view change without progress.
func (c *Core) timeoutTicks() uint64 {
	return uint64(c.cfg.RequestTimeoutTicks) << min(c.vcAttempts, maxVCAttempts)
}

// waitKey identifies what a backup is waiting for: its oldest pending tx,
// or (with none pending) the next seq to execute when a pre-prepare above
// it was accepted in this view.
type waitKey struct {
	tx  *pendingTx
	seq uint64
}

// requestTimerExpired runs the backup's request timer (§4.4: a backup
// waiting to execute a request it knows of). It restarts whenever what it
// waits for changes (that tx committed, or execution advanced) or a view
// begins, and expires when it has waited timeoutTicks: so a primary that
// orders other txs but never this one is still replaced.
func (c *Core) requestTimerExpired() bool {
	var key waitKey
	if head := c.pool.oldest(); head != nil {
		key.tx = head
	} else if c.maxAccepted > c.lastExec {
		key.seq = c.lastExec + 1
	}
	if key == (waitKey{}) {
		c.timerKey = key
		return false
	}
	if key != c.timerKey {
		c.timerKey = key
		c.timedSince = max(c.now, c.viewStart)
		return false
	}
	return c.now-c.timedSince >= c.timeoutTicks()
}

// retransmit re-sends what peers may have lost (the transport drops on
// full queues) and retries state transfer.
func (c *Core) retransmit() {
	if c.active {
		c.retransmitVotes()
		if c.id != c.primary() {
			// Like a client that times out (§4.1), re-send old pending
			// txs to every replica, so all backups start their timers
			// if the primary ignores them.
			c.relayPending(relayPerRetransmit, c.now-uint64(c.retransmitTicks), true)
		}
	} else if c.ownVC != nil {
		c.broadcast(c.ownVC)
	}
	if c.ownCkpt != nil && c.ownCkpt.Seq > c.stable {
		c.broadcast(c.ownCkpt) // not stable yet: peers may have lost it
	}
	c.maybeFetch()
	c.fetchMark = c.lastExec
}

// Propose hands the replica a tx that passed admission. It returns
// engine.ErrDuplicate for a tx already pending or recently committed,
// engine.ErrPoolFull when the pool holds MaxPendingTxs, and ErrTxTooLarge.
// At a backup the tx is kept (it starts the request timer) and relayed to
// the primary.
func (c *Core) Propose(tx []byte) error {
	if len(tx) == 0 || len(tx) > TxBytesMax || len(tx) > c.cfg.MaxBatchBytes {
		return fmt.Errorf("tx of %d bytes (batch max %d): %w", len(tx), c.cfg.MaxBatchBytes, ErrTxTooLarge)
	}
	p, err := c.addTx(tx)
	if err != nil {
		return err
	}
	if c.active && c.id != c.primary() {
		c.relay(p, false)
	} else if c.isPrimary() && c.pool.unordered >= c.cfg.MaxBatchTxs {
		c.cutBatches(false)
	}
	return nil
}

// HasReady reports whether Ready has work.
func (c *Core) HasReady() bool {
	return !c.out.IsEmpty() || len(c.dirtySlots) > 0 || c.dirtyView ||
		len(c.relayPrimary) > 0 || len(c.relayAll) > 0 ||
		(c.cutAtOnce() && c.pool.unordered > 0 && c.nextSeq < c.high() &&
			c.lastExec >= c.stable && !c.missingBatches())
}

// cutAtOnce reports whether Ready should cut the pending txs into batches
// without waiting for BatchTimeoutTicks: always with a zero timeout, and
// when this primary has no batch in flight (every seq it assigned was
// executed). Waiting only pays when batches are in flight: then txs
// accumulate into larger batches while the pipeline is busy, and an idle
// primary adds no batching delay at low load.
func (c *Core) cutAtOnce() bool {
	return c.isPrimary() && (c.cfg.BatchTimeoutTicks == 0 || c.nextSeq <= c.lastExec)
}

// Ready returns the pending work. It stays the same until Advance, except
// that work produced after Ready (by Step, Tick, Propose, Applied) is added
// after it and returned by the next Ready.
func (c *Core) Ready() Ready {
	if c.cutAtOnce() {
		c.cutBatches(true)
	}
	c.flushRelays()
	c.flushPersist()
	return Ready{
		Persist:   c.out.Persist[:len(c.out.Persist):len(c.out.Persist)],
		Messages:  c.out.Messages[:len(c.out.Messages):len(c.out.Messages)],
		Committed: c.out.Committed[:len(c.out.Committed):len(c.out.Committed)],
	}
}

// Advance acknowledges that rd (returned by the last Ready) has been
// persisted, sent and delivered.
func (c *Core) Advance(rd Ready) {
	assert(len(rd.Persist) <= len(c.out.Persist) && len(rd.Messages) <= len(c.out.Messages) &&
		len(rd.Committed) <= len(c.out.Committed), "Advance with a Ready that was not returned by Ready")
	c.out.Persist = trim(c.out.Persist, len(rd.Persist))
	c.out.Messages = trim(c.out.Messages, len(rd.Messages))
	c.out.Committed = trim(c.out.Committed, len(rd.Committed))
}

// trim drops the first k elements; a fully drained slice is released so
// the shell may keep the old one.
func trim[T any](s []T, k int) []T {
	if k >= len(s) {
		return nil
	}
	return s[k:]
}

// Status reports the replica's view of the world.
func (c *Core) Status() engine.Status {
	role := "backup"
	switch {
	case !c.active:
		role = "view-change"
	case c.primary() == c.id:
		role = "primary"
	}
	return engine.Status{
		Mode:             engine.ModePBFT,
		Round:            c.view,
		Role:             role,
		Leader:           c.primary(),
		StableCheckpoint: c.stable,
		Committed:        c.lastExec,
		ViewChanges:      c.vcCount,
		PendingTxs:       c.pool.len(),
	}
}

// View returns the current view and whether it is active (false while a
// view change is in progress).
func (c *Core) View() (uint64, bool) { return c.view, c.active }

// LastExecuted returns the highest sequence number handed out in
// Ready.Committed.
func (c *Core) LastExecuted() uint64 { return c.lastExec }

// StableCheckpoint returns the stable checkpoint's sequence number and app
// hash (0 and nil before the first).
func (c *Core) StableCheckpoint() (uint64, []byte) { return c.stable, c.stableHash }

// ID returns this replica's index.
func (c *Core) ID() int { return c.id }

// --- output helpers -------------------------------------------------------

// sign signs a message this replica created.
func (c *Core) sign(m Message) {
	Sign(m, c.cfg.ChainID, c.cfg.Signer)
}

func (c *Core) broadcast(m Message) {
	c.out.Messages = append(c.out.Messages, Envelope{To: engine.Broadcast, Msg: m})
}

func (c *Core) sendTo(to int, m Message) {
	assert(to != c.id && to >= 0 && to < c.n, "send to self or out of range")
	c.out.Messages = append(c.out.Messages, Envelope{To: to, Msg: m})
}

func (c *Core) deliver(b engine.Committed) {
	assert(b.Height == c.lastExec+1, "delivery out of order")
	c.out.Committed = append(c.out.Committed, b)
	c.lastExec = b.Height
}

// sortedSeqs returns the keys of m in ascending order.
func sortedSeqs[V any](m map[uint64]V) []uint64 {
	keys := make([]uint64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

// hashTx is the identity of a tx for duplicate suppression.
func hashTx(tx []byte) crypto.Hash { return crypto.Sum(tx) }
