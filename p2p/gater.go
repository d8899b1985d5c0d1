package p2p

import (
	"context"
	"log/slog"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// gater admits connections only with members of the validator set. The
// remote's identity is known, and proven by the security handshake, at
// InterceptSecured: that is where inbound strangers are turned away. Outbound
// dials are checked before they start.
type gater struct {
	self    peer.ID
	members map[peer.ID]int // validator index by id; read-only after New
	log     *slog.Logger
	refused atomic.Uint64 // connections and dials refused
}

var _ connmgr.ConnectionGater = (*gater)(nil)

func newGater(self peer.ID, ids []peer.ID, log *slog.Logger) *gater {
	g := &gater{self: self, members: make(map[peer.ID]int, len(ids)), log: log}
	for i, id := range ids {
		if id != self {
			g.members[id] = i
		}
	}
	return g
}

func (g *gater) admit(id peer.ID, dir network.Direction, addr ma.Multiaddr) bool {
	if _, ok := g.members[id]; ok {
		return true
	}
	g.refused.Add(1)
	// Strangers can make this happen at will: keep it at debug.
	if g.log.Enabled(context.Background(), slog.LevelDebug) {
		g.log.Debug("refused connection", "peer", id.String(), "dir", dir.String(), "addr", addrString(addr))
	}
	return false
}

func addrString(a ma.Multiaddr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// InterceptPeerDial refuses to dial anyone outside the set.
func (g *gater) InterceptPeerDial(id peer.ID) bool {
	return g.admit(id, network.DirOutbound, nil)
}

// InterceptAddrDial allows every address of an admitted peer.
func (g *gater) InterceptAddrDial(peer.ID, ma.Multiaddr) bool { return true }

// InterceptAccept allows the handshake: the remote's id is not known yet.
func (g *gater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

// InterceptSecured admits authenticated members of the set, either direction.
func (g *gater) InterceptSecured(dir network.Direction, id peer.ID, addrs network.ConnMultiaddrs) bool {
	return g.admit(id, dir, addrs.RemoteMultiaddr())
}

// InterceptUpgraded allows every connection that got this far.
func (g *gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) {
	return true, 0
}
