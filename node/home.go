package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/ledger"
)

// Names of the files and directories in a node's home.
const (
	ConfigFile  = "config.toml"
	GenesisFile = "genesis.json"
	KeyFile     = "node_key.json"
	DataDir     = "data"
)

// ErrNotValidator: the node's key is not among the genesis validators.
var ErrNotValidator = errors.New("node: key is not a genesis validator")

// Home is a node's loaded home directory.
type Home struct {
	// Dir is the home directory.
	Dir string
	// Config is DIR/config.toml, validated.
	Config *Config
	// Genesis is DIR/genesis.json, validated.
	Genesis *ledger.Genesis
	// Key is the validator key from DIR/node_key.json.
	Key *crypto.Ed25519Signer
	// Index is the key's position among the genesis validators.
	Index int
}

// LoadHome reads and checks the config, genesis and key of the home
// directory dir. Each error names the file at fault.
func LoadHome(dir string) (*Home, error) {
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("node: home %s: %w", dir, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("node: home %s: not a directory", dir)
	}
	cfg, err := LoadConfig(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, err
	}
	gpath := filepath.Join(dir, GenesisFile)
	g, err := ledger.LoadGenesis(gpath)
	if err != nil {
		return nil, fmt.Errorf("node: genesis %s: %w", gpath, err)
	}
	kpath := filepath.Join(dir, KeyFile)
	key, err := crypto.ReadKeyFile(kpath)
	if err != nil {
		return nil, fmt.Errorf("node: key file %s: %w", kpath, err)
	}
	index := g.ValidatorIndex(key.PublicKey())
	if index < 0 {
		return nil, fmt.Errorf("%w: key %s (in %s) is not in %s",
			ErrNotValidator, crypto.AddressOf(key.PublicKey()), kpath, gpath)
	}
	return &Home{Dir: dir, Config: cfg, Genesis: g, Key: key, Index: index}, nil
}
