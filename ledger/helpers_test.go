package ledger

import (
	"encoding/hex"
	"fmt"
	"testing"

	dbm "github.com/cometbft/cometbft-db"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
)

const testChain = "test-chain"

// testKey returns the deterministic key number i.
func testKey(t testing.TB, i int) *crypto.Ed25519Signer {
	t.Helper()
	seed := make([]byte, crypto.SeedSize)
	copy(seed, fmt.Sprintf("ledger-test-key-%d", i))
	s, err := crypto.Ed25519FromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testGenesis funds keys 0..accounts-1 with balance each and has four
// validators.
func testGenesis(t testing.TB, accounts int, balance uint64) *Genesis {
	t.Helper()
	g := &Genesis{ChainID: testChain, Consensus: engine.ModePBFT, Params: DefaultParams()}
	for i := range 4 {
		g.Validators = append(g.Validators, GenesisValidator{
			Name:      fmt.Sprintf("node%d", i),
			PublicKey: hex.EncodeToString(testKey(t, 1000+i).PublicKey()),
			P2PAddr:   fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", 26600+i),
			APIAddr:   fmt.Sprintf("http://127.0.0.1:%d", 26610+i),
		})
	}
	for i := range accounts {
		g.Accounts = append(g.Accounts, GenesisAccount{Address: testKey(t, i).Address(), Balance: balance})
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	return g
}

func newMemStore(t testing.TB, g *Genesis) *Store {
	t.Helper()
	s, err := NewStore(dbm.NewMemDB(), g)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// applyTxs applies txs as the next block and fails the test on error.
func applyTxs(t testing.TB, s *Store, txs ...*Tx) (*Block, []Receipt) {
	t.Helper()
	raw := make([][]byte, len(txs))
	for i, tx := range txs {
		raw[i] = tx.Encode()
	}
	return applyRaw(t, s, raw...)
}

func applyRaw(t testing.TB, s *Store, raw ...[]byte) (*Block, []Receipt) {
	t.Helper()
	b, rs, err := s.Apply(engine.Committed{Height: s.Height() + 1, Txs: raw, Proposer: 1, Round: 2, Proof: []byte("proof")})
	if err != nil {
		t.Fatal(err)
	}
	return b, rs
}

func mustAccount(t testing.TB, s *Store, a crypto.Address) Account {
	t.Helper()
	acc, err := s.Account(a)
	if err != nil {
		t.Fatal(err)
	}
	return acc
}

func engineCommitted(h uint64, txs [][]byte, proof []byte) engine.Committed {
	return engine.Committed{Height: h, Txs: txs, Proof: proof}
}

func mustBlock(t testing.TB, s *Store, h uint64) *Block {
	t.Helper()
	b, err := s.Block(h)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
