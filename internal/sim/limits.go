package sim

// Limits of the simulator. They bound memory and keep a run finite; a
// Config outside them is refused by Config.Validate.
const (
	// minReplicas and maxReplicas bound n. Checker bitmasks hold one bit per
	// replica in a uint64.
	minReplicas = 1
	maxReplicas = 16
	// maxTicks bounds each phase of a run.
	maxTicks = 1 << 20
	// maxDelayTicks bounds one message's delay.
	maxDelayTicks = 1 << 10
	// maxInFlight bounds frames queued in the network; beyond it frames are
	// dropped and counted (NetStats.Overflow), never queued.
	maxInFlight = 1 << 18
	// maxTxBytes bounds one client tx.
	maxTxBytes = 1 << 16
	// maxTxs bounds the txs clients submit in one run.
	maxTxs = 1 << 16
	// maxClients bounds the simulated clients.
	maxClients = 1 << 10
	// maxReadyRounds bounds Ready/Advance rounds after one input; an engine
	// that never runs out of Ready is a bug, reported as a violation.
	maxReadyRounds = 1 << 10
	// maxViolations bounds what one run records.
	maxViolations = 64
	// probeEveryTicks is how often clients send a new tx while laggards
	// catch up in the liveness phase (a multiple of 8 plus 8: the phase
	// checks progress every 8 ticks).
	probeEveryTicks = 32
	// traceLines is how many recent events a Result keeps for a report.
	traceLines = 256
)

// Compile-time relationships: each line fails to build if the difference
// is negative.
const (
	_ uint = 64 - maxReplicas          // checker bitmasks
	_ uint = maxReplicas - minReplicas // a valid range
	_ uint = maxTicks - maxDelayTicks  // a delayed frame can land in a phase
	_ uint = maxInFlight - maxReplicas*maxReplicas
	_ uint = maxTxBytes - echoTxHeader
)
