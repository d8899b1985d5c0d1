package bench

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bftledger/bftledger/crypto"
)

// fakeChain is an in-memory stand-in for a cluster behind the HTTP API.
// It has no goroutines or timers of its own: every GET /v1/status commits
// the pending txs as one block, so the bench's own polling drives it. It
// checks that each account's nonces commit strictly in order.
type fakeChain struct {
	t       *testing.T
	mode    string
	keys    []*crypto.Ed25519Signer
	poolCap int // pending txs above this answer 503 busy

	mu        sync.Mutex
	pending   []string          // tx hex, in arrival order
	pendingOK map[string]bool   // hash -> pending
	committed map[string]fakeRc // hash -> receipt
	blocks    [][]string        // blocks[h-1] = tx hashes
	nonces    map[uint32]uint64 // account -> next nonce
	misorder  int               // txs committed out of nonce order
	changed   chan struct{}     // closed and replaced on every commit
}

type fakeRc struct {
	height uint64
	index  uint32
}

// fakeTx is the test's transfer encoding: account and nonce, 12 bytes.
func fakeTx(account int, nonce uint64) (Tx, error) {
	b := make([]byte, 12)
	binary.BigEndian.PutUint32(b, uint32(account))
	binary.BigEndian.PutUint64(b[4:], nonce)
	return Tx{Hex: hex.EncodeToString(b), Hash: crypto.Sum(b)}, nil
}

// fakeReceiptBytes is what fake validators sign.
func fakeReceiptBytes(r *Receipt) []byte {
	return fmt.Appendf(nil, "%s/%d/%d/%d", r.TxHash, r.Height, r.Index, r.Code)
}

func verifyFakeReceipt(r *Receipt, pub, sig []byte) error {
	if !crypto.Verify(pub, fakeReceiptBytes(r), sig) {
		return crypto.ErrBadSignature
	}
	return nil
}

// newFakeCluster starts n fake nodes sharing one chain; they are closed by
// t.Cleanup.
func newFakeCluster(t *testing.T, mode string, n, poolCap int) (*fakeChain, []Node) {
	c := &fakeChain{
		t: t, mode: mode, poolCap: poolCap,
		pendingOK: map[string]bool{}, committed: map[string]fakeRc{},
		nonces: map[uint32]uint64{}, changed: make(chan struct{}),
	}
	var nodes []Node
	for i := range n {
		seed := make([]byte, crypto.SeedSize)
		seed[0] = byte(i + 1)
		k, err := crypto.Ed25519FromSeed(seed)
		if err != nil {
			t.Fatal(err)
		}
		c.keys = append(c.keys, k)
		srv := httptest.NewServer(c.handler(i))
		t.Cleanup(srv.Close)
		nodes = append(nodes, Node{Index: i, Name: fmt.Sprintf("node%d", i), URL: srv.URL, PublicKey: k.PublicKey()})
	}
	return c, nodes
}

func (c *fakeChain) handler(i int) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/txs/batch", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Txs []string `json:"txs"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var res []batchResult
		c.mu.Lock()
		for _, tx := range req.Txs {
			b, _ := hex.DecodeString(tx)
			h := crypto.Sum(b).String()
			switch {
			case len(b) != 12:
				res = append(res, batchResult{Hash: h, Error: "bad", Code: "bad_encoding"})
			case c.pendingOK[h] || c.committed[h] != (fakeRc{}):
				res = append(res, batchResult{Hash: h})
			case len(c.pending) >= c.poolCap:
				res = append(res, batchResult{Hash: h, Error: "pool full", Code: "busy"})
			default:
				c.pending = append(c.pending, tx)
				c.pendingOK[h] = true
				res = append(res, batchResult{Hash: h})
			}
		}
		c.mu.Unlock()
		writeJSON(w, 200, map[string]any{"results": res})
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "# TYPE bftledger_view_changes_total counter\nbftledger_view_changes_total 0\nbftledger_messages_total{dir=\"in\",kind=\"prepare\"} %d\n", i)
	})
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		height := c.commit()
		writeJSON(w, 200, statusReply{Name: fmt.Sprintf("node%d", i), Validator: i, Mode: c.mode, Height: height, Role: "backup"})
	})
	mux.HandleFunc("GET /v1/blocks/{height}", func(w http.ResponseWriter, r *http.Request) {
		h, err := strconv.ParseUint(r.PathValue("height"), 10, 64)
		c.mu.Lock()
		defer c.mu.Unlock()
		if err != nil || h == 0 || h > uint64(len(c.blocks)) {
			writeJSON(w, 404, apiError{Error: "no such block", Code: "not_found"})
			return
		}
		writeJSON(w, 200, map[string]any{"height": h, "tx_hashes": c.blocks[h-1], "txs": []string{}})
	})
	mux.HandleFunc("GET /v1/txs/{hash}", func(w http.ResponseWriter, r *http.Request) {
		wait, _ := time.ParseDuration(r.URL.Query().Get("wait"))
		deadline := time.NewTimer(wait)
		defer deadline.Stop()
		h := r.PathValue("hash")
		for {
			c.mu.Lock()
			rc, ok := c.committed[h]
			changed := c.changed
			c.mu.Unlock()
			if ok {
				rec := Receipt{TxHash: h, Height: rc.height, Index: rc.index}
				writeJSON(w, 200, map[string]any{
					"receipt": rec, "validator": i,
					"public_key": hex.EncodeToString(c.keys[i].PublicKey()),
					"signature":  hex.EncodeToString(c.keys[i].Sign(fakeReceiptBytes(&rec))),
				})
				return
			}
			select {
			case <-changed:
			case <-deadline.C:
				writeJSON(w, 404, apiError{Error: "unknown tx", Code: "not_found"})
				return
			case <-r.Context().Done():
				return
			}
		}
	})
	return mux
}

// commit turns the pending txs into a block (if any) and returns the height.
func (c *fakeChain) commit() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) > 0 {
		height := uint64(len(c.blocks) + 1)
		var hashes []string
		for idx, tx := range c.pending {
			b, _ := hex.DecodeString(tx)
			acct, nonce := binary.BigEndian.Uint32(b), binary.BigEndian.Uint64(b[4:])
			if nonce != c.nonces[acct] {
				c.misorder++
			}
			c.nonces[acct] = nonce + 1
			h := crypto.Sum(b).String()
			hashes = append(hashes, h)
			c.committed[h] = fakeRc{height: height, index: uint32(idx)}
			delete(c.pendingOK, h)
		}
		c.blocks = append(c.blocks, hashes)
		c.pending = c.pending[:0]
		close(c.changed)
		c.changed = make(chan struct{})
	}
	return uint64(len(c.blocks))
}

func (c *fakeChain) stats() (blocks, txs, misorder int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.blocks), len(c.committed), c.misorder
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// hasHex reports whether s is lower-case hex (used by report checks).
func hasHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}
