package p2p

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/libp2p/go-libp2p/x/rate"
	"golang.org/x/sync/errgroup"
)

// ProtocolID names the one stream protocol validators speak.
const ProtocolID protocol.ID = "/bftledger/consensus/1.0.0"

// ErrClosed is returned by Run on a host that already ran or was closed.
var ErrClosed = errors.New("p2p: host closed")

// Frame is one message received from a validator.
type Frame struct {
	// From is the sender's validator index, authenticated by the
	// connection's security handshake.
	From int
	// Data is the payload; the receiver owns it.
	Data []byte
}

// PeerStatus is a snapshot of one link's state and counters. Counters are
// cumulative since New.
type PeerStatus struct {
	// Index is the peer's validator index.
	Index int
	// ID is the peer's libp2p id, derived from its genesis key.
	ID peer.ID
	// Connected: at least one libp2p connection to the peer is open.
	Connected bool
	// Streaming: our outbound stream to the peer is open, so Send reaches it.
	Streaming bool
	// Sent and SentBytes count frames flushed to our outbound stream.
	Sent, SentBytes uint64
	// Received and ReceivedBytes count frames read from the peer's stream,
	// including those dropped because we were isolated.
	Received, ReceivedBytes uint64
	// Dropped counts outbound frames refused by Send (full queue, too large,
	// isolated) or lost with a failed stream.
	Dropped uint64
	// DroppedInbound counts received frames discarded while isolated.
	DroppedInbound uint64
	// Malformed counts peer streams closed for a bad frame.
	Malformed uint64
	// Queued is the number of frames waiting in the send queue.
	Queued int
}

// Host is this validator's endpoint on the validator network. New creates it;
// Run drives it. Send, Broadcast, SetIsolated, Isolated, Peers and Addrs are
// safe for concurrent use at any time, also before Run and after it returns.
type Host struct {
	cfg        *parsedConfig
	log        *slog.Logger
	host       host.Host
	gater      *gater
	remotes    []*remote           // by validator index; nil at our own index
	byID       map[peer.ID]*remote // read-only after New
	inbound    chan Frame          // closed when Run returns
	accepted   chan acceptedStream // stream handler → accept loop
	isolated   atomic.Bool
	unroutable atomic.Uint64 // Sends to an index that is not a peer

	collector *collector // nil without a Registerer

	mu        sync.Mutex
	ran       bool               // Run was called
	cancelRun context.CancelFunc // cancels a running Run; nil otherwise
	closing   chan struct{}      // closed, under mu, when the host closes
	closeOnce sync.Once
	closeErr  error
}

type acceptedStream struct {
	r *remote
	s network.Stream
}

// New validates cfg and creates the libp2p host, listening on cfg.ListenAddr.
// It starts none of our goroutines (libp2p runs a few of its own until the
// host closes). The errors it returns wrap ErrConfig for a bad config.
func New(cfg Config) (*Host, error) {
	pc, err := cfg.withDefaults().parse()
	if err != nil {
		return nil, err
	}
	self := pc.ids[pc.Index]
	log := pc.Logger.With("node", pc.Index)
	h := &Host{
		cfg:      pc,
		log:      log,
		gater:    newGater(self, pc.ids, log),
		remotes:  make([]*remote, len(pc.ids)),
		byID:     make(map[peer.ID]*remote, len(pc.ids)),
		inbound:  make(chan Frame, InboundQueueLen),
		accepted: make(chan acceptedStream),
		closing:  make(chan struct{}),
	}
	for i, id := range pc.ids {
		if i != pc.Index {
			r := newRemote(i, id, pc.SendQueueLen)
			h.remotes[i] = r
			h.byID[id] = r
		}
	}
	if err := h.newLibp2p(); err != nil {
		return nil, err
	}
	if pc.Registerer != nil {
		h.collector = newCollector(h)
		if err := pc.Registerer.Register(h.collector); err != nil {
			h.host.Close()
			return nil, fmt.Errorf("p2p: register metrics: %w", err)
		}
	}
	return h, nil
}

// newLibp2p creates the libp2p host: TCP only, noise, yamux, our gater, no
// relay, NAT mapping, ping or libp2p metrics, and a fixed resource budget.
func (h *Host) newLibp2p() error {
	rm, err := newResourceManager()
	if err != nil {
		return fmt.Errorf("p2p: resource manager: %w", err)
	}
	lh, err := libp2p.New(
		libp2p.Identity(h.cfg.privKey),
		libp2p.ListenAddrs(h.cfg.listen),
		libp2p.NoTransports,
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ConnectionGater(h.gater),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(connmgr.NullConnMgr{}),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.DisableIdentifyAddressDiscovery(),
		libp2p.Ping(false),
		libp2p.WithDialTimeout(dialTimeout),
	)
	if err != nil {
		rm.Close()
		return fmt.Errorf("p2p: listen on %s: %w", h.cfg.ListenAddr, err)
	}
	h.host = lh
	ps := lh.Peerstore()
	for i, r := range h.remotes {
		if r != nil {
			ps.AddAddr(r.id, h.cfg.addrs[i], peerstore.PermanentAddrTTL)
		}
	}
	lh.SetStreamHandler(ProtocolID, h.handleStream)
	lh.Network().Notify(&network.NotifyBundle{
		ConnectedF:    h.notifyConn,
		DisconnectedF: h.notifyConn,
	})
	return nil
}

// newResourceManager returns libp2p's resource manager with its default
// limits scaled to a fixed budget, and a connection rate limit per source IP
// generous enough for a validator that reconnects with our backoff.
func newResourceManager() (network.ResourceManager, error) {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	rateLimit := &rate.Limiter{
		NetworkPrefixLimits: []rate.PrefixLimit{
			{Prefix: netip.MustParsePrefix("127.0.0.0/8")},
			{Prefix: netip.MustParsePrefix("::1/128")},
		},
		SubnetRateLimiter: rate.SubnetLimiter{
			IPv4SubnetLimits: []rate.SubnetLimit{{PrefixLength: 32, Limit: rate.Limit{RPS: 2, Burst: 32}}},
			IPv6SubnetLimits: []rate.SubnetLimit{{PrefixLength: 56, Limit: rate.Limit{RPS: 2, Burst: 32}}},
			GracePeriod:      time.Minute,
		},
	}
	return rcmgr.NewResourceManager(
		rcmgr.NewFixedLimiter(limits.Scale(resourceMemoryBytes, resourceFDs)),
		rcmgr.WithConnRateLimiters(rateLimit),
	)
}

// Run dials every peer, writes their send queues and reads their streams
// until ctx is cancelled or Close is called. It then closes the host, waits
// for all its goroutines to exit, closes the Inbound channel and returns nil
// (or the error closing libp2p gave). Run may be called once; later calls
// return ErrClosed.
func (h *Host) Run(ctx context.Context) error {
	h.mu.Lock()
	if h.ran || isClosed(h.closing) {
		h.mu.Unlock()
		return ErrClosed
	}
	h.ran = true
	ctx, cancel := context.WithCancel(ctx)
	h.cancelRun = cancel
	h.mu.Unlock()
	defer cancel()

	h.log.Info("p2p running", "addrs", h.Addrs(), "peers", len(h.byID))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		<-gctx.Done()
		return h.Close() // unblocks every stream read and write
	})
	g.Go(func() error { return h.acceptStreams(gctx, g) })
	for _, r := range h.remotes {
		if r != nil {
			g.Go(func() error { return h.runOutbound(gctx, r) })
		}
	}
	err := g.Wait()
	close(h.inbound)
	h.log.Info("p2p stopped")
	return err
}

// Close stops a running Run (which still must be waited for), closes the
// libp2p host and unregisters the metrics. It is idempotent; a host that
// never runs must be closed to release its listener.
func (h *Host) Close() error {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		close(h.closing)
		if h.cancelRun != nil {
			h.cancelRun()
		}
		h.mu.Unlock()
		h.closeErr = h.host.Close()
		if h.collector != nil {
			h.cfg.Registerer.Unregister(h.collector)
		}
	})
	return h.closeErr
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Inbound returns the channel of frames received from peers. It holds
// InboundQueueLen frames; while it is full, peers' streams are not read. It
// is closed when Run returns.
func (h *Host) Inbound() <-chan Frame { return h.inbound }

// SetIsolated turns fault injection on or off: while on, Send refuses every
// frame, queued frames are discarded instead of written, and frames read from
// peers are discarded instead of delivered. Connections stay up, so traffic
// resumes as soon as it is turned off. For testnets only.
func (h *Host) SetIsolated(on bool) {
	if h.isolated.Swap(on) != on {
		h.log.Info("isolation changed", "isolated", on)
	}
}

// Isolated reports whether SetIsolated(true) is in force.
func (h *Host) Isolated() bool { return h.isolated.Load() }

// ID returns our libp2p peer id.
func (h *Host) ID() peer.ID { return h.host.ID() }

// Addrs returns the multiaddrs we listen on, each ending in /p2p/<our id>.
func (h *Host) Addrs() []string {
	info := peer.AddrInfo{ID: h.host.ID(), Addrs: h.host.Addrs()}
	addrs, err := peer.AddrInfoToP2pAddrs(&info)
	if err != nil {
		return nil // only for an empty id, which a running host never has
	}
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}

// SetPeerAddr replaces the dial address of validator index, a TCP multiaddr as
// in Peer.Addr. It takes effect at the next dial. Launchers that learn a
// peer's port only after it started use it; so do the tests.
func (h *Host) SetPeerAddr(index int, addr string) error {
	r := h.remote(index)
	if r == nil {
		return fmt.Errorf("%w: validator %d is not a peer", ErrConfig, index)
	}
	a, err := parsePeerAddr(addr, r.id)
	if err != nil {
		return fmt.Errorf("%w: validator %d: %w", ErrConfig, index, err)
	}
	ps := h.host.Peerstore()
	ps.ClearAddrs(r.id)
	ps.AddAddr(r.id, a, peerstore.PermanentAddrTTL)
	r.signal()
	return nil
}

// Peers returns the status of every other validator, by index.
func (h *Host) Peers() []PeerStatus {
	out := make([]PeerStatus, 0, len(h.byID))
	for _, r := range h.remotes {
		if r == nil {
			continue
		}
		out = append(out, PeerStatus{
			Index:          r.index,
			ID:             r.id,
			Connected:      h.host.Network().Connectedness(r.id) == network.Connected,
			Streaming:      r.streaming.Load(),
			Sent:           r.sent.Load(),
			SentBytes:      r.sentBytes.Load(),
			Received:       r.received.Load(),
			ReceivedBytes:  r.receivedBytes.Load(),
			Dropped:        r.dropped.Load(),
			DroppedInbound: r.droppedInbound.Load(),
			Malformed:      r.malformed.Load(),
			Queued:         len(r.queue),
		})
	}
	return out
}

// Refused returns how many connections the gater turned away.
func (h *Host) Refused() uint64 { return h.gater.refused.Load() }

// remote returns the peer at index, or nil if index is us or out of range.
func (h *Host) remote(index int) *remote {
	if index < 0 || index >= len(h.remotes) {
		return nil
	}
	return h.remotes[index]
}

// notifyConn wakes the peer's dialer and writer when a connection to it opens
// or closes: a dialer in backoff retries at once, a writer checks its stream.
func (h *Host) notifyConn(_ network.Network, c network.Conn) {
	if r := h.byID[c.RemotePeer()]; r != nil {
		r.signal()
	}
}
