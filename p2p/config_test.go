package p2p

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	peerID := func(i int) string {
		id, err := PeerIDFromPublicKey(testPeers(4)[i].PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		return id.String()
	}
	tests := []struct {
		name string
		mod  func(c *Config)
		want string // substring of the error; "" means valid
	}{
		{"defaults", func(c *Config) {}, ""},
		{"explicit limits", func(c *Config) {
			c.MaxFrameBytes, c.SendQueueLen, c.SendQueueBytes = FrameBytesMax, sendQueueLenMax, sendQueueBytesMax
		}, ""},
		{"all interfaces", func(c *Config) { c.ListenAddr = "/ip4/0.0.0.0/tcp/26656" }, ""},
		{"dns peer", func(c *Config) { c.Peers[1].Addr = "/dns4/val1.example/tcp/26656" }, ""},
		{"peer addr with matching id", func(c *Config) {
			c.Peers[2].Addr = "/ip4/10.0.0.3/tcp/26656/p2p/" + peerID(2)
		}, ""},
		{"peers in any order", func(c *Config) { slices.Reverse(c.Peers) }, ""},

		{"no peers", func(c *Config) { c.Peers = nil }, "0 peers"},
		{"too many peers", func(c *Config) { c.Peers = testPeers(PeersMax + 1) }, "peers, want"},
		{"index negative", func(c *Config) { c.Index = -1 }, "index -1 outside"},
		{"index too big", func(c *Config) { c.Index = 4 }, "index 4 outside"},
		{"peer index out of range", func(c *Config) { c.Peers[3].Index = 7 }, "index 7 outside"},
		{"duplicate index", func(c *Config) { c.Peers[3].Index = 1 }, "duplicate index 1"},
		{"duplicate key", func(c *Config) { c.Peers[3].PublicKey = c.Peers[1].PublicKey }, "share a public key"},
		{"short public key", func(c *Config) { c.Peers[2].PublicKey = c.Peers[2].PublicKey[:31] }, "public key is 31 bytes"},
		{"short private key", func(c *Config) { c.PrivateKey = c.PrivateKey[:32] }, "private key is 32 bytes"},
		{"someone else's key", func(c *Config) { c.PrivateKey = testKey(1) }, "does not belong to validator 0"},
		{"inconsistent private key", func(c *Config) {
			k := slices.Clone(c.PrivateKey)
			k[0] ^= 1
			c.PrivateKey = k
		}, "does not match its seed"},
		{"garbled peer addr", func(c *Config) { c.Peers[1].Addr = "ip4/1.2.3.4" }, "validator 1: addr"},
		{"empty peer addr", func(c *Config) { c.Peers[1].Addr = "" }, "validator 1: addr"},
		{"udp peer addr", func(c *Config) { c.Peers[1].Addr = "/ip4/1.2.3.4/udp/9/quic-v1" }, "not a TCP address"},
		{"peer addr naming another id", func(c *Config) {
			c.Peers[2].Addr = "/ip4/10.0.0.3/tcp/26656/p2p/" + peerID(3)
		}, "names peer"},
		{"garbled listen addr", func(c *Config) { c.ListenAddr = "127.0.0.1:26656" }, "listen addr"},
		{"udp listen addr", func(c *Config) { c.ListenAddr = "/ip4/127.0.0.1/udp/0" }, "not a TCP address"},
		{"frame too small", func(c *Config) { c.MaxFrameBytes = frameBytesMin - 1 }, "max frame bytes"},
		{"frame too big", func(c *Config) { c.MaxFrameBytes = FrameBytesMax + 1 }, "max frame bytes"},
		{"queue negative", func(c *Config) { c.SendQueueLen = -1 }, "send queue length"},
		{"queue too long", func(c *Config) { c.SendQueueLen = sendQueueLenMax + 1 }, "send queue length"},
		{"queue bytes below a frame", func(c *Config) {
			c.MaxFrameBytes, c.SendQueueBytes = 2*frameBytesMin, frameBytesMin
		}, "send queue bytes"},
		{"queue bytes too big", func(c *Config) { c.SendQueueBytes = sendQueueBytesMax + 1 }, "send queue bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig(0, 4)
			tt.mod(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate: %v, want error containing %q", err, tt.want)
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("Validate: %v does not wrap ErrConfig", err)
			}
		})
	}
}

// A large MaxFrameBytes raises the default byte bound of the send queue, so
// the largest frame always fits.
func TestConfigDefaultQueueBytesFollowsFrameSize(t *testing.T) {
	c := testConfig(0, 2)
	c.MaxFrameBytes = FrameBytesMax
	if got := c.withDefaults().SendQueueBytes; got < FrameBytesMax {
		t.Fatalf("default SendQueueBytes %d < MaxFrameBytes %d", got, FrameBytesMax)
	}
}

func TestPeerIDFromPublicKey(t *testing.T) {
	a, err := PeerIDFromPublicKey(testPeers(2)[0].PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	b, err := PeerIDFromPublicKey(testPeers(2)[1].PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if a == b || a.Validate() != nil {
		t.Fatalf("ids %s and %s", a, b)
	}
	if _, err := PeerIDFromPublicKey(make([]byte, 33)); err == nil {
		t.Fatal("33-byte key accepted")
	}
}

// The host's libp2p identity is the validator key: its id is the one the
// other validators derive from genesis.
func TestHostIdentityIsValidatorKey(t *testing.T) {
	h, err := New(testConfig(1, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	want, err := PeerIDFromPublicKey(testPeers(3)[1].PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if h.ID() != want {
		t.Fatalf("host id %s, want %s", h.ID(), want)
	}
	addrs := h.Addrs()
	if len(addrs) == 0 || !strings.HasPrefix(addrs[0], "/ip4/127.0.0.1/tcp/") || !strings.HasSuffix(addrs[0], "/p2p/"+want.String()) {
		t.Fatalf("Addrs() = %v", addrs)
	}
}
