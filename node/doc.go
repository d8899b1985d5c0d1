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
// # Goroutines
//
// Run starts, under one errgroup, the p2p host, the HTTP server, a pool of
// verify workers sized to the cores and the single consensus loop. Only the
// loop touches the engine and writes the ledger. It reacts to ticks, verified
// peer messages and proposals from the API, and for every Ready of the
// engine it:
//
//  1. persists the engine state in one synced batch (group commit),
//  2. sends the messages (never before step 1),
//  3. applies committed batches to the ledger, in order, and reports each
//     app hash back to the engine,
//  4. wakes the clients waiting for those receipts,
//  5. advances the engine.
//
// Every queue between these goroutines is bounded (limits.go). A storage
// failure is fatal: Run logs it and returns the error, and a restart resumes
// from what was durably written.
package node
