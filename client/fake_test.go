package client

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/ledger"
)

const testChain = "test-chain"

// fakeNode is an httptest stand-in for one node's API, serving the contract
// shapes from in-memory state the test controls.
type fakeNode struct {
	t      testing.TB
	index  int
	signer *crypto.Ed25519Signer
	srv    *httptest.Server

	mu       sync.Mutex
	receipts map[crypto.Hash]ledger.Receipt // committed
	accounts map[crypto.Address]Account
	// submitStatus, when non-zero, is the status POST /v1/txs answers with
	// (with submitCode) for the next busyCount requests, or always if
	// busyCount is 0.
	submitStatus int
	submitCode   string
	busyCount    int
	submits      atomic.Int64
	// retryAfter adds Retry-After: 1 to 503 answers.
	retryAfter bool
	// badSig makes receipts carry a corrupt signature.
	badSig bool
	// onSubmit, if set, runs for each accepted tx.
	onSubmit func(hash crypto.Hash)
}

func testSigner(t testing.TB, i int) *crypto.Ed25519Signer {
	seed := make([]byte, crypto.SeedSize)
	seed[0] = byte(i + 1)
	s, err := crypto.Ed25519FromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newFakeNode(t testing.TB, index int) *fakeNode {
	f := &fakeNode{t: t, index: index, signer: testSigner(t, index),
		receipts: map[crypto.Hash]ledger.Receipt{}, accounts: map[crypto.Address]Account{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]bool{"ok": true}) })
	mux.HandleFunc("GET /v1/status", f.status)
	mux.HandleFunc("GET /v1/accounts/{addr}", f.account)
	mux.HandleFunc("POST /v1/txs", f.submit)
	mux.HandleFunc("GET /v1/txs/{hash}", f.receipt)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": msg, "code": code})
}

func (f *fakeNode) status(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, 200, map[string]any{"name": "node", "validator": f.index, "chain_id": testChain, "mode": "pbft", "view": 3, "term": 0,
		"role": "backup", "leader": 3, "height": 7, "app_hash": "ab", "byzantine": false, "peers": []any{}})
}

func (f *fakeNode) account(w http.ResponseWriter, r *http.Request) {
	a, err := crypto.ParseAddress(r.PathValue("addr"))
	if err != nil {
		writeErr(w, 400, "bad_request", err.Error())
		return
	}
	f.mu.Lock()
	acc := f.accounts[a]
	f.mu.Unlock()
	acc.Address = a
	writeJSON(w, 200, acc)
}

func (f *fakeNode) submit(w http.ResponseWriter, r *http.Request) {
	f.submits.Add(1)
	var body struct {
		Tx string `json:"tx"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeErr(w, 400, "bad_request", err.Error())
		return
	}
	raw, err := hex.DecodeString(body.Tx)
	if err != nil {
		writeErr(w, 400, "bad_encoding", err.Error())
		return
	}
	f.mu.Lock()
	status, code := f.submitStatus, f.submitCode
	if f.busyCount > 0 {
		f.busyCount--
		if f.busyCount == 0 {
			f.submitStatus = 0
		}
	}
	f.mu.Unlock()
	if status != 0 {
		if status == 503 && f.retryAfter {
			w.Header().Set("Retry-After", "1")
		}
		writeErr(w, status, code, "refused by the fake")
		return
	}
	h := ledger.TxHash(raw)
	if f.onSubmit != nil {
		f.onSubmit(h)
	}
	writeJSON(w, 202, map[string]string{"hash": h.String()})
}

func (f *fakeNode) commit(r ledger.Receipt) {
	f.mu.Lock()
	f.receipts[r.TxHash] = r
	f.mu.Unlock()
}

func (f *fakeNode) receipt(w http.ResponseWriter, r *http.Request) {
	h, err := crypto.ParseHash(r.PathValue("hash"))
	if err != nil {
		writeErr(w, 400, "bad_request", err.Error())
		return
	}
	f.mu.Lock()
	rc, ok := f.receipts[h]
	bad := f.badSig
	f.mu.Unlock()
	if !ok {
		writeErr(w, 404, "not_found", "no receipt")
		return
	}
	sig := f.signer.Sign(ledger.ReceiptSignBytes(testChain, &rc))
	if bad {
		sig[0] ^= 1
	}
	writeJSON(w, 200, SignedReceipt{Receipt: rc, Validator: f.index, PublicKey: f.signer.PublicKey(), Signature: sig})
}

// fakeNet is n fake nodes and a client over them.
type fakeNet struct {
	nodes []*fakeNode
	c     *Client
}

func newFakeNetB(b *testing.B, n int) *fakeNet { return newFakeNet(b, n, Options{}) }

func newFakeNet(t testing.TB, n int, opts Options) *fakeNet {
	fn := &fakeNet{}
	var urls []string
	var keys [][]byte
	for i := range n {
		f := newFakeNode(t, i)
		fn.nodes = append(fn.nodes, f)
		urls = append(urls, f.srv.URL)
		keys = append(keys, f.signer.PublicKey())
	}
	opts.ChainID = testChain
	if opts.Mode == "" {
		opts.Mode = "pbft"
	}
	opts.Validators = keys
	if opts.PollWait == 0 {
		opts.PollWait = 20 * time.Millisecond // the fakes answer 404 at once
	}
	c, err := New(urls, opts)
	if err != nil {
		t.Fatal(err)
	}
	fn.c = c
	return fn
}
