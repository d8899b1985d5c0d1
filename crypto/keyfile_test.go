package crypto

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyFileRoundTrip(t *testing.T) {
	s, _ := Ed25519FromSeed([]byte("0123456789abcdef0123456789abcdef"))
	path := filepath.Join(t.TempDir(), "key.json")
	if err := WriteKeyFile(path, s); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", st.Mode(), err)
	}
	got, err := ReadKeyFile(path)
	if err != nil || string(got.PublicKey()) != string(s.PublicKey()) {
		t.Fatalf("read back: %v", err)
	}
	if err := WriteKeyFile(path, s); err == nil {
		t.Fatal("overwrote an existing key file")
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadKeyFile(path); !errors.Is(err, ErrKeyFile) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable file: %v", err)
	}
	if _, err := ReadKeyFile(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, ErrKeyFile) {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := ReadKeyFile(t.TempDir()); !errors.Is(err, ErrKeyFile) {
		t.Fatalf("directory: %v", err)
	}
}

func TestDecodeKeyFileRejects(t *testing.T) {
	s, _ := Ed25519FromSeed([]byte("0123456789abcdef0123456789abcdef"))
	good := string(EncodeKeyFile(s))
	other, _ := Ed25519FromSeed([]byte("fedcba9876543210fedcba9876543210"))
	cases := map[string]string{
		"not json":      "type=ed25519",
		"unknown field": strings.Replace(good, `"type"`, `"extra": 1, "type"`, 1),
		"wrong type":    strings.Replace(good, `"ed25519"`, `"ml-dsa-44"`, 1),
		"short seed":    strings.Replace(good, `"private_key": "`, `"private_key": "00`, 1),
		"bad hex":       strings.Replace(good, `"private_key": "`, `"private_key": "zz`, 1),
		"trailing":      good + "{}",
		"too large":     good + strings.Repeat(" ", KeyFileMaxBytes),
		"address":       strings.Replace(good, s.Address().String(), other.Address().String(), 1),
	}
	cases["wrong public key"] = strings.Replace(good, hex.EncodeToString(s.PublicKey()), hex.EncodeToString(other.PublicKey()), 1)
	for name, text := range cases {
		if _, err := DecodeKeyFile([]byte(text)); !errors.Is(err, ErrKeyFile) {
			t.Errorf("%s: err %v", name, err)
		}
	}
	if _, err := DecodeKeyFile([]byte(good)); err != nil {
		t.Fatal(err)
	}
}
