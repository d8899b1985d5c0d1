package testnet

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/ledger"
	"github.com/bftledger/bftledger/node"
)

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestInitLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tn")
	tn, err := Init(Options{Dir: dir, Nodes: 4, Accounts: 3, BasePort: 30000,
		Byzantine: map[int]string{2: "equivocate"}, Backend: "pebble"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := ledger.LoadGenesis(filepath.Join(dir, GenesisFile))
	if err != nil {
		t.Fatal(err)
	}
	if g.Consensus != "pbft" || len(g.Validators) != 4 || len(g.Accounts) != 3 || g.TotalSupply() != 3*DefaultAccountBalance {
		t.Fatalf("genesis %+v", g)
	}
	for i := range 4 {
		home := filepath.Join(dir, nodeName(i))
		cfg, err := node.LoadConfig(filepath.Join(home, ConfigFile))
		if err != nil {
			t.Fatal(err)
		}
		wantP2P := "/ip4/127.0.0.1/tcp/" + strconv.Itoa(30000+2*i)
		wantAPI := "127.0.0.1:" + strconv.Itoa(30000+2*i+1)
		if cfg.P2P.ListenAddr != wantP2P || cfg.API.ListenAddr != wantAPI || g.Validators[i].P2PAddr != wantP2P || g.Validators[i].APIAddr != "http://"+wantAPI {
			t.Errorf("node %d addresses: config %s %s, genesis %s %s", i, cfg.P2P.ListenAddr, cfg.API.ListenAddr, g.Validators[i].P2PAddr, g.Validators[i].APIAddr)
		}
		if !cfg.Unsafe.EnableAdmin || cfg.Storage.Backend != "pebble" {
			t.Errorf("node %d config %+v", i, cfg)
		}
		if want := map[bool]string{true: "equivocate"}[i == 2]; cfg.Unsafe.Byzantine != want {
			t.Errorf("node %d byzantine %q", i, cfg.Unsafe.Byzantine)
		}
		key, err := crypto.ReadKeyFile(filepath.Join(home, NodeKeyFile))
		if err != nil {
			t.Fatal(err)
		}
		if g.ValidatorIndex(key.PublicKey()) != i {
			t.Errorf("node %d key is not validator %d", i, i)
		}
		gb, err := os.ReadFile(filepath.Join(home, GenesisFile))
		if err != nil {
			t.Fatal(err)
		}
		if g2, err := ledger.ParseGenesis(gb); err != nil || g2.Hash() != g.Hash() {
			t.Errorf("node %d genesis differs: %v", i, err)
		}
	}
	for j := range 3 {
		k, err := tn.AccountKey(j)
		if err != nil {
			t.Fatal(err)
		}
		if g.Accounts[j].Address != k.Address() {
			t.Errorf("account %d address mismatch", j)
		}
	}
	tn2, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tn2.N() != 4 || tn2.Meta.Nodes[2].Byzantine != "equivocate" || tn2.Meta.BasePort != 30000 {
		t.Fatalf("loaded meta %+v", tn2.Meta)
	}
	c, err := tn2.Client()
	if err != nil {
		t.Fatal(err)
	}
	if c.Need() != 2 || c.ChainID() != g.ChainID || c.Nodes()[1] != "http://127.0.0.1:30003" {
		t.Fatalf("client need %d chain %s nodes %v", c.Need(), c.ChainID(), c.Nodes())
	}
}

func TestInitRefuses(t *testing.T) {
	nonEmpty := t.TempDir()
	if err := os.WriteFile(filepath.Join(nonEmpty, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	base := func() Options { return Options{Dir: filepath.Join(t.TempDir(), "tn"), Nodes: 4} }
	cases := []struct {
		name string
		edit func(*Options)
		want error
	}{
		{"non-empty dir", func(o *Options) { o.Dir = nonEmpty }, ErrNotEmpty},
		{"no dir", func(o *Options) { o.Dir = "" }, ErrOptions},
		{"zero nodes", func(o *Options) { o.Nodes = 0 }, ErrOptions},
		{"too many nodes", func(o *Options) { o.Nodes = MaxNodes + 1 }, ErrOptions},
		{"bad consensus", func(o *Options) { o.Consensus = "paxos" }, ErrOptions},
		{"negative accounts", func(o *Options) { o.Accounts = -1 }, ErrOptions},
		{"low port", func(o *Options) { o.BasePort = 80 }, ErrOptions},
		{"ports overflow", func(o *Options) { o.BasePort = 65530 }, ErrOptions},
		{"byzantine index", func(o *Options) { o.Byzantine = map[int]string{4: "silent"} }, ErrOptions},
		{"byzantine empty", func(o *Options) { o.Byzantine = map[int]string{0: ""} }, ErrOptions},
		{"byzantine unknown", func(o *Options) { o.Byzantine = map[int]string{0: "sneaky"} }, ErrOptions},
		{"byzantine raft", func(o *Options) { o.Consensus = "raft"; o.Byzantine = map[int]string{0: "silent"} }, ErrOptions},
		{"backend", func(o *Options) { o.Backend = "rocksdb" }, ErrOptions},
		{"chain id", func(o *Options) { o.ChainID = "a b" }, ErrOptions},
		{"supply overflow", func(o *Options) { o.Accounts = 3; o.AccountBalance = 1 << 63 }, ErrOptions},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := base()
			tc.edit(&o)
			if _, err := Init(o); !errors.Is(err, tc.want) {
				t.Fatalf("Init: %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := Load(t.TempDir(), nil); !errors.Is(err, ErrNoTestnet) {
		t.Fatalf("Load of an empty dir: %v", err)
	}
}

func TestParseMetaRejects(t *testing.T) {
	good := `{"version":1,"chain_id":"c","consensus":"pbft","backend":"goleveldb","base_port":0,"binary":"",
		"nodes":[{"index":0,"name":"node0","home":"node0","p2p_addr":"/ip4/127.0.0.1/tcp/1","api_url":"http://127.0.0.1:2","byzantine":""}],"accounts":["accounts/account0.json"]}`
	if _, err := ParseMeta([]byte(good)); err != nil {
		t.Fatalf("good meta: %v", err)
	}
	for name, bad := range map[string]string{
		"unknown field": strings.Replace(good, `"backend"`, `"extra":1,"backend"`, 1),
		"trailing":      good + "{}",
		"version":       strings.Replace(good, `"version":1`, `"version":2`, 1),
		"consensus":     strings.Replace(good, `"pbft"`, `"x"`, 1),
		"escaping home": strings.Replace(good, `"home":"node0"`, `"home":"../etc"`, 1),
		"absolute":      strings.Replace(good, `"accounts/account0.json"`, `"/etc/passwd"`, 1),
		"index":         strings.Replace(good, `"index":0`, `"index":1`, 1),
		"api url":       strings.Replace(good, `"http://127.0.0.1:2"`, `"127.0.0.1:2"`, 1),
		"not json":      "nope",
	} {
		if _, err := ParseMeta([]byte(bad)); !errors.Is(err, ErrNoTestnet) {
			t.Errorf("%s: %v, want ErrNoTestnet", name, err)
		}
	}
}

func TestLauncherLifecycle(t *testing.T) {
	tn := fakeTestnet(t, 3)
	ctx := testCtx(t, 30*time.Second)
	if err := tn.Start(ctx); err != nil {
		t.Fatal(err)
	}
	rows := tn.Status(ctx)
	for _, r := range rows {
		if !r.Running || r.PID == 0 || r.Node == nil || r.Node.Height != 5 {
			t.Fatalf("row %+v", r)
		}
	}
	// A second launcher (like a later CLI invocation, from another
	// directory) sees the same processes through the pid files.
	t.Chdir(filepath.Dir(tn.Dir))
	other, err := Load(filepath.Base(tn.Dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := other.Status(ctx); !st[1].Running || st[1].PID != rows[1].PID {
		t.Fatalf("second launcher sees %+v", st[1])
	}
	if err := other.StartNode(ctx, 1); !errors.Is(err, ErrRunning) {
		t.Fatalf("starting a running node: %v", err)
	}

	if err := tn.Pause(1); err != nil {
		t.Fatal(err)
	}
	if st := tn.Status(ctx); !st[1].Paused {
		t.Fatalf("paused node shows %+v", st[1])
	}
	if err := tn.Resume(1); err != nil {
		t.Fatal(err)
	}
	if err := tn.Isolate(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if st := tn.Status(ctx); st[2].Node == nil || !st[2].Node.Isolated {
		t.Fatalf("isolated node shows %+v", st[2])
	}
	if err := tn.Heal(ctx, 2); err != nil {
		t.Fatal(err)
	}

	if err := tn.Kill(0); err != nil {
		t.Fatal(err)
	}
	if st := tn.Status(ctx); st[0].Running {
		t.Fatalf("killed node shows %+v", st[0])
	}
	if err := tn.Kill(0); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("killing a dead node: %v", err)
	}
	oldPID := rows[1].PID
	if err := tn.Restart(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := tn.Restart(ctx, 1); err != nil { // stops the running one first
		t.Fatal(err)
	}
	st := tn.Status(ctx)
	if !st[0].Running || !st[1].Running || st[1].PID == oldPID {
		t.Fatalf("after restarts: %+v %+v", st[0], st[1])
	}
	if err := other.Stop(); err != nil { // stopped by the other launcher
		t.Fatal(err)
	}
	for _, r := range tn.Status(ctx) {
		if r.Running {
			t.Fatalf("still running after Stop: %+v", r)
		}
	}
	if _, err := os.Stat(tn.pidPath(0)); !os.IsNotExist(err) {
		t.Fatalf("pid file left behind: %v", err)
	}
	if b, err := os.ReadFile(tn.LogPath(0)); err != nil || !strings.Contains(string(b), "fake node stopped") {
		t.Fatalf("log %q: %v", b, err)
	}
	if err := tn.Kill(7); !errors.Is(err, ErrNodeIndex) {
		t.Fatalf("bad index: %v", err)
	}
}

func TestStopKillsAfterGrace(t *testing.T) {
	tn := fakeTestnet(t, 1)
	if err := os.WriteFile(filepath.Join(tn.homeDir(0), ignoreTermFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tn.StopGrace = 200 * time.Millisecond
	if err := tn.Start(testCtx(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := tn.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, ok := tn.livePID(0); ok {
		t.Fatal("node survived Stop")
	}
}

func TestStartReportsFailedNode(t *testing.T) {
	tn := fakeTestnet(t, 2)
	if err := os.WriteFile(filepath.Join(tn.homeDir(1), failFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := tn.Start(testCtx(t, 30*time.Second))
	if !errors.Is(err, ErrUnhealthy) {
		t.Fatalf("Start: %v, want ErrUnhealthy", err)
	}
	for _, want := range []string{"node1", "exit status 3", tn.LogPath(1), "failing at start as asked"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if _, ok := tn.livePID(0); ok {
		t.Error("Start left the healthy node running after failing")
	}
}
