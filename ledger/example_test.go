package ledger_test

import (
	"encoding/hex"
	"fmt"

	dbm "github.com/cometbft/cometbft-db"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/ledger"
)

// Example shows a transfer from admission to its receipt.
func Example() {
	alice, _ := crypto.Ed25519FromSeed(make([]byte, crypto.SeedSize))
	bob := crypto.Address{0xb0}
	validator, _ := crypto.Ed25519FromSeed([]byte("validator-0-seed-validator-0-see"))
	g := &ledger.Genesis{
		ChainID:   "example",
		Consensus: engine.ModePBFT,
		Validators: []ledger.GenesisValidator{{
			Name:      "node0",
			PublicKey: hex.EncodeToString(validator.PublicKey()),
			P2PAddr:   "/ip4/127.0.0.1/tcp/26600",
			APIAddr:   "http://127.0.0.1:26610",
		}},
		Accounts: []ledger.GenesisAccount{{Address: alice.Address(), Balance: 100}},
		Params:   ledger.DefaultParams(),
	}
	store, err := ledger.NewStore(dbm.NewMemDB(), g)
	if err != nil {
		panic(err)
	}
	defer store.Close()

	raw := ledger.NewTransfer(alice, "example", bob, 30, 0).Encode()
	if _, err := ledger.CheckTx("example", raw); err != nil {
		panic(err)
	}
	_, receipts, err := store.Apply(engine.Committed{Height: 1, Txs: [][]byte{raw, raw}})
	if err != nil {
		panic(err)
	}
	a, _ := store.Account(alice.Address())
	b, _ := store.Account(bob)
	fmt.Println("receipts:", len(receipts), ledger.CodeName(receipts[0].Code))
	fmt.Println("alice:", a.Balance, "nonce", a.Nonce)
	fmt.Println("bob:", b.Balance)
	// Output:
	// receipts: 1 ok
	// alice: 70 nonce 1
	// bob: 30
}
