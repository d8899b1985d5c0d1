package testnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/bftledger/bftledger/client"
	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/ledger"
)

// Testnet is a testnet directory and the node processes it runs. Its
// methods are safe for concurrent use; node-level operations on different
// nodes run one at a time.
type Testnet struct {
	// Dir is the testnet directory.
	Dir string
	// Meta is testnet.json.
	Meta *Meta
	// Genesis is the network's genesis.
	Genesis *ledger.Genesis
	// Binary is the bftledger binary Start and Restart run. Load sets it
	// from testnet.json; callers set it to the binary at hand (the CLI:
	// its own executable).
	Binary string
	// StopGrace is how long Stop waits after SIGTERM. Default
	// DefaultStopGrace.
	StopGrace time.Duration
	// StartTimeout bounds Start's and Restart's wait for /healthz.
	// Default DefaultStartTimeout.
	StartTimeout time.Duration

	log *slog.Logger

	// nodeMu[i] serialises operations on node i (start, stop, signals), so
	// operations on different nodes, like Stop's, run in parallel.
	nodeMu []sync.Mutex
	procMu sync.Mutex
	procs  map[int]*proc // processes this value started; guarded by procMu
	mu     sync.Mutex    // guards client and Meta writes
	client *client.Client
}

func newTestnet(dir string, meta *Meta, g *ledger.Genesis, log *slog.Logger) *Testnet {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Testnet{Dir: dir, Meta: meta, Genesis: g, Binary: meta.Binary, StopGrace: DefaultStopGrace,
		StartTimeout: DefaultStartTimeout, log: log, procs: make(map[int]*proc), nodeMu: make([]sync.Mutex, len(meta.Nodes))}
}

// Load opens the testnet in dir (made by Init). Errors wrap ErrNoTestnet
// when dir holds none.
func Load(dir string, log *slog.Logger) (*Testnet, error) {
	meta, err := readMeta(dir)
	if err != nil {
		return nil, err
	}
	g, err := ledger.LoadGenesis(filepath.Join(dir, GenesisFile))
	if err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	if g.ChainID != meta.ChainID || len(g.Validators) != len(meta.Nodes) || g.Consensus != meta.Consensus {
		return nil, fmt.Errorf("%w: %s and %s disagree (chain id, consensus or validators)", ErrNoTestnet, MetaFile, GenesisFile)
	}
	return newTestnet(dir, meta, g, log), nil
}

// N returns the number of nodes.
func (t *Testnet) N() int { return len(t.Meta.Nodes) }

func (t *Testnet) checkIndex(i int) error {
	if i < 0 || i >= len(t.Meta.Nodes) {
		return fmt.Errorf("%w: node %d (the testnet has nodes 0..%d)", ErrNodeIndex, i, len(t.Meta.Nodes)-1)
	}
	return nil
}

// Client returns a client for the network, built from its genesis (made
// once, then shared).
func (t *Testnet) Client() (*client.Client, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.client != nil {
		return t.client, nil
	}
	c, err := client.FromGenesis(t.Genesis, nil, client.Options{Logger: t.log})
	if err != nil {
		return nil, err
	}
	t.client = c
	return c, nil
}

// AccountKey reads funded account j's key.
func (t *Testnet) AccountKey(j int) (*crypto.Ed25519Signer, error) {
	if j < 0 || j >= len(t.Meta.Accounts) {
		return nil, fmt.Errorf("%w: account %d (the testnet has %d)", ErrOptions, j, len(t.Meta.Accounts))
	}
	return crypto.ReadKeyFile(filepath.Join(t.Dir, t.Meta.Accounts[j]))
}

// saveBinary records the binary in testnet.json so later launchers and
// `testnet status` show it.
func (t *Testnet) saveBinary() error {
	if t.Meta.Binary == t.Binary {
		return nil
	}
	t.Meta.Binary = t.Binary
	return writeMeta(t.Dir, t.Meta)
}

// Start starts every node that is not running and waits until all of them
// serve /healthz (or ctx ends, or StartTimeout passes). If some node does
// not come up, the error says which, how its process ended if it did, and
// where its log is (with the log's last lines); the nodes this call started
// are stopped again.
func (t *Testnet) Start(ctx context.Context) error {
	t.mu.Lock()
	err := t.saveBinary()
	t.mu.Unlock()
	if err != nil {
		return err
	}
	var started []int
	stopStarted := func() {
		for _, j := range started {
			t.nodeMu[j].Lock()
			_ = t.stopNode(j, t.StopGrace)
			t.nodeMu[j].Unlock()
		}
	}
	for i := range t.Meta.Nodes {
		t.nodeMu[i].Lock()
		var err error
		if _, ok := t.livePID(i); !ok {
			if err = t.spawn(i); err == nil {
				started = append(started, i)
			}
		}
		t.nodeMu[i].Unlock()
		if err != nil {
			stopStarted()
			return err
		}
	}
	all := make([]int, len(t.Meta.Nodes))
	for i := range all {
		all[i] = i
	}
	if err := t.waitHealthy(ctx, all); err != nil {
		stopStarted()
		return err
	}
	return nil
}

// StartNode starts node i (which must not be running) and waits until it
// serves /healthz.
func (t *Testnet) StartNode(ctx context.Context, i int) error {
	if err := t.checkIndex(i); err != nil {
		return err
	}
	t.nodeMu[i].Lock()
	err := t.spawn(i)
	t.nodeMu[i].Unlock()
	if err != nil {
		return err
	}
	return t.waitHealthy(ctx, []int{i})
}

// waitHealthy waits until every node in nodes serves /healthz.
func (t *Testnet) waitHealthy(ctx context.Context, nodes []int) error {
	c, err := t.Client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, t.StartTimeout)
	defer cancel()
	tick := time.NewTicker(healthPoll)
	defer tick.Stop()
	pending := append([]int(nil), nodes...)
	lastErr := make(map[int]error)
	for {
		var still []int
		for _, i := range pending {
			_, alive := t.livePID(i)
			p := t.proc(i)
			if !alive {
				status := "its process is gone"
				if p != nil {
					select { // reaped by now, or very soon
					case <-p.done:
						status = "exited: " + exitString(p.err)
					case <-time.After(time.Second):
					}
				}
				return t.unhealthy(i, status)
			}
			hctx, hcancel := context.WithTimeout(ctx, time.Second)
			err := c.Healthz(hctx, i)
			hcancel()
			if err != nil {
				lastErr[i] = err
				still = append(still, i)
			}
		}
		pending = still
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			var errs []error
			for _, i := range pending {
				errs = append(errs, t.unhealthy(i, fmt.Sprintf("no answer on %s/healthz (%v)", t.Meta.Nodes[i].APIURL, lastErr[i])))
			}
			return errors.Join(errs...)
		case <-tick.C:
		}
	}
}

// unhealthy builds the error for a node that did not come up.
func (t *Testnet) unhealthy(i int, why string) error {
	msg := fmt.Sprintf("%s %s; see its log %s", t.Meta.Nodes[i].Name, why, t.LogPath(i))
	if tail := t.logTail(i); tail != "" {
		msg += ", which ends:\n" + tail
	}
	return fmt.Errorf("%w: %s", ErrUnhealthy, msg)
}

// Stop stops every running node (SIGTERM, then SIGKILL after StopGrace),
// in parallel. Nodes that are not running are skipped.
func (t *Testnet) Stop() error {
	var wg sync.WaitGroup
	errs := make([]error, len(t.Meta.Nodes))
	for i := range t.Meta.Nodes {
		wg.Go(func() { errs[i] = t.StopNode(i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// StopNode stops node i gracefully (SIGTERM, then SIGKILL after
// StopGrace). A node that is not running is not an error.
func (t *Testnet) StopNode(i int) error {
	if err := t.checkIndex(i); err != nil {
		return err
	}
	t.nodeMu[i].Lock()
	defer t.nodeMu[i].Unlock()
	return t.stopNode(i, t.StopGrace)
}

// Kill sends SIGKILL to node i (a crash) and waits until it is gone.
func (t *Testnet) Kill(i int) error {
	if err := t.checkIndex(i); err != nil {
		return err
	}
	t.nodeMu[i].Lock()
	defer t.nodeMu[i].Unlock()
	return t.killNode(i)
}

// Pause freezes node i with SIGSTOP: it holds its connections but answers
// nothing, like a machine that stalls. It returns once the process is
// stopped (where /proc shows it).
func (t *Testnet) Pause(i int) error {
	return t.signal(i, syscall.SIGSTOP, func(st byte) bool { return st == 'T' || st == 0 })
}

// Resume continues a paused node i with SIGCONT.
func (t *Testnet) Resume(i int) error {
	return t.signal(i, syscall.SIGCONT, func(st byte) bool { return st != 'T' })
}

// signal sends sig to node i and waits (briefly) until its /proc state
// satisfies done, since signal delivery is asynchronous.
func (t *Testnet) signal(i int, sig syscall.Signal, done func(state byte) bool) error {
	if err := t.checkIndex(i); err != nil {
		return err
	}
	t.nodeMu[i].Lock()
	defer t.nodeMu[i].Unlock()
	pid, err := t.signalNode(i, sig)
	if err != nil {
		return err
	}
	deadline := time.NewTimer(signalWait)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !done(procState(pid)) {
		select {
		case <-deadline.C:
			return fmt.Errorf("testnet: %s (pid %d) did not change state after %v", t.Meta.Nodes[i].Name, pid, sig)
		case <-tick.C:
		}
	}
	return nil
}

// Restart stops node i if it is running (gracefully), starts it again from
// its home, and waits until it serves /healthz. The node resumes from its
// stores.
func (t *Testnet) Restart(ctx context.Context, i int) error {
	if err := t.checkIndex(i); err != nil {
		return err
	}
	t.nodeMu[i].Lock()
	err := t.stopNode(i, t.StopGrace)
	if err == nil {
		err = t.spawn(i)
	}
	t.nodeMu[i].Unlock()
	if err != nil {
		return err
	}
	return t.waitHealthy(ctx, []int{i})
}

// Isolate cuts node i off from its peers (its p2p layer drops all
// traffic) through its admin endpoint; its API keeps serving.
func (t *Testnet) Isolate(ctx context.Context, i int) error { return t.isolate(ctx, i, true) }

// Heal reconnects an isolated node i.
func (t *Testnet) Heal(ctx context.Context, i int) error { return t.isolate(ctx, i, false) }

func (t *Testnet) isolate(ctx context.Context, i int, on bool) error {
	if err := t.checkIndex(i); err != nil {
		return err
	}
	c, err := t.Client()
	if err != nil {
		return err
	}
	if err := c.Isolate(ctx, i, on); err != nil {
		return fmt.Errorf("testnet: isolate=%v %s: %w", on, t.Meta.Nodes[i].Name, err)
	}
	t.log.Info("isolation", "node", i, "isolated", on)
	return nil
}

// NodeStatus is one row of Status.
type NodeStatus struct {
	Index   int            `json:"index"`
	Name    string         `json:"name"`
	PID     int            `json:"pid,omitempty"`
	Running bool           `json:"running"`
	Paused  bool           `json:"paused"`
	APIURL  string         `json:"api_url"`
	Node    *client.Status `json:"status,omitempty"` // the node's /v1/status, if it answered
	Error   string         `json:"error,omitempty"`  // why it did not
}

// Status reports every node: its process and, if it answers, its
// /v1/status. It asks the running nodes concurrently.
func (t *Testnet) Status(ctx context.Context) []NodeStatus {
	out := make([]NodeStatus, len(t.Meta.Nodes))
	c, cerr := t.Client()
	var wg sync.WaitGroup
	for i, nm := range t.Meta.Nodes {
		pid, running := t.livePID(i)
		out[i] = NodeStatus{Index: i, Name: nm.Name, PID: pid, Running: running, APIURL: nm.APIURL}
		if !running {
			continue
		}
		if procState(pid) == 'T' {
			out[i].Paused = true
			out[i].Error = "paused (SIGSTOP)"
			continue
		}
		if cerr != nil {
			out[i].Error = cerr.Error()
			continue
		}
		wg.Go(func() {
			sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			s, err := c.Status(sctx, i)
			if err != nil {
				out[i].Error = err.Error()
				return
			}
			out[i].Node = s
		})
	}
	wg.Wait()
	return out
}
