package client

import (
	"fmt"
	"path/filepath"

	"github.com/bftledger/bftledger/ledger"
)

// GenesisFile is the name of the genesis file in a testnet directory (and in
// every node home).
const GenesisFile = "genesis.json"

// FromGenesis returns a client for the network g describes. The node URLs
// are the validators' api_addr unless nodes is non-empty. opts' ChainID,
// Mode and Validators are taken from g.
func FromGenesis(g *ledger.Genesis, nodes []string, opts Options) (*Client, error) {
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("%w: genesis: %w", ErrConfig, err)
	}
	if len(nodes) == 0 {
		for _, v := range g.Validators {
			nodes = append(nodes, v.APIAddr)
		}
	}
	opts.ChainID = g.ChainID
	opts.Mode = g.Consensus
	opts.Validators = g.ValidatorKeys()
	return New(nodes, opts)
}

// FromTestnet returns a client for the testnet in dir (made by `bftledger
// testnet init`): it reads dir/genesis.json for the node URLs, the chain
// id, the consensus mode and the validator keys.
func FromTestnet(dir string) (*Client, error) {
	return FromGenesisFile(filepath.Join(dir, GenesisFile), nil, Options{})
}

// FromGenesisFile is FromGenesis with the genesis read from path.
func FromGenesisFile(path string, nodes []string, opts Options) (*Client, error) {
	g, err := ledger.LoadGenesis(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return FromGenesis(g, nodes, opts)
}
