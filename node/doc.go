// Package node is bftledger's I/O shell: it wires a consensus engine (PBFT
// or Raft), the ledger, the libp2p validator network, the stores and the
// HTTP API into one running validator.
//
// # Home directory
//
// A node lives in a home directory:
//
//	DIR/config.toml    node config (Config; strict TOML, unknown keys are errors)
//	DIR/genesis.json   the network's genesis (ledger.Genesis)
//	DIR/node_key.json  this validator's key file (mode 0600)
//	DIR/data/          ledger and consensus databases
//
// The node finds its validator index by matching its key against the genesis
// validators.
//
// # One node per host
//
// Nothing in the code assumes loopback. To spread validators over machines,
// give each validator's genesis entry an address its peers can reach
// (p2p_addr = "/ip4/10.0.0.2/tcp/26600" or "/dns4/val2.example/tcp/26600",
// api_addr = "http://10.0.0.2:26610"), and in each node's config.toml listen
// on an interface those peers can reach:
//
//	[p2p]
//	listen_addr = "/ip4/0.0.0.0/tcp/26600"
//	[api]
//	listen_addr = "0.0.0.0:26610"
//
// Peers authenticate each other by their genesis keys, so only validators
// can join the consensus network; the HTTP API has no authentication and
// belongs behind a firewall or proxy if exposed. Leave [unsafe] empty.
//
// # Goroutines
//
// Run starts, under one errgroup, the p2p host, the HTTP server, a pool of
// verify workers sized to the cores, the single consensus loop and (PBFT)
// an executor. Only the loop touches the engine; only the loop (Raft) or
// the executor (PBFT, so that execution overlaps consensus on the next
// batches) writes the ledger. It reacts to ticks, verified
// peer messages, proposals, linearizable reads and membership changes from
// the API, and for every Ready of the
// engine it:
//
//  1. persists the engine state in one synced batch (group commit),
//  2. sends the messages (never before step 1),
//  3. applies committed batches to the ledger, in order (or queues them for
//     the executor), reports each app hash back to the engine and wakes the
//     clients waiting for those receipts,
//  4. advances the engine.
//
// Verified peer messages reach the loop in the order each peer sent them,
// although their signatures are checked in parallel. Txs admitted through
// the API (or relayed by peers) are remembered as verified, so a
// pre-prepare carrying them does not check their signatures again.
//
// # Raft membership
//
// In Raft mode, POST /v1/admin/validators (from loopback only) changes the
// voters among the genesis validators. The request goes to the loop, which
// checks it against the current voters, refuses to remove the leader (etcd
// raft would keep a removed leader in office, refusing proposals), proposes
// one ConfChangeV2, and answers once this node has applied it or after
// membershipWait. One change at a time: a change of several voters goes
// through a joint configuration that raft leaves on its own, and a new
// change is refused until it has.
//
// Every queue between these goroutines is bounded (limits.go). A storage
// failure is fatal: Run logs it and returns the error, and a restart resumes
// from what was durably written.
package node
