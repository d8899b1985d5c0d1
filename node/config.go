package node

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	ma "github.com/multiformats/go-multiaddr"
)

// ErrConfig is wrapped by every error LoadConfig and Config.Validate return
// for a bad configuration; test with errors.Is.
var ErrConfig = errors.New("node: invalid config")

// Storage backends accepted in [storage] backend.
const (
	BackendGoLevelDB = "goleveldb"
	BackendPebble    = "pebble"
)

// Config is a node's config.toml. Every field is required to be in range;
// DefaultConfig returns a valid one. Unknown keys in the file are errors.
type Config struct {
	P2P       P2PConfig       `toml:"p2p"`
	API       APIConfig       `toml:"api"`
	Storage   StorageConfig   `toml:"storage"`
	Consensus ConsensusConfig `toml:"consensus"`
	Log       LogConfig       `toml:"log"`
	Runtime   RuntimeConfig   `toml:"runtime"`
	Unsafe    UnsafeConfig    `toml:"unsafe"`
}

// RuntimeConfig is the [runtime] section: the Go runtime of `bftledger node
// start` (a process setting, so library users of Node set it themselves).
type RuntimeConfig struct {
	// MemoryLimitMiB is the Go runtime's soft memory limit in MiB
	// (runtime/debug.SetMemoryLimit); 0 leaves it unset. It is a target,
	// not a cap: the collector runs more often as the process nears it, so
	// garbage does not double the footprint, and a node whose live data
	// needs more simply uses more (at some CPU cost; raise the limit then).
	// The GOMEMLIMIT environment variable, when set, takes precedence.
	MemoryLimitMiB int `toml:"memory_limit_mib"`
}

// P2PConfig is the [p2p] section.
type P2PConfig struct {
	// ListenAddr is the libp2p TCP multiaddr the validator network listens
	// on, e.g. /ip4/127.0.0.1/tcp/26600. Use /ip4/0.0.0.0/tcp/PORT to accept
	// peers from other hosts.
	ListenAddr string `toml:"listen_addr"`
}

// APIConfig is the [api] section.
type APIConfig struct {
	// ListenAddr is the HTTP API's host:port, e.g. 127.0.0.1:26610.
	ListenAddr string `toml:"listen_addr"`
	// MaxBodyBytes bounds one request body, in bytes.
	MaxBodyBytes int64 `toml:"max_body_bytes"`
}

// StorageConfig is the [storage] section.
type StorageConfig struct {
	// Backend is the cometbft-db backend: "goleveldb" or "pebble".
	Backend string `toml:"backend"`
}

// ConsensusConfig is the [consensus] section: the node-local timing of the
// engine. Parameters every replica must agree on live in genesis instead.
type ConsensusConfig struct {
	// TickInterval is the wall-clock length of one engine tick.
	TickInterval time.Duration `toml:"tick_interval"`
	// BatchTimeoutTicks: a PBFT primary (or Raft leader) cuts a partial batch
	// after this many ticks. 0 makes a PBFT primary cut at once (lowest
	// latency, smaller batches); Raft treats 0 as 1.
	BatchTimeoutTicks int `toml:"batch_timeout_ticks"`
	// RequestTimeoutTicks: a PBFT backup starts a view change when a request
	// it knows of is not committed within this many ticks (doubling per
	// successive view change).
	RequestTimeoutTicks int `toml:"request_timeout_ticks"`
	// ElectionTicks is Raft's election timeout, in ticks.
	ElectionTicks int `toml:"election_ticks"`
	// HeartbeatTicks is Raft's heartbeat interval, in ticks; less than
	// ElectionTicks.
	HeartbeatTicks int `toml:"heartbeat_ticks"`
	// MaxPendingTxs bounds the engine's pool of admitted, uncommitted txs;
	// beyond it the API answers 503.
	MaxPendingTxs int `toml:"max_pending_txs"`
}

// LogConfig is the [log] section.
type LogConfig struct {
	// Level is debug, info, warn or error.
	Level string `toml:"level"`
	// Format is text or json.
	Format string `toml:"format"`
}

// UnsafeConfig is the [unsafe] section: fault injection for testnets. A
// production node leaves both at their zero values.
type UnsafeConfig struct {
	// EnableAdmin serves POST /v1/admin/isolate.
	EnableAdmin bool `toml:"enable_admin"`
	// EnablePprof serves Go's profiler under /debug/pprof/ on the API
	// listener (CPU, heap, goroutines), for profiling a testnet.
	EnablePprof bool `toml:"enable_pprof"`
	// Byzantine names a pbft/byzantine behaviour this node runs instead of
	// the honest protocol; empty for an honest node.
	Byzantine string `toml:"byzantine"`
}

// DefaultConfig returns the config of a single node listening on loopback
// at the default ports.
func DefaultConfig() *Config {
	return &Config{
		P2P:     P2PConfig{ListenAddr: "/ip4/127.0.0.1/tcp/26600"},
		API:     APIConfig{ListenAddr: "127.0.0.1:26610", MaxBodyBytes: apiBodyBytesDefault},
		Storage: StorageConfig{Backend: BackendGoLevelDB},
		Consensus: ConsensusConfig{
			TickInterval:        tickIntervalDefault,
			BatchTimeoutTicks:   batchTimeoutTicksDefault,
			RequestTimeoutTicks: requestTimeoutTicksDefault,
			ElectionTicks:       electionTicksDefault,
			HeartbeatTicks:      heartbeatTicksDefault,
			MaxPendingTxs:       maxPendingTxsDefault,
		},
		Log:     LogConfig{Level: "info", Format: "text"},
		Runtime: RuntimeConfig{MemoryLimitMiB: memoryLimitMiBDefault},
	}
}

// configFileBytesMax bounds config.toml.
const configFileBytesMax = 1 << 20

// LoadConfig reads and validates the TOML config at path. Keys absent from
// the file keep their DefaultConfig values; unknown keys are errors. Errors
// wrap ErrConfig, except those reading the file.
func LoadConfig(path string) (*Config, error) {
	b, err := readFileLimited(path, configFileBytesMax)
	if err != nil {
		return nil, fmt.Errorf("node: config %s: %w", path, err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes and validates a TOML config. Keys absent from b keep
// their DefaultConfig values; unknown keys are errors wrapping ErrConfig.
func ParseConfig(b []byte) (*Config, error) {
	c := DefaultConfig()
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(c)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("%w: unknown keys: %s", ErrConfig, strings.Join(keys, ", "))
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate reports the first out-of-range value, as an error wrapping
// ErrConfig that names its key, or nil.
func (c *Config) Validate() error {
	for _, check := range []func() error{c.validateP2P, c.validateAPI, c.validateStorage,
		c.validateConsensus, c.validateLog, c.validateRuntime, c.validateUnsafe} {
		if err := check(); err != nil {
			return fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	return nil
}

func (c *Config) validateP2P() error {
	a, err := ma.NewMultiaddr(c.P2P.ListenAddr)
	if err != nil {
		return fmt.Errorf("p2p.listen_addr %q: %w", c.P2P.ListenAddr, err)
	}
	if _, err := a.ValueForProtocol(ma.P_TCP); err != nil {
		return fmt.Errorf("p2p.listen_addr %q: not a TCP multiaddr", c.P2P.ListenAddr)
	}
	return nil
}

func (c *Config) validateAPI() error {
	host, port, err := net.SplitHostPort(c.API.ListenAddr)
	if err != nil {
		return fmt.Errorf("api.listen_addr %q: %w", c.API.ListenAddr, err)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || (p == 0 && port != "0") {
		return fmt.Errorf("api.listen_addr %q: bad port %q", c.API.ListenAddr, port)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		return fmt.Errorf("api.listen_addr %q: host must be an IP address or localhost", c.API.ListenAddr)
	}
	if err := inRange("api.max_body_bytes", c.API.MaxBodyBytes, apiBodyBytesMin, apiBodyBytesMax); err != nil {
		return err
	}
	return nil
}

func (c *Config) validateStorage() error {
	switch c.Storage.Backend {
	case BackendGoLevelDB, BackendPebble:
		return nil
	}
	return fmt.Errorf("storage.backend %q: want %q or %q", c.Storage.Backend, BackendGoLevelDB, BackendPebble)
}

func (c *Config) validateConsensus() error {
	k := c.Consensus
	if k.TickInterval < tickIntervalMin || k.TickInterval > tickIntervalMax {
		return fmt.Errorf("consensus.tick_interval %s outside [%s, %s]", k.TickInterval, tickIntervalMin, tickIntervalMax)
	}
	if err := inRange("consensus.batch_timeout_ticks", k.BatchTimeoutTicks, 0, batchTimeoutTicksMax); err != nil {
		return err
	}
	if err := inRange("consensus.request_timeout_ticks", k.RequestTimeoutTicks, requestTimeoutTicksMin, requestTimeoutTicksMax); err != nil {
		return err
	}
	if err := inRange("consensus.heartbeat_ticks", k.HeartbeatTicks, 1, electionTicksMax-1); err != nil {
		return err
	}
	if err := inRange("consensus.election_ticks", k.ElectionTicks, k.HeartbeatTicks+1, electionTicksMax); err != nil {
		return fmt.Errorf("%w (must exceed heartbeat_ticks)", err)
	}
	return inRange("consensus.max_pending_txs", k.MaxPendingTxs, 1, maxPendingTxsMax)
}

func (c *Config) validateRuntime() error {
	return inRange("runtime.memory_limit_mib", c.Runtime.MemoryLimitMiB, 0, memoryLimitMiBMax)
}

func (c *Config) validateLog() error {
	if _, err := parseLevel(c.Log.Level); err != nil {
		return err
	}
	switch c.Log.Format {
	case "text", "json":
		return nil
	}
	return fmt.Errorf("log.format %q: want text or json", c.Log.Format)
}

// byzantineNameBytesMax bounds [unsafe] byzantine; the behaviour itself is
// checked against pbft/byzantine when the node starts.
const byzantineNameBytesMax = 64

func (c *Config) validateUnsafe() error {
	b := c.Unsafe.Byzantine
	if len(b) > byzantineNameBytesMax {
		return fmt.Errorf("unsafe.byzantine: %d bytes, at most %d", len(b), byzantineNameBytesMax)
	}
	for _, r := range b {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("unsafe.byzantine %q: not a behaviour name", b)
		}
	}
	return nil
}

func inRange[T int | int64](key string, v, lo, hi T) error {
	if v < lo || v > hi {
		return fmt.Errorf("%s %d outside [%d, %d]", key, v, lo, hi)
	}
	return nil
}

// Write validates c and writes it as TOML to path (mode 0644), through a
// temporary file renamed into place.
func (c *Config) Write(path string) error {
	if err := c.Validate(); err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteString("# bftledger node config; see DefaultConfig in package node.\n")
	if err := toml.NewEncoder(&buf).Encode(c); err != nil {
		return fmt.Errorf("node: encode config: %w", err)
	}
	return writeFileAtomic(path, buf.Bytes(), 0o644)
}

// writeFileAtomic writes b to a temporary file beside path, syncs it and
// renames it over path.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("node: write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("node: write %s: %w", path, err)
	}
	return nil
}

// readFileLimited reads a regular file of at most maxBytes.
func readFileLimited(path string, maxBytes int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file")
	}
	if st.Size() > maxBytes {
		return nil, fmt.Errorf("%d bytes, at most %d", st.Size(), maxBytes)
	}
	b := make([]byte, st.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, err
	}
	return b, nil
}
