// Package client talks to a bftledger network over its HTTP API: it submits
// signed transfers, gathers the signed receipts replicas return, reads
// accounts, blocks and status, and flips the testnet-only isolation switch.
//
// A client is built from the network's genesis (FromGenesis, or FromTestnet
// for a directory made by `bftledger testnet init`), because the genesis is
// what it trusts: the chain id, the consensus mode and the validators' public
// keys. Nothing a node says is believed on its own.
//
//   - A transfer is accepted as committed only once WaitReceipts has Need()
//     matching receipts signed by distinct genesis validators: f+1 in PBFT
//     mode (f = (n-1)/3), so at least one comes from an honest replica; 1 in
//     Raft mode, whose crash-fault model trusts the replica that applied it.
//   - Block checks a PBFT block's commit certificate (2f+1 signed COMMITs)
//     against the genesis validator keys, and its header against its txs.
//
// Submitting is safe to retry. A retry re-sends the very same signed bytes,
// and the ledger applies a tx hash at most once, so a transfer never happens
// twice however often it is sent; a node that already committed it answers
// with its receipt. Requests that fail with 503 (pool full) or a refused
// connection are retried with capped exponential backoff until the context
// ends.
//
// Typical use:
//
//	c, err := client.FromTestnet("testnet-local")
//	tx := ledger.NewTransfer(key, c.ChainID(), to, 10, nonce)
//	res, err := c.Transfer(ctx, tx) // submit to all nodes, wait for f+1 receipts
//
// Errors: requests a node refused are *APIError values matching ErrRejected
// (4xx) or ErrNotFound; waits that run out of time match ErrTimeout.
package client
