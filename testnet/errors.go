package testnet

import "errors"

// Sentinel errors. Compare with errors.Is.
var (
	// ErrOptions: Init was given invalid options.
	ErrOptions = errors.New("testnet: invalid options")
	// ErrNotEmpty: Init refuses a directory that already has files in it.
	ErrNotEmpty = errors.New("testnet: directory is not empty")
	// ErrNoTestnet: the directory holds no testnet (no valid testnet.json).
	ErrNoTestnet = errors.New("testnet: no testnet")
	// ErrNodeIndex: a node index outside the testnet.
	ErrNodeIndex = errors.New("testnet: no such node")
	// ErrNotRunning: the node has no live process.
	ErrNotRunning = errors.New("testnet: node not running")
	// ErrRunning: the node already has a live process.
	ErrRunning = errors.New("testnet: node already running")
	// ErrUnhealthy: a node did not come up (its error names the log).
	ErrUnhealthy = errors.New("testnet: node did not start")
)
