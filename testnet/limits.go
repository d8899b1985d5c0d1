package testnet

import "time"

// Limits and defaults.
const (
	// MaxNodes bounds the nodes of one testnet.
	MaxNodes = 64
	// MaxAccounts bounds the funded accounts Init creates.
	MaxAccounts = 100_000
	// DefaultBasePort is node 0's p2p port; see the package doc for the rest.
	DefaultBasePort = 26600
	// portsPerNode is how many consecutive ports each node takes from the
	// base port: p2p, then API.
	portsPerNode = 2
	// maxPort is the highest TCP port.
	maxPort = 65535
	// minBasePort keeps testnets off privileged ports.
	minBasePort = 1024
	// DefaultAccountBalance funds each genesis account.
	DefaultAccountBalance = 1_000_000_000
	// metaBytesMax bounds testnet.json.
	metaBytesMax = 1 << 20
	// pidFileBytesMax bounds a pid file.
	pidFileBytesMax = 32
	// DefaultStopGrace is how long Stop waits after SIGTERM before SIGKILL.
	DefaultStopGrace = 10 * time.Second
	// killWait bounds the wait for a process to vanish after SIGKILL.
	killWait = 5 * time.Second
	// signalWait bounds Pause's and Resume's wait for the state change.
	signalWait = 2 * time.Second
	// DefaultStartTimeout bounds Start's wait for every node's /healthz.
	DefaultStartTimeout = 60 * time.Second
	// healthPoll is how often Start checks /healthz and liveness.
	healthPoll = 100 * time.Millisecond
	// logTailLines is how much of a failed node's log an error quotes.
	logTailLines = 15
	// logTailBytesMax bounds how much of a log is read for that.
	logTailBytesMax = 16 << 10
)

// Compile-time relationships (a negative constant breaks the build).
const (
	_ uint = maxPort - DefaultBasePort - MaxNodes*portsPerNode // the default base fits every testnet
	_ uint = DefaultBasePort - minBasePort
	_      = uint(DefaultStopGrace - healthPoll)
	_      = uint(DefaultStartTimeout - healthPoll)
	_ uint = logTailBytesMax - logTailLines*80
)
