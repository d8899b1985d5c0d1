package ledger

import (
	"bytes"
	"fmt"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/internal/wire"
)

// TxVersion is the leading byte of every v1 tx encoding.
const TxVersion = 1

// TxDomain is the signature domain of transfers: a tx signature covers
// crypto.SignBytes(TxDomain, tx.ChainID, tx.SignBytes()).
const TxDomain = "bftledger/tx/v1"

// Tx is a signed transfer of Amount from the account of public key From to
// the account To.
//
// Nonce numbering: an account's Nonce counts the transfers it has sent
// successfully, starting at 0. A tx applies only if its Nonce equals the
// sender's current Account.Nonce, so an account's first transfer carries
// nonce 0, its second nonce 1, and so on. A failed tx does not consume its
// nonce.
type Tx struct {
	ChainID string         // network the tx is for; at most ChainIDBytesMax bytes
	From    []byte         // sender's Ed25519 public key, crypto.PublicKeySize bytes
	To      crypto.Address // recipient; may equal the sender (then only the nonce moves)
	Amount  uint64         // units transferred; must be > 0
	Nonce   uint64         // must equal the sender's Account.Nonce
	Sig     []byte         // Ed25519 over crypto.SignBytes(TxDomain, ChainID, SignBytes())
}

// NewTransfer returns a transfer signed by s.
func NewTransfer(s crypto.Signer, chainID string, to crypto.Address, amount, nonce uint64) *Tx {
	tx := &Tx{
		ChainID: chainID,
		From:    append([]byte(nil), s.PublicKey()...),
		To:      to,
		Amount:  amount,
		Nonce:   nonce,
	}
	tx.Sig = crypto.SignDomain(s, TxDomain, chainID, tx.SignBytes())
	return tx
}

// encodeBody appends everything but the signature.
func (tx *Tx) encodeBody(e *wire.Encoder) {
	e.Uint8(TxVersion)
	e.String(tx.ChainID)
	e.Fixed(tx.From)
	e.Fixed(tx.To[:])
	e.Uint64(tx.Amount)
	e.Uint64(tx.Nonce)
}

// SignBytes returns the canonical encoding of the tx without its signature:
// the message its signature covers (under TxDomain and the chain id).
func (tx *Tx) SignBytes() []byte {
	e := wire.NewEncoder(txFixedBytes + len(tx.ChainID))
	tx.encodeBody(e)
	return e.Bytes()
}

// Encode returns the canonical encoding of the tx:
//
//	u8 version (1) | u32 len, chain id | 32 sender key | 20 recipient |
//	u64 amount | u64 nonce | 64 signature
//
// integers big-endian. A tx whose From or Sig has the wrong length encodes to
// bytes DecodeTx refuses.
func (tx *Tx) Encode() []byte {
	e := wire.NewEncoder(txFixedBytes + len(tx.ChainID))
	tx.encodeBody(e)
	e.Fixed(tx.Sig)
	return e.Bytes()
}

// DecodeTx parses a canonical tx encoding. It returns an error wrapping
// ErrTooLarge for input longer than TxBytesMax and ErrBadEncoding for
// anything else Encode could not have produced. The result does not alias b.
func DecodeTx(b []byte) (*Tx, error) {
	tx := new(Tx)
	if err := decodeTx(tx, b, true); err != nil {
		return nil, err
	}
	return tx, nil
}

// decodeTx decodes b into tx. Unless clone is set, tx.From and tx.Sig alias
// b; execution, which drops the tx at once, saves two allocations a tx.
func decodeTx(tx *Tx, b []byte, clone bool) error {
	if len(b) > TxBytesMax {
		return fmt.Errorf("tx of %d bytes > %d: %w", len(b), TxBytesMax, ErrTooLarge)
	}
	d := wire.NewDecoder(b)
	if v := d.Uint8(); d.Err() == nil && v != TxVersion {
		return fmt.Errorf("tx version %d, want %d: %w", v, TxVersion, ErrBadEncoding)
	}
	tx.ChainID = d.String(ChainIDBytesMax)
	tx.From = d.Fixed(crypto.PublicKeySize)
	copy(tx.To[:], d.Fixed(crypto.AddressSize))
	tx.Amount = d.Uint64()
	tx.Nonce = d.Uint64()
	tx.Sig = d.Fixed(crypto.SignatureSize)
	if err := d.Finish(); err != nil {
		return fmt.Errorf("tx: %w: %w", ErrBadEncoding, err)
	}
	if clone {
		tx.From = bytes.Clone(tx.From)
		tx.Sig = bytes.Clone(tx.Sig)
	}
	return nil
}

// Hash returns the tx hash: SHA-256 of Encode(). Since the encoding is
// canonical, this is also TxHash of the raw bytes the tx was decoded from.
func (tx *Tx) Hash() crypto.Hash { return crypto.Sum(tx.Encode()) }

// TxHash returns the hash of an encoded tx, valid or not: SHA-256 of b.
// Receipts, the tx index and the block's tx root all use it.
func TxHash(b []byte) crypto.Hash { return crypto.Sum(b) }

// Sender returns the address of the sender's public key.
func (tx *Tx) Sender() crypto.Address { return crypto.AddressOf(tx.From) }

// VerifySignature reports whether tx.Sig is the sender's signature over the
// tx under TxDomain and tx.ChainID.
func (tx *Tx) VerifySignature() bool {
	return crypto.VerifyDomain(tx.From, TxDomain, tx.ChainID, tx.SignBytes(), tx.Sig)
}

// CheckTx is admission: the stateless checks a tx must pass before any
// engine sees it. In order: size (ErrTooLarge), strict decoding
// (ErrBadEncoding), chain id (ErrWrongChain), amount > 0 (ErrBadAmount) and
// the signature (ErrBadSignature); the error wraps the first that fails.
// Account state (nonce, balance) is not consulted: that is execution's job.
// CheckTx is safe for concurrent use.
func CheckTx(chainID string, b []byte) (*Tx, error) {
	tx, err := checkTxFields(chainID, b)
	if err != nil {
		return nil, err
	}
	if !tx.VerifySignature() {
		return nil, fmt.Errorf("tx %s: %w", tx.Hash(), ErrBadSignature)
	}
	return tx, nil
}

// checkTxFields is CheckTx without the signature.
func checkTxFields(chainID string, b []byte) (*Tx, error) {
	tx, err := DecodeTx(b)
	if err != nil {
		return nil, err
	}
	if tx.ChainID != chainID {
		return nil, fmt.Errorf("tx for chain %q on chain %q: %w", tx.ChainID, chainID, ErrWrongChain)
	}
	if tx.Amount == 0 {
		return nil, fmt.Errorf("tx %s: %w", tx.Hash(), ErrBadAmount)
	}
	return tx, nil
}

// CheckTxs is CheckTx of every tx in bs, with the same verdict and error
// per tx, but the signatures verified as one batch (crypto.Batch), which
// costs about half as much per signature as one by one. Safe for
// concurrent use.
func CheckTxs(chainID string, bs [][]byte) ([]*Tx, []error) {
	txs, errs := make([]*Tx, len(bs)), make([]error, len(bs))
	batch := crypto.NewBatch(len(bs))
	idx := make([]int, 0, len(bs))
	for i, b := range bs {
		tx, err := checkTxFields(chainID, b)
		if err != nil {
			errs[i] = err
			continue
		}
		txs[i] = tx
		batch.AddDomain(tx.From, TxDomain, tx.ChainID, tx.SignBytes(), tx.Sig)
		idx = append(idx, i)
	}
	_, valid := batch.Verify()
	for k, i := range idx {
		if !valid[k] {
			errs[i] = fmt.Errorf("tx %s: %w", txs[i].Hash(), ErrBadSignature)
			txs[i] = nil
		}
	}
	return txs, errs
}
