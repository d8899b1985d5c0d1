package ledger

import (
	"bytes"
	"testing"

	"github.com/bftledger/bftledger/crypto"
)

// FuzzDecodeKeyFile fuzzes the crypto package's key file decoder (it lives
// here because key files are read next to genesis files): it must never
// panic, and a key it accepts must re-encode to a file that decodes to the
// same key.
func FuzzDecodeKeyFile(f *testing.F) {
	f.Add(crypto.EncodeKeyFile(katKey(f)))
	f.Add([]byte(`{"type":"ed25519","public_key":"","private_key":""}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := crypto.DecodeKeyFile(b)
		if err != nil {
			return
		}
		again, err := crypto.DecodeKeyFile(crypto.EncodeKeyFile(s))
		if err != nil {
			t.Fatalf("re-encoded key file refused: %v", err)
		}
		if !bytes.Equal(again.PublicKey(), s.PublicKey()) {
			t.Fatal("re-encoding changed the key")
		}
	})
}
