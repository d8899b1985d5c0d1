// Package crypto holds bftledger's keys, signatures, hashes and addresses.
//
// Every signature in bftledger covers a domain label and the chain id as
// well as the message (see SignBytes), so a signature made for one purpose
// or one network can never be replayed as another. Ed25519 (RFC 8032) is the
// only scheme today: keys and signing from cloudflare/circl, verification
// from oasisprotocol/curve25519-voi, one by one (Verify) or in batches
// (Batch), both under the cofactored RFC 8032 / FIPS 186-5 rules, so that a
// batch and one-by-one checks of the same signatures always agree (every
// replica must reach the same verdict on every signature). Callers use the
// Signer interface, Verify and Batch so that another scheme can be added
// without touching them.
package crypto

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/cloudflare/circl/sign/ed25519"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// Sizes of keys, signatures, hashes and addresses, in bytes.
const (
	PublicKeySize  = ed25519.PublicKeySize  // 32
	SeedSize       = ed25519.SeedSize       // 32
	PrivateKeySize = ed25519.PrivateKeySize // 64: seed || public key
	SignatureSize  = ed25519.SignatureSize  // 64
	HashSize       = sha256.Size            // 32
	AddressSize    = 20
)

// KeyTypeEd25519 names the Ed25519 scheme in key files and genesis.
const KeyTypeEd25519 = "ed25519"

// Errors.
var (
	ErrBadPublicKey  = errors.New("crypto: malformed public key")
	ErrBadSignature  = errors.New("crypto: invalid signature")
	ErrBadAddress    = errors.New("crypto: malformed address")
	ErrBadPrivateKey = errors.New("crypto: malformed private key")
)

// Signer signs messages with one private key. Implementations are safe for
// concurrent use.
type Signer interface {
	// PublicKey returns the signer's public key. The caller must not modify it.
	PublicKey() []byte
	// Sign returns a signature over msg (which the caller has already
	// prefixed with SignBytes).
	Sign(msg []byte) []byte
}

// Ed25519Signer is a Signer holding an Ed25519 private key.
type Ed25519Signer struct {
	priv ed25519.PrivateKey
	pub  []byte
}

// GenerateEd25519 makes a new key from rand.
func GenerateEd25519(rand io.Reader) (*Ed25519Signer, error) {
	pub, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("crypto: generate key: %w", err)
	}
	return &Ed25519Signer{priv: priv, pub: pub}, nil
}

// Ed25519FromSeed derives the key for a 32-byte seed.
func Ed25519FromSeed(seed []byte) (*Ed25519Signer, error) {
	if len(seed) != SeedSize {
		return nil, fmt.Errorf("seed is %d bytes, want %d: %w", len(seed), SeedSize, ErrBadPrivateKey)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return &Ed25519Signer{priv: priv, pub: []byte(priv.Public().(ed25519.PublicKey))}, nil
}

// PublicKey implements Signer.
func (s *Ed25519Signer) PublicKey() []byte { return s.pub }

// Sign implements Signer.
func (s *Ed25519Signer) Sign(msg []byte) []byte { return ed25519.Sign(s.priv, msg) }

// Seed returns the 32-byte seed the key derives from. Handle with care.
func (s *Ed25519Signer) Seed() []byte { return s.priv.Seed() }

// PrivateKey returns the 64-byte private key (seed || public key), the
// layout libp2p and crypto/ed25519 use. Handle with care.
func (s *Ed25519Signer) PrivateKey() []byte { return append([]byte(nil), s.priv...) }

// Address returns the account address of the signer's public key.
func (s *Ed25519Signer) Address() Address { return AddressOf(s.pub) }

// Verify reports whether sig is a valid signature by pub over msg. It
// never panics, whatever the lengths of its inputs.
func Verify(pub, msg, sig []byte) bool {
	if len(pub) != PublicKeySize || len(sig) != SignatureSize {
		return false
	}
	return voi.VerifyWithOptions(voi.PublicKey(pub), msg, sig, verifyOptions)
}

// verifyOptions are the rules of every verification, single or batched:
// RFC 8032 with the cofactored equation (FIPS 186-5), which batch
// verification needs and which one-by-one verification then must match.
var verifyOptions = &voi.Options{Verify: voi.VerifyOptionsFIPS_186_5}

// Batch verifies many signatures at once, about twice as fast per
// signature as Verify from a few dozen on. Add the signatures, then call
// Verify once. A Batch is not safe for concurrent use.
type Batch struct {
	v   *voi.BatchVerifier
	bad []bool // entries refused at Add (wrong key or signature length)
}

// NewBatch returns a Batch with room for n signatures.
func NewBatch(n int) *Batch {
	return &Batch{v: voi.NewBatchVerifierWithCapacity(n), bad: make([]bool, 0, n)}
}

// Add queues the check of sig by pub over msg; like Verify it accepts
// inputs of any length (wrong lengths are invalid).
func (b *Batch) Add(pub, msg, sig []byte) {
	ok := len(pub) == PublicKeySize && len(sig) == SignatureSize
	b.bad = append(b.bad, !ok)
	if !ok { // keep the verifier's entries aligned with ours
		pub, sig = make([]byte, PublicKeySize), make([]byte, SignatureSize)
	}
	b.v.AddWithOptions(voi.PublicKey(pub), msg, sig, verifyOptions)
}

// AddDomain queues the check of a signature made by SignDomain.
func (b *Batch) AddDomain(pub []byte, domain, chainID string, msg, sig []byte) {
	b.Add(pub, SignBytes(domain, chainID, msg), sig)
}

// Len returns the number of signatures added.
func (b *Batch) Len() int { return len(b.bad) }

// Verify checks every signature added and reports whether all are valid
// and, per signature in the order added, whether it is. The randomness of
// the batch equation comes from crypto/rand; when the batch fails, the
// signatures are checked one by one, so valid[i] equals Verify's verdict.
func (b *Batch) Verify() (all bool, valid []bool) {
	if len(b.bad) == 0 {
		return true, nil
	}
	all, valid = b.v.Verify(nil)
	for i, bad := range b.bad {
		if bad {
			valid[i], all = false, false
		}
	}
	return all, valid
}

// SignBytes returns the bytes a signature actually covers: a domain label
// naming what is signed, the chain id, then the message, each length
// prefixed so no two (domain, chain, msg) triples share an encoding.
func SignBytes(domain, chainID string, msg []byte) []byte {
	b := make([]byte, 0, 8+len(domain)+len(chainID)+len(msg))
	b = appendLenPrefixed(b, []byte(domain))
	b = appendLenPrefixed(b, []byte(chainID))
	return append(b, msg...)
}

func appendLenPrefixed(b, v []byte) []byte {
	n := len(v)
	b = append(b, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	return append(b, v...)
}

// SignDomain signs msg under domain and chainID.
func SignDomain(s Signer, domain, chainID string, msg []byte) []byte {
	return s.Sign(SignBytes(domain, chainID, msg))
}

// VerifyDomain checks a signature made by SignDomain.
func VerifyDomain(pub []byte, domain, chainID string, msg, sig []byte) bool {
	return Verify(pub, SignBytes(domain, chainID, msg), sig)
}

// Hash is a SHA-256 digest.
type Hash [HashSize]byte

// Sum returns the SHA-256 digest of b.
func Sum(b []byte) Hash { return sha256.Sum256(b) }

// String returns the hash in lower-case hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is all zeros.
func (h Hash) IsZero() bool { return h == Hash{} }

// ParseHash reads a 64-character hex hash.
func ParseHash(s string) (Hash, error) {
	var h Hash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != HashSize {
		return h, fmt.Errorf("crypto: hash %q: want %d hex characters", s, 2*HashSize)
	}
	copy(h[:], b)
	return h, nil
}

// Address identifies an account: the first 20 bytes of SHA-256(public key).
type Address [AddressSize]byte

// AddressOf returns the address of a public key.
func AddressOf(pub []byte) Address {
	var a Address
	h := sha256.Sum256(pub)
	copy(a[:], h[:AddressSize])
	return a
}

// String returns the address in lower-case hex.
func (a Address) String() string { return hex.EncodeToString(a[:]) }

// ParseAddress reads a 40-character hex address (an optional 0x prefix is
// accepted).
func ParseAddress(s string) (Address, error) {
	var a Address
	if len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X") {
		s = s[2:]
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != AddressSize {
		return a, fmt.Errorf("address %q: want %d hex characters: %w", s, 2*AddressSize, ErrBadAddress)
	}
	copy(a[:], b)
	return a, nil
}

// MarshalText implements encoding.TextMarshaler (JSON shows hex).
func (a Address) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Address) UnmarshalText(b []byte) error {
	v, err := ParseAddress(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// MarshalText implements encoding.TextMarshaler (JSON shows hex).
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *Hash) UnmarshalText(b []byte) error {
	v, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}
