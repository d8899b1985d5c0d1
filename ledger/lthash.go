package ledger

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/bftledger/bftledger/crypto"
)

// The app hash commits to the whole ledger state with LtHash, a homomorphic
// multiset hash (Bellare and Micciancio's "MSet-Add-Hash" with the
// parameters of Facebook's LtHash16: Lewi, Kim, Maykov and Weis, "Securing
// Update Propagation with Homomorphic Hashing", 2019). Each element of the
// state is expanded into ltLanes 16-bit lanes; the state's hash is the
// lane-wise sum mod 2^16 of its elements' expansions. Adding an element adds
// its expansion and removing one subtracts it, so a block costs time in
// proportion to the accounts and txs it touches, never to the whole state,
// and a snapshot is checked by summing its elements from scratch.
//
// The elements are:
//
//   - each account that is not all zero: "a" || address || balance || nonce
//   - the receipts of each block that has any: "r" || height ||
//     SHA-256(the block's receipts in index order, each length-prefixed)
//
// Receipts are state because execution reads them (a tx whose hash already
// has a receipt is skipped), so a replica restored from a snapshot must hold
// the same set to execute the next blocks identically. Committing them one
// element per block rather than per receipt saves a third of the
// expansions of a typical block.
//
// An element is expanded with AES-256 in counter mode (zero IV, zero
// plaintext) keyed by SHA-256 of a domain label and the element: a PRG
// seeded by a hash, which is what the construction needs and which AES
// hardware makes about ten times cheaper than SHAKE128.
const (
	ltLanes = 1024
	// LtHashBytes is the size of the lane state.
	LtHashBytes = 2 * ltLanes
	ltWords     = LtHashBytes / 8
)

// ltExpandDomain labels element expansion keys.
const ltExpandDomain = "bftledger/lthash/v1"

// ltHash is the lane state: ltLanes uint16 lanes packed four to a uint64
// word, lane 4w+k in bits 16k..16k+15 of word w.
type ltHash [ltWords]uint64

// ltExpander expands elements; it reuses its buffers, so it is not safe for
// concurrent use.
type ltExpander struct {
	key [sha256.Size]byte
	buf [LtHashBytes]byte
	out ltHash
	in  []byte
	iv  [aes.BlockSize]byte
}

// expand returns the lane words of elem. The result is owned by x and valid
// until the next call.
func (x *ltExpander) expand(elem []byte) *ltHash {
	x.in = append(x.in[:0], ltExpandDomain...)
	x.in = append(x.in, elem...)
	x.key = sha256.Sum256(x.in)
	c, err := aes.NewCipher(x.key[:])
	if err != nil {
		panic(fmt.Sprintf("ledger: aes with a 32-byte key: %v", err)) // cannot happen
	}
	clear(x.buf[:])
	cipher.NewCTR(c, x.iv[:]).XORKeyStream(x.buf[:], x.buf[:])
	for w := range x.out {
		x.out[w] = binary.LittleEndian.Uint64(x.buf[8*w:])
	}
	return &x.out
}

// lane16High masks the top bit of each 16-bit lane of a word.
const lane16High = 0x8000_8000_8000_8000

// add sets h to h + o, lane-wise mod 2^16. Adding the lanes without their
// top bits cannot carry across lanes; the top bits are then fixed with XOR.
func (h *ltHash) add(o *ltHash) {
	for w := range h {
		a, b := h[w], o[w]
		h[w] = ((a &^ lane16High) + (b &^ lane16High)) ^ ((a ^ b) & lane16High)
	}
}

// sub sets h to h - o, lane-wise mod 2^16.
func (h *ltHash) sub(o *ltHash) {
	for w := range h {
		a, b := h[w], o[w]
		// Set every top bit of a first so no lane borrows from the next.
		h[w] = ((a | lane16High) - (b &^ lane16High)) ^ ((a ^ b ^ lane16High) & lane16High)
	}
}

// bytes returns the lanes, each lane little-endian, in lane order.
func (h *ltHash) bytes() []byte {
	b := make([]byte, LtHashBytes)
	for w, v := range h {
		binary.LittleEndian.PutUint64(b[8*w:], v)
	}
	return b
}

// setBytes reads lanes written by bytes.
func (h *ltHash) setBytes(b []byte) error {
	if len(b) != LtHashBytes {
		return fmt.Errorf("lane state of %d bytes, want %d", len(b), LtHashBytes)
	}
	for w := range h {
		h[w] = binary.LittleEndian.Uint64(b[8*w:])
	}
	return nil
}

// appHashDomain labels app hashes.
const appHashDomain = "bftledger/apphash/v1"

// appHash is the app hash at height: SHA-256 over a domain label, the chain
// id, the height and the lane state. Binding the chain id and height means
// equal states on different chains or at different heights never share an
// app hash.
func (h *ltHash) appHash(chainID string, height uint64) crypto.Hash {
	d := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint32(n[:4], uint32(len(appHashDomain)))
	d.Write(n[:4])
	d.Write([]byte(appHashDomain))
	binary.BigEndian.PutUint32(n[:4], uint32(len(chainID)))
	d.Write(n[:4])
	d.Write([]byte(chainID))
	binary.BigEndian.PutUint64(n[:], height)
	d.Write(n[:])
	d.Write(h.bytes())
	var out crypto.Hash
	d.Sum(out[:0])
	return out
}

// accountElem returns the LtHash element of an account.
func accountElem(buf []byte, a crypto.Address, acc Account) []byte {
	buf = append(buf[:0], 'a')
	buf = append(buf, a[:]...)
	buf = binary.BigEndian.AppendUint64(buf, acc.Balance)
	return binary.BigEndian.AppendUint64(buf, acc.Nonce)
}

// receiptsElem returns the LtHash element of the receipts of the block at
// height, given as their encodings in index order.
func receiptsElem(buf []byte, height uint64, encs [][]byte) []byte {
	d := sha256.New()
	var n [4]byte
	for _, enc := range encs {
		binary.BigEndian.PutUint32(n[:], uint32(len(enc)))
		d.Write(n[:])
		d.Write(enc)
	}
	buf = append(buf[:0], 'r')
	buf = binary.BigEndian.AppendUint64(buf, height)
	return d.Sum(buf)
}
