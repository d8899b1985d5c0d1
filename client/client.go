package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bftledger/bftledger/crypto"
)

// Options configure a Client. ChainID, Mode and Validators normally come
// from the genesis (FromGenesis fills them in).
type Options struct {
	// ChainID is the network's chain id; receipts are signed under it.
	ChainID string
	// Mode is "pbft" or "raft"; it decides how many receipts Need returns.
	Mode string
	// Validators are the genesis validators' 32-byte Ed25519 public keys,
	// in index order. Receipts and certificates are checked against them.
	Validators [][]byte
	// HTTPClient sends the requests; nil uses a client with keep-alives and
	// no overall timeout (each request gets RequestTimeout).
	HTTPClient *http.Client
	// RequestTimeout bounds one plain request. Default 10s.
	RequestTimeout time.Duration
	// PollWait is the long-poll each receipt request asks the node for.
	// Default 2s; at most 30s.
	PollWait time.Duration
	// MaxAttempts bounds how often one request is tried when the node
	// pushes back (503/429) or cannot be reached. Default 8. Receipt polls
	// are retried until their context ends regardless.
	MaxAttempts int
	// ResubmitEvery is how often Transfer re-sends the same signed tx to
	// every node while it waits for receipts, so a tx a crashed or
	// replaced primary lost still commits. Default 2s; negative disables.
	ResubmitEvery time.Duration
	// Logger receives debug logs of retries and bad answers; nil discards.
	Logger *slog.Logger
}

// Client talks to the nodes of one network. It is safe for concurrent use.
type Client struct {
	nodes []string
	opts  Options
	http  *http.Client
	log   *slog.Logger
}

// New returns a client for the API base URLs in nodes (for example
// http://127.0.0.1:26611). The options are checked; Validators may be empty
// only for a client that never verifies receipts or blocks.
func New(nodes []string, opts Options) (*Client, error) {
	if len(nodes) == 0 {
		return nil, fmt.Errorf("%w: no node URLs", ErrConfig)
	}
	if len(nodes) > MaxNodes {
		return nil, fmt.Errorf("%w: %d node URLs, at most %d", ErrConfig, len(nodes), MaxNodes)
	}
	clean := make([]string, len(nodes))
	for i, n := range nodes {
		u, err := parseNodeURL(n)
		if err != nil {
			return nil, fmt.Errorf("%w: node %d: %w", ErrConfig, i, err)
		}
		clean[i] = u
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	hc := opts.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		hc = &http.Client{Transport: tr}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{nodes: clean, opts: opts, http: hc, log: log}, nil
}

// parseNodeURL checks an API base URL and returns it without a trailing
// slash.
func parseNodeURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("URL %s: %w", quote(s), err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("URL %s: want http:// or https://", quote(s))
	}
	if u.Host == "" {
		return "", fmt.Errorf("URL %s: no host", quote(s))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("URL %s: a base URL has no query or fragment", quote(s))
	}
	return strings.TrimRight(s, "/"), nil
}

func (o Options) validate() error {
	switch o.Mode {
	case "", "pbft", "raft":
	default:
		return fmt.Errorf("%w: mode %s, want pbft or raft", ErrConfig, quote(o.Mode))
	}
	for i, v := range o.Validators {
		if len(v) != crypto.PublicKeySize {
			return fmt.Errorf("%w: validator %d key is %d bytes, want %d", ErrConfig, i, len(v), crypto.PublicKeySize)
		}
	}
	if len(o.Validators) > MaxNodes {
		return fmt.Errorf("%w: %d validators, at most %d", ErrConfig, len(o.Validators), MaxNodes)
	}
	if o.RequestTimeout < 0 || o.PollWait < 0 || o.MaxAttempts < 0 {
		return fmt.Errorf("%w: negative timeout or attempts", ErrConfig)
	}
	if o.PollWait > maxWaitPerPoll {
		return fmt.Errorf("%w: poll wait %v exceeds %v", ErrConfig, o.PollWait, maxWaitPerPoll)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.Mode == "" {
		o.Mode = "pbft"
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = defaultRequestTimeout
	}
	if o.PollWait == 0 {
		o.PollWait = defaultPollWait
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 8
	}
	if o.ResubmitEvery == 0 {
		o.ResubmitEvery = 2 * time.Second
	}
	return o
}

// Nodes returns the API base URLs, in the order given to New.
func (c *Client) Nodes() []string { return append([]string(nil), c.nodes...) }

// ChainID returns the chain id the client signs and verifies under.
func (c *Client) ChainID() string { return c.opts.ChainID }

// Mode returns "pbft" or "raft".
func (c *Client) Mode() string { return c.opts.Mode }

// Validators returns the number of genesis validators (n).
func (c *Client) Validators() int { return len(c.opts.Validators) }

// F returns the number of faulty validators the network tolerates:
// (n-1)/3 for PBFT, (n-1)/2 crashes for Raft.
func (c *Client) F() int {
	n := len(c.opts.Validators)
	if n == 0 {
		n = len(c.nodes)
	}
	if c.opts.Mode == "raft" {
		return (n - 1) / 2
	}
	return (n - 1) / 3
}

// Need returns how many matching signed receipts make a result certain:
// f+1 in PBFT mode (one of them is from an honest replica), 1 in Raft mode.
func (c *Client) Need() int {
	if c.opts.Mode == "raft" {
		return 1
	}
	return c.F() + 1
}

// checkNode validates a node index.
func (c *Client) checkNode(node int) error {
	if node < 0 || node >= len(c.nodes) {
		return fmt.Errorf("%w: node %d out of range [0,%d)", ErrConfig, node, len(c.nodes))
	}
	return nil
}

// request is one HTTP exchange with a node.
type request struct {
	method  string
	path    string // with query
	body    any    // JSON-encoded when non-nil
	maxResp int    // response body limit
	timeout time.Duration
	retries int // attempts on 503/429/unreachable; 1 = no retry
}

// do sends r to node, retrying with backoff on pushback and refused
// connections, and decodes a 2xx JSON answer into out (if non-nil). It
// returns the final status. Non-2xx answers become *APIError.
func (c *Client) do(ctx context.Context, node int, r request, out any) (int, error) {
	if err := c.checkNode(node); err != nil {
		return 0, err
	}
	var body []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return 0, fmt.Errorf("client: encode request: %w", err)
		}
		body = b
	}
	if r.retries <= 0 {
		r.retries = c.opts.MaxAttempts
	}
	if r.timeout <= 0 {
		r.timeout = c.opts.RequestTimeout
	}
	var lastErr error
	for attempt := 0; attempt < r.retries; attempt++ {
		if attempt > 0 {
			wait := backoff(attempt)
			var ae *APIError
			if errors.As(lastErr, &ae) && ae.RetryAfter > wait {
				wait = min(ae.RetryAfter, backoffMax)
			}
			if err := sleepCtx(ctx, wait); err != nil {
				return 0, fmt.Errorf("%w (last: %w)", err, lastErr)
			}
		}
		status, err := c.once(ctx, node, r, body, out)
		if err == nil || !retryable(err) {
			return status, err
		}
		lastErr = err
		c.log.Debug("retrying", "node", c.nodes[node], "path", r.path, "attempt", attempt+1, "err", err)
	}
	return 0, lastErr
}

// once performs a single exchange.
func (c *Client) once(ctx context.Context, node int, r request, body []byte, out any) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.nodes[node]+r.path, rd)
	if err != nil {
		return 0, fmt.Errorf("client: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, &netError{node: c.nodes[node], err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodyBytesMax))
		ae := &APIError{Node: c.nodes[node], Status: resp.StatusCode}
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			ae.RetryAfter = time.Duration(min(secs, 3600)) * time.Second
		}
		var eb apiErrorBody
		if decodeJSON(b, &eb) == nil {
			ae.Code, ae.Message = eb.Code, eb.Error
		} else {
			ae.Message = strings.TrimSpace(string(b))
		}
		return resp.StatusCode, ae
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, int64(r.maxResp)+1))
	if err != nil {
		return resp.StatusCode, &netError{node: c.nodes[node], err: err}
	}
	if len(b) > r.maxResp {
		return resp.StatusCode, fmt.Errorf("%w: %s%s: answer larger than %d bytes", ErrBadResponse, c.nodes[node], r.path, r.maxResp)
	}
	if out != nil {
		if err := decodeJSON(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%w: %s%s: %w", ErrBadResponse, c.nodes[node], r.path, err)
		}
	}
	return resp.StatusCode, nil
}

// netError is a failure to reach a node or read its answer.
type netError struct {
	node string
	err  error
}

func (e *netError) Error() string { return fmt.Sprintf("%s: %v", e.node, e.err) }
func (e *netError) Unwrap() error { return e.err }

// retryable reports whether err is worth another attempt: pushback, or a
// node that is down or restarting.
func retryable(err error) bool {
	if errors.Is(err, ErrBusy) {
		return true
	}
	var ne *netError
	if !errors.As(err, &ne) {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.EPIPE)
}

// backoff returns the wait before attempt (1-based), capped and jittered.
func backoff(attempt int) time.Duration {
	d := backoffMin << min(attempt-1, 10)
	if d > backoffMax {
		d = backoffMax
	}
	return d/2 + rand.N(d/2+1)
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Healthz checks that node answers GET /healthz.
func (c *Client) Healthz(ctx context.Context, node int) error {
	_, err := c.do(ctx, node, request{method: "GET", path: "/healthz", maxResp: responseBytesMax, retries: 1}, nil)
	return err
}

// Status returns node's GET /v1/status.
func (c *Client) Status(ctx context.Context, node int) (*Status, error) {
	var s Status
	if _, err := c.do(ctx, node, request{method: "GET", path: "/v1/status", maxResp: responseBytesMax, retries: 1}, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// NodeStatus is one node's status or the error asking for it.
type NodeStatus struct {
	Node   int     // index into Nodes()
	URL    string  // the node's API base URL
	Status *Status // nil when Err is set
	Err    error
}

// StatusAll asks every node for its status concurrently.
func (c *Client) StatusAll(ctx context.Context) []NodeStatus {
	out := make([]NodeStatus, len(c.nodes))
	done := make(chan struct{}, len(c.nodes))
	for i := range c.nodes {
		go func() {
			defer func() { done <- struct{}{} }()
			s, err := c.Status(ctx, i)
			out[i] = NodeStatus{Node: i, URL: c.nodes[i], Status: s, Err: err}
		}()
	}
	for range c.nodes {
		<-done
	}
	return out
}

// Account returns the account at addr as node sees it. With linearizable
// (meaningful in Raft mode) the node answers after a ReadIndex round.
func (c *Client) Account(ctx context.Context, node int, addr crypto.Address, linearizable bool) (*Account, error) {
	path := "/v1/accounts/" + addr.String()
	if linearizable {
		path += "?linearizable=true"
	}
	var a Account
	if _, err := c.do(ctx, node, request{method: "GET", path: path, maxResp: responseBytesMax}, &a); err != nil {
		return nil, err
	}
	if a.Address != addr {
		return nil, fmt.Errorf("%w: %s: asked for account %s, got %s", ErrBadResponse, c.nodes[node], addr, a.Address)
	}
	return &a, nil
}

// Isolate turns node's testnet-only isolation on or off (POST
// /v1/admin/isolate): an isolated node's p2p layer drops all peer traffic.
// Nodes without `[unsafe] enable_admin` answer 404 (ErrNotFound).
func (c *Client) Isolate(ctx context.Context, node int, on bool) error {
	body := struct {
		Isolated bool `json:"isolated"`
	}{on}
	_, err := c.do(ctx, node, request{method: "POST", path: "/v1/admin/isolate", body: body, maxResp: responseBytesMax}, nil)
	return err
}
