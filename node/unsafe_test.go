package node

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bftledger/bftledger/api"
	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/ledger"
)

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestByzantineSetting(t *testing.T) {
	tn := newTestNet(t, 4, engine.ModePBFT, 1, func(i int, c *Config) {
		if i == 0 {
			c.Unsafe.Byzantine = "no-such-behaviour"
		}
		if i == 1 {
			c.Unsafe.Byzantine = "silent"
		}
	})
	if _, err := New(tn.homes[0], nil); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "no-such-behaviour") {
		t.Fatalf("unknown behaviour: got %v", err)
	}
	var logs syncBuffer
	n, err := New(tn.homes[1], slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if !strings.Contains(logs.String(), "level=ERROR msg=\"THIS NODE IS BYZANTINE (unsafe test setting)\" node=1 behaviour=silent") {
		t.Fatalf("no loud warning in:\n%s", logs.String())
	}
	if st := n.apiStatus(); st.Byzantine != "silent" {
		t.Fatalf("status byzantine = %q", st.Byzantine)
	}
}

// TestNetworkByzantine runs four PBFT nodes, one of which signs garbage:
// the three honest ones keep committing. The primary cuts batches at once.
func TestNetworkByzantine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four nodes")
	}
	tn := newTestNet(t, 4, engine.ModePBFT, 3, func(i int, c *Config) {
		c.Consensus.BatchTimeoutTicks = 0 // cut batches at once
		if i == 3 {
			c.Unsafe.Byzantine = "bad-signature"
		}
	})
	rs := startNodes(t, tn.homes)
	sendRound(t, tn, rs[:3], 0)
	checkAgreement(t, rs[:3])
}

// TestAdminAndStorageFailure runs a one-validator network: the metrics
// are served, the admin endpoint isolates the node, and a storage failure
// stops Run with ErrStorage.
func TestAdminAndStorageFailure(t *testing.T) {
	tn := newTestNet(t, 1, engine.ModePBFT, 2, func(_ int, c *Config) { c.Unsafe.EnableAdmin = true })
	rs := startNodes(t, tn.homes)
	r := rs[0]
	base := "http://" + r.n.APIAddr()
	sendRound(t, tn, rs, 0)

	// Receipts can be served before the loop updates its gauges for the
	// same block: read /metrics until both txs show, within a deadline.
	// (An idle primary cuts at once, so they may commit in one block or two.)
	var body []byte
	for deadline := time.Now().Add(10 * time.Second); ; {
		res, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(res.Body)
		res.Body.Close()
		if strings.Contains(string(body), "bftledger_committed_txs_total 2\n") || time.Now().After(deadline) {
			break
		}
		runtime.Gosched()
	}
	for _, name := range []string{"bftledger_height ", "bftledger_view ", "bftledger_view_changes_total ",
		"bftledger_committed_txs_total 2", "bftledger_pending_txs ", `bftledger_queue_depth{queue="propose"}`,
		"bftledger_commit_latency_seconds_count 2", "bftledger_p2p_"} { // one node: no messages_total yet
		if !strings.Contains(string(body), name) {
			t.Errorf("metrics lack %q", name)
		}
	}

	var st api.Status
	if code := httpJSON(t, "POST", base+"/v1/admin/isolate", map[string]bool{"isolated": true}, nil); code != 200 {
		t.Fatalf("isolate: %d", code)
	}
	httpJSON(t, "GET", base+"/v1/status", nil, &st)
	if !st.Isolated || st.Height == 0 || st.AppHash.IsZero() {
		t.Fatalf("status after isolate: %+v", st)
	}
	httpJSON(t, "POST", base+"/v1/admin/isolate", map[string]bool{"isolated": false}, nil)

	// Break the consensus store under the running node: the next Ready
	// that persists anything must stop the node with ErrStorage.
	if err := r.n.consDB.Close(); err != nil {
		t.Fatal(err)
	}
	tx := ledger.NewTransfer(tn.users[0], testChainID, tn.users[1].Address(), 1, 1).Encode()
	httpJSON(t, "POST", base+"/v1/txs", api.SubmitRequest{Tx: hex.EncodeToString(tx)}, nil)
	select {
	case err := <-r.err:
		if !errors.Is(err, ErrStorage) {
			t.Fatalf("Run returned %v, want ErrStorage", err)
		}
		r.stop()
		r.stop = nil
	case <-time.After(30 * time.Second):
		t.Fatal("node kept running on a broken store")
	}
}
