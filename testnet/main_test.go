package testnet

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/bftledger/bftledger/node"
)

// fakeNodeEnv makes the test binary act as a node: `node start --home DIR`
// serves /healthz, /v1/status and /v1/admin/isolate from DIR's config
// until SIGTERM. The launcher tests run it instead of a real node, so they
// test process handling alone, fast.
const fakeNodeEnv = "BFTLEDGER_TESTNET_FAKE_NODE"

// ignoreTermFile in a fake node's home makes it ignore SIGTERM.
const ignoreTermFile = "ignore-sigterm"

// failFile in a fake node's home makes it exit at once with status 3.
const failFile = "fail-at-start"

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	if os.Getenv(fakeNodeEnv) == "1" {
		os.Exit(fakeNodeMain(os.Args[1:]))
	}
	flag.Parse()
	dir, err := os.MkdirTemp("", "bftledger-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// nodeBinary builds ./cmd/bftledger once per test run and returns its path.
func nodeBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binPath = filepath.Join(binDir, "bftledger")
		// The nodes are built without -race even when the tests run with
		// it: the tests check the protocol, and race-built nodes are slow.
		cmd := exec.Command("go", "build", "-o", binPath, "../cmd/bftledger")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/bftledger: %w\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// fakeNodeMain is the fake node's main.
func fakeNodeMain(args []string) int {
	if len(args) != 4 || args[0] != "node" || args[1] != "start" || args[2] != "--home" {
		fmt.Fprintln(os.Stderr, "fake node: usage: node start --home DIR")
		return 1
	}
	home := args[3]
	if _, err := os.Stat(filepath.Join(home, failFile)); err == nil {
		fmt.Fprintln(os.Stderr, "fake node: failing at start as asked")
		return 3
	}
	cfg, err := node.LoadConfig(filepath.Join(home, ConfigFile))
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake node:", err)
		return 1
	}
	sigs := make(chan os.Signal, 1)
	if _, err := os.Stat(filepath.Join(home, ignoreTermFile)); err == nil {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	}
	l, err := net.Listen("tcp", cfg.API.ListenAddr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake node:", err)
		return 1
	}
	var isolated atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, `{"ok":true}`) })
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"name": filepath.Base(home), "mode": "pbft", "height": 5,
			"role": "backup", "app_hash": "00112233445566778899", "isolated": isolated.Load(), "byzantine": cfg.Unsafe.Byzantine})
	})
	mux.HandleFunc("POST /v1/admin/isolate", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Isolated bool `json:"isolated"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			w.WriteHeader(400)
			return
		}
		isolated.Store(body.Isolated)
		fmt.Fprint(w, `{}`)
	})
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(l) }()
	fmt.Println("fake node serving", cfg.API.ListenAddr)
	<-sigs
	_ = srv.Shutdown(context.Background())
	fmt.Println("fake node stopped")
	return 0
}

// fakeTestnet makes an n-node testnet whose nodes are fake (this test
// binary), stopped at cleanup.
func fakeTestnet(t *testing.T, n int) *Testnet {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("process groups and signals need a Unix")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeNodeEnv, "1")
	tn, err := Init(Options{Dir: filepath.Join(t.TempDir(), "tn"), Nodes: n, Accounts: 2, Binary: self})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tn.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return tn
}
