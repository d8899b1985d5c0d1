package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/ledger"
)

const testChain = "test-chain"

// fakeBackend is an in-memory Backend.
type fakeBackend struct {
	mu        sync.Mutex
	receipts  map[crypto.Hash]*ledger.Receipt
	proposed  map[crypto.Hash][]byte
	full      bool
	isolated  bool
	blocks    []*ledger.Block
	committed chan struct{} // closed and replaced whenever a receipt is added
	mode      string        // "" is pbft
	voters    []int         // raft voters, changed by ChangeMembership
	memberErr error         // returned by ChangeMembership if set
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{
		receipts:  map[crypto.Hash]*ledger.Receipt{},
		proposed:  map[crypto.Hash][]byte{},
		committed: make(chan struct{}),
	}
}

func (f *fakeBackend) Propose(_ context.Context, hs []crypto.Hash, txs [][]byte) []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	errs := make([]error, len(txs))
	for i, h := range hs {
		if f.full {
			errs[i] = engine.ErrPoolFull
		} else if _, ok := f.proposed[h]; ok {
			errs[i] = engine.ErrDuplicate
		} else {
			f.proposed[h] = txs[i]
		}
	}
	return errs
}

func (f *fakeBackend) commit(r *ledger.Receipt) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.receipts[r.TxHash] = r
	close(f.committed)
	f.committed = make(chan struct{})
}

func (f *fakeBackend) Receipt(h crypto.Hash) (*ledger.Receipt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.receipts[h]; ok {
		return r, nil
	}
	return nil, ledger.ErrNotFound
}

func (f *fakeBackend) WaitReceipt(ctx context.Context, h crypto.Hash) (*ledger.Receipt, error) {
	for {
		f.mu.Lock()
		r, ok := f.receipts[h]
		ch := f.committed
		f.mu.Unlock()
		if ok {
			return r, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (f *fakeBackend) Account(_ context.Context, a crypto.Address, lin bool) (ledger.Account, uint64, error) {
	if lin {
		return ledger.Account{}, 0, ErrUnavailable
	}
	return ledger.Account{Balance: 100, Nonce: 3}, 7, nil
}

func (f *fakeBackend) Block(h uint64) (*ledger.Block, error) {
	if h == 0 || h > uint64(len(f.blocks)) {
		return nil, ledger.ErrNotFound
	}
	return f.blocks[h-1], nil
}

func (f *fakeBackend) LatestBlock() (*ledger.Block, error) {
	if len(f.blocks) == 0 {
		return nil, ledger.ErrNotFound
	}
	return f.blocks[len(f.blocks)-1], nil
}

func (f *fakeBackend) Status() Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	mode := f.mode
	if mode == "" {
		mode = "pbft"
	}
	return Status{Name: "node0", ChainID: testChain, Mode: mode, Isolated: f.isolated, Voters: slices.Clone(f.voters)}
}

func (f *fakeBackend) SetIsolated(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.isolated = on
}

type fixture struct {
	t       *testing.T
	be      *fakeBackend
	signer  *crypto.Ed25519Signer
	user    *crypto.Ed25519Signer
	handler http.Handler
}

func newFixture(t *testing.T, admin bool) *fixture {
	t.Helper()
	signer, err := crypto.GenerateEd25519(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	user, err := crypto.GenerateEd25519(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	be := newFakeBackend()
	s, err := New(Config{ChainID: testChain, Validator: 2, Signer: signer, Backend: be,
		MaxBodyBytes: 4096, EnableAdmin: admin})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, be: be, signer: signer, user: user, handler: s.Handler()}
}

func (f *fixture) tx(chain string, amount, nonce uint64) []byte {
	return ledger.NewTransfer(f.user, chain, crypto.Address{1}, amount, nonce).Encode()
}

// do sends a request and decodes the JSON answer into out (if non-nil).
func (f *fixture) do(method, path, body string, out any) *http.Response {
	f.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	res := rec.Result()
	if ct := res.Header.Get("Content-Type"); out != nil && !strings.HasPrefix(ct, "application/json") {
		f.t.Fatalf("%s %s: content type %q", method, path, ct)
	}
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			f.t.Fatalf("%s %s: decode answer: %v", method, path, err)
		}
	}
	return res
}

// wantError checks an error answer's status and code.
func (f *fixture) wantError(method, path, body string, status int, code string) {
	f.t.Helper()
	var e Error
	res := f.do(method, path, body, &e)
	if res.StatusCode != status || e.Code != code || e.Message == "" {
		f.t.Fatalf("%s %s: got %d %+v, want %d %q", method, path, res.StatusCode, e, status, code)
	}
}

func submitBody(tx []byte) string { return `{"tx":"` + hex.EncodeToString(tx) + `"}` }

func TestSubmitErrors(t *testing.T) {
	f := newFixture(t, false)
	good := f.tx(testChain, 5, 0)
	badSig := append([]byte(nil), good...)
	badSig[len(badSig)-1] ^= 1
	tests := []struct {
		name, body string
		status     int
		code       string
	}{
		{"oversized body", `{"tx":"` + strings.Repeat("00", 4096) + `"}`, 400, CodeTooLarge},
		{"malformed json", `{"tx":`, 400, CodeBadRequest},
		{"not an object", `[1,2]`, 400, CodeBadRequest},
		{"unknown field", `{"tx":"00","fee":1}`, 400, CodeBadRequest},
		{"trailing data", submitBody(good) + `{}`, 400, CodeBadRequest},
		{"missing tx", `{}`, 400, CodeBadRequest},
		{"not hex", `{"tx":"zz"}`, 400, CodeBadEncoding},
		{"too long tx", `{"tx":"` + strings.Repeat("ab", ledger.TxBytesMax+1) + `"}`, 400, CodeTooLarge},
		{"garbage tx", `{"tx":"0102"}`, 400, CodeBadEncoding},
		{"wrong chain", submitBody(f.tx("other-chain", 5, 0)), 400, CodeWrongChain},
		{"bad signature", submitBody(badSig), 400, CodeBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.wantError("POST", "/v1/txs", tt.body, tt.status, tt.code)
		})
	}
	if len(f.be.proposed) != 0 {
		t.Fatalf("a refused tx reached the backend: %d proposed", len(f.be.proposed))
	}
}

func TestSubmitAccepted(t *testing.T) {
	f := newFixture(t, false)
	tx := f.tx(testChain, 5, 0)
	var ok SubmitResponse
	if res := f.do("POST", "/v1/txs", submitBody(tx), &ok); res.StatusCode != 202 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if ok.Hash != ledger.TxHash(tx) || ok.Receipt != nil {
		t.Fatalf("got %+v", ok)
	}
	// A retry of a pending tx is accepted again, not proposed twice.
	if res := f.do("POST", "/v1/txs", submitBody(tx), &ok); res.StatusCode != 202 {
		t.Fatalf("retry status %d", res.StatusCode)
	}
	// Once committed, a retry gets the receipt with 200.
	f.be.commit(&ledger.Receipt{TxHash: ok.Hash, Height: 3, Index: 1})
	if res := f.do("POST", "/v1/txs", submitBody(tx), &ok); res.StatusCode != 200 || ok.Receipt == nil || ok.Receipt.Height != 3 {
		t.Fatalf("committed retry: %d %+v", res.StatusCode, ok)
	}
}

func TestSubmitBusy(t *testing.T) {
	f := newFixture(t, false)
	f.be.full = true
	res := f.do("POST", "/v1/txs", submitBody(f.tx(testChain, 5, 0)), nil)
	if res.StatusCode != 503 || res.Header.Get("Retry-After") != "1" {
		t.Fatalf("got %d Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	f.wantError("POST", "/v1/txs", submitBody(f.tx(testChain, 5, 0)), 503, CodeBusy)
}

func TestSubmitBatch(t *testing.T) {
	f := newFixture(t, false)
	good := f.tx(testChain, 5, 0)
	body := `{"txs":["` + hex.EncodeToString(good) + `","zz","` + hex.EncodeToString(f.tx("x", 1, 1)) + `"]}`
	var out BatchResponse
	if res := f.do("POST", "/v1/txs/batch", body, &out); res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	want := []BatchResult{
		{Hash: ledger.TxHash(good).String()},
		{Error: out.Results[1].Error, Code: CodeBadEncoding},
		{Error: out.Results[2].Error, Code: CodeWrongChain},
	}
	if len(out.Results) != 3 || out.Results[0] != want[0] || out.Results[1] != want[1] || out.Results[2] != want[2] {
		t.Fatalf("got %+v", out.Results)
	}
	f.wantError("POST", "/v1/txs/batch", `{"txs":[]}`, 400, CodeBadRequest)
}

func TestReceipt(t *testing.T) {
	f := newFixture(t, false)
	h := ledger.TxHash(f.tx(testChain, 5, 0))
	path := "/v1/txs/" + h.String()
	f.wantError("GET", path, "", 404, CodeNotFound)
	f.wantError("GET", "/v1/txs/xyz", "", 400, CodeBadRequest)
	f.wantError("GET", path+"?wait=forever", "", 400, CodeBadRequest)
	f.wantError("GET", path+"?wait=1ns", "", 404, CodeNotFound)

	want := &ledger.Receipt{TxHash: h, Height: 9, Index: 4, Code: 3, Message: "insufficient funds"}
	f.be.commit(want)
	var got SignedReceipt
	if res := f.do("GET", path, "", &got); res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if got.Validator != 2 || !bytes.Equal(got.PublicKey, f.signer.PublicKey()) {
		t.Fatalf("got %+v", got)
	}
	r := ledger.Receipt{TxHash: got.Receipt.TxHash, Height: got.Receipt.Height, Index: got.Receipt.Index,
		Code: got.Receipt.Code, Message: got.Receipt.Message}
	if r != *want {
		t.Fatalf("receipt %+v, want %+v", r, want)
	}
	if !crypto.Verify(got.PublicKey, ledger.ReceiptSignBytes(testChain, &r), got.Signature) {
		t.Fatal("receipt signature does not verify")
	}
	if crypto.Verify(got.PublicKey, ledger.ReceiptSignBytes("other", &r), got.Signature) {
		t.Fatal("receipt signature verifies for another chain")
	}
}

// TestReceiptLongPoll checks that a waiting GET returns as soon as the
// receipt commits, over a real server on 127.0.0.1.
func TestReceiptLongPoll(t *testing.T) {
	f := newFixture(t, false)
	s, err := New(Config{ChainID: testChain, Signer: f.signer, Backend: f.be})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	h := crypto.Sum([]byte("tx"))
	got := make(chan *http.Response, 1)
	go func() {
		res, err := http.Get("http://" + ln.Addr().String() + "/v1/txs/" + h.String() + "?wait=30s")
		if err != nil {
			t.Error(err)
		}
		got <- res
	}()
	// Commit only once the poller is waiting: the fake's channel is
	// replaced at each commit, so commit repeatedly until the answer comes.
	for {
		f.be.commit(&ledger.Receipt{TxHash: h, Height: 1})
		select {
		case res := <-got:
			if res == nil {
				return
			}
			defer res.Body.Close()
			if res.StatusCode != 200 {
				b, _ := io.ReadAll(res.Body)
				t.Fatalf("status %d: %s", res.StatusCode, b)
			}
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestQueries(t *testing.T) {
	f := newFixture(t, false)
	addr := crypto.Address{7}
	var acct Account
	if res := f.do("GET", "/v1/accounts/"+addr.String(), "", &acct); res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if acct != (Account{Address: addr, Balance: 100, Nonce: 3, Height: 7}) {
		t.Fatalf("got %+v", acct)
	}
	f.wantError("GET", "/v1/accounts/nothex", "", 400, CodeBadRequest)
	f.wantError("GET", "/v1/accounts/"+addr.String()+"?linearizable=maybe", "", 400, CodeBadRequest)
	f.wantError("GET", "/v1/accounts/"+addr.String()+"?linearizable=true", "", 503, CodeUnavailable)

	f.wantError("GET", "/v1/blocks/latest", "", 404, CodeNotFound)
	f.wantError("GET", "/v1/blocks/1", "", 404, CodeNotFound)
	f.wantError("GET", "/v1/blocks/0", "", 400, CodeBadRequest)
	f.wantError("GET", "/v1/blocks/-1", "", 400, CodeBadRequest)
	tx := f.tx(testChain, 1, 0)
	f.be.blocks = []*ledger.Block{{Height: 1, Proposer: 1, Round: 2, Txs: [][]byte{tx}, Proof: []byte{9}}}
	for _, p := range []string{"/v1/blocks/1", "/v1/blocks/latest"} {
		var b Block
		if res := f.do("GET", p, "", &b); res.StatusCode != 200 {
			t.Fatalf("%s: status %d", p, res.StatusCode)
		}
		if b.Height != 1 || b.Hash != f.be.blocks[0].Hash() || b.Round != 2 || len(b.Txs) != 1 ||
			!bytes.Equal(b.Txs[0], tx) || b.TxHashes[0] != ledger.TxHash(tx) || !bytes.Equal(b.Proof, []byte{9}) {
			t.Fatalf("%s: got %+v", p, b)
		}
	}

	var st map[string]any
	f.do("GET", "/v1/status", "", &st)
	for _, k := range []string{"name", "validator", "chain_id", "mode", "view", "term", "role", "leader", "height",
		"app_hash", "last_stable_checkpoint", "peers", "connected_peers", "pending_txs", "view_changes",
		"byzantine", "isolated"} {
		if _, ok := st[k]; !ok {
			t.Errorf("status lacks %q", k)
		}
	}
	var ok map[string]bool
	if f.do("GET", "/healthz", "", &ok); !ok["ok"] {
		t.Fatal("healthz")
	}
	if res := f.do("GET", "/metrics", "", nil); res.StatusCode != 200 {
		t.Fatalf("metrics %d", res.StatusCode)
	}
	f.wantError("GET", "/v1/nothing", "", 404, CodeNotFound)
	f.wantError("DELETE", "/v1/txs", "", 404, CodeNotFound)
}

func TestAdminIsolate(t *testing.T) {
	f := newFixture(t, false)
	f.wantError("POST", "/v1/admin/isolate", `{"isolated":true}`, 404, CodeNotFound)

	f = newFixture(t, true)
	f.wantError("POST", "/v1/admin/isolate", `{}`, 400, CodeBadRequest)
	f.wantError("POST", "/v1/admin/isolate", `{"isolated":1}`, 400, CodeBadRequest)
	if res := f.do("POST", "/v1/admin/isolate", `{"isolated":true}`, nil); res.StatusCode != 200 || !f.be.isolated {
		t.Fatalf("isolate: %d %v", res.StatusCode, f.be.isolated)
	}
	f.do("POST", "/v1/admin/isolate", `{"isolated":false}`, nil)
	if f.be.isolated {
		t.Fatal("heal did not reach the backend")
	}
}

func TestPprofOnlyWhenEnabled(t *testing.T) {
	f := newFixture(t, false)
	f.wantError("GET", "/debug/pprof/", "", 404, CodeNotFound)

	be := newFakeBackend()
	s, err := New(Config{ChainID: testChain, Signer: f.signer, Backend: be, EnablePprof: true})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/debug/pprof/goroutine?debug=1", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "goroutine") {
		t.Fatalf("pprof goroutine: %d %.80q", rec.Code, rec.Body.String())
	}
}

func TestNewConfig(t *testing.T) {
	if _, err := New(Config{}); !errors.Is(err, ErrConfig) {
		t.Fatalf("got %v", err)
	}
}

func FuzzDecodeSubmit(f *testing.F) {
	f.Add([]byte(`{"tx":"00"}`))
	f.Add([]byte(`{"tx":"` + strings.Repeat("ab", 100) + `"}`))
	f.Add([]byte(`{"tx":"00"} {}`))
	f.Add([]byte(`{"tx":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tx, err := DecodeSubmit(body)
		if err != nil {
			if tx != nil {
				t.Fatal("tx with error")
			}
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != 400 {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		if len(tx) == 0 || len(tx) > ledger.TxBytesMax {
			t.Fatalf("accepted a %d-byte tx", len(tx))
		}
		// Whatever decoded re-encodes to a body that decodes the same.
		again, err := DecodeSubmit([]byte(submitBody(tx)))
		if err != nil || !bytes.Equal(again, tx) {
			t.Fatalf("re-decode: %v", err)
		}
	})
}

func TestCustomCheckTx(t *testing.T) {
	f := newFixture(t, false)
	calls := 0
	s, err := New(Config{ChainID: testChain, Signer: f.signer, Backend: f.be, CheckTx: func([]byte) error {
		calls++
		return fmt.Errorf("refused: %w", ledger.ErrBadSignature)
	}})
	if err != nil {
		t.Fatal(err)
	}
	f.handler = s.Handler()
	f.wantError("POST", "/v1/txs", submitBody(f.tx(testChain, 5, 0)), 400, CodeBadSignature)
	if calls != 1 {
		t.Fatalf("CheckTx called %d times", calls)
	}
}
