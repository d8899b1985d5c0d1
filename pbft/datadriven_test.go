package pbft_test

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/bftledger/bftledger/pbft/pbfttest"
)

// TestScenarios runs the scripts in testdata/*.txt (regenerate expected
// output with -rewrite and review the diff). Commands:
//
//	init n=4 [k=4] [l=8] [batch=16] [timeout=20] [retransmit=5] [batch-timeout=0]
//	propose node=1 txs=a,b,c      give txs to a replica
//	tick [count=1]                tick every replica (nothing delivered)
//	stabilize                     process and deliver until quiet; prints each delivery
//	run ticks=N                   N times: tick, then stabilize (prints logs only)
//	crash node=i / restart node=i
//	partition nodes=0,1           drop everything between {nodes} and the rest
//	drop from=0 to=1,2 kinds=commit   drop matching messages until heal
//	heal                          lift partitions and drops
//	status                        one line per replica
//	committed [node=i]            the batches a replica applied
//
// Every command also prints the replicas' Info logs it caused.
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata/scenarios", func(t *testing.T, path string) {
		s := &scenario{}
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			return s.run(t, td)
		})
	})
}

type scenario struct {
	nw    *pbfttest.Network
	logs  strings.Builder
	trace []string
	part  map[int]bool
	drops []dropRule
}

type dropRule struct {
	from  int
	to    map[int]bool
	kinds map[string]bool
}

func intList(t *testing.T, s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("bad list %q", s)
		}
		out = append(out, v)
	}
	return out
}

func argInt(t *testing.T, td *datadriven.TestData, key string, def int) int {
	if !td.HasArg(key) {
		return def
	}
	var v int
	td.ScanArgs(t, key, &v)
	return v
}

func argStr(t *testing.T, td *datadriven.TestData, key string) string {
	var v string
	td.ScanArgs(t, key, &v)
	return v
}

// logHandler renders records as "node=N msg k=v ..." without the time.
type logHandler struct {
	w     *strings.Builder
	attrs []slog.Attr
}

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	for _, a := range h.attrs {
		fmt.Fprintf(&b, "%s=%v ", a.Key, a.Value)
	}
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "app_hash" {
			return true // hashes make the scripts hard to read
		}
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.w.WriteString("  log: " + b.String() + "\n")
	return nil
}
func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHandler{w: h.w, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}
func (h *logHandler) WithGroup(string) slog.Handler { return h }

func (s *scenario) run(t *testing.T, td *datadriven.TestData) string {
	s.logs.Reset()
	var out strings.Builder
	switch td.Cmd {
	case "init":
		n := argInt(t, td, "n", 4)
		k := argInt(t, td, "k", 4)
		o := pbfttest.Options{
			CheckpointInterval:  uint64(k),
			WindowSize:          uint64(argInt(t, td, "l", 2*k)),
			MaxBatchTxs:         argInt(t, td, "batch", 16),
			RequestTimeoutTicks: argInt(t, td, "timeout", 20),
			RetransmitTicks:     argInt(t, td, "retransmit", 5),
			BatchTimeoutTicks:   argInt(t, td, "batch-timeout", 0),
			Logger:              slog.New(&logHandler{w: &s.logs}),
		}
		nw, err := pbfttest.New(n, o)
		if err != nil {
			t.Fatal(err)
		}
		s.nw = nw
		s.part = map[int]bool{}
		s.drops = nil
		nw.Drop = s.drop
		nw.Trace = func(l string) { s.trace = append(s.trace, l) }
		s.logs.Reset()
		fmt.Fprintf(&out, "%d replicas, f=%d\n", n, (n-1)/3)
	case "propose":
		node := argInt(t, td, "node", 0)
		for _, tx := range strings.Split(argStr(t, td, "txs"), ",") {
			if err := s.nw.Propose(node, []byte(tx)); err != nil {
				fmt.Fprintf(&out, "%s: %v\n", tx, err)
			}
		}
	case "tick":
		for range argInt(t, td, "count", 1) {
			s.nw.Tick()
		}
	case "stabilize":
		s.trace = nil
		s.nw.Stabilize(1 << 20)
		for _, l := range s.trace {
			out.WriteString(l + "\n")
		}
	case "run":
		for range argInt(t, td, "ticks", 1) {
			s.nw.Tick()
			s.nw.Stabilize(1 << 20)
		}
	case "crash":
		s.nw.Crash(argInt(t, td, "node", 0))
	case "restart":
		if err := s.nw.Restart(argInt(t, td, "node", 0)); err != nil {
			t.Fatal(err)
		}
	case "partition":
		clear(s.part)
		for _, i := range intList(t, argStr(t, td, "nodes")) {
			s.part[i] = true
		}
	case "drop":
		r := dropRule{from: argInt(t, td, "from", -1), to: map[int]bool{}, kinds: map[string]bool{}}
		if td.HasArg("to") {
			for _, i := range intList(t, argStr(t, td, "to")) {
				r.to[i] = true
			}
		}
		if td.HasArg("kinds") {
			for _, k := range strings.Split(argStr(t, td, "kinds"), ",") {
				r.kinds[k] = true
			}
		}
		s.drops = append(s.drops, r)
	case "heal":
		clear(s.part)
		s.drops = nil
	case "status":
		for _, nd := range s.nw.Nodes {
			if nd.Core == nil {
				fmt.Fprintf(&out, "r%d: down, applied=%d\n", nd.ID, nd.Store.Applied)
				continue
			}
			st := nd.Core.Status()
			fmt.Fprintf(&out, "r%d: view=%d %s applied=%d stable=%d pending=%d\n",
				nd.ID, st.Round, st.Role, nd.Store.Applied, st.StableCheckpoint, st.PendingTxs)
		}
	case "committed":
		nodes := []int{}
		if td.HasArg("node") {
			nodes = append(nodes, argInt(t, td, "node", 0))
		} else {
			for i := range s.nw.N {
				nodes = append(nodes, i)
			}
		}
		for _, i := range nodes {
			st := s.nw.Nodes[i].Store
			var hs []uint64
			for h := range st.Batches {
				hs = append(hs, h)
			}
			sort.Slice(hs, func(a, b int) bool { return hs[a] < hs[b] })
			var parts []string
			for _, h := range hs {
				b := st.Batches[h]
				var txs []string
				for _, tx := range b.Txs {
					txs = append(txs, string(tx))
				}
				parts = append(parts, fmt.Sprintf("%d:v%d[%s]", h, b.Round, strings.Join(txs, ",")))
			}
			fmt.Fprintf(&out, "r%d: %s\n", i, strings.Join(parts, " "))
		}
	default:
		t.Fatalf("unknown command %q", td.Cmd)
	}
	if err := s.nw.CheckAgreement(); err != nil {
		t.Fatal(err)
	}
	return out.String() + s.logs.String()
}

func (s *scenario) drop(p pbfttest.Packet) bool {
	if len(s.part) > 0 && s.part[p.From] != s.part[p.To] {
		return true
	}
	for _, r := range s.drops {
		if (r.from < 0 || r.from == p.From) && (len(r.to) == 0 || r.to[p.To]) && (len(r.kinds) == 0 || r.kinds[p.Kind.String()]) {
			return true
		}
	}
	return false
}
