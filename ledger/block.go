package ledger

import (
	"bytes"
	"fmt"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/internal/wire"
)

// BlockVersion is the leading byte of block and block header encodings.
const BlockVersion = 1

// blockHashDomain separates block hashes from every other SHA-256 use.
const blockHashDomain = "bftledger/block/v1"

// Block is one executed batch: the txs exactly as consensus ordered them,
// the state commitment after executing them, and the engine's proof that
// they were committed.
type Block struct {
	Height   uint64      // 1, 2, ...: the engine's Committed.Height
	PrevHash crypto.Hash // Hash of block Height-1; the genesis hash for block 1
	TxRoot   crypto.Hash // TxRoot(Txs)
	AppHash  crypto.Hash // app hash after executing Txs (see AppHash)
	Proposer uint32      // validator index of the primary / leader; not covered by Hash
	Round    uint64      // PBFT view or Raft term it committed in; not covered by Hash
	Txs      [][]byte    // encoded txs in consensus order, failing and duplicate ones included
	Proof    []byte      // engine commit proof; opaque here and not covered by Hash
}

// Hash returns the block hash: SHA-256 over a domain label, the version,
// height, previous hash, tx root, app hash and number of txs. The txs are
// covered through TxRoot.
//
// Hash covers exactly what every honest replica agrees on, so that the
// chain of hashes is the same everywhere. Not covered: the proof (replicas
// hold different, equally valid certificates), and Proposer and Round: in
// PBFT a replica reports the view in which it saw the batch commit, and
// after a view change two honest replicas can commit the same batch in
// different views (one before, one through the NEW-VIEW's re-issued
// PRE-PREPARE).
func (b *Block) Hash() crypto.Hash {
	e := wire.NewEncoder(4 + len(blockHashDomain) + blockHeaderBytes)
	e.String(blockHashDomain)
	e.Uint8(BlockVersion)
	e.Uint64(b.Height)
	e.Fixed(b.PrevHash[:])
	e.Fixed(b.TxRoot[:])
	e.Fixed(b.AppHash[:])
	e.Count(len(b.Txs))
	return crypto.Sum(e.Bytes())
}

func (b *Block) encodeHeader(e *wire.Encoder) {
	e.Uint8(BlockVersion)
	e.Uint64(b.Height)
	e.Fixed(b.PrevHash[:])
	e.Fixed(b.TxRoot[:])
	e.Fixed(b.AppHash[:])
	e.Uint32(b.Proposer)
	e.Uint64(b.Round)
	e.Count(len(b.Txs))
}

// Encode returns the canonical encoding: the header (version, height, prev
// hash, tx root, app hash, proposer, round, tx count), then
// each tx length-prefixed, then the length-prefixed proof.
func (b *Block) Encode() []byte {
	n := blockHeaderBytes + 4 + len(b.Proof)
	for _, tx := range b.Txs {
		n += 4 + len(tx)
	}
	e := wire.NewEncoder(n)
	b.encodeHeader(e)
	for _, tx := range b.Txs {
		e.VarBytes(tx)
	}
	e.VarBytes(b.Proof)
	return e.Bytes()
}

// DecodeBlock parses a canonical block encoding strictly: limits
// (BlockTxsMax, TxBytesMax, BatchBytesMax, ProofBytesMax) are checked before
// allocating, and a TxRoot that does not match the txs is refused. The
// result does not alias b.
func DecodeBlock(b []byte) (*Block, error) {
	if len(b) > BlockBytesMax {
		return nil, fmt.Errorf("block of %d bytes > %d: %w", len(b), BlockBytesMax, ErrTooLarge)
	}
	d := wire.NewDecoder(b)
	if v := d.Uint8(); d.Err() == nil && v != BlockVersion {
		return nil, fmt.Errorf("block version %d, want %d: %w", v, BlockVersion, ErrBadEncoding)
	}
	blk := &Block{Height: d.Uint64()}
	copy(blk.PrevHash[:], d.Fixed(crypto.HashSize))
	copy(blk.TxRoot[:], d.Fixed(crypto.HashSize))
	copy(blk.AppHash[:], d.Fixed(crypto.HashSize))
	blk.Proposer = d.Uint32()
	blk.Round = d.Uint64()
	n := d.Count(BlockTxsMax, 4)
	if n > 0 {
		blk.Txs = make([][]byte, n)
	}
	total := 0
	for i := range n {
		blk.Txs[i] = bytes.Clone(d.VarBytes(TxBytesMax))
		total += len(blk.Txs[i])
	}
	if proof := d.VarBytes(ProofBytesMax); len(proof) > 0 {
		blk.Proof = bytes.Clone(proof)
	}
	if err := d.Finish(); err != nil {
		return nil, fmt.Errorf("block: %w: %w", ErrBadEncoding, err)
	}
	if total > BatchBytesMax {
		return nil, fmt.Errorf("block txs of %d bytes > %d: %w", total, BatchBytesMax, ErrTooLarge)
	}
	if TxRoot(blk.Txs) != blk.TxRoot {
		return nil, fmt.Errorf("block %d: tx root does not match txs: %w", blk.Height, ErrBadEncoding)
	}
	return blk, nil
}
