package ledger

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/bits"
	"net/url"
	"os"

	"github.com/multiformats/go-multiaddr"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/internal/wire"
)

// Genesis fixes a network: its chain id, consensus mode, validator set,
// initial balances (and with them the total supply, forever) and the
// consensus parameters every replica must agree on. It is read from
// genesis.json; the JSON names below are that file's.
type Genesis struct {
	ChainID    string             `json:"chain_id"`   // [A-Za-z0-9._-], 1..ChainIDBytesMax bytes
	Consensus  string             `json:"consensus"`  // engine.ModePBFT or engine.ModeRaft
	Validators []GenesisValidator `json:"validators"` // index i is validator i everywhere
	Accounts   []GenesisAccount   `json:"accounts"`   // funded accounts, distinct addresses
	Params     Params             `json:"params"`     // zero fields take DefaultParams on parse
}

// GenesisValidator is one replica of the network.
type GenesisValidator struct {
	Name      string `json:"name"`       // unique, e.g. "node0"
	PublicKey string `json:"public_key"` // hex Ed25519 public key, 32 bytes
	P2PAddr   string `json:"p2p_addr"`   // libp2p multiaddr, e.g. /ip4/127.0.0.1/tcp/26600
	APIAddr   string `json:"api_addr"`   // HTTP base URL, e.g. http://127.0.0.1:26610
}

// GenesisAccount is an account funded at genesis.
type GenesisAccount struct {
	Address crypto.Address `json:"address"` // hex, 20 bytes
	Balance uint64         `json:"balance"` // > 0
}

// Params are the consensus parameters every replica must agree on.
type Params struct {
	// CheckpointInterval is PBFT's K: a checkpoint every K sequence numbers.
	CheckpointInterval uint64 `json:"checkpoint_interval"`
	// WindowSize is PBFT's L = H - h, a positive multiple of K.
	WindowSize uint64 `json:"window_size"`
	// MaxBatchTxs bounds the txs of one batch (and so one block).
	MaxBatchTxs int `json:"max_batch_txs"`
	// MaxBatchBytes bounds the summed encoded txs of one batch.
	MaxBatchBytes int `json:"max_batch_bytes"`
	// SnapshotInterval is Raft's: snapshot and compact every N entries.
	SnapshotInterval uint64 `json:"snapshot_interval"`
}

// Parameter defaults (DefaultParams).
const (
	DefaultCheckpointInterval = 128
	DefaultWindowSize         = 2 * DefaultCheckpointInterval
	DefaultMaxBatchTxs        = 1024
	DefaultMaxBatchBytes      = DefaultMaxBatchTxs * TxBytesMax
	DefaultSnapshotInterval   = 1024
)

// DefaultParams returns the parameters a genesis gets for fields it leaves
// zero.
func DefaultParams() Params {
	return Params{
		CheckpointInterval: DefaultCheckpointInterval,
		WindowSize:         DefaultWindowSize,
		MaxBatchTxs:        DefaultMaxBatchTxs,
		MaxBatchBytes:      DefaultMaxBatchBytes,
		SnapshotInterval:   DefaultSnapshotInterval,
	}
}

// SetDefaults fills each zero field with its DefaultParams value.
func (p *Params) SetDefaults() {
	d := DefaultParams()
	if p.CheckpointInterval == 0 {
		p.CheckpointInterval = d.CheckpointInterval
	}
	if p.WindowSize == 0 {
		p.WindowSize = d.WindowSize
	}
	if p.MaxBatchTxs == 0 {
		p.MaxBatchTxs = d.MaxBatchTxs
	}
	if p.MaxBatchBytes == 0 {
		p.MaxBatchBytes = d.MaxBatchBytes
	}
	if p.SnapshotInterval == 0 {
		p.SnapshotInterval = d.SnapshotInterval
	}
}

// Validate checks every parameter against both its bounds.
func (p *Params) Validate() error {
	switch {
	case p.CheckpointInterval < 1 || p.CheckpointInterval > CheckpointIntervalMax:
		return fmt.Errorf("checkpoint_interval %d outside [1, %d]", p.CheckpointInterval, CheckpointIntervalMax)
	case p.WindowSize < p.CheckpointInterval || p.WindowSize > WindowSizeMax:
		return fmt.Errorf("window_size %d outside [checkpoint_interval %d, %d]", p.WindowSize, p.CheckpointInterval, WindowSizeMax)
	case p.WindowSize%p.CheckpointInterval != 0:
		return fmt.Errorf("window_size %d is not a multiple of checkpoint_interval %d", p.WindowSize, p.CheckpointInterval)
	case p.MaxBatchTxs < 1 || p.MaxBatchTxs > BlockTxsMax:
		return fmt.Errorf("max_batch_txs %d outside [1, %d]", p.MaxBatchTxs, BlockTxsMax)
	case p.MaxBatchBytes < TxBytesMax || p.MaxBatchBytes > BatchBytesMax:
		return fmt.Errorf("max_batch_bytes %d outside [%d, %d]", p.MaxBatchBytes, TxBytesMax, BatchBytesMax)
	case p.SnapshotInterval < 1 || p.SnapshotInterval > SnapshotIntervalMax:
		return fmt.Errorf("snapshot_interval %d outside [1, %d]", p.SnapshotInterval, SnapshotIntervalMax)
	}
	return nil
}

// ParseGenesis parses genesis JSON strictly (unknown fields, trailing data
// and input over GenesisBytesMax are errors), fills zero Params with their
// defaults, then validates. Errors wrap ErrBadGenesis.
func ParseGenesis(b []byte) (*Genesis, error) {
	if len(b) > GenesisBytesMax {
		return nil, fmt.Errorf("%w: %d bytes > %d", ErrBadGenesis, len(b), GenesisBytesMax)
	}
	var g Genesis
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadGenesis, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrBadGenesis)
	}
	g.Params.SetDefaults()
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return &g, nil
}

// LoadGenesis reads and parses the genesis file at path.
func LoadGenesis(path string) (*Genesis, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadGenesis, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, GenesisBytesMax+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadGenesis, path, err)
	}
	g, err := ParseGenesis(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// Validate checks the genesis and says what is wrong: the chain id, the
// mode, each validator (name, key, addresses; no two alike), each account
// (no duplicates, positive balances), a total supply that fits in a uint64,
// and the parameters. Errors wrap ErrBadGenesis.
func (g *Genesis) Validate() error {
	if err := g.validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadGenesis, err)
	}
	return nil
}

func (g *Genesis) validate() error {
	if err := ValidateChainID(g.ChainID); err != nil {
		return err
	}
	if g.Consensus != engine.ModePBFT && g.Consensus != engine.ModeRaft {
		return fmt.Errorf("consensus %q: want %q or %q", g.Consensus, engine.ModePBFT, engine.ModeRaft)
	}
	if err := g.validateValidators(); err != nil {
		return err
	}
	if len(g.Accounts) > GenesisAccountsMax {
		return fmt.Errorf("%d accounts > %d", len(g.Accounts), GenesisAccountsMax)
	}
	seen := make(map[crypto.Address]int, len(g.Accounts))
	var supply uint64
	for i, a := range g.Accounts {
		if j, dup := seen[a.Address]; dup {
			return fmt.Errorf("accounts[%d]: address %s repeats accounts[%d]", i, a.Address, j)
		}
		seen[a.Address] = i
		if a.Balance == 0 {
			return fmt.Errorf("accounts[%d] (%s): balance must be > 0", i, a.Address)
		}
		var carry uint64
		supply, carry = bits.Add64(supply, a.Balance, 0)
		if carry != 0 {
			return fmt.Errorf("accounts[%d] (%s): total supply overflows a uint64", i, a.Address)
		}
	}
	if err := g.Params.Validate(); err != nil {
		return fmt.Errorf("params: %w", err)
	}
	return nil
}

func (g *Genesis) validateValidators() error {
	if len(g.Validators) == 0 {
		return fmt.Errorf("no validators")
	}
	if len(g.Validators) > ValidatorsMax {
		return fmt.Errorf("%d validators > %d", len(g.Validators), ValidatorsMax)
	}
	seen := make(map[string]int, 4*len(g.Validators))
	unique := func(i int, kind, v string) error {
		if j, dup := seen[kind+"\x00"+v]; dup {
			return fmt.Errorf("validators[%d]: %s %q repeats validators[%d]", i, kind, v, j)
		}
		seen[kind+"\x00"+v] = i
		return nil
	}
	for i, v := range g.Validators {
		if err := v.validate(); err != nil {
			return fmt.Errorf("validators[%d] (%q): %w", i, v.Name, err)
		}
		key, _ := hex.DecodeString(v.PublicKey)
		for _, kv := range [][2]string{{"name", v.Name}, {"public_key", string(key)}, {"p2p_addr", v.P2PAddr}, {"api_addr", v.APIAddr}} {
			if err := unique(i, kv[0], kv[1]); err != nil {
				if kv[0] == "public_key" {
					return fmt.Errorf("validators[%d]: public_key %s repeats validators[%d]", i, v.PublicKey, seen[kv[0]+"\x00"+kv[1]])
				}
				return err
			}
		}
	}
	return nil
}

func (v *GenesisValidator) validate() error {
	if v.Name == "" || len(v.Name) > ValidatorNameBytesMax || !isPlainName(v.Name) {
		return fmt.Errorf("name must be 1..%d characters of [A-Za-z0-9._-]", ValidatorNameBytesMax)
	}
	key, err := hex.DecodeString(v.PublicKey)
	if err != nil || len(key) != crypto.PublicKeySize {
		return fmt.Errorf("public_key must be %d hex characters", 2*crypto.PublicKeySize)
	}
	if len(v.P2PAddr) > AddrBytesMax {
		return fmt.Errorf("p2p_addr longer than %d bytes", AddrBytesMax)
	}
	if _, err := multiaddr.NewMultiaddr(v.P2PAddr); err != nil {
		return fmt.Errorf("p2p_addr %q is not a multiaddr: %w", v.P2PAddr, err)
	}
	if len(v.APIAddr) > AddrBytesMax {
		return fmt.Errorf("api_addr longer than %d bytes", AddrBytesMax)
	}
	u, err := url.Parse(v.APIAddr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("api_addr %q: want an http(s) base URL such as http://127.0.0.1:26610", v.APIAddr)
	}
	return nil
}

// ValidateChainID checks a chain id: 1..ChainIDBytesMax characters of
// [A-Za-z0-9._-].
func ValidateChainID(id string) error {
	if id == "" {
		return fmt.Errorf("chain_id is empty")
	}
	if len(id) > ChainIDBytesMax || !isPlainName(id) {
		return fmt.Errorf("chain_id %q: want 1..%d characters of [A-Za-z0-9._-]", id, ChainIDBytesMax)
	}
	return nil
}

func isPlainName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// ValidatorKeys returns the validators' public keys in index order. It
// assumes a validated genesis; an undecodable key yields nil in its slot.
func (g *Genesis) ValidatorKeys() [][]byte {
	keys := make([][]byte, len(g.Validators))
	for i, v := range g.Validators {
		k, err := hex.DecodeString(v.PublicKey)
		if err == nil && len(k) == crypto.PublicKeySize {
			keys[i] = k
		}
	}
	return keys
}

// ValidatorIndex returns the index of the validator with public key pub, or
// -1.
func (g *Genesis) ValidatorIndex(pub []byte) int {
	for i, k := range g.ValidatorKeys() {
		if k != nil && bytes.Equal(k, pub) {
			return i
		}
	}
	return -1
}

// TotalSupply returns the sum of the genesis balances, which no tx ever
// changes. It saturates at the maximum uint64 for a genesis that fails
// Validate.
func (g *Genesis) TotalSupply() uint64 {
	var s uint64
	for _, a := range g.Accounts {
		var carry uint64
		if s, carry = bits.Add64(s, a.Balance, 0); carry != 0 {
			return ^uint64(0)
		}
	}
	return s
}

// genesisHashDomain separates genesis hashes from other SHA-256 uses.
const genesisHashDomain = "bftledger/genesis/v1"

// Hash returns the genesis hash: SHA-256 over a domain label and a
// canonical binary encoding of every field (keys as bytes, so hex case does
// not matter; validators and accounts in file order). JSON whitespace and
// field order do not change it. It is the PrevHash of block 1, and a store
// refuses to reopen under a genesis with another hash.
func (g *Genesis) Hash() crypto.Hash {
	e := wire.NewEncoder(256 + 128*len(g.Validators) + 32*len(g.Accounts))
	e.String(genesisHashDomain)
	e.String(g.ChainID)
	e.String(g.Consensus)
	e.Count(len(g.Validators))
	for _, v := range g.Validators {
		e.String(v.Name)
		key, err := hex.DecodeString(v.PublicKey)
		if err != nil {
			key = []byte(v.PublicKey)
		}
		e.VarBytes(key)
		e.String(v.P2PAddr)
		e.String(v.APIAddr)
	}
	e.Count(len(g.Accounts))
	for _, a := range g.Accounts {
		e.Fixed(a.Address[:])
		e.Uint64(a.Balance)
	}
	p := g.Params
	e.Uint64(p.CheckpointInterval)
	e.Uint64(p.WindowSize)
	e.Uint64(uint64(p.MaxBatchTxs))
	e.Uint64(uint64(p.MaxBatchBytes))
	e.Uint64(p.SnapshotInterval)
	return crypto.Sum(e.Bytes())
}

// Encode returns the genesis as indented JSON with a trailing newline, the
// form genesis.json is written in.
func (g *Genesis) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("ledger: encode genesis: %w", err)
	}
	return append(b, '\n'), nil
}
