package node

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/bftledger/bftledger/api"
	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/ledger"
)

// sendRound submits one transfer from every user (user u pays user u+1,
// through node u mod n) and waits until every node has its receipt. It
// returns the receipts seen on node 0.
func sendRound(t *testing.T, tn *testNet, rs []*running, nonce uint64) []api.SignedReceipt {
	t.Helper()
	hashes := make([]crypto.Hash, len(tn.users))
	for u, user := range tn.users {
		to := tn.users[(u+1)%len(tn.users)].Address()
		tx := ledger.NewTransfer(user, testChainID, to, 10, nonce).Encode()
		r := rs[u%len(rs)]
		var resp api.SubmitResponse
		code := 0
		for deadline := time.Now().Add(20 * time.Second); ; {
			code = httpJSON(t, "POST", "http://"+r.n.APIAddr()+"/v1/txs",
				api.SubmitRequest{Tx: hex.EncodeToString(tx)}, &resp)
			if code != 503 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond) // client backoff, as Retry-After asks (no leader yet)
		}
		if code != 202 {
			t.Fatalf("submit user %d nonce %d: status %d", u, nonce, code)
		}
		hashes[u] = resp.Hash
	}
	out := make([]api.SignedReceipt, len(hashes))
	for _, r := range rs {
		for u, h := range hashes {
			sr := waitReceipt(t, r, h, 60*time.Second)
			if sr.Receipt.Code != ledger.CodeOK {
				t.Fatalf("node %d: tx of user %d failed: %+v", r.n.Index(), u, sr.Receipt)
			}
			rc := ledger.Receipt{TxHash: sr.Receipt.TxHash, Height: sr.Receipt.Height, Index: sr.Receipt.Index,
				Code: sr.Receipt.Code, Message: sr.Receipt.Message}
			if !crypto.Verify(tn.keys[r.n.Index()].PublicKey(), ledger.ReceiptSignBytes(testChainID, &rc), sr.Signature) {
				t.Fatalf("node %d: receipt signature does not verify", r.n.Index())
			}
			if r == rs[0] {
				out[u] = sr
			} else if sr.Receipt != out[u].Receipt {
				t.Fatalf("node %d disagrees on user %d's receipt: %+v vs %+v", r.n.Index(), u, sr.Receipt, out[u].Receipt)
			}
		}
	}
	return out
}

// checkAgreement waits until every node is at the same height, then checks
// they hold the same block there.
func checkAgreement(t *testing.T, rs []*running) uint64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var blocks []api.Block
		for _, r := range rs {
			var b api.Block
			if code := httpJSON(t, "GET", "http://"+r.n.APIAddr()+"/v1/blocks/latest", nil, &b); code != 200 {
				t.Fatalf("node %d: latest block: %d", r.n.Index(), code)
			}
			blocks = append(blocks, b)
		}
		same := true
		for _, b := range blocks[1:] {
			same = same && b.Height == blocks[0].Height
		}
		if same {
			for i, b := range blocks[1:] {
				if b.Hash != blocks[0].Hash || b.AppHash != blocks[0].AppHash {
					t.Fatalf("node %d block %d differs from node 0's", i+1, b.Height)
				}
			}
			return blocks[0].Height
		}
		if time.Now().After(deadline) {
			t.Fatalf("nodes did not converge: %+v", blocks)
		}
		time.Sleep(20 * time.Millisecond) // polling another process's progress; not synchronisation of our own
	}
}

// TestNetworkPBFT runs four PBFT nodes over real libp2p on 127.0.0.1:
// transfers commit with matching signed receipts on every node, the nodes
// agree on every block, and after a full restart they resume from their
// stores and keep committing.
func TestNetworkPBFT(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four nodes")
	}
	tn := newTestNet(t, 4, engine.ModePBFT, 8, nil)
	rs := startNodes(t, tn.homes)
	for nonce := range uint64(3) {
		sendRound(t, tn, rs, nonce)
	}
	h := checkAgreement(t, rs)
	var st api.Status
	httpJSON(t, "GET", "http://"+rs[1].n.APIAddr()+"/v1/status", nil, &st)
	if st.Mode != engine.ModePBFT || st.Height < h || st.ConnectedPeers != 3 || st.Name != "node1" {
		t.Fatalf("status: %+v", st)
	}

	for _, r := range rs {
		r.halt(t)
	}
	rs = startNodes(t, tn.homes)
	for _, r := range rs {
		if got := r.n.Height(); got < h {
			t.Fatalf("node %d restarted at height %d, had %d", r.n.Index(), got, h)
		}
	}
	sendRound(t, tn, rs, 3)
	checkAgreement(t, rs)
	var acct api.Account
	httpJSON(t, "GET", "http://"+rs[2].n.APIAddr()+"/v1/accounts/"+tn.users[0].Address().String(), nil, &acct)
	if acct.Nonce != 4 || acct.Balance != 1_000_000 { // paid 4x10, received 4x10
		t.Fatalf("account: %+v", acct)
	}
}

// TestNetworkRaft runs three Raft nodes over real libp2p: transfers
// submitted to any node commit everywhere, a linearizable read sees them,
// and a full restart resumes from the stores.
func TestNetworkRaft(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three nodes")
	}
	tn := newTestNet(t, 3, engine.ModeRaft, 6, nil)
	rs := startNodes(t, tn.homes)
	for nonce := range uint64(2) {
		sendRound(t, tn, rs, nonce)
	}
	checkAgreement(t, rs)
	for _, r := range rs {
		var acct api.Account
		url := "http://" + r.n.APIAddr() + "/v1/accounts/" + tn.users[1].Address().String() + "?linearizable=true"
		if code := httpJSON(t, "GET", url, nil, &acct); code != 200 || acct.Nonce != 2 {
			t.Fatalf("node %d: linearizable read: %d %+v", r.n.Index(), code, acct)
		}
	}
	var st api.Status
	httpJSON(t, "GET", "http://"+rs[0].n.APIAddr()+"/v1/status", nil, &st)
	if st.Mode != engine.ModeRaft || st.Term == 0 || st.Leader < 0 {
		t.Fatalf("status: %+v", st)
	}

	for _, r := range rs {
		r.halt(t)
	}
	rs = startNodes(t, tn.homes)
	sendRound(t, tn, rs, 2)
	checkAgreement(t, rs)
}
