package bench

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	text := `# HELP bftledger_messages_total Messages.
# TYPE bftledger_messages_total counter
bftledger_messages_total{dir="in",kind="prepare"} 146
bftledger_messages_total{dir="out",kind="pre-prepare"} 70
bftledger_view_changes_total 2
bftledger_commit_latency_seconds_sum 1.5e+01
bftledger_commit_latency_seconds_count 1000
bftledger_height 29
go_goroutines 80
bftledger_messages_total{dir="in" 5
bftledger_view_changes_total NaN
bftledger_committed_txs_total notanumber
`
	got := parseMetrics([]byte(text), metricsWanted)
	want := map[string]float64{
		`bftledger_messages_total{dir="in",kind="prepare"}`:      146,
		`bftledger_messages_total{dir="out",kind="pre-prepare"}`: 70,
		"bftledger_view_changes_total":                           2,
		"bftledger_commit_latency_seconds_sum":                   15,
		"bftledger_commit_latency_seconds_count":                 1000,
	}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	var many strings.Builder
	for i := range 2 * metricsSamplesMax {
		fmt.Fprintf(&many, "bftledger_messages_total{kind=\"k%d\"} 1\n", i)
	}
	if n := len(parseMetrics([]byte(many.String()), metricsWanted)); n != metricsSamplesMax {
		t.Errorf("kept %d samples, want the cap %d", n, metricsSamplesMax)
	}
}

func FuzzParseMetrics(f *testing.F) {
	f.Add([]byte("bftledger_messages_total{dir=\"in\",kind=\"prepare\"} 146\n"))
	f.Add([]byte("bftledger_view_changes_total 2\n# comment\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := parseMetrics(b, metricsWanted)
		if len(m) > metricsSamplesMax {
			t.Errorf("%d samples kept", len(m))
		}
		for k := range m {
			name, _, _ := strings.Cut(k, "{")
			if !wanted(name, metricsWanted) {
				t.Errorf("unwanted %q kept", k)
			}
		}
	})
}
