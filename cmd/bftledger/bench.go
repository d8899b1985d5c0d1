package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/bftledger/bftledger/bench"
	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/ledger"
	"github.com/bftledger/bftledger/node"
	"github.com/bftledger/bftledger/testnet"
)

// benchFlags are `bftledger bench`'s options. The defaults make
// `bftledger bench --consensus both` finish in one to two minutes on a
// 2-core machine.
type benchFlags struct {
	consensus   string
	nodes       []int
	raftNodes   []int
	duration    time.Duration
	warmup      time.Duration
	clients     int
	rate        float64
	out         string
	accounts    int
	maxRate     float64
	batch       int
	sampleEvery int
	phases      bool
	lowRate     float64
	keep        bool
	verbose     bool
	repeat      int
	profile     bool
}

func newBenchCmd() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmark PBFT and Raft on a fresh local testnet",
		Long: `Starts a fresh testnet of real node processes on 127.0.0.1 (this binary, default
settings), funds accounts in genesis, pre-signs transfers, drives load through
POST /v1/txs/batch and reports committed tx/s (counted from the blocks),
latency to the receipts a client needs (f+1 matching signed receipts for PBFT,
one for Raft), and each node's peak RSS, CPU time and view/leader changes.

Without --rate the load is a closed loop of --clients clients (the peak), then,
with --latency-phases, an open loop at 80% of that peak and one at --low-rate.
With --rate it is a single open loop at that rate.

Writes report.json, report.md, throughput.png and latency.png to --out.
With --consensus both, PBFT (--nodes, default 4) and Raft (--raft-nodes,
default 3) run back to back and the report compares them. --nodes 4,7,10
runs one testnet per size, to show what growing n costs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.consensus, "consensus", "pbft", "engine to measure: pbft, raft or both")
	fl.IntSliceVar(&f.nodes, "nodes", nil, "validators, or a list run one after another, e.g. 4,7,10 (default 4 for pbft, 3 for raft; with both, the pbft sizes)")
	fl.IntSliceVar(&f.raftNodes, "raft-nodes", []int{3}, "raft validators (or a list) with --consensus both")
	fl.DurationVar(&f.duration, "duration", 8*time.Second, "measurement window of the peak (or --rate) phase")
	fl.DurationVar(&f.warmup, "warmup", 2*time.Second, "load before the window that is not measured")
	fl.IntVar(&f.clients, "clients", 4, "closed-loop clients, each with one batch in flight")
	fl.Float64Var(&f.rate, "rate", 0, "open-loop rate in tx/s (0: closed loop)")
	fl.StringVar(&f.out, "out", "bench-report", "directory for the report, charts and (with --keep) the testnets")
	fl.IntVar(&f.accounts, "accounts", 4096, "funded sender accounts (each has one tx in flight at a time)")
	fl.Float64Var(&f.maxRate, "max-rate", 12000, "upper bound of tx/s that sizes pre-signing for the closed loop")
	fl.IntVar(&f.batch, "batch", bench.BatchTxsDefault, "txs per POST /v1/txs/batch")
	fl.IntVar(&f.sampleEvery, "sample-every", bench.SampleEveryDefault, "measure receipt latency of every n-th tx")
	fl.BoolVar(&f.phases, "latency-phases", true, "after a closed-loop peak, measure latency at 80% of it and at --low-rate")
	fl.Float64Var(&f.lowRate, "low-rate", 20, "open-loop rate of the low-load latency phase, tx/s (low enough that blocks of one tx do not queue behind each other's synced writes)")
	fl.IntVar(&f.repeat, "repeat", 1, "run each configuration this many times (fresh testnet each); the report gives medians")
	fl.BoolVar(&f.keep, "keep", false, "keep the testnet directories (node logs) under --out")
	fl.BoolVar(&f.profile, "profile", false, "serve /debug/pprof on the nodes and save each node's CPU profile of the first phase's window, and its heap at the end of it, to --out")
	fl.BoolVar(&f.verbose, "verbose", false, "log the bench's and launcher's progress to stderr")
	return cmd
}

// benchPlan is one engine to run.
type benchPlan struct {
	mode  string
	nodes int
}

func (f *benchFlags) plans() ([]benchPlan, error) {
	var out []benchPlan
	add := func(mode string, sizes []int, def int) {
		if len(sizes) == 0 {
			sizes = []int{def}
		}
		for _, n := range sizes {
			out = append(out, benchPlan{mode, n})
		}
	}
	switch f.consensus {
	case bench.ModePBFT:
		add(bench.ModePBFT, f.nodes, 4)
	case bench.ModeRaft:
		add(bench.ModeRaft, f.nodes, 3)
	case "both":
		add(bench.ModePBFT, f.nodes, 4)
		add(bench.ModeRaft, f.raftNodes, 3)
	default:
		return nil, fmt.Errorf("--consensus %q: want pbft, raft or both", f.consensus)
	}
	return out, nil
}

// phaseList turns the flags into the bench's phases.
func (f *benchFlags) phaseList() []bench.Phase {
	if f.rate > 0 {
		return []bench.Phase{{Name: "open", Rate: f.rate, Warmup: f.warmup, Duration: f.duration}}
	}
	ph := []bench.Phase{{Name: bench.PhasePeak, Clients: f.clients, Warmup: f.warmup, Duration: f.duration}}
	if f.phases {
		half := max(f.duration/2, time.Second)
		ph = append(ph,
			bench.Phase{Name: bench.PhaseLoad80, RatePct: 80, Warmup: time.Second, Duration: half},
			bench.Phase{Name: bench.PhaseLow, Rate: f.lowRate, Warmup: time.Second, Duration: max(f.duration*3/4, time.Second)},
		)
	}
	return ph
}

func (f *benchFlags) validate() error {
	for _, n := range append(append([]int(nil), f.nodes...), f.raftNodes...) {
		if n < 1 || n > min(testnet.MaxNodes, bench.NodesMax) {
			return fmt.Errorf("--nodes / --raft-nodes %d: want 1..%d", n, min(testnet.MaxNodes, bench.NodesMax))
		}
	}
	if f.accounts < 1 || f.accounts > testnet.MaxAccounts {
		return fmt.Errorf("--accounts %d: want 1..%d", f.accounts, testnet.MaxAccounts)
	}
	if f.rate < 0 || f.lowRate <= 0 {
		return fmt.Errorf("--rate %v / --low-rate %v: want >= 0 / > 0", f.rate, f.lowRate)
	}
	if f.out == "" {
		return fmt.Errorf("--out: empty directory name")
	}
	if f.repeat < 1 || f.repeat > 100 {
		return fmt.Errorf("--repeat %d: want 1..100", f.repeat)
	}
	return nil
}

func runBench(cmd *cobra.Command, f benchFlags) error {
	if err := f.validate(); err != nil {
		return err
	}
	plans, err := f.plans()
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench: find this binary to run nodes with: %w", err)
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	stderr := cmd.ErrOrStderr()
	log := slog.New(slog.DiscardHandler)
	if f.verbose {
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return fmt.Errorf("bench: --out: %w", err)
	}
	netRoot := filepath.Join(f.out, "testnets")
	if !f.keep {
		if netRoot, err = os.MkdirTemp("", "bftledger-bench-"); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(netRoot)
	}

	started := time.Now()
	var runs []*bench.RunResult
	for _, p := range plans {
		for k := 1; k <= f.repeat; k++ {
			label := fmt.Sprintf("%s n=%d", p.mode, p.nodes)
			if f.repeat > 1 {
				label += fmt.Sprintf(" #%d", k)
			}
			fmt.Fprintf(stderr, "bench: %s: starting a testnet of %d nodes with %d funded accounts\n", label, p.nodes, f.accounts)
			dir := filepath.Join(netRoot, fmt.Sprintf("%s-n%d-%d-%d", p.mode, p.nodes, started.Unix(), k))
			res, err := benchOne(ctx, f, p, label, exe, dir, log, stderr)
			if err != nil {
				return fmt.Errorf("bench: %s: %w", label, err)
			}
			runs = append(runs, res)
		}
	}
	rep := bench.NewReport("bftledger bench "+strings.Join(os.Args[2:], " "), started, runs)
	if err := rep.WriteFiles(f.out); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	rep.WriteTable(out)
	fmt.Fprintf(out, "\nreport: %s (and report.json, %s, %s) in %s; took %s\n",
		bench.FileMarkdown, bench.FileThroughput, bench.FileLatency, f.out, time.Since(started).Round(time.Second))
	return nil
}

// benchOne runs one engine on a fresh testnet in dir and stops it again.
func benchOne(ctx context.Context, f benchFlags, p benchPlan, label, exe, dir string, log *slog.Logger, progress io.Writer) (*bench.RunResult, error) {
	opts := testnet.Options{
		Dir: dir, Nodes: p.nodes, Consensus: p.mode, Accounts: f.accounts, Binary: exe, Logger: log,
	}
	if f.profile {
		opts.Configure = func(_ int, cfg *node.Config) { cfg.Unsafe.EnablePprof = true }
	}
	tn, err := testnet.Init(opts)
	if err != nil {
		return nil, err
	}
	keys, err := accountKeys(tn, f.accounts)
	if err != nil {
		return nil, err
	}
	if err := tn.Start(ctx); err != nil {
		return nil, err
	}
	defer func() {
		if err := tn.Stop(); err != nil {
			fmt.Fprintf(progress, "bench: stopping the testnet: %v\n", err)
		}
	}()
	nodes, err := benchNodes(tn)
	if err != nil {
		return nil, err
	}
	if err := waitLeader(ctx, tn); err != nil {
		return nil, err
	}
	chainID := tn.Genesis.ChainID
	cfg := bench.Config{
		Label: label, Mode: p.mode, ChainID: chainID, Nodes: nodes,
		Accounts: len(keys), StartNonce: 0, Sign: transferSigner(chainID, keys),
		VerifyReceipt: receiptVerifier(chainID),
		Phases:        f.phaseList(), MaxRate: f.maxRate,
		BatchTxs: f.batch, SampleEvery: f.sampleEvery,
		Logger: log, Progress: progress, Interactive: isCharDevice(progress),
	}
	var profiles sync.WaitGroup
	if f.profile {
		var once sync.Once
		cfg.OnWindow = func(ph bench.Phase) {
			once.Do(func() {
				profiles.Add(1)
				defer profiles.Done()
				saveProfiles(ctx, nodes, ph.Duration, filepath.Join(f.out, profilePrefix(label)), progress)
			})
		}
	}
	fmt.Fprintf(progress, "bench: %s: pre-signing transfers on %d cores\n", label, runtime.GOMAXPROCS(0))
	res, err := bench.Run(ctx, cfg)
	profiles.Wait()
	return res, err
}

// profilePrefix turns a run label ("pbft n=4") into a file name prefix.
func profilePrefix(label string) string {
	return strings.NewReplacer(" ", "-", "=", "", "#", "").Replace(label)
}

// saveProfiles takes a CPU profile of d (whole seconds, at least one) from
// every node at once, then a heap profile, and writes PREFIX-NAME.cpu.pprof
// and PREFIX-NAME.heap.pprof; failures are reported on progress and do not
// fail the run.
func saveProfiles(ctx context.Context, nodes []bench.Node, d time.Duration, prefix string, progress io.Writer) {
	secs := max(int(d/time.Second), 1)
	var wg sync.WaitGroup
	for _, nd := range nodes {
		wg.Go(func() {
			base := prefix + "-" + nd.Name
			cpu := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", nd.URL, secs)
			if err := saveProfile(ctx, cpu, base+".cpu.pprof"); err != nil {
				fmt.Fprintf(progress, "bench: CPU profile of %s: %v\n", nd.Name, err)
			}
			// The heap at the end of the window: what the node holds under load.
			if err := saveProfile(ctx, nd.URL+"/debug/pprof/heap", base+".heap.pprof"); err != nil {
				fmt.Fprintf(progress, "bench: heap profile of %s: %v\n", nd.Name, err)
			}
		})
	}
	wg.Wait()
}

func saveProfile(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", res.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, res.Body); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// accountKeys reads the testnet's funded account keys.
func accountKeys(tn *testnet.Testnet, n int) ([]*crypto.Ed25519Signer, error) {
	keys := make([]*crypto.Ed25519Signer, n)
	for j := range keys {
		k, err := tn.AccountKey(j)
		if err != nil {
			return nil, err
		}
		keys[j] = k
	}
	return keys, nil
}

// transferSigner signs account a's transfer of 1 unit to account a+1 with
// the given nonce: every account both sends and receives, and the total
// supply never moves.
func transferSigner(chainID string, keys []*crypto.Ed25519Signer) bench.SignFunc {
	addrs := make([]crypto.Address, len(keys))
	for i, k := range keys {
		addrs[i] = k.Address()
	}
	return func(a int, nonce uint64) (bench.Tx, error) {
		if a < 0 || a >= len(keys) {
			return bench.Tx{}, fmt.Errorf("account %d out of range", a)
		}
		enc := ledger.NewTransfer(keys[a], chainID, addrs[(a+1)%len(addrs)], 1, nonce).Encode()
		return bench.Tx{Hex: hex.EncodeToString(enc), Hash: ledger.TxHash(enc)}, nil
	}
}

// receiptVerifier checks a node's receipt signature the way a client does.
func receiptVerifier(chainID string) bench.ReceiptVerifier {
	return func(r *bench.Receipt, pub, sig []byte) error {
		h, err := crypto.ParseHash(r.TxHash)
		if err != nil {
			return err
		}
		lr := ledger.Receipt{TxHash: h, Height: r.Height, Index: r.Index, Code: r.Code, Message: r.Message}
		if !crypto.Verify(pub, ledger.ReceiptSignBytes(chainID, &lr), sig) {
			return crypto.ErrBadSignature
		}
		return nil
	}
}

// benchNodes lists the testnet's nodes with their API URL, pid and key.
func benchNodes(tn *testnet.Testnet) ([]bench.Node, error) {
	var nodes []bench.Node
	for i, nm := range tn.Meta.Nodes {
		pub, err := hex.DecodeString(tn.Genesis.Validators[i].PublicKey)
		if err != nil {
			return nil, fmt.Errorf("genesis validator %d key: %w", i, err)
		}
		pid := 0
		if b, err := os.ReadFile(filepath.Join(tn.Dir, nm.Home, testnet.PIDFile)); err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		nodes = append(nodes, bench.Node{Index: nm.Index, Name: nm.Name, URL: nm.APIURL, PID: max(pid, 0), PublicKey: pub})
	}
	return nodes, nil
}

// waitLeader waits (at most leaderWait) until every node knows a leader
// (Raft elects one after start; PBFT's view 0 primary is known at once), so
// the warm-up measures load rather than the first election.
func waitLeader(ctx context.Context, tn *testnet.Testnet) error {
	const leaderWait = 20 * time.Second
	deadline := time.Now().Add(leaderWait)
	for {
		ready := true
		for _, st := range tn.Status(ctx) {
			if st.Node == nil || st.Node.Leader < 0 {
				ready = false
			}
		}
		if ready {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no leader known to every node after %v", leaderWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// isCharDevice reports whether w is a character device (a terminal), so a
// progress line can be redrawn in place.
func isCharDevice(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
