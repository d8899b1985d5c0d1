package ledger

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestGenesisRoundTrip(t *testing.T) {
	g := testGenesis(t, 3, 50)
	b, err := g.Encode()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "genesis.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadGenesis(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, g) || got.Hash() != g.Hash() {
		t.Fatalf("round trip changed the genesis")
	}
	if got.TotalSupply() != 150 || len(got.ValidatorKeys()) != 4 || got.ValidatorIndex(got.ValidatorKeys()[2]) != 2 {
		t.Fatal("derived values wrong")
	}
	for _, name := range []string{"chain_id", "consensus", "validators", "accounts", "params", "public_key",
		"p2p_addr", "api_addr", "address", "balance", "checkpoint_interval", "window_size",
		"max_batch_txs", "max_batch_bytes", "snapshot_interval"} {
		if !strings.Contains(string(b), `"`+name+`"`) {
			t.Errorf("encoded genesis lacks %q", name)
		}
	}
}

func TestParseGenesisDefaultsAndHash(t *testing.T) {
	g := testGenesis(t, 1, 1)
	g.Params = Params{}
	b, _ := g.Encode()
	parsed, err := ParseGenesis(b)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Params != DefaultParams() {
		t.Fatalf("params %+v, want defaults", parsed.Params)
	}
	// Whitespace and hex case do not change the hash.
	compact := strings.Join(strings.Fields(string(b)), "")
	compact = strings.Replace(compact, g.Validators[0].PublicKey, strings.ToUpper(g.Validators[0].PublicKey), 1)
	again, err := ParseGenesis([]byte(compact))
	if err != nil {
		t.Fatal(err)
	}
	if again.Hash() != parsed.Hash() {
		t.Fatal("formatting changed the genesis hash")
	}
	other := *parsed
	other.ChainID = "x"
	if other.Hash() == parsed.Hash() {
		t.Fatal("hash ignores the chain id")
	}
}

func TestParseGenesisRejects(t *testing.T) {
	base := testGenesis(t, 2, 10)
	cases := []struct {
		name   string
		mutate func(g *Genesis)
		want   string
	}{
		{"empty chain id", func(g *Genesis) { g.ChainID = "" }, "chain_id is empty"},
		{"chain id chars", func(g *Genesis) { g.ChainID = "a b" }, "chain_id"},
		{"chain id long", func(g *Genesis) { g.ChainID = strings.Repeat("a", ChainIDBytesMax+1) }, "chain_id"},
		{"mode", func(g *Genesis) { g.Consensus = "paxos" }, "consensus"},
		{"no validators", func(g *Genesis) { g.Validators = nil }, "no validators"},
		{"dup validator name", func(g *Genesis) { g.Validators[1].Name = g.Validators[0].Name }, "name"},
		{"dup validator key", func(g *Genesis) { g.Validators[1].PublicKey = g.Validators[0].PublicKey }, "public_key"},
		{"dup key other case", func(g *Genesis) { g.Validators[1].PublicKey = strings.ToUpper(g.Validators[0].PublicKey) }, "repeats"},
		{"dup p2p addr", func(g *Genesis) { g.Validators[1].P2PAddr = g.Validators[0].P2PAddr }, "p2p_addr"},
		{"dup api addr", func(g *Genesis) { g.Validators[1].APIAddr = g.Validators[0].APIAddr }, "api_addr"},
		{"short key", func(g *Genesis) { g.Validators[0].PublicKey = "abcd" }, "public_key"},
		{"bad multiaddr", func(g *Genesis) { g.Validators[0].P2PAddr = "127.0.0.1:1" }, "multiaddr"},
		{"bad api url", func(g *Genesis) { g.Validators[0].APIAddr = "127.0.0.1:1" }, "api_addr"},
		{"empty name", func(g *Genesis) { g.Validators[0].Name = "" }, "name"},
		{"dup account", func(g *Genesis) { g.Accounts[1].Address = g.Accounts[0].Address }, "repeats"},
		{"zero balance", func(g *Genesis) { g.Accounts[0].Balance = 0 }, "balance"},
		{"supply overflow", func(g *Genesis) { g.Accounts[0].Balance = math.MaxUint64 }, "overflows"},
		{"window not multiple", func(g *Genesis) { g.Params.WindowSize = g.Params.CheckpointInterval + 1 }, "multiple"},
		{"window below K", func(g *Genesis) { g.Params.WindowSize = 64; g.Params.CheckpointInterval = 128 }, "window_size"},
		{"batch txs high", func(g *Genesis) { g.Params.MaxBatchTxs = BlockTxsMax + 1 }, "max_batch_txs"},
		{"batch txs negative", func(g *Genesis) { g.Params.MaxBatchTxs = -1 }, "max_batch_txs"},
		{"batch bytes low", func(g *Genesis) { g.Params.MaxBatchBytes = 10 }, "max_batch_bytes"},
		{"checkpoint high", func(g *Genesis) { g.Params.CheckpointInterval = CheckpointIntervalMax + 1 }, "checkpoint_interval"},
		{"snapshot high", func(g *Genesis) { g.Params.SnapshotInterval = SnapshotIntervalMax + 1 }, "snapshot_interval"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := base.Encode()
			g, _ := ParseGenesis(b) // a deep copy
			tc.mutate(g)
			err := g.Validate()
			if !errors.Is(err, ErrBadGenesis) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one mentioning %q", err, tc.want)
			}
			b, _ = g.Encode()
			if _, err := ParseGenesis(b); !errors.Is(err, ErrBadGenesis) {
				t.Fatalf("ParseGenesis accepted it: %v", err)
			}
		})
	}
	for name, text := range map[string]string{
		"unknown field": `{"chain_id":"c","consensus":"pbft","extra":1}`,
		"trailing":      `{"chain_id":"c"} {}`,
		"not json":      `chain_id = "c"`,
		"bad address":   `{"accounts":[{"address":"zz","balance":1}]}`,
		"negative":      `{"accounts":[{"balance":-1}]}`,
	} {
		if _, err := ParseGenesis([]byte(text)); !errors.Is(err, ErrBadGenesis) {
			t.Errorf("%s: err %v", name, err)
		}
	}
	if _, err := LoadGenesis(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, ErrBadGenesis) {
		t.Errorf("missing file: %v", err)
	}
}
