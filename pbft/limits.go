package pbft

import "github.com/bftledger/bftledger/crypto"

// Limits of the PBFT core. Every decoded length, every pool and every log is
// bounded by one of these; Config.Validate checks the configurable values
// against both bounds, and the relationships between them are checked at
// compile time below.
const (
	// MessageBytesMax bounds one encoded message (Encode's output). It equals
	// the transport's default frame limit (p2p.FrameBytesDefault); the
	// worst-case NEW-VIEW below is checked to fit.
	MessageBytesMax = 32 << 20

	// ValidatorsMax bounds n, the size of the validator set.
	ValidatorsMax = 32
	// faultyMax and quorumMax are f and the quorum at n = ValidatorsMax.
	faultyMax = (ValidatorsMax - 1) / 3
	quorumMax = (ValidatorsMax + faultyMax + 2) / 2

	// ChainIDBytesMax bounds Config.ChainID.
	ChainIDBytesMax = 64

	// TxBytesMax bounds one transaction carried by a REQUEST or PRE-PREPARE.
	TxBytesMax = 1 << 20
	// TxsPerBatchMax bounds Config.MaxBatchTxs and the txs of one batch.
	TxsPerBatchMax = 8192
	// BatchBytesMax bounds Config.MaxBatchBytes: the sum of tx lengths in
	// one batch.
	BatchBytesMax = 8 << 20

	// CheckpointIntervalMax bounds Config.CheckpointInterval (K).
	CheckpointIntervalMax = WindowSizeMax
	// WindowSizeMax bounds Config.WindowSize (L = H - h): the number of
	// sequence numbers a replica keeps in flight, and the number of
	// prepared certificates one VIEW-CHANGE may carry.
	WindowSizeMax = 512

	// PendingTxsMax bounds Config.MaxPendingTxs, the request pool.
	PendingTxsMax = 1 << 20

	// TicksMax bounds every timeout given in ticks.
	TicksMax = 1 << 20

	// AppHashBytesMax bounds the app hash a CHECKPOINT carries.
	AppHashBytesMax = 64

	// FetchBatchesMax bounds the batches asked for by one FETCH-REQUEST and
	// carried by one FETCH-RESPONSE. A responder also stops adding batches
	// before the message would exceed fetchBytesMax.
	FetchBatchesMax = 256
	// fetchBytesMax is the payload budget of one FETCH-RESPONSE; one batch
	// always fits even if it alone exceeds the budget (see compile checks).
	fetchBytesMax = 16 << 20

	// proofBytesMax bounds an encoded commit certificate (Committed.Proof).
	proofBytesMax = 1 + 8 + 4 + ValidatorsMax*attestationBytes

	// attestationBytes is one (replica, signature) pair as encoded.
	attestationBytes = 4 + 4 + crypto.SignatureSize
	// sigFieldBytes is one length-prefixed signature.
	sigFieldBytes = 4 + crypto.SignatureSize
	// checkpointBytesMax is one encoded CHECKPOINT (without kind header).
	checkpointBytesMax = 8 + 4 + AppHashBytesMax + 4 + sigFieldBytes
	// certBytesMax is one prepared certificate as encoded: view, seq,
	// digest, the primary's signature, and up to quorumMax-1 prepares (a
	// correct replica includes exactly quorum-1).
	certBytesMax = 8 + 8 + crypto.HashSize + sigFieldBytes + 4 + (quorumMax-1)*attestationBytes
	// viewChangeBytesMax is one encoded VIEW-CHANGE at the limits above.
	viewChangeBytesMax = 8 + 8 + 4 + ValidatorsMax*checkpointBytesMax + 4 + WindowSizeMax*certBytesMax + 4 + sigFieldBytes
	// prePrepareHeaderBytes is a PRE-PREPARE without its batch.
	prePrepareHeaderBytes = 8 + 8 + crypto.HashSize + 4 + 1 + 4 + sigFieldBytes
	// newViewBytesMax is one encoded NEW-VIEW: up to quorumMax
	// view-changes and WindowSizeMax digest-only pre-prepares.
	newViewBytesMax = 8 + 4 + quorumMax*viewChangeBytesMax + 4 + WindowSizeMax*prePrepareHeaderBytes + 4 + sigFieldBytes
	// batchBytesEncodedMax is a full batch with its length prefixes.
	batchBytesEncodedMax = BatchBytesMax + 4*TxsPerBatchMax + 4
	// headerBytes is the version and kind bytes in front of every message.
	headerBytes = 2

	// maxBatchesPerSlot bounds the distinct batches a slot remembers (one
	// per view at most; a faulty primary cannot make a slot grow further).
	maxBatchesPerSlot = 4
	// maxVCAttempts caps the doubling of the view-change timeout.
	maxVCAttempts = 16
	// recentTxsMax bounds the committed tx hashes remembered for duplicate
	// suppression (about 80 bytes each).
	recentTxsMax = 1 << 18
	// recentRebuildWindows is how many windows of committed batches a
	// restarting replica reads back from Storage into its committed-tx
	// memory.
	recentRebuildWindows = 4
	// fetchAnswersPerTick bounds the FETCH-REQUESTs served per peer per
	// tick (each answer may carry fetchBytesMax).
	fetchAnswersPerTick = 4
	// relayPerRetransmit bounds the pending txs a backup re-relays to the
	// primary per retransmission interval.
	relayPerRetransmit = 1024
)

// Compile-time checks: each breaks the build if its expression is negative.
const (
	_ uint = MessageBytesMax - headerBytes - newViewBytesMax
	_ uint = MessageBytesMax - headerBytes - prePrepareHeaderBytes - batchBytesEncodedMax
	_ uint = MessageBytesMax - headerBytes - fetchBytesMax - batchBytesEncodedMax - proofBytesMax - 64 - ValidatorsMax*checkpointBytesMax
	_ uint = BatchBytesMax - TxBytesMax
	_ uint = PendingTxsMax - TxsPerBatchMax
	_ uint = recentTxsMax - TxsPerBatchMax*4       // a few windows' worth at the largest batches
	_ uint = WindowSizeMax - CheckpointIntervalMax // K <= L
	_ uint = TicksMax - maxVCAttempts
	_ uint = WindowSizeMax - FetchBatchesMax
	_ uint = quorumMax - 2*faultyMax - 1 // quorum >= 2f+1
	_ uint = ValidatorsMax - 4
)
