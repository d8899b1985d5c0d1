package testnet

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/ledger"
	"github.com/bftledger/bftledger/node"
	"github.com/bftledger/bftledger/pbft/byzantine"
)

// Options configure Init. Zero optional fields take the documented default.
type Options struct {
	// Dir is the testnet directory; it must not exist or be empty.
	Dir string
	// Nodes is the number of validators, 1..MaxNodes.
	Nodes int
	// Consensus is "pbft" (default) or "raft".
	Consensus string
	// Accounts is the number of funded accounts, 0..MaxAccounts.
	Accounts int
	// AccountBalance funds each account. Default DefaultAccountBalance.
	AccountBalance uint64
	// BasePort: node i uses BasePort+2i (p2p) and BasePort+2i+1 (API).
	// 0 picks free ports at random (what tests want); the CLI defaults to
	// DefaultBasePort.
	BasePort int
	// Byzantine maps node index to a pbft/byzantine behaviour name; those
	// nodes get `[unsafe] byzantine = NAME` in their config.
	Byzantine map[int]string
	// Backend is the storage backend, "goleveldb" (default) or "pebble".
	Backend string
	// ChainID defaults to "testnet-" and 8 random hex digits.
	ChainID string
	// Params overrides genesis parameters; zero fields take the ledger's
	// defaults.
	Params ledger.Params
	// Binary is the bftledger binary to run nodes with; it may be set or
	// changed later (Testnet.Binary).
	Binary string
	// Configure, if set, may adjust each node's config before it is
	// written (tests shorten timeouts with it). Its changes must keep the
	// config valid.
	Configure func(index int, cfg *node.Config)
	// Logger receives the launcher's logs; nil discards them.
	Logger *slog.Logger
}

func (o *Options) validate() error {
	if o.Dir == "" {
		return fmt.Errorf("%w: no directory", ErrOptions)
	}
	if o.Nodes < 1 || o.Nodes > MaxNodes {
		return fmt.Errorf("%w: %d nodes, want 1..%d", ErrOptions, o.Nodes, MaxNodes)
	}
	switch o.Consensus {
	case "":
		o.Consensus = "pbft"
	case "pbft", "raft":
	default:
		return fmt.Errorf("%w: consensus %q, want pbft or raft", ErrOptions, o.Consensus)
	}
	if o.Accounts < 0 || o.Accounts > MaxAccounts {
		return fmt.Errorf("%w: %d accounts, want 0..%d", ErrOptions, o.Accounts, MaxAccounts)
	}
	if o.AccountBalance == 0 {
		o.AccountBalance = DefaultAccountBalance
	}
	if o.Accounts > 0 && o.AccountBalance > ^uint64(0)/uint64(o.Accounts) {
		return fmt.Errorf("%w: %d accounts of %d overflow the total supply", ErrOptions, o.Accounts, o.AccountBalance)
	}
	if o.BasePort != 0 && (o.BasePort < minBasePort || o.BasePort+portsPerNode*o.Nodes-1 > maxPort) {
		return fmt.Errorf("%w: base port %d: want %d..%d for %d nodes (or 0 for free ports)",
			ErrOptions, o.BasePort, minBasePort, maxPort-portsPerNode*o.Nodes+1, o.Nodes)
	}
	for i, b := range o.Byzantine {
		if i < 0 || i >= o.Nodes {
			return fmt.Errorf("%w: byzantine node %d: want 0..%d", ErrOptions, i, o.Nodes-1)
		}
		if !slices.Contains(byzantine.Behaviours, b) {
			return fmt.Errorf("%w: byzantine node %d: behaviour %q, want one of %s", ErrOptions, i, b, strings.Join(byzantine.Behaviours, ", "))
		}
		if o.Consensus != "pbft" {
			return fmt.Errorf("%w: byzantine behaviours need pbft consensus", ErrOptions)
		}
	}
	switch o.Backend {
	case "":
		o.Backend = node.BackendGoLevelDB
	case node.BackendGoLevelDB, node.BackendPebble:
	default:
		return fmt.Errorf("%w: backend %q, want goleveldb or pebble", ErrOptions, o.Backend)
	}
	if o.ChainID == "" {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("testnet: %w", err)
		}
		o.ChainID = "testnet-" + hex.EncodeToString(b[:])
	}
	if err := ledger.ValidateChainID(o.ChainID); err != nil {
		return fmt.Errorf("%w: %w", ErrOptions, err)
	}
	return nil
}

// Init creates a testnet in opts.Dir (see the package doc for the layout)
// and returns it, stopped. It refuses a directory that has files in it
// (ErrNotEmpty), so an existing network is never overwritten.
func Init(opts Options) (*Testnet, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if err := prepareDir(opts.Dir); err != nil {
		return nil, err
	}
	ports, err := choosePorts(opts.BasePort, opts.Nodes)
	if err != nil {
		return nil, err
	}
	meta := &Meta{Version: metaVersion, ChainID: opts.ChainID, Consensus: opts.Consensus, Backend: opts.Backend,
		BasePort: opts.BasePort, Binary: opts.Binary}
	g := &ledger.Genesis{ChainID: opts.ChainID, Consensus: opts.Consensus, Params: opts.Params}
	g.Params.SetDefaults()
	for i := range opts.Nodes {
		nm, gv, err := initNode(opts, i, ports[2*i], ports[2*i+1])
		if err != nil {
			return nil, err
		}
		meta.Nodes = append(meta.Nodes, nm)
		g.Validators = append(g.Validators, gv)
	}
	accounts, err := initAccounts(opts)
	if err != nil {
		return nil, err
	}
	for j, a := range accounts {
		meta.Accounts = append(meta.Accounts, filepath.Join(AccountsDir, accountFile(j)))
		g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: a, Balance: opts.AccountBalance})
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("testnet: genesis: %w", err)
	}
	gb, err := g.Encode()
	if err != nil {
		return nil, fmt.Errorf("testnet: genesis: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(opts.Dir, GenesisFile), gb, 0o644); err != nil {
		return nil, err
	}
	for _, nm := range meta.Nodes {
		if err := writeFileAtomic(filepath.Join(opts.Dir, nm.Home, GenesisFile), gb, 0o644); err != nil {
			return nil, err
		}
	}
	if err := writeMeta(opts.Dir, meta); err != nil {
		return nil, err
	}
	return newTestnet(opts.Dir, meta, g, opts.Logger), nil
}

// prepareDir creates dir, or accepts it if it exists and is empty.
func prepareDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("testnet: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("testnet: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("%w: %s has %d entries (choose another --dir, or remove it to start afresh)", ErrNotEmpty, dir, len(entries))
	}
	return nil
}

// choosePorts returns 2n ports: p2p then API for each node.
func choosePorts(base, n int) ([]int, error) {
	ports := make([]int, portsPerNode*n)
	if base != 0 {
		for i := range ports {
			ports[i] = base + i
		}
		return ports, nil
	}
	// Hold every listener until all are chosen, so no port repeats.
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("testnet: pick a free port: %w", err)
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// nodeName returns node i's name and home directory name.
func nodeName(i int) string { return "node" + strconv.Itoa(i) }

func accountFile(j int) string { return "account" + strconv.Itoa(j) + ".json" }

// initNode writes node i's home: key and config.
func initNode(opts Options, i, p2pPort, apiPort int) (NodeMeta, ledger.GenesisValidator, error) {
	name := nodeName(i)
	home := filepath.Join(opts.Dir, name)
	if err := os.MkdirAll(home, 0o755); err != nil {
		return NodeMeta{}, ledger.GenesisValidator{}, fmt.Errorf("testnet: %w", err)
	}
	key, err := crypto.GenerateEd25519(rand.Reader)
	if err != nil {
		return NodeMeta{}, ledger.GenesisValidator{}, err
	}
	if err := crypto.WriteKeyFile(filepath.Join(home, NodeKeyFile), key); err != nil {
		return NodeMeta{}, ledger.GenesisValidator{}, err
	}
	p2pAddr := "/ip4/127.0.0.1/tcp/" + strconv.Itoa(p2pPort)
	apiAddr := "127.0.0.1:" + strconv.Itoa(apiPort)
	cfg := node.DefaultConfig()
	cfg.P2P.ListenAddr = p2pAddr
	cfg.API.ListenAddr = apiAddr
	cfg.Storage.Backend = opts.Backend
	cfg.Unsafe.EnableAdmin = true
	cfg.Unsafe.Byzantine = opts.Byzantine[i]
	if opts.Configure != nil {
		opts.Configure(i, cfg)
	}
	if err := cfg.Write(filepath.Join(home, ConfigFile)); err != nil {
		return NodeMeta{}, ledger.GenesisValidator{}, fmt.Errorf("testnet: %s config: %w", name, err)
	}
	nm := NodeMeta{Index: i, Name: name, Home: name, P2PAddr: p2pAddr, APIURL: "http://" + apiAddr, Byzantine: opts.Byzantine[i]}
	gv := ledger.GenesisValidator{Name: name, PublicKey: hex.EncodeToString(key.PublicKey()), P2PAddr: p2pAddr, APIAddr: nm.APIURL}
	return nm, gv, nil
}

// initAccounts writes the funded account key files and returns their
// addresses.
func initAccounts(opts Options) ([]crypto.Address, error) {
	if opts.Accounts == 0 {
		return nil, nil
	}
	dir := filepath.Join(opts.Dir, AccountsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	addrs := make([]crypto.Address, opts.Accounts)
	for j := range addrs {
		key, err := crypto.GenerateEd25519(rand.Reader)
		if err != nil {
			return nil, err
		}
		if err := crypto.WriteKeyFile(filepath.Join(dir, accountFile(j)), key); err != nil {
			return nil, err
		}
		addrs[j] = key.Address()
	}
	return addrs, nil
}
