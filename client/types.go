package client

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/ledger"
)

// Status is a node's answer to GET /v1/status. View is meaningful in PBFT
// mode and Term in Raft mode; both are always present.
type Status struct {
	Name                 string       `json:"name"`
	Validator            int          `json:"validator"`
	ChainID              string       `json:"chain_id"`
	Mode                 string       `json:"mode"`
	View                 uint64       `json:"view"`
	Term                 uint64       `json:"term"`
	Role                 string       `json:"role"`
	Leader               int          `json:"leader"`
	Height               uint64       `json:"height"`
	AppHash              string       `json:"app_hash"`
	LastStableCheckpoint uint64       `json:"last_stable_checkpoint"`
	Peers                []PeerStatus `json:"peers"`
	ConnectedPeers       int          `json:"connected_peers"`
	PendingTxs           int          `json:"pending_txs"`
	ViewChanges          uint64       `json:"view_changes"`
	Byzantine            Behaviour    `json:"byzantine"`
	Isolated             bool         `json:"isolated"`
}

// Round returns the view (PBFT) or the term (Raft).
func (s *Status) Round() uint64 {
	if s.Mode == "raft" {
		return s.Term
	}
	return s.View
}

// PeerStatus is one row of Status.Peers.
type PeerStatus struct {
	Index     int    `json:"index"`
	Name      string `json:"name"`
	Connected bool   `json:"connected"`
}

// Behaviour is the Byzantine behaviour a node reports it runs ("" for an
// honest node). It decodes from a JSON string, a boolean or null.
type Behaviour string

// UnmarshalJSON implements json.Unmarshaler.
func (b *Behaviour) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case bytes.Equal(data, []byte("null")), bytes.Equal(data, []byte("false")):
		*b = ""
	case bytes.Equal(data, []byte("true")):
		*b = "true"
	default:
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("byzantine: want a string or a boolean: %w", err)
		}
		*b = Behaviour(s)
	}
	return nil
}

// Account is a node's answer to GET /v1/accounts/{address}: the account's
// state as of Height.
type Account struct {
	Address crypto.Address `json:"address"`
	Balance uint64         `json:"balance"`
	Nonce   uint64         `json:"nonce"`
	Height  uint64         `json:"height"`
}

// Receipt is the outcome of one committed tx (ledger.Receipt, whose JSON
// names are the API's). Code 0 is success; any other code is a failed tx
// whose Message says why.
type Receipt = ledger.Receipt

// SignedReceipt is a node's answer to GET /v1/txs/{hash}: a receipt signed
// by the validator that answered.
type SignedReceipt struct {
	Receipt   Receipt  `json:"receipt"`
	Validator int      `json:"validator"`
	PublicKey HexBytes `json:"public_key"`
	Signature HexBytes `json:"signature"`
}

// Block is a node's answer to GET /v1/blocks/{height}.
type Block struct {
	Height   uint64        `json:"height"`
	Hash     crypto.Hash   `json:"hash"`
	PrevHash crypto.Hash   `json:"prev_hash"`
	TxRoot   crypto.Hash   `json:"tx_root"`
	AppHash  crypto.Hash   `json:"app_hash"`
	Proposer uint32        `json:"proposer"`
	Round    uint64        `json:"round"`
	Txs      []HexBytes    `json:"txs"`
	TxHashes []crypto.Hash `json:"tx_hashes"`
	Proof    HexBytes      `json:"proof"`

	// Certified is set by VerifyBlock when the PBFT commit certificate
	// verifies against the genesis validators. It is not part of the answer.
	Certified bool `json:"-"`
}

// RawTxs returns the block's txs as byte slices (shared, not copied).
func (b *Block) RawTxs() [][]byte {
	txs := make([][]byte, len(b.Txs))
	for i, tx := range b.Txs {
		txs[i] = tx
	}
	return txs
}

// SubmitResult is a node's answer to POST /v1/txs: the tx hash, and the
// receipt if the tx was already committed.
type SubmitResult struct {
	Hash    crypto.Hash `json:"hash"`
	Receipt *Receipt    `json:"receipt,omitempty"`
}

// BatchResult is one entry of a POST /v1/txs/batch answer: the tx hash, or
// an error with its machine code.
type BatchResult struct {
	Hash  string `json:"hash"`
	Error string `json:"error,omitempty"`
	Code  string `json:"code,omitempty"`
}

// HexBytes is a byte string shown as lower-case hex in JSON.
type HexBytes []byte

// MarshalText implements encoding.TextMarshaler.
func (h HexBytes) MarshalText() ([]byte, error) {
	return []byte(hex.EncodeToString(h)), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *HexBytes) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	if err != nil {
		return fmt.Errorf("bad hex: %w", err)
	}
	*h = v
	return nil
}

// String returns the hex form.
func (h HexBytes) String() string { return hex.EncodeToString(h) }

// apiErrorBody is the JSON body of every API error.
type apiErrorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// decodeJSON decodes one JSON value from b into v. Unknown fields are
// allowed (nodes may add fields); trailing data is not.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

// quote returns s quoted and shortened for error messages.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.Quote(s)
}
