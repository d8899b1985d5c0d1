package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/bftledger/bftledger/client"
	"github.com/bftledger/bftledger/ledger"
)

// The exit status of `tx send` for each kind of outcome.
func TestTxOutcomeExitCodes(t *testing.T) {
	ok := &client.Result{Receipt: ledger.Receipt{Height: 3}, Signers: []int{0, 2}}
	failed := &client.Result{Receipt: ledger.Receipt{Height: 3, Code: ledger.CodeBadNonce, Message: "nonce 7, want 2"}}
	rejected := &client.APIError{Node: "http://n", Status: 400, Code: "wrong_chain", Message: "chain"}
	for _, tc := range []struct {
		name   string
		res    *client.Result
		err    error
		code   int
		status string
	}{
		{"committed", ok, nil, 0, "committed"},
		{"failed", failed, nil, exitFailed, "failed"},
		{"rejected", nil, rejected, exitRejected, "rejected"},
		{"no receipts in time", nil, fmt.Errorf("%w: 1 of 2", client.ErrTimeout), exitTimeout, "timeout"},
		{"deadline while submitting", nil, errors.Join(errors.New("x"), context.DeadlineExceeded), exitTimeout, "timeout"},
		{"unreachable", nil, errors.New("connection refused"), 1, "error"},
	} {
		var out txOutput
		code, err := txOutcome(&out, tc.res, tc.err)
		if code != tc.code || out.Status != tc.status || (code == 0) != (err == nil) {
			t.Errorf("%s: code %d status %q err %v, want %d %q", tc.name, code, out.Status, err, tc.code, tc.status)
		}
	}
	var out txOutput
	if _, _ = txOutcome(&out, nil, rejected); out.Code != "wrong_chain" {
		t.Errorf("rejection code %q", out.Code)
	}
}

func TestNetFlagsNeedANetwork(t *testing.T) {
	t.Chdir(t.TempDir()) // no ./testnet-local here
	for _, tc := range []struct {
		name string
		f    netFlags
		gen  bool
		want string
	}{
		{"nothing", netFlags{}, false, "which network"},
		{"both", netFlags{testnet: "a", genesis: "b"}, false, "not both"},
		{"bare urls for receipts", netFlags{nodes: "http://127.0.0.1:1"}, true, "--genesis"},
		{"missing testnet", netFlags{testnet: "nowhere"}, false, "genesis"},
	} {
		_, err := tc.f.client(tc.gen)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error mentioning %q", tc.name, err, tc.want)
		}
	}
	c, err := (&netFlags{nodes: "http://127.0.0.1:1, http://127.0.0.1:2"}).client(false)
	if err != nil || len(c.Nodes()) != 2 {
		t.Fatalf("bare URLs for status: %v", err)
	}
}
