package api

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/ledger"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ErrConfig is wrapped by the errors New returns for a bad Config.
var ErrConfig = errors.New("api: invalid config")

// Backend is the node behind the API. Its methods are called concurrently
// from many request goroutines.
type Backend interface {
	// Propose hands admitted txs (each passed ledger.CheckTx; hashes[i] is
	// ledger.TxHash(txs[i])) to consensus and returns one verdict per tx:
	// nil, engine.ErrDuplicate if already pending (answered as accepted),
	// or ErrBusy, engine.ErrPoolFull or engine.ErrNotReady when the node
	// cannot take it now (503). It must not block for long: a full queue
	// is ErrBusy at once.
	Propose(ctx context.Context, hashes []crypto.Hash, txs [][]byte) []error
	// Receipt returns the committed receipt of a tx, or ledger.ErrNotFound.
	Receipt(hash crypto.Hash) (*ledger.Receipt, error)
	// WaitReceipt blocks until the tx's receipt is committed or ctx ends
	// (then ctx.Err()). It returns ErrBusy when too many clients wait.
	WaitReceipt(ctx context.Context, hash crypto.Hash) (*ledger.Receipt, error)
	// Account returns an account and the height it was read at. With
	// linearizable, the read reflects every write committed before the call
	// (Raft: after a ReadIndex round); it may return ErrUnavailable.
	Account(ctx context.Context, addr crypto.Address, linearizable bool) (ledger.Account, uint64, error)
	// Block returns the block at height, or ledger.ErrNotFound.
	Block(height uint64) (*ledger.Block, error)
	// LatestBlock returns the newest block, or ledger.ErrNotFound before
	// the first.
	LatestBlock() (*ledger.Block, error)
	// Status reports the node's status.
	Status() Status
	// SetIsolated cuts (true) or restores (false) the node's peer traffic.
	SetIsolated(on bool)
	// ChangeMembership makes the genesis validators in add voters and
	// removes those in remove (Raft only), and returns the voters once the
	// change is applied here. It returns ErrNotRaft in PBFT mode,
	// ErrBadMembership for a change that cannot be made, ErrBusy or
	// engine.ErrNotReady when it cannot be proposed now, and
	// ErrUnavailable when it was not applied in time.
	ChangeMembership(ctx context.Context, add, remove []int) ([]int, error)
}

// Config configures a Server.
type Config struct {
	// ChainID is the network's chain id; txs for another are refused.
	ChainID string
	// Validator is this node's validator index, reported with receipts.
	Validator int
	// Signer is this node's validator key; it signs receipts.
	Signer crypto.Signer
	// Backend serves the requests.
	Backend Backend
	// Gatherer is served on /metrics; nil serves an empty registry.
	Gatherer prometheus.Gatherer
	// MaxBodyBytes bounds a request body; 0 selects BodyBytesDefault.
	MaxBodyBytes int64
	// EnableAdmin serves POST /v1/admin/isolate (testnets only).
	EnableAdmin bool
	// EnablePprof serves net/http/pprof under /debug/pprof/ (profiling a
	// testnet or benchmark; it exposes internals, so never on a public
	// listener).
	EnablePprof bool
	// Validators is the number of genesis validators: membership changes
	// name indexes below it. 0 leaves the range check to the Backend.
	Validators int
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// CheckTxs is admission: one error per tx of a submission. A node
	// passes one that remembers txs it already verified. Nil means CheckTx
	// on each tx if that is set, else ledger.CheckTxs with ChainID (the
	// signatures checked as one batch).
	CheckTxs func(txs [][]byte) []error
	// CheckTx is admission one tx at a time, used only when CheckTxs is nil.
	CheckTx func(tx []byte) error
}

// Server is the HTTP API of one node.
type Server struct {
	cfg     Config
	log     *slog.Logger
	handler http.Handler
}

// New validates cfg and builds the server's routes.
func New(cfg Config) (*Server, error) {
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = BodyBytesDefault
	}
	if cfg.MaxBodyBytes < bodyBytesMin {
		return nil, fmt.Errorf("%w: max body bytes %d below %d", ErrConfig, cfg.MaxBodyBytes, bodyBytesMin)
	}
	if cfg.ChainID == "" || cfg.Signer == nil || cfg.Backend == nil {
		return nil, fmt.Errorf("%w: chain id, signer and backend are required", ErrConfig)
	}
	if cfg.Validators < 0 {
		return nil, fmt.Errorf("%w: %d validators", ErrConfig, cfg.Validators)
	}
	if cfg.Gatherer == nil {
		cfg.Gatherer = prometheus.NewRegistry()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.CheckTxs != nil:
	case cfg.CheckTx != nil:
		checkTx := cfg.CheckTx
		cfg.CheckTxs = func(txs [][]byte) []error {
			errs := make([]error, len(txs))
			for i, tx := range txs {
				errs[i] = checkTx(tx)
			}
			return errs
		}
	default:
		chainID := cfg.ChainID
		cfg.CheckTxs = func(txs [][]byte) []error {
			_, errs := ledger.CheckTxs(chainID, txs)
			return errs
		}
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/txs", s.handleSubmit)
	mux.HandleFunc("POST /v1/txs/batch", s.handleSubmitBatch)
	mux.HandleFunc("GET /v1/txs/{hash}", s.handleReceipt)
	mux.HandleFunc("GET /v1/accounts/{address}", s.handleAccount)
	mux.HandleFunc("GET /v1/blocks/{height}", s.handleBlock)
	mux.HandleFunc("GET /v1/status", s.handleStatus)
	mux.HandleFunc("POST /v1/admin/validators", s.handleMembership)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}))
	if cfg.EnableAdmin {
		mux.HandleFunc("POST /v1/admin/isolate", s.handleIsolate)
	}
	if cfg.EnablePprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, notFound("no route for %s %s", r.Method, r.URL.Path))
	})
	s.handler = mux
	return s, nil
}

// Handler returns the API's http.Handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers requests on ln until ctx is cancelled, then shuts down
// gracefully (bounded by shutdownTimeout) and returns nil. It closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("api serving", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("api: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api: serve: %w", err)
	}
	s.log.Info("api stopped")
	return nil
}

// shutdownTimeout bounds the graceful shutdown of Serve; long-polls see
// their context cancelled at once, so it is only for slow writes.
const shutdownTimeout = 5 * time.Second

// decodeBody strictly decodes a JSON body of at most MaxBodyBytes into v:
// unknown fields, trailing data and oversized bodies are errors.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) *apiError {
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	err := decodeStrict(body, v)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &apiError{http.StatusBadRequest, CodeTooLarge,
			fmt.Sprintf("request body exceeds %d bytes", mbe.Limit)}
	}
	if err != nil {
		return badRequest("malformed JSON body: %v", err)
	}
	return nil
}

// decodeStrict decodes exactly one JSON value from r into v, refusing
// unknown fields and anything after the value but white space.
func decodeStrict(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			return errors.New("trailing data after the JSON value")
		}
		return err
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"encoding the answer failed","code":"internal"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.code == CodeBusy {
		w.Header().Set("Retry-After", retryAfterSeconds)
	}
	writeJSON(w, e.status, Error{Message: e.msg, Code: e.code})
}

// HexBytes is a byte string shown as lower-case hex in JSON.
type HexBytes []byte

// MarshalText encodes b as hex.
func (b HexBytes) MarshalText() ([]byte, error) {
	out := make([]byte, hex.EncodedLen(len(b)))
	hex.Encode(out, b)
	return out, nil
}

// UnmarshalText decodes hex.
func (b *HexBytes) UnmarshalText(t []byte) error {
	out := make([]byte, hex.DecodedLen(len(t)))
	if _, err := hex.Decode(out, t); err != nil {
		return fmt.Errorf("bad hex: %w", err)
	}
	*b = out
	return nil
}
