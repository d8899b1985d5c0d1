package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/ledger"
)

// submitBody is the JSON body of POST /v1/txs.
type submitBody struct {
	Tx string `json:"tx"`
}

// SubmitTxTo posts one encoded, signed tx to node. It retries (the same
// bytes) on pushback and refused connections. A 4xx answer is an *APIError
// matching ErrRejected.
func (c *Client) SubmitTxTo(ctx context.Context, node int, tx []byte) (*SubmitResult, error) {
	var res SubmitResult
	_, err := c.do(ctx, node, request{method: "POST", path: "/v1/txs", body: submitBody{hex.EncodeToString(tx)}, maxResp: responseBytesMax}, &res)
	if err != nil {
		return nil, err
	}
	if want := ledger.TxHash(tx); res.Hash != want {
		return nil, fmt.Errorf("%w: %s: tx hash %s, want %s", ErrBadResponse, c.nodes[node], res.Hash, want)
	}
	return &res, nil
}

// SubmitTx posts tx to every node at once, so that the primary (or leader)
// hears of it even if some nodes are down or faulty. It succeeds if any node
// accepted the tx. If none did and at least one refused it (4xx), the
// refusal is returned as an *APIError matching ErrRejected; otherwise the
// nodes' errors are joined.
func (c *Client) SubmitTx(ctx context.Context, tx []byte) (*SubmitResult, error) {
	type answer struct {
		res *SubmitResult
		err error
	}
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	answers := make(chan answer, len(c.nodes))
	var wg sync.WaitGroup
	for i := range c.nodes {
		wg.Go(func() {
			res, err := c.SubmitTxTo(subCtx, i, tx)
			answers <- answer{res, err}
		})
	}
	var best *SubmitResult
	var rejected error
	var errs []error
	var grace <-chan time.Time
	for pending := len(c.nodes); pending > 0; {
		select {
		case a := <-answers:
			pending--
			switch {
			case a.err == nil:
				if best == nil || (best.Receipt == nil && a.res.Receipt != nil) {
					best = a.res
				}
				if grace == nil {
					// Nodes still retrying (down, or pushing back) get a
					// moment more; the ones that took the tx relay it.
					t := time.NewTimer(submitGrace)
					defer t.Stop()
					grace = t.C
				}
			case errors.Is(a.err, ErrRejected):
				if rejected == nil {
					rejected = a.err
				}
			default:
				errs = append(errs, a.err)
			}
		case <-grace:
			cancel()
			grace = nil
		}
	}
	wg.Wait()
	if best != nil {
		return best, nil
	}
	if rejected != nil {
		return nil, rejected
	}
	return nil, fmt.Errorf("client: no node accepted tx %s: %w", ledger.TxHash(tx), errors.Join(errs...))
}

// SubmitBatch posts up to BatchTxsMax encoded txs to node in one request
// (POST /v1/txs/batch), for load generators. The results are in tx order.
func (c *Client) SubmitBatch(ctx context.Context, node int, txs [][]byte) ([]BatchResult, error) {
	if len(txs) == 0 {
		return nil, nil
	}
	if len(txs) > BatchTxsMax {
		return nil, fmt.Errorf("%w: batch of %d txs, at most %d", ErrConfig, len(txs), BatchTxsMax)
	}
	body := struct {
		Txs []string `json:"txs"`
	}{make([]string, len(txs))}
	for i, tx := range txs {
		body.Txs[i] = hex.EncodeToString(tx)
	}
	var res struct {
		Results []BatchResult `json:"results"`
	}
	if _, err := c.do(ctx, node, request{method: "POST", path: "/v1/txs/batch", body: body, maxResp: responseBytesMax}, &res); err != nil {
		return nil, err
	}
	if len(res.Results) != len(txs) {
		return nil, fmt.Errorf("%w: %s: %d results for %d txs", ErrBadResponse, c.nodes[node], len(res.Results), len(txs))
	}
	return res.Results, nil
}

// Receipt asks node once for the signed receipt of hash, long-polling up to
// wait (0: answer at once; at most 30s), and checks the signature against
// the genesis key of the validator it names. Pending or unknown txs are
// ErrNotFound.
func (c *Client) Receipt(ctx context.Context, node int, hash crypto.Hash, wait time.Duration) (*SignedReceipt, error) {
	if wait > maxWaitPerPoll {
		wait = maxWaitPerPoll
	}
	path := "/v1/txs/" + hash.String()
	if wait > 0 {
		path += "?wait=" + url.QueryEscape(wait.String())
	}
	var sr SignedReceipt
	_, err := c.do(ctx, node, request{method: "GET", path: path, maxResp: responseBytesMax, timeout: wait + c.opts.RequestTimeout, retries: 1}, &sr)
	if err != nil {
		return nil, err
	}
	if err := c.VerifyReceipt(hash, &sr); err != nil {
		return nil, fmt.Errorf("%s: %w", c.nodes[node], err)
	}
	return &sr, nil
}

// VerifyReceipt checks that sr is a receipt for hash signed by the genesis
// validator it names. Errors wrap ErrBadResponse.
func (c *Client) VerifyReceipt(hash crypto.Hash, sr *SignedReceipt) error {
	if sr.Receipt.TxHash != hash {
		return fmt.Errorf("%w: receipt for tx %s, asked for %s", ErrBadResponse, sr.Receipt.TxHash, hash)
	}
	if sr.Validator < 0 || sr.Validator >= len(c.opts.Validators) {
		return fmt.Errorf("%w: receipt signed by validator %d, not in genesis (n=%d)", ErrBadResponse, sr.Validator, len(c.opts.Validators))
	}
	pub := c.opts.Validators[sr.Validator]
	if len(sr.PublicKey) != 0 && !bytes.Equal(sr.PublicKey, pub) {
		return fmt.Errorf("%w: receipt names validator %d but carries another public key", ErrBadResponse, sr.Validator)
	}
	if !crypto.Verify(pub, ledger.ReceiptSignBytes(c.opts.ChainID, &sr.Receipt), sr.Signature) {
		return fmt.Errorf("%w: receipt signature by validator %d does not verify", ErrBadResponse, sr.Validator)
	}
	return nil
}

// Result is an outcome backed by enough matching signed receipts.
type Result struct {
	// Receipt is the outcome the signers agree on.
	Receipt Receipt
	// Signers are the distinct validator indices whose signed receipts
	// matched, in the order they arrived.
	Signers []int
	// Receipts are those signed receipts, in the same order.
	Receipts []SignedReceipt
}

// receiptKey is what matching receipts agree on.
type receiptKey struct {
	height uint64
	index  uint32
	code   uint32
}

// WaitReceipts polls every node for the signed receipt of hash and returns
// once need receipts from distinct genesis validators match (same tx hash,
// height, index and code). need <= 0 means Need(). Receipts whose signature
// does not verify are ignored. It returns an error wrapping ErrTimeout
// (with what it did gather) if ctx ends first, or ErrBadResponse if every
// node has answered and no outcome can reach need.
func (c *Client) WaitReceipts(ctx context.Context, hash crypto.Hash, need int) (*Result, error) {
	if need <= 0 {
		need = c.Need()
	}
	if len(c.opts.Validators) == 0 {
		return nil, fmt.Errorf("%w: no genesis validators to verify receipts against", ErrConfig)
	}
	if need > len(c.opts.Validators) {
		return nil, fmt.Errorf("%w: need %d receipts from %d validators", ErrConfig, need, len(c.opts.Validators))
	}
	pollCtx, cancel := context.WithCancel(ctx)
	type answer struct {
		node int
		sr   *SignedReceipt
		err  error
	}
	answers := make(chan answer, len(c.nodes))
	var wg sync.WaitGroup
	for i := range c.nodes {
		wg.Go(func() {
			sr, err := c.pollReceipt(pollCtx, i, hash)
			answers <- answer{i, sr, err}
		})
	}
	defer func() {
		cancel()
		wg.Wait()
	}()

	groups := make(map[receiptKey]*Result)
	seen := make(map[int]bool)
	var problems []string
	for range c.nodes {
		var a answer
		select {
		case a = <-answers:
		case <-ctx.Done():
			return nil, c.waitError(hash, need, groups, problems, ctx.Err())
		}
		if a.err != nil {
			if !errors.Is(a.err, context.Canceled) {
				problems = append(problems, a.err.Error())
			}
			continue
		}
		if seen[a.sr.Validator] {
			continue
		}
		seen[a.sr.Validator] = true
		k := receiptKey{a.sr.Receipt.Height, a.sr.Receipt.Index, a.sr.Receipt.Code}
		g := groups[k]
		if g == nil {
			g = &Result{Receipt: a.sr.Receipt}
			groups[k] = g
		}
		g.Signers = append(g.Signers, a.sr.Validator)
		g.Receipts = append(g.Receipts, *a.sr)
		if len(g.Signers) >= need {
			return g, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, c.waitError(hash, need, groups, problems, err)
	}
	return nil, fmt.Errorf("%w: tx %s: no %d matching receipts from the %d nodes: %s", ErrBadResponse, hash, need, len(c.nodes), strings.Join(problems, "; "))
}

// waitError describes a wait that ran out of time.
func (c *Client) waitError(hash crypto.Hash, need int, groups map[receiptKey]*Result, problems []string, cause error) error {
	best := 0
	for _, g := range groups {
		best = max(best, len(g.Signers))
	}
	msg := fmt.Sprintf("tx %s: %d of %d matching signed receipts", hash, best, need)
	if len(groups) > 1 {
		msg += fmt.Sprintf(" (%d conflicting outcomes)", len(groups))
	}
	if len(problems) > 0 {
		msg += "; " + strings.Join(problems, "; ")
	}
	return fmt.Errorf("%w: %s: %w", ErrTimeout, msg, cause)
}

// pollReceipt long-polls node until it returns a receipt that verifies, a
// receipt that does not (an error: the node is faulty), or ctx ends.
// Unreachable nodes are retried with backoff.
func (c *Client) pollReceipt(ctx context.Context, node int, hash crypto.Hash) (*SignedReceipt, error) {
	for attempt := 1; ; attempt++ {
		start := time.Now()
		sr, err := c.Receipt(ctx, node, hash, c.opts.PollWait)
		switch {
		case err == nil:
			return sr, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.Is(err, ErrBadResponse):
			return nil, err
		case errors.Is(err, ErrNotFound) && time.Since(start) >= c.opts.PollWait/2:
			attempt = 0 // the node long-polled: ask again at once
			continue
		}
		c.log.Debug("receipt poll", "node", c.nodes[node], "tx", hash, "err", err)
		if err := sleepCtx(ctx, backoff(attempt)); err != nil {
			return nil, err
		}
	}
}

// Transfer submits tx to every node and waits for Need() matching signed
// receipts, re-sending the same signed bytes every ResubmitEvery while it
// waits (safe: a tx hash is applied at most once). The result may be a
// failed receipt (Receipt.Code != 0): that is a committed outcome, not an
// error. Errors: an *APIError matching ErrRejected if the nodes refused the
// tx, ErrTimeout if ctx ended first.
func (c *Client) Transfer(ctx context.Context, tx *ledger.Tx) (*Result, error) {
	raw := tx.Encode()
	sub, err := c.SubmitTx(ctx, raw)
	if err != nil {
		return nil, err
	}
	waitCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if c.opts.ResubmitEvery > 0 {
		wg.Go(func() {
			t := time.NewTicker(c.opts.ResubmitEvery)
			defer t.Stop()
			for {
				select {
				case <-waitCtx.Done():
					return
				case <-t.C:
					if _, err := c.SubmitTx(waitCtx, raw); err != nil {
						c.log.Debug("resubmit", "tx", sub.Hash, "err", err)
					}
				}
			}
		})
	}
	res, err := c.WaitReceipts(waitCtx, sub.Hash, 0)
	cancel()
	wg.Wait()
	return res, err
}

// NextNonce returns the nonce the next tx from addr must carry: the
// highest account nonce among the first Need() nodes to answer (and any
// others answering within a short grace), so a lagging or lying node can
// only make the next tx fail, never make one replay.
func (c *Client) NextNonce(ctx context.Context, addr crypto.Address) (uint64, error) {
	need := min(c.Need(), len(c.nodes))
	type answer struct {
		acc *Account
		err error
	}
	qctx, cancel := context.WithCancel(ctx)
	answers := make(chan answer, len(c.nodes))
	var wg sync.WaitGroup
	for i := range c.nodes {
		wg.Go(func() {
			a, err := c.Account(qctx, i, addr, c.opts.Mode == "raft")
			answers <- answer{a, err}
		})
	}
	defer func() {
		cancel()
		wg.Wait()
	}()
	var nonce uint64
	got := 0
	var errs []error
	var grace <-chan time.Time
	for range c.nodes {
		select {
		case a := <-answers:
			if a.err != nil {
				errs = append(errs, a.err)
				continue
			}
			nonce = max(nonce, a.acc.Nonce)
			got++
			if got == need {
				t := time.NewTimer(200 * time.Millisecond)
				defer t.Stop()
				grace = t.C
			}
		case <-grace:
			return nonce, nil
		case <-ctx.Done():
			return 0, fmt.Errorf("client: nonce of %s: %d of %d answers: %w", addr, got, need, ctx.Err())
		}
	}
	if got >= need {
		return nonce, nil
	}
	return 0, fmt.Errorf("client: nonce of %s: %d of %d nodes answered: %w", addr, got, need, errors.Join(errs...))
}
