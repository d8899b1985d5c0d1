package p2p

import (
	"bufio"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
)

// errConnGone ends a writer whose stream's connection closed under it.
var errConnGone = errors.New("p2p: connection closed")

// remote is our side of the link with one validator: its send queue, the
// stream it opened to us, and the counters behind PeerStatus and the metrics.
type remote struct {
	index int
	id    peer.ID

	// queue holds frames for the writer; capacity Config.SendQueueLen.
	// queuedBytes is the sum of their lengths, at most Config.SendQueueBytes:
	// Send adds before enqueueing, the writer subtracts after dequeueing.
	queue       chan []byte
	queuedBytes atomic.Int64

	// events is signalled (never blocking, capacity 1) when a connection
	// to the peer opens or closes, or its address changes.
	events chan struct{}

	streaming atomic.Bool // our outbound stream is open

	mu      sync.Mutex
	inbound network.Stream // the peer's newest stream to us; older ones are reset

	sent, sentBytes         atomic.Uint64
	received, receivedBytes atomic.Uint64
	dropped, droppedInbound atomic.Uint64
	malformed               atomic.Uint64
}

func newRemote(index int, id peer.ID, queueLen int) *remote {
	return &remote{
		index:  index,
		id:     id,
		queue:  make(chan []byte, queueLen),
		events: make(chan struct{}, 1),
	}
}

func (r *remote) signal() {
	select {
	case r.events <- struct{}{}:
	default:
	}
}

// Send queues data for validator to and returns at once: true if queued,
// false if to is not another validator, data is empty or longer than
// MaxFrameBytes, the host is isolated, or the peer's queue is full (in frames
// or bytes). Every false for a peer is counted in its Dropped. Queued frames
// are lost if the stream fails; the consensus protocol retransmits. The host
// keeps data until it is written: the caller must not modify it after Send.
func (h *Host) Send(to int, data []byte) bool {
	r := h.remote(to)
	if r == nil {
		h.unroutable.Add(1)
		return false
	}
	n := len(data)
	if n == 0 || n > h.cfg.MaxFrameBytes || h.isolated.Load() {
		r.dropped.Add(1)
		return false
	}
	if r.queuedBytes.Add(int64(n)) > int64(h.cfg.SendQueueBytes) {
		r.queuedBytes.Add(-int64(n))
		r.dropped.Add(1)
		return false
	}
	select {
	case r.queue <- data:
		return true
	default:
		r.queuedBytes.Add(-int64(n))
		r.dropped.Add(1)
		return false
	}
}

// Broadcast sends data to every other validator, as Send does to each; the
// peers share data, which the caller must not modify afterwards.
func (h *Host) Broadcast(data []byte) {
	for _, r := range h.remotes {
		if r != nil {
			h.Send(r.index, data)
		}
	}
}

// runOutbound keeps one outbound stream to r open for as long as ctx lives,
// redialling with exponential backoff, and writes r's queue onto it.
func (h *Host) runOutbound(ctx context.Context, r *remote) error {
	var wait time.Duration
	delay := backoffMin
	for {
		if !waitBackoff(ctx, r, wait) {
			return nil
		}
		s, err := h.openStream(ctx, r)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			h.log.Debug("dial failed", "peer", r.index, "retry_in", delay, "err", err)
			wait, delay = delay, min(2*delay, backoffMax)
			continue
		}
		opened := time.Now()
		r.streaming.Store(true)
		h.log.Info("peer stream open", "peer", r.index)
		err = h.writeStream(ctx, r, s)
		r.streaming.Store(false)
		s.Reset()
		if ctx.Err() != nil {
			return nil
		}
		h.log.Info("peer stream closed", "peer", r.index, "err", err)
		// Only a stream that lived a while resets the backoff: a peer
		// that accepts and at once drops us is retried ever more slowly.
		if time.Since(opened) >= backoffMax {
			delay = backoffMin
		}
		wait, delay = delay, min(2*delay, backoffMax)
	}
}

// waitBackoff waits d, or less if a connection event for r arrives: a peer
// that just connected to us is up, so there is no point waiting longer.
// It reports false if ctx ended.
func waitBackoff(ctx context.Context, r *remote, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.events:
	case <-ctx.Done():
		return false
	}
	return true
}

// openStream dials r if needed and opens our outbound stream to it. It clears
// libp2p's own dial backoff for r first (seconds, growing to minutes): we
// know the peer is a validator and pace retries ourselves.
func (h *Host) openStream(ctx context.Context, r *remote) (network.Stream, error) {
	if sw, ok := h.host.Network().(*swarm.Swarm); ok {
		sw.Backoff().Clear(r.id)
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	return h.host.NewStream(dctx, r.id, ProtocolID)
}

// writeStream writes r's queue onto s until a write fails, s's connection
// closes, or ctx ends. Frames are batched in a bufio.Writer and flushed when
// the queue is momentarily empty or writeBatchFramesMax frames are pending.
// Frames written since the last successful flush count as dropped on error.
func (h *Host) writeStream(ctx context.Context, r *remote, s network.Stream) error {
	w := bufio.NewWriterSize(s, writeBufferBytes)
	for {
		var data []byte
		select {
		case data = <-r.queue:
		case <-r.events:
			if s.Conn().IsClosed() {
				return errConnGone
			}
			continue
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := s.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
			r.queuedBytes.Add(-int64(len(data)))
			r.dropped.Add(1)
			return err
		}
		frames, bytes, err := h.writeBatch(w, r, data)
		if err == nil && frames > 0 {
			err = w.Flush()
		}
		if err != nil {
			r.dropped.Add(uint64(frames))
			return err
		}
		r.sent.Add(uint64(frames))
		r.sentBytes.Add(uint64(bytes))
	}
}

// writeBatch writes first and then whatever else r's queue holds, up to
// writeBatchFramesMax frames, without flushing. It returns the frames and
// bytes written (on error, including the one that failed).
func (h *Host) writeBatch(w *bufio.Writer, r *remote, first []byte) (frames, bytes int, err error) {
	data := first
	for {
		r.queuedBytes.Add(-int64(len(data)))
		if h.isolated.Load() {
			r.dropped.Add(1)
		} else {
			frames++
			bytes += len(data)
			if err := writeFrame(w, data); err != nil {
				return frames, bytes, err
			}
		}
		if frames >= writeBatchFramesMax {
			return frames, bytes, nil
		}
		select {
		case data = <-r.queue:
		default:
			return frames, bytes, nil
		}
	}
}
