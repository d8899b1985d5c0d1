package ledger

import (
	"math"

	"github.com/bftledger/bftledger/crypto"
)

// model is a deliberately naive executor, written from the rules in doc.go
// without sharing code with execute, for optimised-vs-naive comparison.
type model struct {
	chainID  string
	accounts map[crypto.Address]Account
	done     map[crypto.Hash]bool
}

func newModel(g *Genesis) *model {
	m := &model{chainID: g.ChainID, accounts: map[crypto.Address]Account{}, done: map[crypto.Hash]bool{}}
	for _, a := range g.Accounts {
		m.accounts[a.Address] = Account{Balance: a.Balance}
	}
	return m
}

// apply returns the expected (index, code) of each receipt.
func (m *model) apply(txs [][]byte) [][2]uint32 {
	var out [][2]uint32
	for i, raw := range txs {
		h := crypto.Sum(raw)
		if m.done[h] {
			continue
		}
		m.done[h] = true
		out = append(out, [2]uint32{uint32(i), m.code(raw)})
	}
	return out
}

func (m *model) code(raw []byte) uint32 {
	tx, err := DecodeTx(raw)
	switch {
	case err != nil:
		return CodeBadEncoding
	case tx.ChainID != m.chainID:
		return CodeWrongChain
	case tx.Amount == 0:
		return CodeBadAmount
	}
	from := crypto.AddressOf(tx.From)
	sender := m.accounts[from]
	switch {
	case tx.Nonce != sender.Nonce:
		return CodeBadNonce
	case sender.Nonce == math.MaxUint64:
		return CodeOverflow
	case tx.Amount > sender.Balance:
		return CodeInsufficientFunds
	}
	if from == tx.To {
		sender.Nonce++
		m.accounts[from] = sender
		return CodeOK
	}
	recipient := m.accounts[tx.To]
	if recipient.Balance > math.MaxUint64-tx.Amount {
		return CodeOverflow
	}
	sender.Balance -= tx.Amount
	sender.Nonce++
	recipient.Balance += tx.Amount
	m.accounts[from] = sender
	m.accounts[tx.To] = recipient
	return CodeOK
}
