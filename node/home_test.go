package node

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
)

func TestLoadHome(t *testing.T) {
	tn := newTestNet(t, 2, engine.ModePBFT, 1, nil)
	h, err := LoadHome(tn.homes[1])
	if err != nil {
		t.Fatal(err)
	}
	if h.Index != 1 || h.Genesis.ChainID != testChainID {
		t.Fatalf("got index %d chain %q", h.Index, h.Genesis.ChainID)
	}

	breakIt := func(t *testing.T, f func(home string)) error {
		tn := newTestNet(t, 1, engine.ModePBFT, 1, nil)
		f(tn.homes[0])
		_, err := LoadHome(tn.homes[0])
		return err
	}
	tests := []struct {
		name  string
		f     func(home string)
		check func(error) bool
	}{
		{"no home", func(home string) { os.RemoveAll(home) }, func(err error) bool { return errors.Is(err, os.ErrNotExist) }},
		{"no config", func(home string) { os.Remove(filepath.Join(home, ConfigFile)) },
			func(err error) bool {
				return errors.Is(err, os.ErrNotExist) && strings.Contains(err.Error(), ConfigFile)
			}},
		{"bad config", func(home string) { os.WriteFile(filepath.Join(home, ConfigFile), []byte("x = 1\n"), 0o644) },
			func(err error) bool { return errors.Is(err, ErrConfig) && strings.Contains(err.Error(), ConfigFile) }},
		{"bad genesis", func(home string) { os.WriteFile(filepath.Join(home, GenesisFile), []byte("{}"), 0o644) },
			func(err error) bool { return strings.Contains(err.Error(), GenesisFile) }},
		{"no key", func(home string) { os.Remove(filepath.Join(home, KeyFile)) },
			func(err error) bool { return errors.Is(err, os.ErrNotExist) && strings.Contains(err.Error(), KeyFile) }},
		{"foreign key", func(home string) {
			os.Remove(filepath.Join(home, KeyFile))
			k := mustKey(t)
			crypto.WriteKeyFile(filepath.Join(home, KeyFile), k)
		}, func(err error) bool { return errors.Is(err, ErrNotValidator) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := breakIt(t, tt.f); err == nil || !tt.check(err) {
				t.Fatalf("got %v", err)
			}
		})
	}
}
