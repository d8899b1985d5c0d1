package crypto

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// KeyFileMaxBytes bounds how much of a key file is read.
const KeyFileMaxBytes = 4096

// ErrKeyFile is wrapped by every key file error.
var ErrKeyFile = errors.New("crypto: bad key file")

// KeyFile is the on-disk form of a private key:
//
//	{
//	  "type": "ed25519",
//	  "public_key": "<64 hex chars>",
//	  "private_key": "<64 hex chars: the 32-byte seed>",
//	  "address": "<40 hex chars>"
//	}
//
// The file is written with mode 0600 and refused when readable by group or
// others. The public key and address are there for people; on reading, both
// must match what the seed derives.
type KeyFile struct {
	Type       string `json:"type"`
	PublicKey  string `json:"public_key"`
	PrivateKey string `json:"private_key"`
	Address    string `json:"address"`
}

// EncodeKeyFile returns the key file for s.
func EncodeKeyFile(s *Ed25519Signer) []byte {
	kf := KeyFile{
		Type:       KeyTypeEd25519,
		PublicKey:  hex.EncodeToString(s.PublicKey()),
		PrivateKey: hex.EncodeToString(s.Seed()),
		Address:    s.Address().String(),
	}
	b, _ := json.MarshalIndent(kf, "", "  ")
	return append(b, '\n')
}

// WriteKeyFile writes s to path with mode 0600. It refuses to overwrite an
// existing file.
func WriteKeyFile(path string, s *Ed25519Signer) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("crypto: write key file: %w", err)
	}
	if _, err := f.Write(EncodeKeyFile(s)); err != nil {
		f.Close()
		return fmt.Errorf("crypto: write key file %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("crypto: sync key file %s: %w", path, err)
	}
	return f.Close()
}

// ReadKeyFile reads and checks a key file written by WriteKeyFile.
func ReadKeyFile(path string) (*Ed25519Signer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKeyFile, path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrKeyFile, path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o; a key file must not be readable by group or others (chmod 600)", ErrKeyFile, path, perm)
	}
	b, err := io.ReadAll(io.LimitReader(f, KeyFileMaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKeyFile, path, err)
	}
	s, err := DecodeKeyFile(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// DecodeKeyFile parses key file bytes strictly: unknown fields, a wrong type,
// wrong lengths or a public key or address that does not match the seed are
// errors.
func DecodeKeyFile(b []byte) (*Ed25519Signer, error) {
	if len(b) > KeyFileMaxBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrKeyFile, KeyFileMaxBytes)
	}
	var kf KeyFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&kf); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrKeyFile)
	}
	if kf.Type != KeyTypeEd25519 {
		return nil, fmt.Errorf("%w: type %q, want %q", ErrKeyFile, kf.Type, KeyTypeEd25519)
	}
	seed, err := hex.DecodeString(kf.PrivateKey)
	if err != nil || len(seed) != SeedSize {
		return nil, fmt.Errorf("%w: private_key must be %d hex characters", ErrKeyFile, 2*SeedSize)
	}
	s, err := Ed25519FromSeed(seed)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	if kf.PublicKey != hex.EncodeToString(s.PublicKey()) {
		return nil, fmt.Errorf("%w: public_key does not match private_key", ErrKeyFile)
	}
	if kf.Address != "" && kf.Address != s.Address().String() {
		return nil, fmt.Errorf("%w: address does not match private_key", ErrKeyFile)
	}
	return s, nil
}
