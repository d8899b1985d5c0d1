package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/bftledger/bftledger/api"
	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/ledger"
	"github.com/bftledger/bftledger/p2p"
)

// ErrStorage wraps every storage failure inside a running node. Such a
// failure is fatal: Run returns it, and a restart resumes from what was
// durably written.
var ErrStorage = errors.New("node: storage failure")

// ErrStopped: the node's consensus loop is not running.
var ErrStopped = errors.New("node: stopped")

// consensusDBName is the cometbft-db name of the consensus database in
// DIR/data; the ledger keeps its own.
const consensusDBName = "consensus"

// Node is one running validator. New opens its stores and binds its
// listeners; Run drives it until its context ends.
type Node struct {
	home    *Home
	cfg     *Config
	chainID string
	index   int
	mode    string
	log     *slog.Logger // bound to our validator index
	baseLog *slog.Logger // for components that bind the index themselves

	store  *ledger.Store
	consDB dbm.DB
	eng    engine.Engine
	host   *p2p.Host
	out    sender // the host's sending half; a recorder in tests
	api    *api.Server
	apiLn  net.Listener
	reg    *prometheus.Registry
	m      *metrics

	txCache   *txCache
	waiters   *waiters
	proposals chan *proposal // API → loop
	verified  chan any       // verify pool → loop, decoded and verified messages
	reads     chan *readRequest
	members   chan *memberRequest // API → loop, membership changes (Raft)
	// pendingMember is the membership change proposed and not yet applied
	// here. Loop only.
	pendingMember *memberRequest
	// votersNow are the voters the loop last published (Raft; nil in PBFT).
	votersNow atomic.Pointer[[]int]
	// pendingReads are linearizable reads started in the engine, by read
	// id; readSeq numbers them. Loop only.
	pendingReads map[uint64]*readRequest
	readSeq      uint64
	// execQ and execDone connect the loop to the executor, which applies
	// PBFT batches while consensus goes on; both nil in Raft mode, where
	// the loop applies synchronously.
	execQ    chan engine.Committed
	execDone chan appliedBlock
	status   atomic.Pointer[engine.Status] // published by the loop every tick
	done     chan struct{}                 // closed when the loop has exited

	closeOnce sync.Once
	closeErr  error
}

// New loads the home directory, opens the ledger and consensus stores, the
// engine the genesis names, the p2p host and the API listener. Nothing runs
// until Run. A nil logger discards logs. If New fails it releases whatever
// it opened; a Node that is never Run must be closed with Close.
func New(home string, logger *slog.Logger) (*Node, error) {
	h, err := LoadHome(home)
	if err != nil {
		return nil, err
	}
	return NewFromHome(h, logger)
}

// NewFromHome is New for an already loaded home.
func NewFromHome(h *Home, logger *slog.Logger) (_ *Node, err error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	g := h.Genesis
	n := &Node{
		home:         h,
		cfg:          h.Config,
		chainID:      g.ChainID,
		index:        h.Index,
		mode:         g.Consensus,
		log:          logger.With("node", h.Index),
		baseLog:      logger,
		reg:          prometheus.NewRegistry(),
		txCache:      newTxCache(verifiedTxCacheLen),
		waiters:      newWaiters(receiptWaitersMax),
		proposals:    make(chan *proposal, proposeQueueLen),
		verified:     make(chan any, verifiedQueueLen),
		reads:        make(chan *readRequest, readQueueLen),
		members:      make(chan *memberRequest, membersQueueLen),
		pendingReads: make(map[uint64]*readRequest),
		done:         make(chan struct{}),
	}
	defer func() {
		if err != nil {
			n.Close() // release what was opened before the failure
		}
	}()
	n.m = newMetrics(n.reg)
	if n.mode == engine.ModePBFT {
		n.execQ = make(chan engine.Committed, execQueueLen)
		n.execDone = make(chan appliedBlock, execQueueLen)
	}
	dataDir := filepath.Join(h.Dir, DataDir)
	n.store, err = ledger.Open(dataDir, h.Config.Storage.Backend, g)
	if err != nil {
		return nil, fmt.Errorf("node: open ledger in %s: %w", dataDir, err)
	}
	n.consDB, err = dbm.NewDB(consensusDBName, dbBackend(h.Config.Storage.Backend), dataDir)
	if err != nil {
		return nil, fmt.Errorf("node: open consensus db in %s: %w", dataDir, err)
	}
	if err := n.newEngine(); err != nil {
		return nil, err
	}
	if err := n.newHost(); err != nil {
		return nil, err
	}
	if err := n.newAPI(); err != nil {
		return nil, err
	}
	n.publishStatus()
	n.log.Info("node ready", "name", n.name(), "mode", n.mode, "chain_id", n.chainID,
		"height", n.store.Height(), "p2p", n.host.Addrs(), "api", n.apiLn.Addr().String())
	return n, nil
}

// sender is the sending half of the transport.
type sender interface {
	Send(to int, data []byte) bool
	Broadcast(data []byte)
}

// dbBackend maps a [storage] backend name to cometbft-db's.
func dbBackend(name string) dbm.BackendType {
	if name == BackendPebble {
		return dbm.PebbleDBBackend
	}
	return dbm.GoLevelDBBackend
}

func (n *Node) name() string { return n.home.Genesis.Validators[n.index].Name }

func (n *Node) newEngine() error {
	switch n.mode {
	case engine.ModePBFT:
		return n.newPBFT()
	case engine.ModeRaft:
		return n.newRaft()
	}
	return fmt.Errorf("node: genesis consensus %q: want %q or %q", n.mode, engine.ModePBFT, engine.ModeRaft)
}

func (n *Node) newHost() error {
	g := n.home.Genesis
	keys := g.ValidatorKeys()
	peers := make([]p2p.Peer, len(keys))
	for i, k := range keys {
		peers[i] = p2p.Peer{Index: i, PublicKey: k, Addr: g.Validators[i].P2PAddr}
	}
	h, err := p2p.New(p2p.Config{
		Index:      n.index,
		PrivateKey: n.home.Key.PrivateKey(),
		ListenAddr: n.cfg.P2P.ListenAddr,
		Peers:      peers,
		Logger:     n.baseLog.With("component", "p2p"),
		Registerer: n.reg,
	})
	if err != nil {
		return fmt.Errorf("node: p2p: %w", err)
	}
	n.host, n.out = h, h
	return nil
}

func (n *Node) newAPI() error {
	s, err := api.New(api.Config{
		ChainID:      n.chainID,
		Validator:    n.index,
		Signer:       n.home.Key,
		Backend:      backend{n},
		Gatherer:     n.reg,
		MaxBodyBytes: n.cfg.API.MaxBodyBytes,
		EnableAdmin:  n.cfg.Unsafe.EnableAdmin,
		EnablePprof:  n.cfg.Unsafe.EnablePprof,
		Validators:   len(n.home.Genesis.Validators),
		Logger:       n.log.With("component", "api"),
		CheckTxs:     n.checkTxs,
	})
	if err != nil {
		return fmt.Errorf("node: api: %w", err)
	}
	ln, err := net.Listen("tcp", n.cfg.API.ListenAddr)
	if err != nil {
		return fmt.Errorf("node: api listen %s: %w", n.cfg.API.ListenAddr, err)
	}
	n.api, n.apiLn = s, ln
	return nil
}

// Index returns this node's validator index.
func (n *Node) Index() int { return n.index }

// APIAddr returns the address the HTTP API listens on.
func (n *Node) APIAddr() string { return n.apiLn.Addr().String() }

// P2PAddrs returns the multiaddrs the p2p host listens on, each ending in
// /p2p/<peer id>.
func (n *Node) P2PAddrs() []string { return n.host.Addrs() }

// SetPeerAddr replaces the dial address of validator index (a TCP
// multiaddr), for launchers and tests that learn ports after start.
func (n *Node) SetPeerAddr(index int, addr string) error { return n.host.SetPeerAddr(index, addr) }

// Height returns the ledger height.
func (n *Node) Height() uint64 { return n.store.Height() }

// Run drives the node until ctx is cancelled or a component fails: the p2p
// host, the API server, the verify pool and the consensus loop, under one
// errgroup. On return everything is stopped and the stores are closed. A
// storage failure is returned wrapping ErrStorage. Run may be called once.
func (n *Node) Run(ctx context.Context) error {
	defer n.Close()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return n.host.Run(gctx) })
	g.Go(func() error { return n.api.Serve(gctx, n.apiLn) })
	n.startVerify(g, gctx)
	g.Go(func() error {
		defer close(n.done)
		return n.runLoop(gctx)
	})
	if n.execQ != nil {
		g.Go(func() error { return n.runExecutor(gctx) })
	}
	if n.cfg.Unsafe.Byzantine != "" {
		g.Go(func() error { return n.warnByzantine(gctx) })
	}
	err := g.Wait()
	if err != nil {
		n.log.Error("node stopped", "err", err)
	} else {
		n.log.Info("node stopped", "height", n.store.Height())
	}
	return err
}

// Close releases the node's stores and listeners. Run calls it on return;
// call it only for a node that is never run. It is idempotent.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		var errs []error
		if n.apiLn != nil {
			n.apiLn.Close() // already closed after Serve; the error is expected
		}
		if n.host != nil {
			errs = append(errs, n.host.Close())
		}
		if n.consDB != nil {
			errs = append(errs, n.consDB.Close())
		}
		if n.store != nil {
			errs = append(errs, n.store.Close())
		}
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}
