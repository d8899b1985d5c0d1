package node

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
)

// latencyTrackMax bounds the proposals whose start time the node keeps for
// the commit latency histogram; when it is reached the table is cleared.
const latencyTrackMax = 1 << 17

// metrics are the node's Prometheus series (the p2p host adds
// bftledger_p2p_*).
type metrics struct {
	height        prometheus.Gauge
	view          prometheus.Gauge
	pending       prometheus.Gauge
	queueDepth    *prometheus.GaugeVec
	messages      *prometheus.CounterVec
	committedTxs  prometheus.Counter
	invalid       prometheus.Counter
	commitLatency prometheus.Histogram
	viewChanges   atomic.Uint64

	// in and out cache the message counters by kind; only the loop uses
	// them.
	in, out map[string]prometheus.Counter

	mu       sync.Mutex // guards proposed (the loop and the executor)
	proposed map[crypto.Hash]time.Time
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		height: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bftledger_height", Help: "Ledger height (last applied block).",
		}),
		view: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bftledger_view", Help: "Current PBFT view or Raft term.",
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bftledger_pending_txs", Help: "Txs accepted by the engine and not yet committed.",
		}),
		queueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bftledger_queue_depth", Help: "Items waiting in the node's internal queues.",
		}, []string{"queue"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bftledger_messages_total", Help: "Consensus messages by kind and direction (in: verified, out: sent).",
		}, []string{"kind", "dir"}),
		committedTxs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bftledger_committed_txs_total", Help: "Txs executed by the ledger (successful or failed).",
		}),
		invalid: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bftledger_invalid_messages_total", Help: "Peer frames that failed decoding or verification.",
		}),
		commitLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "bftledger_commit_latency_seconds",
			Help:    "Time from a tx's proposal on this node to its execution on this node.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}),
		proposed: make(map[crypto.Hash]time.Time),
		in:       make(map[string]prometheus.Counter),
		out:      make(map[string]prometheus.Counter),
	}
	viewChanges := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "bftledger_view_changes_total", Help: "View changes (PBFT) or leader changes (Raft) seen since start.",
	}, func() float64 { return float64(m.viewChanges.Load()) })
	reg.MustRegister(m.height, m.view, m.pending, m.queueDepth, m.messages, m.committedTxs,
		m.invalid, m.commitLatency, viewChanges)
	return m
}

// trackProposal notes when the tx h was proposed here.
func (m *metrics) trackProposal(h crypto.Hash, now time.Time) {
	m.mu.Lock()
	if len(m.proposed) >= latencyTrackMax {
		clear(m.proposed) // txs that never committed here; start afresh
	}
	m.proposed[h] = now
	m.mu.Unlock()
}

// observeCommit records the latency of h if this node proposed it.
func (m *metrics) observeCommit(h crypto.Hash, now time.Time) {
	m.mu.Lock()
	t, ok := m.proposed[h]
	if ok {
		delete(m.proposed, h)
	}
	m.mu.Unlock()
	if ok {
		m.commitLatency.Observe(now.Sub(t).Seconds())
	}
}

// committed records an applied block.
func (m *metrics) committed(height uint64, txs int) {
	m.height.Set(float64(height))
	m.committedTxs.Add(float64(txs))
}

// status records the engine's status.
func (m *metrics) status(st *engine.Status) {
	m.view.Set(float64(st.Round))
	m.pending.Set(float64(st.PendingTxs))
	m.viewChanges.Store(st.ViewChanges)
}

// inbound counts a verified message; only the loop calls it.
func (m *metrics) inbound(kind string) { counterFor(m.in, m.messages, kind, "in").Inc() }

// outbound counts a sent message; only the loop calls it.
func (m *metrics) outbound(kind string) { counterFor(m.out, m.messages, kind, "out").Inc() }

// counterFor returns the counter of (kind, dir) from cache, creating it on
// first use: label lookups hash their values, and this runs per message.
func counterFor(cache map[string]prometheus.Counter, vec *prometheus.CounterVec, kind, dir string) prometheus.Counter {
	c, ok := cache[kind]
	if !ok {
		c = vec.WithLabelValues(kind, dir)
		cache[kind] = c
	}
	return c
}
func (m *metrics) invalidMessage() { m.invalid.Inc() }
