package byzantine

import "github.com/bftledger/bftledger/pbft"

// Limits of the wrappers' own memory.
const (
	// replayHistoryMax bounds the old messages replay keeps to re-send.
	replayHistoryMax = 256
	// replayPerReady bounds the old messages replay adds to one Ready.
	replayPerReady = 4
	// batchMemoryMax bounds the batches equivocate remembers (by view and
	// seq) so a backup can vote for a second digest.
	batchMemoryMax = 4 * pbft.WindowSizeMax
	// inflateViews is how far ahead view-inflation pushes a VIEW-CHANGE.
	inflateViews = 1000
	// inflateEveryTicks is how often view-inflation re-sends one on its own.
	inflateEveryTicks = 64
	// skipBeyondWindow is how far past the window seq-skip aims.
	skipBeyondWindow = pbft.WindowSizeMax + 1
)

// Compile-time relationships (a negative value breaks the build).
const (
	_ uint = replayHistoryMax - replayPerReady
	_ uint = batchMemoryMax - pbft.WindowSizeMax
	_ uint = inflateViews - 1
)
