package ledger

import (
	"bytes"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	"pgregory.net/rapid"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
)

// TestPropertyRandomBatches feeds random batches of valid and invalid
// transfers (bad nonces, overdrafts, zero amounts, other chains, garbage,
// replays, duplicates) to two independent stores, and halfway through
// restores a third from a snapshot of the first. After every block: the
// three agree on the block hash and app hash; the receipts and accounts are
// those of a naive model executor (model_test.go); the supply is the
// genesis supply, no balance exceeds it (none wrapped below zero), and each
// (sender, nonce) has been applied at most once, exactly as often as the
// sender's nonce says.
//
// For a longer soak: go test -run TestPropertyRandomBatches -rapid.checks=20000 ./ledger
func TestPropertyRandomBatches(t *testing.T) {
	const nkeys = 5
	keys := make([]*crypto.Ed25519Signer, nkeys)
	for i := range keys {
		keys[i] = testKey(t, i)
	}
	rapid.Check(t, func(rt *rapid.T) {
		g := testGenesis(t, 0, 0)
		for i, k := range keys {
			bal := rapid.Uint64Range(1, 1000).Draw(rt, "balance")
			if i == 0 {
				bal = rapid.Uint64Range(1, 1<<62).Draw(rt, "big balance")
			}
			g.Accounts = append(g.Accounts, GenesisAccount{Address: k.Address(), Balance: bal})
		}
		supply := g.TotalSupply()
		a, b := mustStore(rt, g), mustStore(rt, g)
		var c *Store
		defer func() {
			a.Close()
			b.Close()
			if c != nil {
				c.Close()
			}
		}()
		applied := map[[2]uint64]int{} // (sender index, nonce) -> OK receipts
		ref := newModel(g)
		var history [][]byte
		blocks := rapid.IntRange(1, 12).Draw(rt, "blocks")
		for h := 1; h <= blocks; h++ {
			txs := drawBatch(rt, a, keys, history)
			history = append(history, txs...)
			cm := engine.Committed{Height: uint64(h), Txs: txs, Proposer: 0, Round: 1}
			ba, ra, err := a.Apply(cm)
			if err != nil {
				rt.Fatal(err)
			}
			bb, _, err := b.Apply(cm)
			if err != nil {
				rt.Fatal(err)
			}
			if ba.Hash() != bb.Hash() {
				rt.Fatalf("height %d: stores diverged", h)
			}
			if c != nil {
				if bc, _, err := c.Apply(cm); err != nil || bc.Hash() != ba.Hash() {
					rt.Fatalf("height %d: restored store diverged (%v)", h, err)
				}
			}
			want := ref.apply(txs)
			if len(want) != len(ra) {
				rt.Fatalf("height %d: %d receipts, the model expects %d", h, len(ra), len(want))
			}
			for i, r := range ra {
				if r.Index != want[i][0] || r.Code != want[i][1] {
					rt.Fatalf("height %d: receipt %+v, the model expects index %d code %d", h, r, want[i][0], want[i][1])
				}
			}
			for addr, acc := range ref.accounts {
				if got, _ := a.Account(addr); got != acc {
					rt.Fatalf("height %d: account %s = %+v, the model has %+v", h, addr, got, acc)
				}
			}
			for _, r := range ra {
				if r.Code != CodeOK {
					continue
				}
				tx, err := DecodeTx(txs[r.Index])
				if err != nil {
					rt.Fatalf("OK receipt for undecodable tx: %v", err)
				}
				applied[[2]uint64{uint64(keyIndex(keys, tx.From)), tx.Nonce}]++
			}
			checkInvariants(rt, a, keys, supply, applied)
			if c == nil && h == blocks/2 {
				height, appHash, data, err := a.Snapshot()
				if err != nil {
					rt.Fatal(err)
				}
				c = mustStore(rt, g)
				if err := c.Restore(height, appHash, data); err != nil {
					rt.Fatal(err)
				}
			}
		}
	})
}

func mustStore(rt *rapid.T, g *Genesis) *Store {
	s, err := NewStore(dbm.NewMemDB(), g)
	if err != nil {
		rt.Fatal(err)
	}
	return s
}

func keyIndex(keys []*crypto.Ed25519Signer, pub []byte) int {
	for i, k := range keys {
		if bytes.Equal(k.PublicKey(), pub) {
			return i
		}
	}
	return -1
}

// drawBatch draws a batch of mostly plausible transfers against s's state.
func drawBatch(rt *rapid.T, s *Store, keys []*crypto.Ed25519Signer, history [][]byte) [][]byte {
	n := rapid.IntRange(0, 12).Draw(rt, "txs")
	var txs [][]byte
	for range n {
		kind := rapid.IntRange(0, 9).Draw(rt, "kind")
		from := keys[rapid.IntRange(0, len(keys)-1).Draw(rt, "from")]
		to := keys[rapid.IntRange(0, len(keys)-1).Draw(rt, "to")].Address()
		acc, err := s.Account(from.Address())
		if err != nil {
			rt.Fatal(err)
		}
		nonce := acc.Nonce
		amount := rapid.Uint64Range(1, acc.Balance/2+1).Draw(rt, "amount")
		chain := testChain
		switch kind {
		case 0:
			nonce += rapid.Uint64Range(1, 2).Draw(rt, "nonce skew")
		case 1:
			amount = acc.Balance + rapid.Uint64Range(1, 10).Draw(rt, "overdraft")
		case 2:
			amount = 0
		case 3:
			chain = "other-chain"
		case 4:
			txs = append(txs, rapid.SliceOfN(rapid.Byte(), 0, 40).Draw(rt, "garbage"))
			continue
		case 5:
			if len(history)+len(txs) > 0 {
				all := append(append([][]byte(nil), history...), txs...)
				txs = append(txs, all[rapid.IntRange(0, len(all)-1).Draw(rt, "replay")])
				continue
			}
		}
		// Within one batch several txs may come from one sender: give later
		// ones the following nonces so that some of them apply.
		for _, prev := range txs {
			if p, err := DecodeTx(prev); err == nil && bytes.Equal(p.From, from.PublicKey()) && kind > 3 {
				nonce++
			}
		}
		txs = append(txs, NewTransfer(from, chain, to, amount, nonce).Encode())
	}
	return txs
}

func checkInvariants(rt *rapid.T, s *Store, keys []*crypto.Ed25519Signer, supply uint64, applied map[[2]uint64]int) {
	total, err := s.TotalSupply()
	if err != nil {
		rt.Fatal(err)
	}
	if total != supply {
		rt.Fatalf("supply %d, genesis %d", total, supply)
	}
	for i, k := range keys {
		acc, err := s.Account(k.Address())
		if err != nil {
			rt.Fatal(err)
		}
		if acc.Balance > supply {
			rt.Fatalf("key %d balance %d exceeds the supply (wrapped)", i, acc.Balance)
		}
		var count uint64
		for n := uint64(0); n < acc.Nonce+3; n++ {
			switch applied[[2]uint64{uint64(i), n}] {
			case 0:
				if n < acc.Nonce {
					rt.Fatalf("key %d nonce %d never applied but account nonce is %d", i, n, acc.Nonce)
				}
			case 1:
				count++
			default:
				rt.Fatalf("key %d nonce %d applied %d times", i, n, applied[[2]uint64{uint64(i), n}])
			}
		}
		if count != acc.Nonce {
			rt.Fatalf("key %d: %d applied txs, nonce %d", i, count, acc.Nonce)
		}
	}
}
