package p2p

import (
	"context"
	"errors"
	"io"

	"github.com/libp2p/go-libp2p/core/network"
	"golang.org/x/sync/errgroup"
)

// handleStream is libp2p's handler for ProtocolID, called on libp2p's
// goroutine. It hands the stream to Run's accept loop, so that the reader
// runs under Run's errgroup, and waits while Run has not started yet.
func (h *Host) handleStream(s network.Stream) {
	r := h.byID[s.Conn().RemotePeer()]
	if r == nil { // the gater admits only validators; be safe anyway
		s.Reset()
		return
	}
	select {
	case h.accepted <- acceptedStream{r: r, s: s}:
	case <-h.closing:
		s.Reset()
	}
}

// acceptStreams starts a reader in g for each stream peers open to us.
func (h *Host) acceptStreams(ctx context.Context, g *errgroup.Group) error {
	for {
		select {
		case a := <-h.accepted:
			g.Go(func() error {
				h.readStream(ctx, a.r, a.s)
				return nil
			})
		case <-ctx.Done():
			return nil
		}
	}
}

// setInbound makes s the peer's current inbound stream and resets the one it
// replaces: a peer writes on one stream at a time, so an older one is stale
// (from before a reconnect) or abuse, and either way its reader should end.
func (r *remote) setInbound(s network.Stream) {
	r.mu.Lock()
	old := r.inbound
	r.inbound = s
	r.mu.Unlock()
	if old != nil {
		old.Reset()
	}
}

func (r *remote) clearInbound(s network.Stream) {
	r.mu.Lock()
	if r.inbound == s {
		r.inbound = nil
	}
	r.mu.Unlock()
}

// readStream delivers frames from the peer's stream s to Inbound until the
// stream ends, a frame is malformed, or ctx ends. While Inbound is full it
// blocks, which stops reading and lets TCP push back on the peer.
func (h *Host) readStream(ctx context.Context, r *remote, s network.Stream) {
	r.setInbound(s)
	defer r.clearInbound(s)
	defer s.Reset()
	h.log.Debug("peer stream accepted", "peer", r.index)
	fr := newFrameReader(s, h.cfg.MaxFrameBytes)
	for {
		data, err := fr.next()
		if err != nil {
			h.endRead(ctx, r, err)
			return
		}
		r.received.Add(1)
		r.receivedBytes.Add(uint64(len(data)))
		if h.isolated.Load() {
			r.droppedInbound.Add(1)
			h.log.Debug("dropped inbound frame", "peer", r.index, "reason", "isolated")
			continue
		}
		select {
		case h.inbound <- Frame{From: r.index, Data: data}:
		case <-ctx.Done():
			return
		}
	}
}

// endRead counts and logs why a peer's stream stopped being read.
func (h *Host) endRead(ctx context.Context, r *remote, err error) {
	switch {
	case errors.Is(err, ErrFrameTooLarge), errors.Is(err, ErrFrameEmpty):
		r.malformed.Add(1)
		h.log.Warn("malformed frame", "peer", r.index, "err", err)
	case ctx.Err() != nil, errors.Is(err, io.EOF):
	default:
		h.log.Debug("peer stream read failed", "peer", r.index, "err", err)
	}
}
