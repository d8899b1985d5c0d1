package p2p

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	mafmt "github.com/multiformats/go-multiaddr-fmt"
	"github.com/prometheus/client_golang/prometheus"
)

// ErrConfig is wrapped by every error Config.Validate and New return for a
// bad configuration; test with errors.Is.
var ErrConfig = errors.New("p2p: invalid config")

// defaultListenAddr keeps a node off every interface but loopback unless its
// operator says otherwise.
const defaultListenAddr = "/ip4/127.0.0.1/tcp/0"

// Peer is one member of the validator set, as genesis lists it.
type Peer struct {
	// Index is the validator's position in the set, in [0, len(Peers)).
	Index int
	// PublicKey is the validator's 32-byte Ed25519 public key. Its libp2p
	// peer id (PeerIDFromPublicKey) is what the connection gater admits.
	PublicKey []byte
	// Addr is where the validator listens, a TCP multiaddr such as
	// /ip4/10.0.0.2/tcp/26656 or /dns4/val2.example/tcp/26656. A trailing
	// /p2p/<id> is allowed if it matches PublicKey.
	Addr string
}

// Config configures a Host. The zero value of each optional field selects the
// default documented on it.
type Config struct {
	// Index is our own validator index; Peers[Index] must carry our key.
	Index int
	// PrivateKey is our Ed25519 private key in crypto/ed25519 layout: 64
	// bytes, seed || public key. It is also our libp2p identity.
	PrivateKey []byte
	// ListenAddr is the TCP multiaddr to listen on. Default
	// /ip4/127.0.0.1/tcp/0 (loopback, any port); a node reachable from other
	// machines sets /ip4/0.0.0.0/tcp/PORT.
	ListenAddr string
	// Peers is the whole validator set, us included (our entry is not
	// dialled). Each Index appears exactly once.
	Peers []Peer
	// MaxFrameBytes bounds one frame's payload, sent or received, in bytes.
	// Default FrameBytesDefault; at most FrameBytesMax.
	MaxFrameBytes int
	// SendQueueLen is the per-peer send queue capacity in frames. Default
	// SendQueueLenDefault. A full queue drops.
	SendQueueLen int
	// SendQueueBytes bounds the payload bytes waiting in one peer's send
	// queue. Default SendQueueBytesDefault; at least MaxFrameBytes.
	SendQueueBytes int
	// Logger receives the host's logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the host's metrics (bftledger_p2p_*); nil
	// registers none. The host unregisters them when it closes.
	Registerer prometheus.Registerer
}

// withDefaults returns a copy of c with every zero optional field set.
func (c Config) withDefaults() Config {
	if c.ListenAddr == "" {
		c.ListenAddr = defaultListenAddr
	}
	if c.MaxFrameBytes == 0 {
		c.MaxFrameBytes = FrameBytesDefault
	}
	if c.SendQueueLen == 0 {
		c.SendQueueLen = SendQueueLenDefault
	}
	if c.SendQueueBytes == 0 {
		c.SendQueueBytes = max(SendQueueBytesDefault, c.MaxFrameBytes)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports the first problem with c, as an error wrapping ErrConfig,
// or nil. Zero optional fields are valid: they select defaults.
func (c Config) Validate() error {
	_, err := c.withDefaults().parse()
	return err
}

// parsedConfig is a validated Config with its strings and keys decoded.
type parsedConfig struct {
	Config
	privKey crypto.PrivKey
	listen  ma.Multiaddr
	ids     []peer.ID      // by validator index
	addrs   []ma.Multiaddr // by validator index, without /p2p
}

// parse validates c, which already has its defaults applied.
func (c Config) parse() (*parsedConfig, error) {
	if err := c.validateLimits(); err != nil {
		return nil, err
	}
	n := len(c.Peers)
	if n == 0 || n > PeersMax {
		return nil, fmt.Errorf("%w: %d peers, want 1..%d", ErrConfig, n, PeersMax)
	}
	if c.Index < 0 || c.Index >= n {
		return nil, fmt.Errorf("%w: index %d outside the %d validators", ErrConfig, c.Index, n)
	}
	p := &parsedConfig{Config: c, ids: make([]peer.ID, n), addrs: make([]ma.Multiaddr, n)}
	if err := p.parsePeers(); err != nil {
		return nil, err
	}
	if err := p.parseIdentity(); err != nil {
		return nil, err
	}
	listen, err := ma.NewMultiaddr(c.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("%w: listen addr %q: %w", ErrConfig, c.ListenAddr, err)
	}
	if !mafmt.TCP.Matches(listen) {
		return nil, fmt.Errorf("%w: listen addr %q is not a TCP address", ErrConfig, c.ListenAddr)
	}
	p.listen = listen
	return p, nil
}

func (c Config) validateLimits() error {
	if c.MaxFrameBytes < frameBytesMin || c.MaxFrameBytes > FrameBytesMax {
		return fmt.Errorf("%w: max frame bytes %d outside [%d, %d]",
			ErrConfig, c.MaxFrameBytes, frameBytesMin, FrameBytesMax)
	}
	if c.SendQueueLen < 1 || c.SendQueueLen > sendQueueLenMax {
		return fmt.Errorf("%w: send queue length %d outside [1, %d]",
			ErrConfig, c.SendQueueLen, sendQueueLenMax)
	}
	if c.SendQueueBytes < c.MaxFrameBytes || c.SendQueueBytes > sendQueueBytesMax {
		return fmt.Errorf("%w: send queue bytes %d outside [max frame bytes %d, %d]",
			ErrConfig, c.SendQueueBytes, c.MaxFrameBytes, sendQueueBytesMax)
	}
	return nil
}

// parsePeers checks indices, keys and addresses, and fills p.ids and p.addrs.
func (p *parsedConfig) parsePeers() error {
	n := len(p.Peers)
	seenKey := make(map[string]int, n)
	for i, v := range p.Peers {
		if v.Index < 0 || v.Index >= n {
			return fmt.Errorf("%w: peers[%d]: index %d outside [0, %d)", ErrConfig, i, v.Index, n)
		}
		if p.ids[v.Index] != "" {
			return fmt.Errorf("%w: peers[%d]: duplicate index %d", ErrConfig, i, v.Index)
		}
		id, err := PeerIDFromPublicKey(v.PublicKey)
		if err != nil {
			return fmt.Errorf("%w: peers[%d] (validator %d): %w", ErrConfig, i, v.Index, err)
		}
		if j, dup := seenKey[string(v.PublicKey)]; dup {
			return fmt.Errorf("%w: validators %d and %d share a public key", ErrConfig, j, v.Index)
		}
		seenKey[string(v.PublicKey)] = v.Index
		addr, err := parsePeerAddr(v.Addr, id)
		if err != nil {
			return fmt.Errorf("%w: validator %d: %w", ErrConfig, v.Index, err)
		}
		p.ids[v.Index] = id
		p.addrs[v.Index] = addr
	}
	return nil
}

// parseIdentity checks our private key against our entry in Peers.
func (p *parsedConfig) parseIdentity() error {
	if len(p.PrivateKey) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: private key is %d bytes, want %d",
			ErrConfig, len(p.PrivateKey), ed25519.PrivateKeySize)
	}
	derived := ed25519.NewKeyFromSeed(p.PrivateKey[:ed25519.SeedSize])
	if !bytes.Equal(derived, p.PrivateKey) {
		return fmt.Errorf("%w: private key's public half does not match its seed", ErrConfig)
	}
	for _, v := range p.Peers {
		if v.Index == p.Index && !bytes.Equal(v.PublicKey, p.PrivateKey[ed25519.SeedSize:]) {
			return fmt.Errorf("%w: private key does not belong to validator %d", ErrConfig, p.Index)
		}
	}
	sk, err := crypto.UnmarshalEd25519PrivateKey(p.PrivateKey)
	if err != nil {
		return fmt.Errorf("%w: private key: %w", ErrConfig, err)
	}
	p.privKey = sk
	return nil
}

// parsePeerAddr parses a validator's dial address. A /p2p/<id> suffix must
// name id; it is stripped, since the peerstore keys addresses by id.
func parsePeerAddr(s string, id peer.ID) (ma.Multiaddr, error) {
	addr, err := ma.NewMultiaddr(s)
	if err != nil {
		return nil, fmt.Errorf("addr %q: %w", s, err)
	}
	tpt, suffix := peer.SplitAddr(addr)
	if suffix != "" && suffix != id {
		return nil, fmt.Errorf("addr %q names peer %s, but the key gives %s", s, suffix, id)
	}
	if tpt == nil || !mafmt.TCP.Matches(tpt) {
		return nil, fmt.Errorf("addr %q is not a TCP address", s)
	}
	return tpt, nil
}

// PeerIDFromPublicKey returns the libp2p peer id of a 32-byte Ed25519 public
// key: the id a validator with that genesis key has on the network.
func PeerIDFromPublicKey(pub []byte) (peer.ID, error) {
	if len(pub) != ed25519.PublicKeySize {
		return "", fmt.Errorf("p2p: public key is %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	pk, err := crypto.UnmarshalEd25519PublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("p2p: public key: %w", err)
	}
	id, err := peer.IDFromPublicKey(pk)
	if err != nil {
		return "", fmt.Errorf("p2p: peer id: %w", err)
	}
	return id, nil
}
