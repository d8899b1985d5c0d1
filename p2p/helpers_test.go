package p2p

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// waitTimeout bounds every wait in these tests. Waits end as soon as what
// they wait for happens; the bound only turns a hang into a failure.
const waitTimeout = 10 * time.Second

// testKey returns validator i's key, derived from a fixed seed.
func testKey(i int) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	seed[0] = 0xbf
	seed[1] = byte(i)
	seed[2] = byte(i >> 8)
	return ed25519.NewKeyFromSeed(seed)
}

// unusedAddr stands in for a peer address until the peer has bound a port.
const unusedAddr = "/ip4/127.0.0.1/tcp/1"

func testPeers(n int) []Peer {
	peers := make([]Peer, n)
	for i := range peers {
		peers[i] = Peer{Index: i, PublicKey: testKey(i).Public().(ed25519.PublicKey), Addr: unusedAddr}
	}
	return peers
}

func testConfig(i, n int) Config {
	return Config{Index: i, PrivateKey: testKey(i), Peers: testPeers(n)}
}

// logSink is a slog.Handler that forwards every record, as "msg k=v ...", to
// a channel, so tests can wait for the host to report an event.
type logSink struct {
	ch    chan string
	attrs []slog.Attr
}

func newLogSink() *logSink { return &logSink{ch: make(chan string, 4096)} }

func (s *logSink) Enabled(context.Context, slog.Level) bool { return true }

func (s *logSink) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Message)
	for _, a := range s.attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	rec.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	select {
	case s.ch <- b.String():
	default: // a test that floods the sink does not wait on it
	}
	return nil
}

func (s *logSink) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logSink{ch: s.ch, attrs: append(append([]slog.Attr(nil), s.attrs...), attrs...)}
}

func (s *logSink) WithGroup(string) slog.Handler { return s }

// waitLog waits for a record whose text starts with prefix and contains all
// of parts.
func (s *logSink) waitLog(t testing.TB, prefix string, parts ...string) string {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case line := <-s.ch:
			if strings.HasPrefix(line, prefix) && containsAll(line, parts) {
				return line
			}
		case <-deadline:
			t.Fatalf("no log %q %q within %v", prefix, parts, waitTimeout)
			return ""
		}
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// testNode is one running Host.
type testNode struct {
	h      *Host
	logs   *logSink
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// newNodes creates n validator hosts on 127.0.0.1, tells each the others'
// ports, and runs them until the test ends. mod may adjust each config.
func newNodes(t testing.TB, n int, mod func(c *Config)) []*testNode {
	t.Helper()
	return newPartialSet(t, n, n, mod)
}

// newPartialSet is newNodes for the first running validators of a set of n;
// the others are left for the test to play.
func newPartialSet(t testing.TB, n, running int, mod func(c *Config)) []*testNode {
	t.Helper()
	nodes := make([]*testNode, running)
	for i := range nodes {
		cfg := testConfig(i, n)
		sink := newLogSink()
		cfg.Logger = slog.New(sink)
		if mod != nil {
			mod(&cfg)
		}
		h, err := New(cfg)
		if err != nil {
			t.Fatalf("New(%d): %v", i, err)
		}
		nodes[i] = &testNode{h: h, logs: sink}
	}
	for i, a := range nodes {
		for j, b := range nodes {
			if i != j {
				mustSetPeerAddr(t, a.h, j, b.h)
			}
		}
	}
	for _, nd := range nodes {
		nd.start(t)
	}
	return nodes
}

func mustSetPeerAddr(t testing.TB, h *Host, index int, peerHost *Host) {
	t.Helper()
	if err := h.SetPeerAddr(index, peerHost.Addrs()[0]); err != nil {
		t.Fatalf("SetPeerAddr(%d): %v", index, err)
	}
}

// start runs nd's host until stop or the end of the test.
func (nd *testNode) start(t testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	nd.cancel = cancel
	nd.done = make(chan error, 1)
	go func() { nd.done <- nd.h.Run(ctx) }()
	t.Cleanup(func() { nd.stop(t) })
}

// stop cancels Run and waits for it to return.
func (nd *testNode) stop(t testing.TB) {
	nd.once.Do(func() {
		nd.cancel()
		select {
		case err := <-nd.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("Run did not return within %v of cancel", waitTimeout)
		}
	})
}

// recv waits for the next frame on h.
func recv(t testing.TB, h *Host) Frame {
	t.Helper()
	select {
	case f, ok := <-h.Inbound():
		if !ok {
			t.Fatal("inbound closed")
		}
		return f
	case <-time.After(waitTimeout):
		t.Fatalf("no frame within %v", waitTimeout)
		return Frame{}
	}
}

// newRawHost returns a bare libp2p host with key, TCP/noise/yamux like ours,
// but without our gater or protocol: a stranger or a Byzantine validator.
func newRawHost(t testing.TB, key ed25519.PrivateKey) host.Host {
	t.Helper()
	sk, err := crypto.UnmarshalEd25519PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(
		libp2p.Identity(sk),
		libp2p.NoListenAddrs,
		libp2p.NoTransports,
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.Ping(false),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// addrInfo returns how to reach h.
func addrInfo(t testing.TB, h *Host) peer.AddrInfo {
	t.Helper()
	a, err := ma.NewMultiaddr(h.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	info, err := peer.AddrInfoFromP2pAddr(a)
	if err != nil {
		t.Fatal(err)
	}
	return *info
}

func peerStatus(t testing.TB, h *Host, index int) PeerStatus {
	t.Helper()
	for _, p := range h.Peers() {
		if p.Index == index {
			return p
		}
	}
	t.Fatalf("no peer %d", index)
	return PeerStatus{}
}
