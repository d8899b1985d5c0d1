package bench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// metricsWanted are the Prometheus families read from each node at the end
// of a run: what the node itself saw, to explain the figures.
var metricsWanted = []string{
	"bftledger_messages_total",
	"bftledger_invalid_messages_total",
	"bftledger_view_changes_total",
	"bftledger_committed_txs_total",
	"bftledger_commit_latency_seconds_sum",
	"bftledger_commit_latency_seconds_count",
}

// metricsSamplesMax bounds the samples kept from one node's /metrics.
const metricsSamplesMax = 256

// parseMetrics reads the wanted families from a Prometheus text exposition
// into "name{labels}" -> value. Lines it does not want, comments and
// malformed lines are skipped; at most metricsSamplesMax samples are kept.
func parseMetrics(b []byte, want []string) map[string]float64 {
	out := map[string]float64{}
	for line := range bytes.Lines(b) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		sp := bytes.LastIndexByte(line, ' ')
		if sp <= 0 {
			continue
		}
		key, val := string(line[:sp]), string(line[sp+1:])
		name := key
		if i := strings.IndexByte(key, '{'); i >= 0 {
			if !strings.HasSuffix(key, "}") {
				continue
			}
			name = key[:i]
		}
		if !wanted(name, want) {
			continue
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if len(out) >= metricsSamplesMax {
			break
		}
		out[key] = v
	}
	return out
}

func wanted(name string, want []string) bool {
	for _, w := range want {
		if name == w {
			return true
		}
	}
	return false
}

// scrapeMetrics reads node i's /metrics (the families in metricsWanted).
func (r *runner) scrapeMetrics(ctx context.Context, i int) (map[string]float64, error) {
	b, _, err := r.apis[i].do(ctx, http.MethodGet, "/metrics", nil)
	if err != nil {
		return nil, fmt.Errorf("bench: node %d metrics: %w", i, err)
	}
	return parseMetrics(b, metricsWanted), nil
}
