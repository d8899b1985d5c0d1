package ledger

import (
	"bytes"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files")

// TestLogGolden pins what the store logs, and under which keys, through a
// life cycle: initialise, apply, snapshot, restore, reopen. Regenerate with
// go test -run TestLogGolden -update ./ledger and review the diff.
func TestLogGolden(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	}))
	g := testGenesis(t, 2, 100)
	mem := dbm.NewMemDB()
	s, err := New(Config{DB: mem, Genesis: g, Logger: log.With("node", 0)})
	if err != nil {
		t.Fatal(err)
	}
	applyTxs(t, s, NewTransfer(testKey(t, 0), testChain, testKey(t, 1).Address(), 5, 0))
	h, ah, data, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	other, err := New(Config{DB: dbm.NewMemDB(), Genesis: g, Logger: log.With("node", 1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Restore(h, ah, data); err != nil {
		t.Fatal(err)
	}
	other.Close()
	again, err := New(Config{DB: mem, Genesis: g, Logger: log.With("node", 0)})
	if err != nil {
		t.Fatal(err)
	}
	again.Close()

	path := filepath.Join("testdata", "store_log.golden")
	if *updateGolden {
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("log differs from %s (rerun with -update and review the diff):\n%s", path, out.String())
	}
}
