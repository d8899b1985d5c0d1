package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bftledger/bftledger/api"
	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/ledger"
)

const testChainID = "node-test"

// testNet is a set of node homes sharing one genesis, with funded users.
type testNet struct {
	homes []string
	keys  []*crypto.Ed25519Signer
	users []*crypto.Ed25519Signer
	g     *ledger.Genesis
}

// newTestNet writes n homes under t.TempDir() whose nodes listen on
// 127.0.0.1 at ports chosen by the kernel. Genesis p2p addresses are
// placeholders; startNodes points each node at its peers' real ports.
func newTestNet(t testing.TB, n int, mode string, users int, mutate func(i int, c *Config)) *testNet {
	p := ledger.DefaultParams()
	p.CheckpointInterval, p.WindowSize = 8, 32 // checkpoints and GC happen in short tests too
	return newTestNetParams(t, n, mode, users, mutate, p)
}

// newTestNetParams is newTestNet with the given genesis params.
func newTestNetParams(t testing.TB, n int, mode string, users int, mutate func(i int, c *Config), p ledger.Params) *testNet {
	t.Helper()
	dir := t.TempDir()
	tn := &testNet{g: &ledger.Genesis{ChainID: testChainID, Consensus: mode, Params: p}}
	for i := range n {
		k := mustKey(t)
		tn.keys = append(tn.keys, k)
		tn.g.Validators = append(tn.g.Validators, ledger.GenesisValidator{
			Name:      fmt.Sprintf("node%d", i),
			PublicKey: hex.EncodeToString(k.PublicKey()),
			P2PAddr:   fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", 1+i),
			APIAddr:   fmt.Sprintf("http://127.0.0.1:%d", 100+i),
		})
	}
	for range users {
		u := mustKey(t)
		tn.users = append(tn.users, u)
		tn.g.Accounts = append(tn.g.Accounts, ledger.GenesisAccount{Address: u.Address(), Balance: 1_000_000})
	}
	gb, err := tn.g.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		home := filepath.Join(dir, fmt.Sprintf("node%d", i))
		if err := os.MkdirAll(home, 0o700); err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig()
		cfg.P2P.ListenAddr = "/ip4/127.0.0.1/tcp/0"
		cfg.API.ListenAddr = "127.0.0.1:0"
		cfg.Consensus.RequestTimeoutTicks = 100
		if mutate != nil {
			mutate(i, cfg)
		}
		if err := cfg.Write(filepath.Join(home, ConfigFile)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, GenesisFile), gb, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := crypto.WriteKeyFile(filepath.Join(home, KeyFile), tn.keys[i]); err != nil {
			t.Fatal(err)
		}
		tn.homes = append(tn.homes, home)
	}
	return tn
}

func mustKey(t testing.TB) *crypto.Ed25519Signer {
	t.Helper()
	k, err := crypto.GenerateEd25519(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testLogger logs to the test at warn level and above (debug with
// BFTLEDGER_TEST_DEBUG set; to the file BFTLEDGER_TEST_LOG names if set).
func testLogger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("BFTLEDGER_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	var w io.Writer = tWriter{t}
	if path := os.Getenv("BFTLEDGER_TEST_LOG"); path != "" { // for long runs
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		w = f
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// running is a started node.
type running struct {
	n    *Node
	stop context.CancelFunc
	err  chan error
}

// startNodes creates the nodes of homes (nil entries are skipped), points
// each at the others' ports and runs them. t.Cleanup stops them.
func startNodes(t testing.TB, homes []string) []*running {
	t.Helper()
	rs := make([]*running, len(homes))
	for i, h := range homes {
		if h == "" {
			continue
		}
		n, err := New(h, testLogger(t).With("test_node", i))
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		rs[i] = &running{n: n, err: make(chan error, 1)}
	}
	for i, r := range rs {
		if r == nil {
			continue
		}
		for j, p := range rs {
			if p != nil && j != i {
				if err := r.n.SetPeerAddr(j, p.n.P2PAddrs()[0]); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, r := range rs {
		if r == nil {
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		r.stop = cancel
		go func() { r.err <- r.n.Run(ctx) }()
		t.Cleanup(func() { r.halt(t) })
	}
	return rs
}

// halt stops the node and checks that Run returned cleanly. Idempotent.
func (r *running) halt(t testing.TB) {
	t.Helper()
	if r.stop == nil {
		return
	}
	r.stop()
	r.stop = nil
	select {
	case err := <-r.err:
		if err != nil {
			t.Errorf("node %d: Run: %v", r.n.Index(), err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("node %d did not stop", r.n.Index())
	}
}

// httpJSON sends a request to a node's API and decodes the answer.
func httpJSON(t testing.TB, method, url string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %d: decode: %v", method, url, res.StatusCode, err)
		}
	}
	return res.StatusCode
}

// waitReceipt long-polls a node until tx has a receipt, for at most d.
func waitReceipt(t testing.TB, r *running, h crypto.Hash, d time.Duration) api.SignedReceipt {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var sr api.SignedReceipt
		code := httpJSON(t, "GET", "http://"+r.n.APIAddr()+"/v1/txs/"+h.String()+"?wait=2s", nil, &sr)
		if code == 200 {
			return sr
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %d: no receipt for %s after %s (last status %d)", r.n.Index(), h, d, code)
		}
	}
}
