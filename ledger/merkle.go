package ledger

import (
	"crypto/sha256"

	"github.com/bftledger/bftledger/crypto"
)

// MerkleRoot returns the RFC 6962 (Certificate Transparency) Merkle tree
// hash of leaves: SHA-256 of the empty string for no leaves,
// SHA-256(0x00 || leaf) for one, and SHA-256(0x01 || left || right) above,
// splitting n leaves at the largest power of two below n. The leaf and node
// prefixes keep a leaf from posing as an inner node.
func MerkleRoot(leaves [][]byte) crypto.Hash {
	if len(leaves) == 0 {
		return sha256.Sum256(nil)
	}
	// Hash the leaves, then fold levels pairwise in place. Folding pairs
	// left to right, carrying an odd last node up unchanged, yields the
	// same tree as RFC 6962's recursive split.
	level := make([]crypto.Hash, len(leaves))
	buf := make([]byte, 0, 1+2*crypto.HashSize)
	for i, l := range leaves {
		buf = append(buf[:0], 0x00)
		buf = append(buf, l...)
		level[i] = sha256.Sum256(buf)
	}
	for n := len(level); n > 1; {
		m := 0
		for i := 0; i < n; i += 2 {
			if i+1 == n {
				level[m] = level[i]
			} else {
				buf = append(buf[:0], 0x01)
				buf = append(buf, level[i][:]...)
				buf = append(buf, level[i+1][:]...)
				level[m] = sha256.Sum256(buf)
			}
			m++
		}
		n = m
	}
	return level[0]
}

// TxRoot returns the Merkle root (MerkleRoot) over the TxHash of each
// encoded tx, in order.
func TxRoot(txs [][]byte) crypto.Hash {
	leaves := make([][]byte, len(txs))
	hashes := make([]crypto.Hash, len(txs))
	for i, tx := range txs {
		hashes[i] = TxHash(tx)
		leaves[i] = hashes[i][:]
	}
	return MerkleRoot(leaves)
}
