package ledger

import (
	"fmt"
	"math"

	"github.com/bftledger/bftledger/crypto"
)

// Account is the state of one address. An account that is all zero is the
// same as an absent one: it is neither stored nor part of the app hash.
type Account struct {
	Balance uint64 `json:"balance"` // units held
	Nonce   uint64 `json:"nonce"`   // transfers sent successfully; the next tx must carry it
}

// IsZero reports whether the account is all zero (absent).
func (a Account) IsZero() bool { return a == Account{} }

// stateReader is what execution reads: committed accounts and whether a tx
// hash already has a receipt. Errors are storage failures.
type stateReader interface {
	account(a crypto.Address) (Account, error)
	hasReceipt(h crypto.Hash) (bool, error)
}

// touched is an account a batch changed: its state before the batch and
// after it.
type touched struct {
	before, after Account
}

// execution is the outcome of executing one batch.
type execution struct {
	receipts []Receipt                   // one per executed tx, in batch order
	encoded  [][]byte                    // Receipt.Encode() of each receipt
	accounts map[crypto.Address]*touched // every account read or written
}

// execute runs txs in order at height on top of st. It is deterministic:
// the result depends only on chainID, height, txs and the state, never on
// time, randomness or map order.
//
// Rules, in the order they are checked, for each tx:
//
//  1. A tx whose TxHash already has a receipt (a replay of a tx executed in
//     an earlier block, or a repeat within this batch) is skipped: no new
//     receipt, nothing changes, the original receipt stands.
//  2. It must decode (CodeBadEncoding) and name chainID (CodeWrongChain).
//  3. Amount must be > 0 (CodeBadAmount).
//  4. Nonce must equal the sender's Account.Nonce (CodeBadNonce), and the
//     nonce must not be the maximum uint64 (CodeOverflow).
//  5. Amount must not exceed the sender's balance (CodeInsufficientFunds).
//  6. The recipient's balance must not overflow (CodeOverflow).
//
// A tx that passes moves Amount from sender to recipient and increments the
// sender's nonce; one that fails changes nothing but gets its receipt. Later
// txs run either way. Signatures are not checked here: see Store.Apply.
func execute(chainID string, height uint64, txs [][]byte, st stateReader) (*execution, error) {
	ex := &execution{
		receipts: make([]Receipt, 0, len(txs)),
		encoded:  make([][]byte, 0, len(txs)),
		accounts: make(map[crypto.Address]*touched, 2*len(txs)),
	}
	seen := make(map[crypto.Hash]struct{}, len(txs))
	for i, raw := range txs {
		h := TxHash(raw)
		if _, dup := seen[h]; dup {
			continue
		}
		seen[h] = struct{}{}
		done, err := st.hasReceipt(h)
		if err != nil {
			return nil, fmt.Errorf("tx %s: %w", h, err)
		}
		if done {
			continue
		}
		code, msg, err := ex.applyTx(chainID, raw, st)
		if err != nil {
			return nil, fmt.Errorf("tx %s: %w", h, err)
		}
		r := Receipt{TxHash: h, Height: height, Index: uint32(i), Code: code, Message: msg}
		ex.receipts = append(ex.receipts, r)
		ex.encoded = append(ex.encoded, r.Encode())
	}
	return ex, nil
}

// load returns the working state of a, reading it once from st.
func (ex *execution) load(a crypto.Address, st stateReader) (*touched, error) {
	if t, ok := ex.accounts[a]; ok {
		return t, nil
	}
	acc, err := st.account(a)
	if err != nil {
		return nil, err
	}
	t := &touched{before: acc, after: acc}
	ex.accounts[a] = t
	return t, nil
}

// applyTx applies one tx to the working state, or explains why not. The
// error is a storage failure only.
func (ex *execution) applyTx(chainID string, raw []byte, st stateReader) (uint32, string, error) {
	var tx Tx
	if err := decodeTx(&tx, raw, false); err != nil {
		return CodeBadEncoding, "tx is not a canonical encoding", nil
	}
	if tx.ChainID != chainID {
		return CodeWrongChain, "tx is for another chain", nil
	}
	if tx.Amount == 0 {
		return CodeBadAmount, "amount must be positive", nil
	}
	from, err := ex.load(tx.Sender(), st)
	if err != nil {
		return 0, "", err
	}
	if tx.Nonce != from.after.Nonce {
		return CodeBadNonce, fmt.Sprintf("nonce %d, want %d", tx.Nonce, from.after.Nonce), nil
	}
	if from.after.Nonce == math.MaxUint64 {
		return CodeOverflow, "sender nonce would overflow", nil
	}
	if tx.Amount > from.after.Balance {
		return CodeInsufficientFunds, fmt.Sprintf("amount %d exceeds balance %d", tx.Amount, from.after.Balance), nil
	}
	to, err := ex.load(tx.To, st)
	if err != nil {
		return 0, "", err
	}
	if to != from && to.after.Balance > math.MaxUint64-tx.Amount {
		return CodeOverflow, "recipient balance would overflow", nil
	}
	from.after.Balance -= tx.Amount
	from.after.Nonce++
	to.after.Balance += tx.Amount
	return CodeOK, "", nil
}
