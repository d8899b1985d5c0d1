package bench

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/bftledger/bftledger/crypto"
)

// Errors returned by the bench package. Validation errors wrap ErrConfig
// with the offending value.
var (
	ErrConfig   = errors.New("bench: invalid config")
	ErrNode     = errors.New("bench: node answered badly")
	ErrNotFound = errors.New("bench: not found")
)

// Consensus modes, as genesis and /v1/status name them.
const (
	ModePBFT = "pbft"
	ModeRaft = "raft"
)

// Node is one validator the bench drives.
type Node struct {
	Index     int    // validator index in genesis
	Name      string // genesis name, e.g. "node0"
	URL       string // API base URL, e.g. "http://127.0.0.1:26611"
	PID       int    // operating system process id; 0 = unknown (no RSS/CPU figures)
	PublicKey []byte // validator Ed25519 key; receipts claiming this index must carry it
}

// Tx is one pre-signed transfer, ready to post.
type Tx struct {
	Hex  string      // hex of the canonical encoding, exactly as POSTed
	Hash crypto.Hash // the tx hash nodes report in blocks and receipts
}

// SignFunc signs the transfer that sender account sends with nonce. The
// bench calls it from many goroutines at once, before the clock starts; it
// must be safe for concurrent use.
type SignFunc func(account int, nonce uint64) (Tx, error)

// ReceiptVerifier checks a receipt's signature by validator public key. A nil
// verifier checks only that the key is the validator's genesis key.
type ReceiptVerifier func(r *Receipt, publicKey, signature []byte) error

// Phase is one measured stretch of load. With Rate and RatePct zero it is a
// closed loop: Clients clients each post a batch and wait until every tx of
// it is committed before posting the next. Otherwise it is an open loop that
// releases txs at a fixed rate whatever the cluster does.
type Phase struct {
	Name     string        // short label: "peak", "load80", "low"
	Clients  int           // closed loop: number of clients
	Rate     float64       // open loop: tx/s
	RatePct  float64       // open loop at this percentage of the first phase's measured tx/s (when Rate is 0)
	Warmup   time.Duration // load runs but is not measured
	Duration time.Duration // the measurement window
}

// Open reports whether the phase is an open loop.
func (p Phase) Open() bool { return p.Rate > 0 || p.RatePct > 0 }

// Config describes one benchmark run against one running cluster.
type Config struct {
	Label   string // e.g. "pbft n=4"; defaults to "<mode> n=<nodes>"
	Mode    string // ModePBFT or ModeRaft: decides how many receipts a client needs
	ChainID string // informational
	Nodes   []Node

	// Accounts is the number of funded sender accounts the SignFunc knows;
	// each has at most one transfer in flight at a time, so a sender's
	// nonces can never arrive out of order.
	Accounts   int
	StartNonce uint64 // the nonce of every account's first transfer
	Sign       SignFunc

	// VerifyReceipt checks signed receipts (nil: key match only).
	VerifyReceipt ReceiptVerifier

	Phases []Phase

	// MaxRate (tx/s) sizes the pre-signing of closed-loop phases: enough
	// transfers for (warm-up + duration) at this rate. An open-loop phase
	// signs for its own rate.
	MaxRate float64

	BatchTxs    int // txs per POST /v1/txs/batch (default BatchTxsDefault)
	SampleEvery int // measure the latency of every n-th tx (default SampleEveryDefault)

	// OnWindow, if set, is called (on its own goroutine) when a phase's
	// measurement window opens, with the phase and the window's length;
	// the CLI uses it to take CPU profiles of the nodes under load.
	OnWindow func(ph Phase)

	HTTPClient  *http.Client // nil: a client tuned for many localhost connections
	Logger      *slog.Logger // nil: discard
	Progress    io.Writer    // nil: no progress line
	Interactive bool         // Progress is a terminal: refresh one line in place
}

// ReceiptsNeeded is how many matching signed receipts a client waits for:
// f+1 from distinct validators under PBFT (f = (n-1)/3), one under Raft.
func ReceiptsNeeded(mode string, n int) int {
	if mode == ModeRaft {
		return 1
	}
	return (n-1)/3 + 1
}

// Validate checks every field against its bounds, with errors that name
// the field and wrap ErrConfig.
func (c *Config) Validate() error {
	if c.Mode != ModePBFT && c.Mode != ModeRaft {
		return fmt.Errorf("%w: mode %q: want %q or %q", ErrConfig, c.Mode, ModePBFT, ModeRaft)
	}
	if len(c.Nodes) < 1 || len(c.Nodes) > NodesMax {
		return fmt.Errorf("%w: %d nodes: want 1..%d", ErrConfig, len(c.Nodes), NodesMax)
	}
	seen := make(map[int]bool, len(c.Nodes))
	for i, n := range c.Nodes {
		if err := n.validate(len(c.Nodes)); err != nil {
			return fmt.Errorf("%w: node %d: %w", ErrConfig, i, err)
		}
		if seen[n.Index] {
			return fmt.Errorf("%w: node %d: duplicate validator index %d", ErrConfig, i, n.Index)
		}
		seen[n.Index] = true
	}
	if c.Accounts < 1 || c.Accounts > AccountsMax {
		return fmt.Errorf("%w: %d accounts: want 1..%d", ErrConfig, c.Accounts, AccountsMax)
	}
	if c.Sign == nil {
		return fmt.Errorf("%w: no SignFunc", ErrConfig)
	}
	if len(c.Phases) == 0 {
		return fmt.Errorf("%w: no phases", ErrConfig)
	}
	for i, p := range c.Phases {
		if err := p.validate(i); err != nil {
			return fmt.Errorf("%w: phase %d (%s): %w", ErrConfig, i, p.Name, err)
		}
	}
	if c.MaxRate < 1 || c.MaxRate > RateMax {
		return fmt.Errorf("%w: max rate %v tx/s: want 1..%d", ErrConfig, c.MaxRate, RateMax)
	}
	if c.BatchTxs < 0 || c.BatchTxs > BatchTxsMax {
		return fmt.Errorf("%w: batch of %d txs: want 0 (default) or 1..%d", ErrConfig, c.BatchTxs, BatchTxsMax)
	}
	if c.SampleEvery < 0 || c.SampleEvery > SampleEveryMax {
		return fmt.Errorf("%w: sample every %d txs: want 0 (default) or 1..%d", ErrConfig, c.SampleEvery, SampleEveryMax)
	}
	return nil
}

func (n Node) validate(count int) error {
	if n.Index < 0 || n.Index >= NodesMax {
		return fmt.Errorf("validator index %d out of range 0..%d", n.Index, NodesMax-1)
	}
	u, err := url.Parse(n.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("API URL %q: want http://host:port", n.URL)
	}
	if n.PID < 0 {
		return fmt.Errorf("pid %d is negative", n.PID)
	}
	if n.PublicKey != nil && len(n.PublicKey) != crypto.PublicKeySize {
		return fmt.Errorf("public key is %d bytes, want %d", len(n.PublicKey), crypto.PublicKeySize)
	}
	return nil
}

func (p Phase) validate(first int) error {
	if p.Name == "" {
		return errors.New("empty name")
	}
	if p.Rate < 0 || p.Rate > RateMax {
		return fmt.Errorf("rate %v tx/s: want 0..%d", p.Rate, RateMax)
	}
	if p.RatePct < 0 || p.RatePct > 1000 {
		return fmt.Errorf("rate %v%% of peak: want 0..1000", p.RatePct)
	}
	if p.RatePct > 0 && first == 0 {
		return errors.New("a rate relative to the first phase cannot be the first phase")
	}
	if !p.Open() && (p.Clients < 1 || p.Clients > ClientsMax) {
		return fmt.Errorf("%d clients: want 1..%d", p.Clients, ClientsMax)
	}
	if p.Duration <= 0 || p.Duration > DurationMax {
		return fmt.Errorf("duration %v: want (0, %v]", p.Duration, DurationMax)
	}
	if p.Warmup < 0 || p.Warmup > DurationMax {
		return fmt.Errorf("warm-up %v: want [0, %v]", p.Warmup, DurationMax)
	}
	return nil
}

// withDefaults returns a copy with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.BatchTxs == 0 {
		c.BatchTxs = BatchTxsDefault
	}
	if c.SampleEvery == 0 {
		c.SampleEvery = SampleEveryDefault
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Label == "" {
		c.Label = fmt.Sprintf("%s n=%d", c.Mode, len(c.Nodes))
	}
	if c.HTTPClient == nil {
		c.HTTPClient = newHTTPClient(len(c.Nodes))
	}
	return c
}

// newHTTPClient keeps enough idle connections per node that hundreds of
// concurrent long-polls and batch posts reuse them instead of exhausting
// ephemeral ports.
func newHTTPClient(nodes int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 0
	t.MaxIdleConnsPerHost = samplersMax/max(nodes, 1) + 64
	t.IdleConnTimeout = 30 * time.Second
	return &http.Client{Transport: t, Timeout: receiptWait + 5*time.Second}
}
