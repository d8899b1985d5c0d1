package ledger

import (
	"fmt"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/internal/wire"
)

// Receipt codes. Zero means the tx applied; any other code means it failed
// and changed nothing, and Message says why in words. Every replica produces
// the same code and message for the same tx, so receipts signed by
// different replicas match byte for byte.
const (
	// CodeOK: the tx applied.
	CodeOK uint32 = 0
	// CodeBadEncoding: the batch entry is not a canonical tx encoding.
	CodeBadEncoding uint32 = 1
	// CodeWrongChain: the tx names another chain id.
	CodeWrongChain uint32 = 2
	// CodeBadSignature is never produced by execution, which does not verify
	// signatures (see Store.Apply); it is reserved for clients and the API
	// to name the admission failure with the same number.
	CodeBadSignature uint32 = 3
	// CodeBadNonce: the nonce is not the sender's next one.
	CodeBadNonce uint32 = 4
	// CodeInsufficientFunds: the amount exceeds the sender's balance.
	CodeInsufficientFunds uint32 = 5
	// CodeBadAmount: the amount is zero.
	CodeBadAmount uint32 = 6
	// CodeOverflow: the recipient's balance or the sender's nonce would
	// overflow a uint64. (With supply fixed by a valid genesis a balance
	// cannot overflow; the check stays so that execution never wraps.)
	CodeOverflow uint32 = 7
)

// CodeName returns a short stable name for a receipt code ("ok",
// "bad_nonce", ...), or "unknown".
func CodeName(code uint32) string {
	switch code {
	case CodeOK:
		return "ok"
	case CodeBadEncoding:
		return "bad_encoding"
	case CodeWrongChain:
		return "wrong_chain"
	case CodeBadSignature:
		return "bad_signature"
	case CodeBadNonce:
		return "bad_nonce"
	case CodeInsufficientFunds:
		return "insufficient_funds"
	case CodeBadAmount:
		return "bad_amount"
	case CodeOverflow:
		return "overflow"
	}
	return "unknown"
}

// ReceiptVersion is the leading byte of a receipt encoding.
const ReceiptVersion = 1

// ReceiptDomain is the signature domain under which replicas sign receipts.
const ReceiptDomain = "bftledger/receipt/v1"

// Receipt is the outcome of one tx: where it was executed and whether it
// applied. The JSON names are the API's.
type Receipt struct {
	TxHash  crypto.Hash `json:"tx_hash"` // TxHash of the encoded tx
	Height  uint64      `json:"height"`  // block that executed it
	Index   uint32      `json:"index"`   // position in that block's Txs
	Code    uint32      `json:"code"`    // CodeOK or a failure code
	Message string      `json:"message"` // why it failed; empty when Code is CodeOK
}

// OK reports whether the tx applied.
func (r *Receipt) OK() bool { return r.Code == CodeOK }

// Encode returns the canonical encoding:
//
//	u8 version (1) | 32 tx hash | u64 height | u32 index | u32 code |
//	u32 len, message
func (r *Receipt) Encode() []byte {
	e := wire.NewEncoder(receiptFixedBytes + len(r.Message))
	r.encode(e)
	return e.Bytes()
}

func (r *Receipt) encode(e *wire.Encoder) {
	e.Uint8(ReceiptVersion)
	e.Fixed(r.TxHash[:])
	e.Uint64(r.Height)
	e.Uint32(r.Index)
	e.Uint32(r.Code)
	e.String(r.Message)
}

// DecodeReceipt parses a canonical receipt encoding strictly.
func DecodeReceipt(b []byte) (*Receipt, error) {
	if len(b) > ReceiptBytesMax {
		return nil, fmt.Errorf("receipt of %d bytes > %d: %w", len(b), ReceiptBytesMax, ErrTooLarge)
	}
	d := wire.NewDecoder(b)
	if v := d.Uint8(); d.Err() == nil && v != ReceiptVersion {
		return nil, fmt.Errorf("receipt version %d, want %d: %w", v, ReceiptVersion, ErrBadEncoding)
	}
	var r Receipt
	copy(r.TxHash[:], d.Fixed(crypto.HashSize))
	r.Height = d.Uint64()
	r.Index = d.Uint32()
	r.Code = d.Uint32()
	r.Message = d.String(ReceiptMessageBytesMax)
	if err := d.Finish(); err != nil {
		return nil, fmt.Errorf("receipt: %w: %w", ErrBadEncoding, err)
	}
	return &r, nil
}

// ReceiptSignBytes returns the bytes a replica signs to vouch for a receipt:
// crypto.SignBytes(ReceiptDomain, chainID, r.Encode()).
func ReceiptSignBytes(chainID string, r *Receipt) []byte {
	return crypto.SignBytes(ReceiptDomain, chainID, r.Encode())
}
