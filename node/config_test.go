package node

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

func TestDefaultConfigValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   string // substring of the error; "" for valid
	}{
		{"default", func(*Config) {}, ""},
		{"pebble", func(c *Config) { c.Storage.Backend = "pebble" }, ""},
		{"p2p not multiaddr", func(c *Config) { c.P2P.ListenAddr = "127.0.0.1:1" }, "p2p.listen_addr"},
		{"p2p udp", func(c *Config) { c.P2P.ListenAddr = "/ip4/127.0.0.1/udp/1" }, "not a TCP"},
		{"api no port", func(c *Config) { c.API.ListenAddr = "127.0.0.1" }, "api.listen_addr"},
		{"api bad port", func(c *Config) { c.API.ListenAddr = "127.0.0.1:99999" }, "bad port"},
		{"api hostname", func(c *Config) { c.API.ListenAddr = "example.com:80" }, "IP address"},
		{"api any", func(c *Config) { c.API.ListenAddr = "0.0.0.0:0" }, ""},
		{"body small", func(c *Config) { c.API.MaxBodyBytes = 10 }, "api.max_body_bytes"},
		{"body big", func(c *Config) { c.API.MaxBodyBytes = 1 << 40 }, "api.max_body_bytes"},
		{"backend", func(c *Config) { c.Storage.Backend = "rocksdb" }, "storage.backend"},
		{"tick zero", func(c *Config) { c.Consensus.TickInterval = 0 }, "tick_interval"},
		{"tick huge", func(c *Config) { c.Consensus.TickInterval = time.Hour }, "tick_interval"},
		{"batch ticks zero", func(c *Config) { c.Consensus.BatchTimeoutTicks = 0 }, ""},
		{"batch ticks", func(c *Config) { c.Consensus.BatchTimeoutTicks = -1 }, "batch_timeout_ticks"},
		{"request ticks", func(c *Config) { c.Consensus.RequestTimeoutTicks = 1 }, "request_timeout_ticks"},
		{"heartbeat", func(c *Config) { c.Consensus.HeartbeatTicks = 0 }, "heartbeat_ticks"},
		{"election le heartbeat", func(c *Config) { c.Consensus.ElectionTicks = 1 }, "election_ticks"},
		{"pending zero", func(c *Config) { c.Consensus.MaxPendingTxs = 0 }, "max_pending_txs"},
		{"pending huge", func(c *Config) { c.Consensus.MaxPendingTxs = 1 << 30 }, "max_pending_txs"},
		{"log level", func(c *Config) { c.Log.Level = "loud" }, "log.level"},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, "log.format"},
		{"byzantine name", func(c *Config) { c.Unsafe.Byzantine = "equivocate" }, ""},
		{"byzantine junk", func(c *Config) { c.Unsafe.Byzantine = "rm -rf" }, "unsafe.byzantine"},
		{"byzantine long", func(c *Config) { c.Unsafe.Byzantine = strings.Repeat("a", 65) }, "unsafe.byzantine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want ErrConfig mentioning %q, got %v", tt.want, err)
			}
		})
	}
}

func TestConfigWriteLoadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	c := DefaultConfig()
	c.Storage.Backend = BackendPebble
	c.Consensus.TickInterval = 25 * time.Millisecond
	c.Unsafe = UnsafeConfig{EnableAdmin: true, Byzantine: "silent"}
	if err := c.Write(path); err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *c {
		t.Fatalf("round trip: got %+v, want %+v", got, c)
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty is default", "", ""},
		{"contract example", `
[p2p]
listen_addr = "/ip4/127.0.0.1/tcp/26600"
[api]
listen_addr = "127.0.0.1:26610"
max_body_bytes = 1048576
[storage]
backend = "goleveldb"
[consensus]
tick_interval = "10ms"
batch_timeout_ticks = 1
request_timeout_ticks = 200
election_ticks = 30
heartbeat_ticks = 3
max_pending_txs = 20000
[log]
level = "info"
format = "text"
[unsafe]
enable_admin = false
byzantine = ""
`, ""},
		{"unknown key", "[api]\nlisten = \"x\"\n", "unknown keys: api.listen"},
		{"unknown section", "[apii]\nx = 1\n", "unknown keys"},
		{"bad duration", "[consensus]\ntick_interval = \"soon\"\n", "tick_interval"},
		{"wrong type", "[api]\nmax_body_bytes = \"big\"\n", "max_body_bytes"},
		{"syntax", "[api\n", "invalid config"},
		{"out of range", "[consensus]\nmax_pending_txs = -1\n", "max_pending_txs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tt.in))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if *c != *DefaultConfig() {
					t.Fatalf("got %+v", c)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want ErrConfig mentioning %q, got %v", tt.want, err)
			}
		})
	}
}

func TestLoadConfigMissing(t *testing.T) {
	_, err := LoadConfig(filepath.Join(t.TempDir(), "nope.toml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
}

func FuzzParseConfig(f *testing.F) {
	var buf strings.Builder
	if err := toml.NewEncoder(&buf).Encode(DefaultConfig()); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(buf.String()))
	f.Add([]byte("[consensus]\ntick_interval = \"5ms\"\n"))
	f.Add([]byte("[unsafe]\nbyzantine = \"silent\"\nenable_admin = true\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error does not wrap ErrConfig: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted an invalid config: %v", err)
		}
		// What parsed writes out and parses back the same.
		var out strings.Builder
		if err := toml.NewEncoder(&out).Encode(c); err != nil {
			t.Fatal(err)
		}
		again, err := ParseConfig([]byte(out.String()))
		if err != nil || *again != *c {
			t.Fatalf("round trip: %v\n%s", err, out.String())
		}
	})
}
