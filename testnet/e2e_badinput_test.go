package testnet

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	lcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/bftledger/bftledger/client"
	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/ledger"
	"github.com/bftledger/bftledger/p2p"
)

// post sends body to url and returns the status and the error code of
// the JSON answer.
func post(t *testing.T, url string, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, errorCode(t, resp)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, errorCode(t, resp)
}

func errorCode(t *testing.T, resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 400 {
		return ""
	}
	var e struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Error == "" || e.Code == "" {
		t.Errorf("status %d with a body that is not a JSON error: %q", resp.StatusCode, b)
	}
	return e.Code
}

// metricSum adds up every sample of the metric name on node url's /metrics.
func metricSum(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

func txBody(tx []byte) []byte {
	b, _ := json.Marshal(map[string]string{"tx": hex.EncodeToString(tx)})
	return b
}

// Issue 4, test 6: bad input. Oversized and malformed HTTP bodies, a tx
// for another chain, a bad signature, a zero amount, a replayed tx, an
// overdraft and a peer that is not a validator all get clear errors (or a
// failed receipt), change nothing, and crash no node. The CLI's exit codes
// and verifying queries run against the same network.
func TestE2EBadInput(t *testing.T) {
	tn, c := startE2E(t, e2eOptions(t, 4))
	l := newLoad(t, tn, c, 4)
	l.run(ctxFor(t, 60*time.Second), 2)
	t.Run("http", func(t *testing.T) { badHTTP(t, tn, c, l) })
	t.Run("replay and overdraft", func(t *testing.T) { replayAndOverdraft(t, tn, c, l) })
	t.Run("stranger peer", func(t *testing.T) { strangerPeer(t, tn, c, l) })
	t.Run("cli", func(t *testing.T) { cliExitCodes(t, tn, c, l) })

	// Nothing crashed, and the network still agrees and conserves supply.
	for i := range tn.N() {
		if err := c.Healthz(ctxFor(t, 5*time.Second), i); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
	all := indices(4)
	height := waitConverged(t, c, all, 1)
	checkSameChain(t, c, all, height)
	checkSupply(t, tn, c, 0)
}

// badHTTP posts malformed, oversized and invalid txs and bad paths: each
// gets a 4xx JSON error with the contract's code.
func badHTTP(t *testing.T, tn *Testnet, c *client.Client, l *load) {
	key := l.keys[0]
	to := l.keys[1].Address()
	api := tn.Meta.Nodes[1].APIURL
	good := ledger.NewTransfer(key, tn.Genesis.ChainID, to, 1, 1_000_000)
	wrongChain := ledger.NewTransfer(key, "another-chain", to, 1, l.nonces[0]).Encode()
	badSig := good.Encode()
	badSig[len(badSig)-1] ^= 0xff
	zero := ledger.NewTransfer(key, tn.Genesis.ChainID, to, 0, l.nonces[0]).Encode()
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
		codes  string
	}{
		{"oversized", bytes.Repeat([]byte("a"), 2<<20), 0, "too_large bad_request"},
		{"malformed json", []byte(`{"tx":`), 400, "bad_request"},
		{"not an object", []byte(`[1,2]`), 400, "bad_request"},
		{"unknown field", []byte(`{"tx":"00","x":1}`), 400, "bad_request"},
		{"not hex", []byte(`{"tx":"zz"}`), 400, "bad_encoding bad_request"},
		{"not a tx", []byte(`{"tx":"0011"}`), 400, "bad_encoding"},
		{"empty", nil, 400, "bad_request"},
		{"wrong chain", txBody(wrongChain), 400, "wrong_chain"},
		{"bad signature", txBody(badSig), 400, "bad_signature"},
		{"zero amount", txBody(zero), 400, "bad_amount"},
	} {
		status, code := post(t, api+"/v1/txs", tc.body)
		if (tc.status != 0 && status != tc.status) || status < 400 || status > 499 || !strings.Contains(" "+tc.codes+" ", " "+code+" ") {
			t.Errorf("%s: status %d code %q, want %d %s", tc.name, status, code, tc.status, tc.codes)
		}
	}
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/v1/txs/nothex", 400},
		{"/v1/txs/" + strings.Repeat("ab", 32), 404},
		{"/v1/accounts/xyz", 400},
		{"/v1/blocks/abc", 400},
		{"/v1/blocks/99999999", 404},
		{"/v1/nothing", 404},
	} {
		if status, _ := get(t, api+tc.path); status != tc.status {
			t.Errorf("GET %s: %d, want %d", tc.path, status, tc.status)
		}
	}
	if status, _ := post(t, api+"/v1/txs/batch", []byte(`{"txs":["zz"]}`)); status != 200 && status != 400 {
		t.Errorf("batch with a bad tx: status %d", status)
	}
}

// replayAndOverdraft re-sends a committed tx (it keeps its one receipt)
// and overdraws an account (a failed receipt): no balance changes.
func replayAndOverdraft(t *testing.T, tn *Testnet, c *client.Client, l *load) {
	key := l.keys[0]
	to := l.keys[1].Address()
	ctx := ctxFor(t, 60*time.Second)
	acks := l.ackedTxs()
	first := acks[0]
	balances := func() []uint64 {
		var out []uint64
		for _, k := range l.keys {
			a, err := c.Account(ctx, 2, k.Address(), false)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, a.Balance)
		}
		return out
	}
	// Read balances only from a settled network: a receipt quorum is f+1
	// nodes, and node 2 may not be one of them.
	all := indices(tn.N())
	waitConverged(t, c, all, 1)
	before := balances()
	// Replay: the block that holds the tx, re-sent as is.
	b, err := c.Block(ctx, 0, first.receipt.Height)
	if err != nil {
		t.Fatal(err)
	}
	raw := b.Txs[first.receipt.Index]
	sub, err := c.SubmitTx(ctx, raw)
	if err != nil {
		t.Fatalf("replaying a committed tx: %v", err)
	}
	if sub.Hash != first.hash {
		t.Fatalf("replay hash %s, want %s", sub.Hash, first.hash)
	}
	res, err := c.WaitReceipts(ctx, first.hash, 0)
	if err != nil || res.Receipt != first.receipt {
		t.Fatalf("replayed tx receipt %+v (%v), want the original %+v", res, err, first.receipt)
	}
	// Overdraft: committed, failed, nothing moves.
	over := ledger.NewTransfer(key, tn.Genesis.ChainID, to, tn.Genesis.TotalSupply(), l.nonces[0])
	res, err = c.Transfer(ctx, over)
	if err != nil {
		t.Fatal(err)
	}
	if res.Receipt.Code != ledger.CodeInsufficientFunds {
		t.Fatalf("overdraft receipt %+v", res.Receipt)
	}
	// A barrier: once a later tx commits, the replay is surely done.
	l.run(ctx, 1)
	waitConverged(t, c, all, 1)
	after := balances()
	// Each account paid 1 and received 1 in the barrier round.
	for j := range before {
		if after[j] != before[j] {
			t.Errorf("account %d balance %d -> %d across a replay and an overdraft", j, before[j], after[j])
		}
	}
}

// strangerPeer dials every node from a libp2p host whose key is not a
// validator's: no consensus stream opens, and every node counts a refusal.
func strangerPeer(t *testing.T, tn *Testnet, c *client.Client, l *load) {
	stranger, err := crypto.GenerateEd25519(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := lcrypto.UnmarshalEd25519PrivateKey(stranger.PrivateKey())
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.Identity(sk), libp2p.NoListenAddrs, libp2p.NoTransports,
		libp2p.Transport(tcp.NewTCPTransport), libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport), libp2p.DisableRelay(), libp2p.DisableMetrics(), libp2p.Ping(false))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for i := range tn.N() {
		pid, err := p2p.PeerIDFromPublicKey(tn.Genesis.ValidatorKeys()[i])
		if err != nil {
			t.Fatal(err)
		}
		addr, err := ma.NewMultiaddr(tn.Meta.Nodes[i].P2PAddr)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := h.Connect(ctx, peer.AddrInfo{ID: pid, Addrs: []ma.Multiaddr{addr}}); err == nil {
			if s, err := h.NewStream(ctx, pid, p2p.ProtocolID); err == nil {
				s.Close()
				t.Errorf("a non-validator opened a consensus stream to node %d", i)
			}
		}
		cancel()
	}
	// Every node counted the stranger it refused.
	eventually(t, 10*time.Second, "refusals counted", func() error {
		for i := range tn.N() {
			if n := metricSum(t, tn.Meta.Nodes[i].APIURL, "bftledger_p2p_connections_refused_total"); n < 1 {
				return errorf("node %d counts %v refused connections", i, n)
			}
		}
		return nil
	})
}

// cliExitCodes runs the CLI binary: tx send's exit codes and the
// verifying queries.
func cliExitCodes(t *testing.T, tn *Testnet, c *client.Client, l *load) {
	bin := nodeBinary(t)
	cli := func(args ...string) (int, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), out.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, out.String()
	}
	from := filepath.Join(tn.Dir, tn.Meta.Accounts[len(tn.Meta.Accounts)-1]) // not used by the load
	dest := l.keys[0].Address().String()
	if code, out := cli("tx", "send", "--testnet", tn.Dir, "--from", from, "--to", dest, "--amount", "3", "--json"); code != 0 || !strings.Contains(out, `"status": "committed"`) {
		t.Fatalf("tx send: exit %d\n%s", code, out)
	}
	if code, out := cli("tx", "send", "--testnet", tn.Dir, "--from", from, "--to", dest, "--amount", "1000000000000000"); code != 3 || !strings.Contains(out, "FAILED") {
		t.Fatalf("overdraft: exit %d, want 3\n%s", code, out)
	}
	if code, out := cli("tx", "send", "--testnet", tn.Dir, "--from", from, "--to", dest, "--amount", "1", "--nonce", "7", "--timeout", "1ms"); code != 4 {
		t.Fatalf("no time to commit: exit %d, want 4\n%s", code, out)
	}
	if code, out := cli("tx", "send", "--testnet", tn.Dir, "--from", from, "--to", "nope", "--amount", "1"); code != 1 {
		t.Fatalf("bad address: exit %d, want 1\n%s", code, out)
	}
	if code, out := cli("query", "block", "--testnet", tn.Dir); code != 0 || !strings.Contains(out, "certificate valid") {
		t.Fatalf("query block: exit %d\n%s", code, out)
	}
	if code, out := cli("query", "block", "1", "--testnet", tn.Dir, "--json"); code != 0 || !strings.Contains(out, `"certificate_valid": true`) {
		t.Fatalf("query block 1: exit %d\n%s", code, out)
	}
	if code, out := cli("query", "account", dest, "--testnet", tn.Dir); code != 0 || !strings.Contains(out, "balance") {
		t.Fatalf("query account: exit %d\n%s", code, out)
	}
	if code, out := cli("query", "status", "--testnet", tn.Dir, "--json"); code != 0 || !strings.Contains(out, `"chain_id": "`+tn.Genesis.ChainID) {
		t.Fatalf("query status: exit %d\n%s", code, out)
	}
	if code, out := cli("testnet", "status", "--dir", tn.Dir); code != 0 || strings.Count(out, "running") != 4 {
		t.Fatalf("testnet status: exit %d\n%s", code, out)
	}
}
