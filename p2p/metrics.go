package p2p

import (
	"strconv"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/prometheus/client_golang/prometheus"
)

// collector exports the host's counters as bftledger_p2p_* metrics. It reads
// the same atomics PeerStatus does when scraped, so the hot path pays nothing
// for metrics.
type collector struct {
	h *Host

	framesSent, bytesSent          *prometheus.Desc
	framesReceived, bytesReceived  *prometheus.Desc
	framesDropped, framesMalformed *prometheus.Desc
	unroutable, refused, connected *prometheus.Desc
}

var _ prometheus.Collector = (*collector)(nil)

func newCollector(h *Host) *collector {
	peerLabel := []string{"peer"}
	desc := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc("bftledger_p2p_"+name, help, labels, nil)
	}
	return &collector{
		h:               h,
		framesSent:      desc("frames_sent_total", "Frames flushed to the peer's stream.", peerLabel),
		bytesSent:       desc("bytes_sent_total", "Payload bytes flushed to the peer's stream.", peerLabel),
		framesReceived:  desc("frames_received_total", "Frames read from the peer's stream.", peerLabel),
		bytesReceived:   desc("bytes_received_total", "Payload bytes read from the peer's stream.", peerLabel),
		framesDropped:   desc("frames_dropped_total", "Frames dropped: direction=send by Send or a failed stream, direction=receive while isolated.", []string{"peer", "direction"}),
		framesMalformed: desc("frames_malformed_total", "Peer streams closed for a bad frame length.", peerLabel),
		unroutable:      desc("frames_unroutable_total", "Sends to an index that is not another validator.", nil),
		refused:         desc("connections_refused_total", "Connections and dials refused by the validator-set gater.", nil),
		connected:       desc("connected_peers", "Validators with at least one open connection.", nil),
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.framesSent, c.bytesSent, c.framesReceived, c.bytesReceived,
		c.framesDropped, c.framesMalformed, c.unroutable, c.refused, c.connected,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	connected := 0
	for _, r := range c.h.remotes {
		if r == nil {
			continue
		}
		p := strconv.Itoa(r.index)
		counter(c.framesSent, r.sent.Load(), p)
		counter(c.bytesSent, r.sentBytes.Load(), p)
		counter(c.framesReceived, r.received.Load(), p)
		counter(c.bytesReceived, r.receivedBytes.Load(), p)
		counter(c.framesDropped, r.dropped.Load(), p, "send")
		counter(c.framesDropped, r.droppedInbound.Load(), p, "receive")
		counter(c.framesMalformed, r.malformed.Load(), p)
		if c.h.host.Network().Connectedness(r.id) == network.Connected {
			connected++
		}
	}
	counter(c.unroutable, c.h.unroutable.Load())
	counter(c.refused, c.h.gater.refused.Load())
	ch <- prometheus.MustNewConstMetric(c.connected, prometheus.GaugeValue, float64(connected))
}
