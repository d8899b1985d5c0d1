package api

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/ledger"
)

// SubmitRequest is the body of POST /v1/txs.
type SubmitRequest struct {
	// Tx is the hex of ledger.Tx.Encode().
	Tx string `json:"tx"`
}

// SubmitResponse answers POST /v1/txs: the tx hash, and the receipt if the
// tx was already committed.
type SubmitResponse struct {
	Hash    crypto.Hash `json:"hash"`
	Receipt *Receipt    `json:"receipt,omitempty"`
}

// BatchRequest is the body of POST /v1/txs/batch.
type BatchRequest struct {
	Txs []string `json:"txs"`
}

// BatchResult is the outcome of one tx of a batch: its hash if it decoded,
// and an error and code if it was not accepted.
type BatchResult struct {
	Hash  string `json:"hash"`
	Error string `json:"error,omitempty"`
	Code  string `json:"code,omitempty"`
}

// BatchResponse answers POST /v1/txs/batch, one result per tx in order.
type BatchResponse struct {
	Results []BatchResult `json:"results"`
}

// Receipt is a ledger receipt in JSON.
type Receipt struct {
	TxHash  crypto.Hash `json:"tx_hash"`
	Height  uint64      `json:"height"`
	Index   uint32      `json:"index"`
	Code    uint32      `json:"code"`
	Message string      `json:"message"`
}

// SignedReceipt answers GET /v1/txs/{hash}: the receipt, and this
// validator's signature over ledger.ReceiptSignBytes(chainID, receipt).
type SignedReceipt struct {
	Receipt   Receipt  `json:"receipt"`
	Validator int      `json:"validator"`
	PublicKey HexBytes `json:"public_key"`
	Signature HexBytes `json:"signature"`
}

func receiptJSON(r *ledger.Receipt) *Receipt {
	return &Receipt{TxHash: r.TxHash, Height: r.Height, Index: r.Index, Code: r.Code, Message: r.Message}
}

// DecodeSubmit parses the body of POST /v1/txs: strict JSON (unknown
// fields and trailing data refused) carrying a hex tx of at most
// ledger.TxBytesMax bytes. It does not check the tx itself.
func DecodeSubmit(body []byte) ([]byte, error) {
	var req SubmitRequest
	if err := decodeStrict(bytesReader(body), &req); err != nil {
		return nil, badRequest("malformed JSON body: %v", err)
	}
	return decodeTxHex(req.Tx)
}

// decodeTxHex decodes one hex tx, checking its length before allocating.
func decodeTxHex(s string) ([]byte, error) {
	if s == "" {
		return nil, badRequest("missing tx")
	}
	if len(s) > 2*ledger.TxBytesMax {
		return nil, &apiError{http.StatusBadRequest, CodeTooLarge,
			fmt.Sprintf("tx is %d hex digits, at most %d", len(s), 2*ledger.TxBytesMax)}
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, &apiError{http.StatusBadRequest, CodeBadEncoding, fmt.Sprintf("tx is not hex: %v", err)}
	}
	return b, nil
}

// admission is the outcome of admitting one tx.
type admission struct {
	hash    crypto.Hash     // zero if the tx did not decode
	receipt *ledger.Receipt // set if the tx is already committed
	err     error           // why it was refused
}

// admit checks raw txs (a nil entry is one that failed earlier, with its
// error in out), looks up those already committed, and proposes the rest in
// one call.
func (s *Server) admit(ctx context.Context, raws [][]byte, out []admission) {
	var hashes []crypto.Hash
	var txs [][]byte
	var idx []int
	checked := make([][]byte, 0, len(raws))
	for _, raw := range raws {
		if raw != nil {
			checked = append(checked, raw)
		}
	}
	checkErrs := s.cfg.CheckTxs(checked)
	k := 0
	for i, raw := range raws {
		if raw == nil {
			continue
		}
		err := checkErrs[k]
		k++
		if err != nil {
			out[i].err = err
			continue
		}
		h := ledger.TxHash(raw) // canonical encoding: equals Tx.Hash() without re-encoding
		out[i].hash = h
		if r, err := s.cfg.Backend.Receipt(h); err == nil {
			out[i].receipt = r
			continue
		} else if !errors.Is(err, ledger.ErrNotFound) {
			out[i].err = err
			continue
		}
		hashes, txs, idx = append(hashes, h), append(txs, raw), append(idx, i)
	}
	if len(txs) == 0 {
		return
	}
	errs := s.cfg.Backend.Propose(ctx, hashes, txs)
	for k, i := range idx {
		if err := errs[k]; err != nil && !errors.Is(err, engine.ErrDuplicate) {
			out[i].err = err
		}
	}
}

func (s *Server) handleSubmit(w http.ResponseWriter, r *http.Request) {
	var req SubmitRequest
	if e := s.decodeBody(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	raw, err := decodeTxHex(req.Tx)
	if err != nil {
		writeError(w, classify(err))
		return
	}
	var a [1]admission
	s.admit(r.Context(), [][]byte{raw}, a[:])
	switch {
	case a[0].err != nil:
		writeError(w, classify(a[0].err))
	case a[0].receipt != nil:
		writeJSON(w, http.StatusOK, SubmitResponse{Hash: a[0].hash, Receipt: receiptJSON(a[0].receipt)})
	default:
		writeJSON(w, http.StatusAccepted, SubmitResponse{Hash: a[0].hash})
	}
}

func (s *Server) handleSubmitBatch(w http.ResponseWriter, r *http.Request) {
	var req BatchRequest
	if e := s.decodeBody(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	if len(req.Txs) == 0 || len(req.Txs) > BatchTxsMax {
		writeError(w, badRequest("batch holds %d txs, want 1..%d", len(req.Txs), BatchTxsMax))
		return
	}
	raws := make([][]byte, len(req.Txs))
	out := make([]admission, len(req.Txs))
	for i, h := range req.Txs {
		raws[i], out[i].err = decodeTxHex(h)
	}
	s.admit(r.Context(), raws, out)
	res := make([]BatchResult, len(out))
	for i, a := range out {
		if !a.hash.IsZero() {
			res[i].Hash = a.hash.String()
		}
		if a.err != nil {
			e := classify(a.err)
			res[i].Error, res[i].Code = e.msg, e.code
		}
	}
	writeJSON(w, http.StatusOK, BatchResponse{Results: res})
}

func (s *Server) handleReceipt(w http.ResponseWriter, r *http.Request) {
	hash, err := crypto.ParseHash(r.PathValue("hash"))
	if err != nil {
		writeError(w, badRequest("tx hash: %v", err))
		return
	}
	var wait time.Duration
	if q := r.URL.Query().Get("wait"); q != "" {
		wait, err = time.ParseDuration(q)
		if err != nil || wait < 0 {
			writeError(w, badRequest("wait %q: want a duration such as 2s", q))
			return
		}
		wait = min(wait, WaitMax)
	}
	rc, err := s.cfg.Backend.Receipt(hash)
	if errors.Is(err, ledger.ErrNotFound) && wait > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		rc, err = s.cfg.Backend.WaitReceipt(ctx, hash)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			err = ledger.ErrNotFound
		}
	}
	if errors.Is(err, ledger.ErrNotFound) {
		writeError(w, notFound("tx %s: no receipt (unknown or not yet committed)", hash))
		return
	}
	if err != nil {
		writeError(w, classify(err))
		return
	}
	writeJSON(w, http.StatusOK, s.signReceipt(rc))
}

// signReceipt signs rc with the node's key.
func (s *Server) signReceipt(rc *ledger.Receipt) SignedReceipt {
	return SignedReceipt{
		Receipt:   *receiptJSON(rc),
		Validator: s.cfg.Validator,
		PublicKey: s.cfg.Signer.PublicKey(),
		Signature: s.cfg.Signer.Sign(ledger.ReceiptSignBytes(s.cfg.ChainID, rc)),
	}
}
