package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/bftledger/bftledger/testnet"
)

func newTestnetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "testnet",
		Short: "Run a local testnet of node processes on 127.0.0.1",
		Long: `Make, run and break a local network of bftledger nodes on 127.0.0.1.

  testnet up                      init (if needed) ./` + defaultTestnetDir + `, start it, watch it; Ctrl-C stops it
  testnet init --dir DIR ...      keys, genesis and node homes
  testnet start|stop|status --dir DIR
  testnet kill|pause|resume|restart|isolate|heal --dir DIR --node I

Node i listens for peers on BASE+2i and serves its API on BASE+2i+1
(default base port 26600). Each node logs to DIR/node<i>/node.log.`,
	}
	cmd.AddCommand(newTestnetInitCmd(), newTestnetStartCmd(), newTestnetStopCmd(), newTestnetStatusCmd(), newTestnetUpCmd())
	for _, f := range faultCommands {
		cmd.AddCommand(newTestnetFaultCmd(f))
	}
	return cmd
}

// initFlags are the flags of `testnet init` (and the subset `up` takes).
type initFlags struct {
	dir       string
	nodes     int
	consensus string
	accounts  int
	basePort  int
	byzantine []string
	backend   string
}

func (f *initFlags) options() (testnet.Options, error) {
	opts := testnet.Options{Dir: f.dir, Nodes: f.nodes, Consensus: f.consensus, Accounts: f.accounts,
		BasePort: f.basePort, Backend: f.backend, Logger: launcherLogger()}
	if f.basePort == 0 {
		return opts, fmt.Errorf("--base-port must be %d..65535", 1024)
	}
	for _, b := range f.byzantine {
		idx, name, ok := strings.Cut(b, "=")
		i, err := strconv.Atoi(idx)
		if !ok || err != nil || name == "" {
			return opts, fmt.Errorf("--byzantine %q: want INDEX=BEHAVIOUR, e.g. 0=equivocate", b)
		}
		if opts.Byzantine == nil {
			opts.Byzantine = make(map[int]string)
		}
		if _, dup := opts.Byzantine[i]; dup {
			return opts, fmt.Errorf("--byzantine: node %d named twice", i)
		}
		opts.Byzantine[i] = name
	}
	bin, err := os.Executable()
	if err != nil {
		return opts, fmt.Errorf("find this binary: %w", err)
	}
	opts.Binary = bin
	return opts, nil
}

func launcherLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func newTestnetInitCmd() *cobra.Command {
	var f initFlags
	cmd := &cobra.Command{
		Use:   "init --dir DIR --nodes N --consensus pbft|raft",
		Short: "Create a testnet: keys, genesis, node homes and funded accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.dir == "" {
				return fmt.Errorf("--dir is required")
			}
			opts, err := f.options()
			if err != nil {
				return err
			}
			tn, err := testnet.Init(opts)
			if err != nil {
				return err
			}
			printInitSummary(cmd.OutOrStdout(), tn)
			return nil
		},
	}
	f.register(cmd, true)
	return cmd
}

func (f *initFlags) register(cmd *cobra.Command, full bool) {
	cmd.Flags().StringVar(&f.dir, "dir", "", "testnet directory (must not exist or be empty)")
	cmd.Flags().IntVar(&f.nodes, "nodes", 4, "number of validators")
	cmd.Flags().StringVar(&f.consensus, "consensus", "pbft", "consensus engine: pbft or raft")
	cmd.Flags().IntVar(&f.accounts, "accounts", 10, "number of funded accounts (key files in DIR/accounts/)")
	cmd.Flags().IntVar(&f.basePort, "base-port", testnet.DefaultBasePort, "node i uses BASE+2i (p2p) and BASE+2i+1 (API)")
	cmd.Flags().StringVar(&f.backend, "backend", "goleveldb", "storage backend: goleveldb or pebble")
	if full {
		cmd.Flags().StringArrayVar(&f.byzantine, "byzantine", nil, "INDEX=BEHAVIOUR: run a pbft/byzantine behaviour on that node (repeatable; unsafe, testnets only)")
	}
}

func printInitSummary(w io.Writer, tn *testnet.Testnet) {
	fmt.Fprintf(w, "testnet %s: %d %s nodes, chain id %s\n", tn.Dir, tn.N(), tn.Meta.Consensus, tn.Meta.ChainID)
	for _, n := range tn.Meta.Nodes {
		extra := ""
		if n.Byzantine != "" {
			extra = "  BYZANTINE: " + n.Byzantine
		}
		fmt.Fprintf(w, "  %-7s api %s  p2p %s%s\n", n.Name, n.APIURL, n.P2PAddr, extra)
	}
	if len(tn.Meta.Accounts) > 0 {
		fmt.Fprintf(w, "  %d funded accounts in %s/accounts/\n", len(tn.Meta.Accounts), tn.Dir)
	}
}

// loadTestnet opens DIR and points it at this binary.
func loadTestnet(dir string) (*testnet.Testnet, error) {
	if dir == "" {
		return nil, fmt.Errorf("--dir is required")
	}
	tn, err := testnet.Load(dir, launcherLogger())
	if err != nil {
		return nil, err
	}
	bin, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this binary: %w", err)
	}
	tn.Binary = bin
	return tn, nil
}

func newTestnetStartCmd() *cobra.Command {
	var (
		dir     string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "start --dir DIR",
		Short: "Start every node in the background; return once all serve /healthz",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tn, err := loadTestnet(dir)
			if err != nil {
				return err
			}
			tn.StartTimeout = timeout
			if err := tn.Start(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "started %d nodes; `bftledger testnet status --dir %s` to watch, `bftledger testnet stop --dir %s` to stop\n", tn.N(), dir, dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "testnet directory")
	cmd.Flags().DurationVar(&timeout, "timeout", testnet.DefaultStartTimeout, "how long to wait for the nodes to serve")
	return cmd
}

func newTestnetStopCmd() *cobra.Command {
	var (
		dir   string
		grace time.Duration
	)
	cmd := &cobra.Command{
		Use:   "stop --dir DIR",
		Short: "Stop every node (SIGTERM, then SIGKILL after a grace period)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tn, err := loadTestnet(dir)
			if err != nil {
				return err
			}
			tn.StopGrace = grace
			if err := tn.Stop(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "stopped\n")
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "testnet directory")
	cmd.Flags().DurationVar(&grace, "grace", testnet.DefaultStopGrace, "wait this long after SIGTERM before SIGKILL")
	return cmd
}

func newTestnetStatusCmd() *cobra.Command {
	var (
		dir    string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "status --dir DIR",
		Short: "One row per node: process, height, view/term, role, peers, app hash",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tn, err := loadTestnet(dir)
			if err != nil {
				return err
			}
			rows := tn.Status(cmd.Context())
			if asJSON {
				return printJSON(cmd.OutOrStdout(), rows)
			}
			return printTestnetStatus(cmd.OutOrStdout(), tn, rows)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "testnet directory")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printTestnetStatus(w io.Writer, tn *testnet.Testnet, rows []testnet.NodeStatus) error {
	round := "VIEW"
	if tn.Meta.Consensus == "raft" {
		round = "TERM"
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "NODE\tPID\tSTATE\tHEIGHT\t%s\tROLE\tLEADER\tPEERS\tPENDING\tAPP HASH\tNOTE\n", round)
	for _, r := range rows {
		pid := "-"
		if r.PID != 0 {
			pid = strconv.Itoa(r.PID)
		}
		state := "stopped"
		switch {
		case r.Paused:
			state = "paused"
		case r.Running && r.Node != nil:
			state = "running"
		case r.Running:
			state = "starting"
		}
		if s := r.Node; s != nil {
			note := ""
			if s.Byzantine != "" {
				note += "BYZANTINE(" + string(s.Byzantine) + ") "
			}
			if s.Isolated {
				note += "isolated "
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%d\t%d/%d\t%d\t%s\t%s\n", r.Name, pid, state, s.Height, s.Round(), s.Role,
				s.Leader, s.ConnectedPeers, tn.N()-1, s.PendingTxs, prefix(s.AppHash, 12), note)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t-\t-\t-\t-\t-\t-\t-\t%s\n", r.Name, pid, state, r.Error)
	}
	return tw.Flush()
}

// faultCommand is one `testnet <fault> --dir DIR --node I` command.
type faultCommand struct {
	name, short string
	run         func(ctx context.Context, tn *testnet.Testnet, i int) error
}

var faultCommands = []faultCommand{
	{"kill", "Crash node I (SIGKILL)", func(_ context.Context, tn *testnet.Testnet, i int) error { return tn.Kill(i) }},
	{"pause", "Freeze node I (SIGSTOP)", func(_ context.Context, tn *testnet.Testnet, i int) error { return tn.Pause(i) }},
	{"resume", "Continue a paused node I (SIGCONT)", func(_ context.Context, tn *testnet.Testnet, i int) error { return tn.Resume(i) }},
	{"restart", "Stop node I if running, start it, wait until it serves", func(ctx context.Context, tn *testnet.Testnet, i int) error { return tn.Restart(ctx, i) }},
	{"isolate", "Cut node I off from its peers (its API keeps serving)", func(ctx context.Context, tn *testnet.Testnet, i int) error { return tn.Isolate(ctx, i) }},
	{"heal", "Reconnect an isolated node I", func(ctx context.Context, tn *testnet.Testnet, i int) error { return tn.Heal(ctx, i) }},
}

func newTestnetFaultCmd(f faultCommand) *cobra.Command {
	var (
		dir  string
		node int
	)
	cmd := &cobra.Command{
		Use:   f.name + " --dir DIR --node I",
		Short: f.short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("node") {
				return fmt.Errorf("--node is required")
			}
			tn, err := loadTestnet(dir)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*testnet.DefaultStartTimeout)
			defer cancel()
			if err := f.run(ctx, tn, node); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s node%d: done\n", f.name, node)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "testnet directory")
	cmd.Flags().IntVar(&node, "node", 0, "node index")
	return cmd
}

func newTestnetUpCmd() *cobra.Command {
	var f initFlags
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Init (if needed) and start a testnet, show its status live; Ctrl-C stops it",
		Long: `Run a local network in one command. With no --dir it uses ./` + defaultTestnetDir + `,
creating it on first use (4 PBFT nodes, 10 funded accounts) and reusing it,
chain and all, afterwards; delete the directory to start afresh. The status
table refreshes every second until Ctrl-C, which stops every node cleanly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			tn, err := upTestnet(cmd, &f)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "starting %d nodes (logs in %s/node<i>/node.log)...\n", tn.N(), tn.Dir)
			startErr := tn.Start(ctx)
			if startErr == nil {
				watch(ctx, cmd.OutOrStdout(), tn)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "\nstopping...\n")
			if err := tn.Stop(); err != nil {
				return errors.Join(startErr, err)
			}
			if startErr != nil {
				return startErr
			}
			fmt.Fprintf(cmd.OutOrStdout(), "stopped; `bftledger testnet up --dir %s` continues this chain\n", tn.Dir)
			return nil
		},
	}
	f.register(cmd, false)
	cmd.Flags().Lookup("dir").Usage = "testnet directory (created if missing)"
	cmd.Flags().Lookup("dir").DefValue = defaultTestnetDir
	return cmd
}

// upTestnet loads the testnet in f.dir, or makes it. Flags that
// contradict an existing testnet are an error rather than ignored.
func upTestnet(cmd *cobra.Command, f *initFlags) (*testnet.Testnet, error) {
	w := cmd.OutOrStdout()
	if f.dir == "" {
		f.dir = defaultTestnetDir
	}
	tn, err := loadTestnet(f.dir)
	if err == nil {
		nodesDiffer := cmd.Flags().Changed("nodes") && f.nodes != tn.N()
		modeDiffers := cmd.Flags().Changed("consensus") && f.consensus != tn.Meta.Consensus
		if nodesDiffer || modeDiffers {
			return nil, fmt.Errorf("%s already holds a %d-node %s testnet; use another --dir, or delete it to start afresh", f.dir, tn.N(), tn.Meta.Consensus)
		}
		fmt.Fprintf(w, "using the existing testnet in %s (%d %s nodes)\n", f.dir, tn.N(), tn.Meta.Consensus)
		return tn, nil
	}
	if !errors.Is(err, testnet.ErrNoTestnet) {
		return nil, err
	}
	opts, err := f.options()
	if err != nil {
		return nil, err
	}
	tn, err = testnet.Init(opts)
	if err != nil {
		return nil, err
	}
	printInitSummary(w, tn)
	return tn, nil
}

// watch redraws the status table every second until ctx ends.
func watch(ctx context.Context, w io.Writer, tn *testnet.Testnet) {
	tty := isTerminal(w)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		rows := tn.Status(ctx)
		if ctx.Err() != nil {
			return
		}
		if tty {
			fmt.Fprint(w, "\033[H\033[2J")
		}
		fmt.Fprintf(w, "bftledger testnet %s — %d %s nodes, chain %s — %s\n\n", tn.Dir, tn.N(), tn.Meta.Consensus, tn.Meta.ChainID, time.Now().Format("15:04:05"))
		_ = printTestnetStatus(w, tn, rows)
		if len(tn.Meta.Accounts) > 1 {
			fmt.Fprintf(w, "\nsend a transfer from another terminal:\n  bftledger tx send --testnet %s --from %s/%s --to %s --amount 10\n",
				tn.Dir, tn.Dir, tn.Meta.Accounts[0], accountAddress(tn, 1))
		}
		fmt.Fprintf(w, "\nCtrl-C stops the testnet.\n")
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func accountAddress(tn *testnet.Testnet, j int) string {
	k, err := tn.AccountKey(j)
	if err != nil {
		return "ADDRESS"
	}
	return k.Address().String()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
