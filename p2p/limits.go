package p2p

import "time"

// Limits of the validator network. Every queue, buffer and frame is bounded by
// one of these; Config.Validate checks the configurable ones against both
// bounds.
const (
	// FrameBytesMax is the hard upper bound on one frame's payload, whatever
	// Config.MaxFrameBytes says. Callers with their own message limits should
	// check them against it at compile time:
	//
	//	const _ uint = p2p.FrameBytesMax - msgBytesMax
	FrameBytesMax = 64 << 20

	// FrameBytesDefault is Config.MaxFrameBytes when left zero.
	FrameBytesDefault = 32 << 20

	// frameBytesMin is the smallest Config.MaxFrameBytes accepted: anything
	// smaller could not carry a signed consensus message.
	frameBytesMin = 1 << 10

	// frameHeaderBytes is the big-endian uint32 length prefix of each frame.
	frameHeaderBytes = 4

	// PeersMax bounds the validator set, us included.
	PeersMax = 256

	// SendQueueLenDefault is Config.SendQueueLen (frames per peer) when zero.
	SendQueueLenDefault = 4096
	// sendQueueLenMax bounds Config.SendQueueLen: the queue is a channel
	// allocated up front, one per peer.
	sendQueueLenMax = 1 << 16

	// SendQueueBytesDefault is Config.SendQueueBytes (payload bytes queued
	// per peer) when zero. It holds at least one frame of the default size.
	SendQueueBytesDefault = 64 << 20
	// sendQueueBytesMax bounds Config.SendQueueBytes: PeersMax of them is
	// the worst case memory held by send queues.
	sendQueueBytesMax = 1 << 30

	// InboundQueueLen is the capacity, in frames, of the channel returned by
	// Host.Inbound. When it is full, readers stop reading and TCP pushes back.
	InboundQueueLen = 8192

	// readBufferBytes and writeBufferBytes size the bufio buffers of each
	// stream: big enough to batch hundreds of small frames per syscall.
	readBufferBytes  = 64 << 10
	writeBufferBytes = 64 << 10

	// readChunkBytes is the largest frame body allocated in one piece before
	// any of it has arrived. Longer bodies grow as their bytes arrive, so a
	// peer that announces a big frame and stalls holds little memory.
	readChunkBytes = 64 << 10

	// writeBatchFramesMax caps the frames written between two flushes, so a
	// busy queue still reaches the wire regularly.
	writeBatchFramesMax = 1024

	// Reconnect backoff: doubles from backoffMin to backoffMax per failure.
	backoffMin = 50 * time.Millisecond
	backoffMax = 2 * time.Second

	// dialTimeout bounds one connection attempt plus stream negotiation.
	dialTimeout = 5 * time.Second

	// writeTimeout bounds one batch of writes. A peer that does not drain its
	// stream for this long has its stream reset; the protocol retransmits.
	writeTimeout = 30 * time.Second

	// The libp2p resource manager is scaled to a fixed budget rather than to
	// the machine, so every node enforces the same limits.
	resourceMemoryBytes = 1 << 30
	resourceFDs         = 1024
)

// Compile-time checks of the relationships above: each breaks the build if the
// constant expression is negative or does not fit.
const (
	_ uint   = FrameBytesMax - FrameBytesDefault
	_ uint   = FrameBytesDefault - frameBytesMin
	_ uint32 = FrameBytesMax // a frame length fits the uint32 prefix
	_ uint   = SendQueueBytesDefault - FrameBytesDefault
	_ uint   = sendQueueBytesMax - FrameBytesMax
	_ uint   = sendQueueLenMax - SendQueueLenDefault
	_ uint   = readChunkBytes - frameHeaderBytes
	_ uint   = writeBufferBytes - frameHeaderBytes
	_ uint   = uint(backoffMax - backoffMin)
	_ uint   = uint(writeTimeout - dialTimeout)
)
