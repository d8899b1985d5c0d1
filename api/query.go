package api

import (
	"bytes"
	"io"
	"net/http"
	"strconv"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/ledger"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// Account answers GET /v1/accounts/{address}.
type Account struct {
	Address crypto.Address `json:"address"`
	Balance uint64         `json:"balance"`
	Nonce   uint64         `json:"nonce"`
	// Height is the ledger height the account was read at.
	Height uint64 `json:"height"`
}

// Block answers GET /v1/blocks/{height}: the header, the txs with their
// hashes, and the engine's commit proof.
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
}

// Status answers GET /v1/status. View is meaningful in PBFT mode and Term
// in Raft mode; both are always present.
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
	AppHash              crypto.Hash  `json:"app_hash"`
	LastStableCheckpoint uint64       `json:"last_stable_checkpoint"`
	Peers                []PeerStatus `json:"peers"`
	ConnectedPeers       int          `json:"connected_peers"`
	PendingTxs           int          `json:"pending_txs"`
	ViewChanges          uint64       `json:"view_changes"`
	// Byzantine names the unsafe test behaviour this node runs; "" if honest.
	Byzantine string `json:"byzantine"`
	Isolated  bool   `json:"isolated"`
	// Voters are the validator indexes voting in Raft mode (the incoming
	// set during a joint change); absent in PBFT mode, where every
	// genesis validator takes part.
	Voters []int `json:"voters,omitempty"`
}

// PeerStatus is one other validator as this node sees it.
type PeerStatus struct {
	Index     int    `json:"index"`
	Name      string `json:"name"`
	Connected bool   `json:"connected"`
}

// IsolateRequest is the body of POST /v1/admin/isolate.
type IsolateRequest struct {
	Isolated *bool `json:"isolated"`
}

func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request) {
	addr, err := crypto.ParseAddress(r.PathValue("address"))
	if err != nil {
		writeError(w, badRequest("address: %v", err))
		return
	}
	lin := false
	if q := r.URL.Query().Get("linearizable"); q != "" {
		lin, err = strconv.ParseBool(q)
		if err != nil {
			writeError(w, badRequest("linearizable %q: want true or false", q))
			return
		}
	}
	acct, height, err := s.cfg.Backend.Account(r.Context(), addr, lin)
	if err != nil {
		writeError(w, classify(err))
		return
	}
	writeJSON(w, http.StatusOK, Account{Address: addr, Balance: acct.Balance, Nonce: acct.Nonce, Height: height})
}

func (s *Server) handleBlock(w http.ResponseWriter, r *http.Request) {
	var (
		b   *ledger.Block
		err error
	)
	if p := r.PathValue("height"); p == "latest" {
		b, err = s.cfg.Backend.LatestBlock()
	} else {
		h, perr := strconv.ParseUint(p, 10, 64)
		if perr != nil || h == 0 {
			writeError(w, badRequest("height %q: want a positive integer or latest", p))
			return
		}
		b, err = s.cfg.Backend.Block(h)
	}
	if err != nil {
		writeError(w, classify(err))
		return
	}
	writeJSON(w, http.StatusOK, blockJSON(b))
}

// blockJSON renders a ledger block.
func blockJSON(b *ledger.Block) Block {
	out := Block{
		Height: b.Height, Hash: b.Hash(), PrevHash: b.PrevHash, TxRoot: b.TxRoot, AppHash: b.AppHash,
		Proposer: b.Proposer, Round: b.Round, Proof: b.Proof,
		Txs: make([]HexBytes, len(b.Txs)), TxHashes: make([]crypto.Hash, len(b.Txs)),
	}
	for i, tx := range b.Txs {
		out.Txs[i] = tx
		out.TxHashes[i] = crypto.Sum(tx)
	}
	return out
}

func (s *Server) handleStatus(w http.ResponseWriter, _ *http.Request) {
	st := s.cfg.Backend.Status()
	if st.Peers == nil {
		st.Peers = []PeerStatus{}
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) handleIsolate(w http.ResponseWriter, r *http.Request) {
	var req IsolateRequest
	if e := s.decodeBody(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	if req.Isolated == nil {
		writeError(w, badRequest(`missing "isolated"`))
		return
	}
	s.cfg.Backend.SetIsolated(*req.Isolated)
	s.log.Warn("admin: isolation set", "isolated", *req.Isolated)
	writeJSON(w, http.StatusOK, map[string]bool{"isolated": *req.Isolated})
}
