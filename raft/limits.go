package raft

// Limits of the Raft engine. Everything a peer can make us allocate, and
// everything we hold in memory, is bounded by one of these; Config.Validate
// checks the configurable values against both bounds.
const (
	// MsgBytesMax is the largest encoded raftpb.Message Decode accepts and
	// the largest the engine ever produces. It equals the p2p layer's
	// default frame limit (p2p.FrameBytesDefault); the node must not
	// configure a smaller frame limit in Raft mode, or snapshots and large
	// appends will not get through.
	MsgBytesMax = 32 << 20

	// msgEnvelopeBytes is room for a message's own fields (type, term,
	// index, commit, ...) and the protobuf tags and lengths around entries
	// and the snapshot. It is generous: a few hundred bytes suffice.
	msgEnvelopeBytes = 64 << 10

	// snapshotBytesMax bounds the ledger snapshot the engine ships in one
	// MsgSnap (the encoded snapshot payload, app hash and height included).
	// A ledger snapshot is all accounts: tens of bytes each, so this is
	// room for hundreds of thousands of accounts. A bigger snapshot is not
	// taken (logged as an error) and the log is not compacted.
	snapshotBytesMax = 28 << 20

	// snapshotAppHashBytesMax bounds the app hash carried in a snapshot.
	snapshotAppHashBytesMax = 64

	// maxSizePerMsg is etcd raft's MaxSizePerMsg: the byte budget of the
	// entries in one MsgApp (raft always sends at least one entry).
	maxSizePerMsg = 1 << 20

	// maxInflightMsgs is etcd raft's MaxInflightMsgs: MsgApps sent to one
	// follower and not yet acknowledged.
	maxInflightMsgs = 256

	// maxUncommittedBytes is etcd raft's MaxUncommittedEntriesSize: the
	// leader drops proposals beyond this many uncommitted entry bytes, and
	// their txs stay pending until they are proposed again.
	maxUncommittedBytes = 64 << 20

	// maxCommittedBytesPerReady is etcd raft's MaxCommittedSizePerReady:
	// the most entry bytes handed to the ledger in one Ready.
	maxCommittedBytesPerReady = 8 << 20

	// BatchTxsMax bounds Config.MaxBatchTxs and the txs a peer's entry may
	// carry.
	BatchTxsMax = 1 << 16
	// BatchBytesMax bounds Config.MaxBatchBytes and the tx bytes a peer's
	// entry may carry.
	BatchBytesMax = 4 << 20
	// batchHeaderBytes is an entry's fixed header: version, proposer and
	// the tx count.
	batchHeaderBytes = 1 + 4 + 4
	// batchTxOverheadBytes is the length prefix of each tx in an entry.
	batchTxOverheadBytes = 4
	// entryBytesMax bounds the data of one entry.
	entryBytesMax = batchHeaderBytes + BatchTxsMax*batchTxOverheadBytes + BatchBytesMax

	// PendingTxsMax bounds Config.MaxPendingTxs.
	PendingTxsMax = 1 << 20

	// ValidatorsMax bounds Config.N (etcd raft ids are index+1).
	ValidatorsMax = 256

	// readCtxBytesMax bounds a ReadIndex request context.
	readCtxBytesMax = 64
	// pendingReadsMax bounds read requests whose read index is known but
	// not yet applied; ReadIndex refuses more with ErrTooManyReads.
	pendingReadsMax = 4096

	// Tick bounds for Config.ElectionTicks and Config.HeartbeatTicks.
	electionTicksMax  = 1 << 16
	heartbeatTicksMin = 1
	// batchTimeoutTicksMax bounds Config.BatchTimeoutTicks.
	batchTimeoutTicksMax = 1 << 16

	// inflightBatchesMax is how many batches this node keeps proposed but
	// not yet committed before it waits (up to BatchTimeoutTicks) for more
	// txs: at low load a tx is proposed at once; under load txs accumulate
	// while earlier batches commit, so batches grow with the load.
	inflightBatchesMax = 2

	// reproposeElections is how many election timeouts a proposed batch
	// may stay uncommitted before its txs are proposed again (the proposal
	// may have been lost with a leader). Re-proposing is safe: the ledger
	// applies a tx hash at most once.
	reproposeElections = 2

	// proposeAttemptsMax is how many times a tx is proposed before the
	// pool gives up on it: a tx committed in entries this node never saw
	// (a snapshot replaced them) would otherwise stay pending for ever,
	// as leaders leave txs they know committed out of batches.
	proposeAttemptsMax = 4

	// recentTxsMax bounds the tx hashes a node remembers to keep a leader
	// from ordering a tx twice (32 bytes each plus the map: a few MiB).
	recentTxsMax = 1 << 16

	// proofBytes is the encoded commit proof: version, term, index.
	proofBytes = 1 + 8 + 8
)

// Compile-time checks of the relationships above: each breaks the build if
// the constant expression is negative or does not fit.
const (
	_ uint   = MsgBytesMax - snapshotBytesMax - msgEnvelopeBytes
	_ uint   = MsgBytesMax - maxSizePerMsg - entryBytesMax - msgEnvelopeBytes
	_ uint   = snapshotBytesMax - snapshotAppHashBytesMax
	_ uint   = maxUncommittedBytes - entryBytesMax
	_ uint   = maxCommittedBytesPerReady - entryBytesMax
	_ uint32 = MsgBytesMax // fits the p2p layer's uint32 frame length
	_ uint32 = entryBytesMax
	_ uint32 = ValidatorsMax
	_ uint   = PendingTxsMax - BatchTxsMax
	_ uint   = electionTicksMax - heartbeatTicksMin
	_ uint   = inflightBatchesMax - 1
	_ uint   = reproposeElections - 1
	_ uint   = proposeAttemptsMax - 2     // one loss with a leader is normal
	_ uint   = recentTxsMax - BatchTxsMax // holds at least a whole batch
)
