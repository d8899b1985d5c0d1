// Package p2p is the validator network: a go-libp2p host that carries
// consensus frames between the members of a fixed, known validator set.
//
// # Who may connect
//
// Each validator's libp2p identity is its genesis Ed25519 key, so its peer id
// (PeerIDFromPublicKey) is known to everyone from genesis alone. A connection
// gater admits, in both directions, only peers whose id is in the set; the
// check runs right after the noise handshake has proven the remote's key.
// Anyone else is refused, counted (bftledger_p2p_connections_refused_total)
// and logged at debug.
//
// The host speaks TCP only, secured with noise and multiplexed with yamux.
// Relay, NAT port mapping, mDNS, ping and libp2p's own metrics are off; the
// libp2p resource manager runs with its default limits scaled to a fixed
// budget (limits.go).
//
// # Streams and frames
//
// Validators speak one protocol, ProtocolID (/bftledger/consensus/1.0.0).
// Every node keeps one long-lived outbound stream to each other validator and
// only ever writes to it; it reads what a peer sends from the stream that
// peer opened. Both sides dial each other, and that is fine: each writes on
// its own stream. A frame is a 4-byte big-endian length followed by that many
// bytes, 1 ≤ length ≤ Config.MaxFrameBytes. The length is checked before
// anything is allocated; a bad one closes the stream, counts it as malformed
// and never panics. The peer reconnects and carries on.
//
// # Sending and receiving
//
// Send never blocks: it puts a frame on the peer's bounded queue, or drops and
// counts it when the queue is full. The consensus protocol retransmits, so a
// drop costs latency, not safety. One writer per peer batches queued frames
// through a bufio.Writer and flushes whenever the queue is momentarily empty.
// Received frames arrive on Inbound, a bounded channel; when the consumer
// falls behind, readers stop reading and TCP pushes back on the senders.
//
// A peer that is down is redialled with exponential backoff, 50ms doubling to
// 2s, for as long as Run runs; a connection it makes to us cuts the wait.
//
// # Goroutines
//
// New creates and binds the host but starts none of our goroutines. Run starts
// them all (a dialer and writer per peer, a reader per inbound stream, an
// accept loop) under an errgroup, and returns once they have all exited after
// its context is cancelled; it closes the host on the way out. libp2p runs a
// few internal goroutines of its own between New and Close.
//
// # Running one node per machine
//
// Genesis lists every validator's index, public key and address, a TCP
// multiaddr such as /ip4/10.0.0.2/tcp/26656 or /dns4/val2.example/tcp/26656.
// Each node builds its Config from genesis plus its own key:
//
//	cfg := p2p.Config{
//		Index:      myIndex,
//		PrivateKey: myKey,                      // 64 bytes, seed||public
//		ListenAddr: "/ip4/0.0.0.0/tcp/26656",   // all interfaces, genesis port
//		Peers:      genesisPeers,               // all validators, us included
//		Logger:     logger,
//		Registerer: prometheus.DefaultRegisterer,
//	}
//	h, err := p2p.New(cfg)
//	if err != nil { ... }                       // errors.Is(err, p2p.ErrConfig)
//	go consume(h.Inbound())                     // ends when Run returns
//	err = h.Run(ctx)                            // until ctx is cancelled
//
// Without ListenAddr the node listens on 127.0.0.1 only, which suits a local
// testnet of several processes on one machine. The port in ListenAddr must be
// the one genesis advertises; Addrs reports what the host actually bound,
// including /p2p/<id>. The TCP port must be reachable from every other
// validator; nothing else needs to be.
//
// # Fault injection
//
// SetIsolated(true) makes a node drop all validator traffic both ways while
// keeping its connections, as if partitioned; SetIsolated(false) heals it.
// Testnets use it; production code must not.
package p2p
