package testnet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/bftledger/bftledger/ledger"
)

// File names inside a testnet directory.
const (
	MetaFile    = "testnet.json"
	GenesisFile = "genesis.json"
	AccountsDir = "accounts"
	// Inside each node home.
	ConfigFile  = "config.toml"
	NodeKeyFile = "node_key.json"
	LogFile     = "node.log"
	PIDFile     = "node.pid"
)

// metaVersion is the testnet.json format version.
const metaVersion = 1

// Meta is testnet.json: what the launcher needs to run the network. Paths
// are relative to the testnet directory.
type Meta struct {
	Version   int        `json:"version"`
	ChainID   string     `json:"chain_id"`
	Consensus string     `json:"consensus"`
	Backend   string     `json:"backend"`
	BasePort  int        `json:"base_port"` // 0: ports were picked free, see Nodes
	Binary    string     `json:"binary"`    // the bftledger binary last used to start nodes
	Nodes     []NodeMeta `json:"nodes"`
	Accounts  []string   `json:"accounts"` // key files, e.g. accounts/account0.json
}

// NodeMeta is one node of a testnet.
type NodeMeta struct {
	Index     int    `json:"index"`
	Name      string `json:"name"`      // node<i>
	Home      string `json:"home"`      // node<i>
	P2PAddr   string `json:"p2p_addr"`  // libp2p multiaddr
	APIURL    string `json:"api_url"`   // http://127.0.0.1:PORT
	Byzantine string `json:"byzantine"` // behaviour name, "" if honest
}

// ParseMeta decodes testnet.json strictly (unknown fields, trailing data
// and inconsistent entries are errors).
func ParseMeta(b []byte) (*Meta, error) {
	if len(b) > metaBytesMax {
		return nil, fmt.Errorf("%w: %s larger than %d bytes", ErrNoTestnet, MetaFile, metaBytesMax)
	}
	var m Meta
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoTestnet, MetaFile, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: %s: trailing data", ErrNoTestnet, MetaFile)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoTestnet, MetaFile, err)
	}
	return &m, nil
}

func (m *Meta) validate() error {
	if m.Version != metaVersion {
		return fmt.Errorf("version %d, want %d", m.Version, metaVersion)
	}
	if err := ledger.ValidateChainID(m.ChainID); err != nil {
		return err
	}
	if m.Consensus != "pbft" && m.Consensus != "raft" {
		return fmt.Errorf("consensus %q, want pbft or raft", m.Consensus)
	}
	if len(m.Nodes) == 0 || len(m.Nodes) > MaxNodes {
		return fmt.Errorf("%d nodes, want 1..%d", len(m.Nodes), MaxNodes)
	}
	for i, n := range m.Nodes {
		if n.Index != i {
			return fmt.Errorf("node %d has index %d", i, n.Index)
		}
		if err := relPath(n.Home); err != nil {
			return fmt.Errorf("node %d home: %w", i, err)
		}
		if !strings.HasPrefix(n.APIURL, "http://") && !strings.HasPrefix(n.APIURL, "https://") {
			return fmt.Errorf("node %d api_url %q: want an http URL", i, n.APIURL)
		}
	}
	if len(m.Accounts) > MaxAccounts {
		return fmt.Errorf("%d accounts, at most %d", len(m.Accounts), MaxAccounts)
	}
	for j, a := range m.Accounts {
		if err := relPath(a); err != nil {
			return fmt.Errorf("account %d: %w", j, err)
		}
	}
	return nil
}

// relPath checks that p stays inside the testnet directory.
func relPath(p string) error {
	if p == "" || filepath.IsAbs(p) || !filepath.IsLocal(p) {
		return fmt.Errorf("path %q must be relative and inside the testnet directory", p)
	}
	return nil
}

// writeMeta writes m to dir/testnet.json through a temporary file.
func writeMeta(dir string, m *Meta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("testnet: encode %s: %w", MetaFile, err)
	}
	return writeFileAtomic(filepath.Join(dir, MetaFile), append(b, '\n'), 0o644)
}

// readMeta reads dir/testnet.json.
func readMeta(dir string) (*Meta, error) {
	b, err := readFileLimited(filepath.Join(dir, MetaFile), metaBytesMax)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("%w in %s (no %s; run `bftledger testnet init --dir %s` first)", ErrNoTestnet, dir, MetaFile, dir)
		}
		return nil, fmt.Errorf("testnet: %w", err)
	}
	return ParseMeta(b)
}

// writeFileAtomic writes b to a temporary file beside path, syncs it and
// renames it over path.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("testnet: write %s: %w", path, err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("testnet: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("testnet: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	return nil
}

// readFileLimited reads at most maxBytes of path, failing if it is larger.
func readFileLimited(path string, maxBytes int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, 0, 512)
	buf := bytes.NewBuffer(b)
	n, err := buf.ReadFrom(io.LimitReader(f, maxBytes+1))
	if err != nil {
		return nil, err
	}
	if n > maxBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxBytes)
	}
	return buf.Bytes(), nil
}
