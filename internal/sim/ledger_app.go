package sim

import (
	"fmt"
	"math/rand/v2"

	dbm "github.com/cometbft/cometbft-db"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/ledger"
)

// ledgerClientBalance is each simulated client's genesis balance.
const ledgerClientBalance = 1_000_000

// LedgerApp runs the real ledger: every replica applies batches to its own
// ledger.Store over an in-memory database, clients submit signed transfers
// between their accounts, and the checkers watch total supply.
type LedgerApp struct {
	chainID string
	genesis *ledger.Genesis
	clients []*crypto.Ed25519Signer
	byKey   map[string]int // client public key -> index
	// checked caches CheckTx verdicts: the check is pure, and every replica
	// runs it on every tx of every PRE-PREPARE, so the signature checks
	// would otherwise dominate a run. Bounded by the txs of one run.
	checked map[string]error
}

// NewLedgerApp makes a genesis funding one account per client, with keys
// drawn from rng.
func NewLedgerApp(chainID string, clients int, rng *rand.Rand) (*LedgerApp, error) {
	a := &LedgerApp{chainID: chainID, byKey: make(map[string]int), checked: make(map[string]error)}
	g := &ledger.Genesis{ChainID: chainID, Consensus: engine.ModePBFT}
	for i := 0; i < clients+4; i++ {
		seed := make([]byte, crypto.SeedSize)
		for j := range seed {
			seed[j] = byte(rng.Uint32())
		}
		s, err := crypto.Ed25519FromSeed(seed)
		if err != nil {
			return nil, err
		}
		if i < 4 { // the ledger's own view of the validator set
			g.Validators = append(g.Validators, ledger.GenesisValidator{
				Name: fmt.Sprintf("node%d", i), PublicKey: fmt.Sprintf("%x", s.PublicKey()),
				P2PAddr: fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", 26600+2*i),
				APIAddr: fmt.Sprintf("http://127.0.0.1:%d", 26601+2*i),
			})
			continue
		}
		a.byKey[string(s.PublicKey())] = len(a.clients)
		a.clients = append(a.clients, s)
		g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: s.Address(), Balance: ledgerClientBalance})
	}
	g.Params = ledger.DefaultParams()
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("sim: ledger genesis: %w", err)
	}
	a.genesis = g
	return a, nil
}

// Name implements App.
func (a *LedgerApp) Name() string { return "ledger" }

// NewMachine implements App.
func (a *LedgerApp) NewMachine(int) (StateMachine, error) {
	st, err := ledger.NewStore(dbm.NewMemDB(), a.genesis)
	if err != nil {
		return nil, err
	}
	return &ledgerMachine{st: st}, nil
}

// NewTx implements App: a transfer of 1..100 from client to another
// client, with nonce seq (the client waits for each to commit).
func (a *LedgerApp) NewTx(client int, seq uint64, rng *rand.Rand) []byte {
	to := a.clients[rng.IntN(len(a.clients))].Address()
	return ledger.NewTransfer(a.clients[client], a.chainID, to, 1+uint64(rng.IntN(100)), seq).Encode()
}

// ClientOf implements App.
func (a *LedgerApp) ClientOf(b []byte) int {
	tx, err := ledger.DecodeTx(b)
	if err != nil {
		return -1
	}
	if i, ok := a.byKey[string(tx.From)]; ok {
		return i
	}
	return -1
}

// CheckTx implements App: the ledger's stateless admission. Verdicts are
// cached; a LedgerApp belongs to one run, which is single threaded.
func (a *LedgerApp) CheckTx(b []byte) error {
	if err, ok := a.checked[string(b)]; ok {
		return err
	}
	_, err := ledger.CheckTx(a.chainID, b)
	if len(a.checked) < maxTxs {
		a.checked[string(b)] = err
	}
	return err
}

// Outstanding implements App: one tx at a time, so nonces apply in order.
func (a *LedgerApp) Outstanding() int { return 1 }

// ledgerMachine is a ledger.Store as a StateMachine.
type ledgerMachine struct{ st *ledger.Store }

func (m *ledgerMachine) Apply(c engine.Committed) ([]byte, error) {
	b, _, err := m.st.Apply(c)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), b.AppHash[:]...), nil
}

func (m *ledgerMachine) Height() uint64 { return m.st.Height() }

func (m *ledgerMachine) Supply() (uint64, bool) {
	s, err := m.st.TotalSupply()
	if err != nil {
		return 0, false
	}
	return s, true
}
