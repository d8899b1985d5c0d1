package bench

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bftledger/bftledger/crypto"
)

// This file speaks the node's HTTP API (see api/). Every answer is outside
// input: it is read through a size limit, decoded, and validated before use.

// Receipt is a tx's receipt as a node reports it.
type Receipt struct {
	TxHash  string `json:"tx_hash"`
	Height  uint64 `json:"height"`
	Index   uint32 `json:"index"`
	Code    uint32 `json:"code"`
	Message string `json:"message"`
}

// receiptReply is GET /v1/txs/{hash}.
type receiptReply struct {
	Receipt   Receipt `json:"receipt"`
	Validator int     `json:"validator"`
	PublicKey string  `json:"public_key"`
	Signature string  `json:"signature"`

	pub, sig []byte
}

// batchResult is one entry of POST /v1/txs/batch's results.
type batchResult struct {
	Hash  string `json:"hash"`
	Error string `json:"error"`
	Code  string `json:"code"`
}

// statusReply is the part of GET /v1/status the bench uses.
type statusReply struct {
	Name        string `json:"name"`
	Validator   int    `json:"validator"`
	Mode        string `json:"mode"`
	View        uint64 `json:"view"`
	Term        uint64 `json:"term"`
	Role        string `json:"role"`
	Leader      int    `json:"leader"`
	Height      uint64 `json:"height"`
	PendingTxs  int    `json:"pending_txs"`
	ViewChanges uint64 `json:"view_changes"`
	Connected   int    `json:"connected_peers"`
}

// blockReply is the part of GET /v1/blocks/{height} the bench uses: the
// hashes, not the txs themselves.
type blockReply struct {
	Height   uint64   `json:"height"`
	Proposer int      `json:"proposer"`
	Round    uint64   `json:"round"`
	TxHashes []string `json:"tx_hashes"`
}

// apiError is the API's error body.
type apiError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// decodeReceipt parses and checks a GET /v1/txs/{hash} answer.
func decodeReceipt(b []byte) (*receiptReply, error) {
	var r receiptReply
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: receipt: %w", ErrNode, err)
	}
	if _, err := crypto.ParseHash(r.Receipt.TxHash); err != nil {
		return nil, fmt.Errorf("%w: receipt tx_hash: %w", ErrNode, err)
	}
	if r.Validator < 0 || r.Validator >= NodesMax {
		return nil, fmt.Errorf("%w: receipt validator %d out of range", ErrNode, r.Validator)
	}
	pub, err := hex.DecodeString(r.PublicKey)
	if err != nil || len(pub) != crypto.PublicKeySize {
		return nil, fmt.Errorf("%w: receipt public_key %q: want %d hex bytes", ErrNode, r.PublicKey, crypto.PublicKeySize)
	}
	sig, err := hex.DecodeString(r.Signature)
	if err != nil || len(sig) != crypto.SignatureSize {
		return nil, fmt.Errorf("%w: receipt signature: want %d hex bytes", ErrNode, crypto.SignatureSize)
	}
	r.pub, r.sig = pub, sig
	return &r, nil
}

// decodeBatch parses and checks a POST /v1/txs/batch answer for a batch of
// want txs.
func decodeBatch(b []byte, want int) ([]batchResult, error) {
	var r struct {
		Results []batchResult `json:"results"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: batch: %w", ErrNode, err)
	}
	if len(r.Results) != want {
		return nil, fmt.Errorf("%w: batch of %d txs got %d results", ErrNode, want, len(r.Results))
	}
	return r.Results, nil
}

// decodeStatus parses and checks a GET /v1/status answer.
func decodeStatus(b []byte) (*statusReply, error) {
	var s statusReply
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%w: status: %w", ErrNode, err)
	}
	if s.Mode != ModePBFT && s.Mode != ModeRaft {
		return nil, fmt.Errorf("%w: status mode %q", ErrNode, s.Mode)
	}
	return &s, nil
}

// decodeBlock parses and checks a GET /v1/blocks/{height} answer.
func decodeBlock(b []byte) (*blockReply, error) {
	var blk blockReply
	if err := json.Unmarshal(b, &blk); err != nil {
		return nil, fmt.Errorf("%w: block: %w", ErrNode, err)
	}
	if blk.Height == 0 {
		return nil, fmt.Errorf("%w: block height 0", ErrNode)
	}
	for i, h := range blk.TxHashes {
		if len(h) != 2*crypto.HashSize {
			return nil, fmt.Errorf("%w: block %d tx_hashes[%d]: %d characters, want %d", ErrNode, blk.Height, i, len(h), 2*crypto.HashSize)
		}
	}
	return &blk, nil
}

// nodeAPI performs the bench's requests against one node.
type nodeAPI struct {
	hc  *http.Client
	url string // base URL without a trailing slash
}

func newNodeAPI(hc *http.Client, base string) nodeAPI {
	return nodeAPI{hc: hc, url: strings.TrimRight(base, "/")}
}

// do sends a request and returns the body and status. A non-2xx answer is
// an error that carries the API's code (see codeOf).
func (a nodeAPI) do(ctx context.Context, method, path string, body []byte) ([]byte, int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.url+path, rd)
	if err != nil {
		return nil, 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, responseBytesMax+1))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("%s %s: read: %w", method, path, err)
	}
	if len(b) > responseBytesMax {
		return nil, resp.StatusCode, fmt.Errorf("%w: %s %s: answer over %d bytes", ErrNode, method, path, responseBytesMax)
	}
	if resp.StatusCode/100 != 2 {
		var e apiError
		_ = json.Unmarshal(b, &e)
		err := &statusError{status: resp.StatusCode, code: e.Code, msg: e.Error}
		if resp.StatusCode == http.StatusNotFound {
			return nil, resp.StatusCode, fmt.Errorf("%s %s: %w: %w", method, path, ErrNotFound, err)
		}
		return nil, resp.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return b, resp.StatusCode, nil
}

// statusError is a non-2xx answer.
type statusError struct {
	status int
	code   string
	msg    string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.status, e.code, e.msg)
}

// codeOf returns the API error code of err, "http_<status>" without one,
// or "unreachable" for transport errors.
func codeOf(err error) string {
	var se *statusError
	if errors.As(err, &se) {
		if se.code != "" {
			return se.code
		}
		return "http_" + strconv.Itoa(se.status)
	}
	return "unreachable"
}

func (a nodeAPI) status(ctx context.Context) (*statusReply, error) {
	b, _, err := a.do(ctx, http.MethodGet, "/v1/status", nil)
	if err != nil {
		return nil, err
	}
	return decodeStatus(b)
}

func (a nodeAPI) block(ctx context.Context, height uint64) (*blockReply, error) {
	b, _, err := a.do(ctx, http.MethodGet, "/v1/blocks/"+strconv.FormatUint(height, 10), nil)
	if err != nil {
		return nil, err
	}
	blk, err := decodeBlock(b)
	if err != nil {
		return nil, err
	}
	if blk.Height != height {
		return nil, fmt.Errorf("%w: asked for block %d, got %d", ErrNode, height, blk.Height)
	}
	return blk, nil
}

func (a nodeAPI) receipt(ctx context.Context, hash string, wait time.Duration) (*receiptReply, error) {
	b, _, err := a.do(ctx, http.MethodGet, "/v1/txs/"+hash+"?wait="+wait.String(), nil)
	if err != nil {
		return nil, err
	}
	r, err := decodeReceipt(b)
	if err != nil {
		return nil, err
	}
	if r.Receipt.TxHash != hash {
		return nil, fmt.Errorf("%w: asked for receipt of %s, got %s", ErrNode, hash, r.Receipt.TxHash)
	}
	return r, nil
}

// postBatch posts txs and returns one result per tx.
func (a nodeAPI) postBatch(ctx context.Context, txs []*Tx) ([]batchResult, error) {
	b, _, err := a.do(ctx, http.MethodPost, "/v1/txs/batch", batchBody(txs))
	if err != nil {
		return nil, err
	}
	return decodeBatch(b, len(txs))
}

// batchBody builds {"txs":["hex",...]} directly: hex needs no escaping and
// this runs thousands of times a second.
func batchBody(txs []*Tx) []byte {
	n := 10
	for _, tx := range txs {
		n += len(tx.Hex) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, `{"txs":[`...)
	for i, tx := range txs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, tx.Hex...)
		b = append(b, '"')
	}
	return append(b, "]}"...)
}
