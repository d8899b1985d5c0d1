// Package api is a node's HTTP JSON API and its Prometheus endpoint.
//
// Endpoints (all JSON; errors are {"error": "...", "code": "..."} with a
// 4xx or 5xx status):
//
//	POST /v1/txs               {"tx":"<hex>"} → 202 {"hash"}; committed → 200 {"hash","receipt"}
//	POST /v1/txs/batch         {"txs":["<hex>",...]} (≤ BatchTxsMax) → 200 {"results":[{"hash","error","code"}]}
//	GET  /v1/txs/{hash}        [?wait=2s] → 200 signed receipt; 404 not_found
//	GET  /v1/accounts/{addr}   [?linearizable=true] → {"address","balance","nonce","height"}
//	GET  /v1/blocks/{height}   and /v1/blocks/latest → block with its commit proof
//	GET  /v1/status            node, engine and peer status
//	GET  /healthz              {"ok":true}
//	GET  /metrics              Prometheus text format
//	POST /v1/admin/isolate     {"isolated":bool}; only with Config.EnableAdmin
//	POST /v1/admin/validators  {"add":[i,...],"remove":[i,...]} → 200 {"voters"} once applied;
//	                           Raft only (400 not_raft), loopback clients only (403 forbidden)
//
// Admission (size, strict decoding, chain id, amount, signature) runs on the
// request's goroutine, so signature checks spread over the cores before a
// tx reaches the consensus loop. A full pending pool answers 503 with
// Retry-After: 1 and code "busy"; the client retries the same signed tx,
// which the ledger applies at most once.
//
// Receipts are signed by the node's validator key over
// ledger.ReceiptSignBytes, so a client that collects matching receipts from
// f+1 validators knows the outcome without trusting any one node.
package api
