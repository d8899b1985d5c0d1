// Package testnet makes, runs and breaks local bftledger networks: n node
// processes on 127.0.0.1, each in its own home directory, started from one
// bftledger binary. It backs the `bftledger testnet` commands, the
// end-to-end tests in this directory and the benchmark.
//
// # Layout
//
// Init writes a testnet directory:
//
//	DIR/testnet.json               launcher metadata (Meta): nodes, ports, binary
//	DIR/genesis.json               the network's genesis (clients read this)
//	DIR/accounts/account<j>.json   key files of the K funded accounts (mode 0600)
//	DIR/node<i>/config.toml        node i's config ([unsafe] enable_admin = true)
//	DIR/node<i>/genesis.json       a copy of the genesis
//	DIR/node<i>/node_key.json      node i's validator key (mode 0600)
//	DIR/node<i>/data/              node i's databases (made by the node)
//	DIR/node<i>/node.log           node i's stdout and stderr (appended)
//	DIR/node<i>/node.pid           node i's pid while it runs
//
// # Ports
//
// With a base port P (default 26600), node i listens for peers on P+2i and
// serves its HTTP API on P+2i+1, all on 127.0.0.1: a 4-node testnet uses
// 26600..26607, node 0's API being http://127.0.0.1:26601. With base port 0
// (what tests use) Init picks free ports instead and records them.
//
// # Processes
//
// Start runs `BINARY node start --home DIR/node<i>` for each node in its own
// process group, so the nodes outlive a launcher that exits (`bftledger
// testnet start` returns once they all serve /healthz) and a Ctrl-C in the
// launcher's terminal does not reach them. Any later invocation finds them
// through their pid files. Fault controls act on one node: Kill (SIGKILL),
// Pause (SIGSTOP), Resume (SIGCONT), Restart (stop if running, start, wait
// until healthy), Isolate and Heal (the node's p2p layer drops, or resumes,
// all peer traffic through POST /v1/admin/isolate, which testnet configs
// enable). Stop sends SIGTERM and, after a grace period, SIGKILL.
package testnet
