package client

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/ledger"
)

func testTx(t *testing.T, nonce uint64) *ledger.Tx {
	t.Helper()
	from := testSigner(t, 100)
	return ledger.NewTransfer(from, testChain, testSigner(t, 101).Address(), 5, nonce)
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestNewValidates(t *testing.T) {
	key := make([]byte, crypto.PublicKeySize)
	cases := []struct {
		name  string
		nodes []string
		opts  Options
	}{
		{"no nodes", nil, Options{}},
		{"bad scheme", []string{"ftp://x"}, Options{}},
		{"no host", []string{"http://"}, Options{}},
		{"query", []string{"http://h:1/?a=b"}, Options{}},
		{"bad mode", []string{"http://h:1"}, Options{Mode: "paxos"}},
		{"short key", []string{"http://h:1"}, Options{Validators: [][]byte{key[:5]}}},
		{"long poll", []string{"http://h:1"}, Options{PollWait: time.Hour}},
		{"negative", []string{"http://h:1"}, Options{RequestTimeout: -1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.nodes, tc.opts); !errors.Is(err, ErrConfig) {
				t.Fatalf("New: %v, want ErrConfig", err)
			}
		})
	}
	c, err := New([]string{"http://127.0.0.1:1/"}, Options{Validators: [][]byte{key, key, key, key}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Nodes()[0]; got != "http://127.0.0.1:1" {
		t.Errorf("trailing slash kept: %q", got)
	}
}

func TestQuorumSizes(t *testing.T) {
	key := make([]byte, crypto.PublicKeySize)
	for _, tc := range []struct {
		mode       string
		n, f, need int
	}{
		{"pbft", 1, 0, 1}, {"pbft", 4, 1, 2}, {"pbft", 6, 1, 2}, {"pbft", 7, 2, 3}, {"pbft", 10, 3, 4},
		{"raft", 1, 0, 1}, {"raft", 3, 1, 1}, {"raft", 5, 2, 1},
	} {
		vals := make([][]byte, tc.n)
		for i := range vals {
			vals[i] = key
		}
		c, err := New([]string{"http://h:1"}, Options{Mode: tc.mode, Validators: vals})
		if err != nil {
			t.Fatal(err)
		}
		if c.F() != tc.f || c.Need() != tc.need {
			t.Errorf("%s n=%d: f=%d need=%d, want %d %d", tc.mode, tc.n, c.F(), c.Need(), tc.f, tc.need)
		}
	}
}

func TestWaitReceiptsNeedsFPlusOneMatching(t *testing.T) {
	fn := newFakeNet(t, 4, Options{})
	tx := testTx(t, 0)
	h := tx.Hash()
	good := ledger.Receipt{TxHash: h, Height: 9, Index: 2}
	// Node 0 lies about the outcome, node 1 signs badly, node 3 never
	// answers: only node 2 is honest and reachable, so one matching
	// receipt is all there is.
	fn.nodes[0].commit(ledger.Receipt{TxHash: h, Height: 9, Index: 2, Code: ledger.CodeInsufficientFunds, Message: "lie"})
	fn.nodes[1].badSig = true
	fn.nodes[1].commit(good)
	fn.nodes[2].commit(good)
	_, err := fn.c.WaitReceipts(ctxTimeout(t, 300*time.Millisecond), h, 0)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("with one honest receipt: %v, want ErrTimeout", err)
	}
	fn.nodes[3].commit(good)
	res, err := fn.c.WaitReceipts(ctxTimeout(t, 5*time.Second), h, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Receipt != good || len(res.Signers) != 2 {
		t.Fatalf("result %+v signers %v", res.Receipt, res.Signers)
	}
	for _, s := range res.Signers {
		if s != 2 && s != 3 {
			t.Errorf("signer %d is not an honest node", s)
		}
	}
}

func TestWaitReceiptsRaftNeedsOne(t *testing.T) {
	fn := newFakeNet(t, 3, Options{Mode: "raft"})
	h := testTx(t, 0).Hash()
	fn.nodes[1].commit(ledger.Receipt{TxHash: h, Height: 1})
	res, err := fn.c.WaitReceipts(ctxTimeout(t, 5*time.Second), h, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Signers) != 1 || res.Signers[0] != 1 {
		t.Fatalf("signers %v", res.Signers)
	}
}

func TestVerifyReceiptRejectsForgeries(t *testing.T) {
	fn := newFakeNet(t, 4, Options{})
	h := testTx(t, 0).Hash()
	r := ledger.Receipt{TxHash: h, Height: 3}
	s0 := fn.nodes[0].signer
	sig := s0.Sign(ledger.ReceiptSignBytes(testChain, &r))
	ok := SignedReceipt{Receipt: r, Validator: 0, PublicKey: s0.PublicKey(), Signature: sig}
	if err := fn.c.VerifyReceipt(h, &ok); err != nil {
		t.Fatalf("honest receipt: %v", err)
	}
	bad := []SignedReceipt{
		{Receipt: r, Validator: 1, PublicKey: s0.PublicKey(), Signature: sig},         // claims another index
		{Receipt: r, Validator: 1, Signature: sig},                                    // signature by 0 for 1
		{Receipt: r, Validator: 4, Signature: sig},                                    // not a validator
		{Receipt: r, Validator: -1, Signature: sig},                                   // negative
		{Receipt: ledger.Receipt{TxHash: h, Height: 4}, Validator: 0, Signature: sig}, // altered
		{Receipt: ledger.Receipt{TxHash: crypto.Sum(nil), Height: 3}, Validator: 0, Signature: sig},
		{Receipt: r, Validator: 0, Signature: sig[:10]},
	}
	for i, sr := range bad {
		if err := fn.c.VerifyReceipt(h, &sr); !errors.Is(err, ErrBadResponse) {
			t.Errorf("forgery %d: %v, want ErrBadResponse", i, err)
		}
	}
	// Another chain's signature does not verify here.
	other := s0.Sign(ledger.ReceiptSignBytes("other-chain", &r))
	if err := fn.c.VerifyReceipt(h, &SignedReceipt{Receipt: r, Validator: 0, Signature: other}); !errors.Is(err, ErrBadResponse) {
		t.Errorf("other chain: %v", err)
	}
}

func TestSubmitTxAcceptedByAnyNode(t *testing.T) {
	fn := newFakeNet(t, 4, Options{})
	fn.nodes[0].submitStatus, fn.nodes[0].submitCode = 400, "bad_signature" // a lying node
	tx := testTx(t, 0)
	res, err := fn.c.SubmitTx(ctxTimeout(t, 5*time.Second), tx.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if res.Hash != tx.Hash() {
		t.Fatalf("hash %s, want %s", res.Hash, tx.Hash())
	}
}

func TestSubmitTxRejected(t *testing.T) {
	fn := newFakeNet(t, 4, Options{})
	for _, n := range fn.nodes {
		n.submitStatus, n.submitCode = 400, "wrong_chain"
	}
	_, err := fn.c.SubmitTx(ctxTimeout(t, 5*time.Second), testTx(t, 0).Encode())
	var ae *APIError
	if !errors.Is(err, ErrRejected) || !errors.As(err, &ae) || ae.Code != "wrong_chain" || ae.Status != 400 {
		t.Fatalf("err %v, want a 400 wrong_chain APIError", err)
	}
	for _, n := range fn.nodes {
		if got := n.submits.Load(); got != 1 {
			t.Errorf("node %d saw %d submits of a rejected tx, want 1 (no retry)", n.index, got)
		}
	}
}

func TestSubmitRetriesBusyWithSameBytes(t *testing.T) {
	fn := newFakeNet(t, 1, Options{})
	n := fn.nodes[0]
	n.submitStatus, n.submitCode, n.busyCount = 503, "busy", 3
	var seen []crypto.Hash
	n.onSubmit = func(h crypto.Hash) { seen = append(seen, h) }
	tx := testTx(t, 0)
	if _, err := fn.c.SubmitTxTo(ctxTimeout(t, 5*time.Second), 0, tx.Encode()); err != nil {
		t.Fatal(err)
	}
	if got := n.submits.Load(); got != 4 {
		t.Errorf("%d attempts, want 4", got)
	}
	if len(seen) != 1 || seen[0] != tx.Hash() {
		t.Errorf("accepted %v", seen)
	}
}

func TestSubmitBusyExhaustsAttempts(t *testing.T) {
	fn := newFakeNet(t, 1, Options{MaxAttempts: 2})
	fn.nodes[0].submitStatus, fn.nodes[0].submitCode = 503, "busy"
	fn.nodes[0].retryAfter = true
	start := time.Now()
	_, err := fn.c.SubmitTxTo(ctxTimeout(t, 5*time.Second), 0, testTx(t, 0).Encode())
	var ae *APIError
	if !errors.Is(err, ErrBusy) || !errors.As(err, &ae) || ae.RetryAfter != time.Second {
		t.Fatalf("err %v, want ErrBusy with Retry-After 1s", err)
	}
	// The one retry honoured Retry-After.
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Errorf("retried after %v, before the node's Retry-After", waited)
	}
}

// closedURL returns a URL on which nothing listens.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestTransferSurvivesDeadNode(t *testing.T) {
	fn := newFakeNet(t, 4, Options{})
	urls := fn.c.Nodes()
	urls[3] = closedURL(t)
	c, err := New(urls, fn.c.opts)
	if err != nil {
		t.Fatal(err)
	}
	// Nodes commit the tx as soon as they accept it.
	for _, n := range fn.nodes[:3] {
		n.onSubmit = func(h crypto.Hash) { n.commit(ledger.Receipt{TxHash: h, Height: 1}) }
	}
	res, err := c.Transfer(ctxTimeout(t, 10*time.Second), testTx(t, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Receipt.OK() || len(res.Signers) < 2 {
		t.Fatalf("result %+v", res)
	}
}

func TestNextNonceIsMaxOfAnswers(t *testing.T) {
	fn := newFakeNet(t, 4, Options{})
	addr := testSigner(t, 100).Address()
	for i, n := range fn.nodes {
		n.accounts[addr] = Account{Nonce: uint64(i + 3)}
	}
	nonce, err := fn.c.NextNonce(ctxTimeout(t, 5*time.Second), addr)
	if err != nil {
		t.Fatal(err)
	}
	if nonce < 4 || nonce > 6 {
		t.Fatalf("nonce %d: want the max over at least two answers", nonce)
	}
}

func TestStatusAll(t *testing.T) {
	fn := newFakeNet(t, 2, Options{})
	urls := append(fn.c.Nodes(), closedURL(t))
	c, err := New(urls, fn.c.opts)
	if err != nil {
		t.Fatal(err)
	}
	st := c.StatusAll(ctxTimeout(t, 5*time.Second))
	if st[0].Err != nil || st[1].Err != nil || st[0].Status.View != 3 || st[1].Status.Validator != 1 {
		t.Fatalf("statuses %+v %+v", st[0], st[1])
	}
	if st[2].Err == nil {
		t.Fatal("a closed port answered")
	}
}
