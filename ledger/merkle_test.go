package ledger

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/bftledger/bftledger/crypto"
)

// rfc6962 is the recursive definition from RFC 6962 section 2.1.
func rfc6962(leaves [][]byte) crypto.Hash {
	switch n := len(leaves); n {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return sha256.Sum256(append([]byte{0}, leaves[0]...))
	default:
		k := 1
		for k*2 < n {
			k *= 2
		}
		l, r := rfc6962(leaves[:k]), rfc6962(leaves[k:])
		return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
	}
}

func TestMerkleRootMatchesRFC6962(t *testing.T) {
	for n := 0; n <= 70; n++ {
		leaves := make([][]byte, n)
		for i := range leaves {
			leaves[i] = []byte(fmt.Sprintf("leaf %d", i))
		}
		if got, want := MerkleRoot(leaves), rfc6962(leaves); got != want {
			t.Fatalf("n=%d: %s, want %s", n, got, want)
		}
	}
	// The empty tree is SHA-256 of nothing (RFC 6962 section 2.1).
	if got := MerkleRoot(nil).String(); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("empty root %s", got)
	}
}

func TestTxRootOrderMatters(t *testing.T) {
	a, b := []byte("a"), []byte("b")
	if TxRoot([][]byte{a, b}) == TxRoot([][]byte{b, a}) {
		t.Fatal("tx root ignores order")
	}
	h := TxHash(a)
	if TxRoot([][]byte{a}) != MerkleRoot([][]byte{h[:]}) {
		t.Fatal("tx root is not over tx hashes")
	}
}
