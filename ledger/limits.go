package ledger

import "github.com/bftledger/bftledger/crypto"

// Size limits. Every decoder checks them before it allocates, and every
// relationship between them is checked at compile time below, so changing one
// that breaks another fails the build rather than a replica.
const (
	// ChainIDBytesMax bounds a chain id (genesis, txs, sign bytes).
	ChainIDBytesMax = 64
	// txFixedBytes is a v1 tx without its chain id: version byte, chain id
	// length prefix, sender key, recipient, amount, nonce, signature.
	txFixedBytes = 1 + 4 + crypto.PublicKeySize + crypto.AddressSize + 8 + 8 + crypto.SignatureSize
	// TxBytesMax bounds one encoded tx; CheckTx refuses anything longer.
	TxBytesMax = 256

	// BlockTxsMax bounds the txs of one block (Params.MaxBatchTxs <= it).
	BlockTxsMax = 10_000
	// BatchBytesMax bounds the summed encoded txs of one block
	// (Params.MaxBatchBytes <= it).
	BatchBytesMax = BlockTxsMax * TxBytesMax
	// ProofBytesMax bounds an engine's opaque commit proof. A PBFT proof is
	// 2f+1 signed COMMITs (~200 bytes each) for at most ValidatorsMax
	// validators, so this leaves ample room.
	ProofBytesMax = 1 << 20
	// blockHeaderBytes is the encoded header: version, height, three hashes,
	// proposer, round, tx count.
	blockHeaderBytes = 1 + 8 + 3*crypto.HashSize + 4 + 8 + 4
	// BlockBytesMax bounds one encoded block.
	BlockBytesMax = blockHeaderBytes + BlockTxsMax*4 + BatchBytesMax + 4 + ProofBytesMax

	// ReceiptMessageBytesMax bounds a receipt message.
	ReceiptMessageBytesMax = 256
	// receiptFixedBytes is a receipt without its message.
	receiptFixedBytes = 1 + crypto.HashSize + 8 + 4 + 4 + 4
	// ReceiptBytesMax bounds one encoded receipt.
	ReceiptBytesMax = receiptFixedBytes + ReceiptMessageBytesMax

	// ValidatorsMax bounds the genesis validator set.
	ValidatorsMax = 64
	// GenesisAccountsMax bounds the funded accounts of a genesis.
	GenesisAccountsMax = 1 << 20
	// GenesisBytesMax bounds a genesis file (about 100 bytes per account).
	GenesisBytesMax = 128 << 20
	// ValidatorNameBytesMax bounds a validator name.
	ValidatorNameBytesMax = 64
	// AddrBytesMax bounds a validator's p2p multiaddr and API URL.
	AddrBytesMax = 256

	// SnapshotAccountsMax bounds the accounts of one snapshot.
	SnapshotAccountsMax = 1 << 24
	// SnapshotReceiptsMax bounds the receipts of one snapshot.
	SnapshotReceiptsMax = 1 << 28
	// accountBytes is an account in a snapshot: address, balance, nonce.
	accountBytes = crypto.AddressSize + 8 + 8

	// accountCacheMax bounds the store's in-memory account cache; when a
	// block would overflow it the cache is dropped and refilled from disk.
	accountCacheMax = 1 << 18
)

// Parameter bounds checked by Params.Validate.
const (
	// CheckpointIntervalMax bounds PBFT's K.
	CheckpointIntervalMax = 1 << 20
	// WindowSizeMax bounds PBFT's L.
	WindowSizeMax = 1 << 22
	// SnapshotIntervalMax bounds Raft's snapshot interval.
	SnapshotIntervalMax = 1 << 30
)

// Compile-time checks: each line fails to build if its constant would be
// negative (an untyped constant overflowing uint).
const (
	_ uint = TxBytesMax - (txFixedBytes + ChainIDBytesMax)
	_ uint = BatchBytesMax - TxBytesMax
	_ uint = ReceiptBytesMax - receiptFixedBytes
	_ uint = WindowSizeMax - CheckpointIntervalMax
	_ uint = GenesisBytesMax - GenesisAccountsMax*100
	_ uint = accountCacheMax - 2*BlockTxsMax
	_ uint = BlockBytesMax - ProofBytesMax - BatchBytesMax
	// A block must fit in an int on 32-bit machines too.
	_ uint = 1<<31 - 1 - BlockBytesMax
)
