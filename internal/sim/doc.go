// Package sim is bftledger's seeded, deterministic simulator: n replicas of
// a consensus engine in one goroutine, over a virtual network that loses,
// delays, reorders and duplicates messages and partitions the replicas,
// with crashes and restarts from persisted state and up to f Byzantine
// replicas — and checkers that say whether the engine kept its promises.
//
// # Running it
//
//	go test ./internal/sim                         # the default swarm (300 seeds) + negative control
//	go test ./internal/sim -run TestSeeds -seeds=10000            # many seeds
//	BFTLEDGER_SIM_SEEDS=10000 go test ./internal/sim -run TestSeeds  # the same
//	go test ./internal/sim -run TestSeeds -seed=12345 -v          # replay one seed
//	go test ./internal/sim -run TestSeeds -seed=12345 -v -simlog  # ... with every replica's debug log
//	go test ./internal/sim -run TestSeeds -behaviour=equivocate  # force a behaviour
//
// A failing seed prints its configuration, the violations, the last events
// (crashes, partitions, restarts) and the command that replays it. Every
// random choice of a run — n, parameters, faults, keys, the Byzantine
// replicas' choices — derives from the seed through one
// rand.New(rand.NewPCG(seed, 0)), so a replay is exact.
//
// # What a run is
//
// Swarm derives a Config from a seed: n (4 or 7, sometimes 5 or 10), 0..f
// Byzantine replicas with behaviours from package pbft/byzantine (the first
// one cycles with the seed, so consecutive seeds cover all of them), batch
// sizes, checkpoint interval K and window L, message loss, duplication and
// delay, crash and partition rates, and the workload. Run then has two
// phases:
//
//   - Safety: clients submit txs (to one replica or to all, re-sending the
//     pending ones periodically) while the network misbehaves, partitions
//     come and go (two halves, an isolated primary, one-way links), and
//     honest replicas crash — cleanly, or torn in the middle of a Ready
//     after persisting (before or after sending, always before applying) —
//     and restart from their records and their state machine's applied
//     height.
//   - Liveness: the network heals (no loss, short delays, no partitions),
//     crashed replicas restart, Byzantine ones stay Byzantine; every tx
//     any client submitted must then be in every honest replica's history
//     within Config.LivenessTicks.
//
// # What is checked
//
// On every delivery: no two honest replicas commit different batches at a
// height; they agree on the app hash after every height (so at every
// checkpoint); each replica delivers heights in order, once; every commit
// proof verifies against the validator set alone (pbft.VerifyCommitCertificate);
// no honest replica commits a tx twice; the ledger's total supply never
// changes. At the end: every tx a client saw committed (f+1 replicas
// delivered it at the same height) is in every honest replica's history
// exactly once, and liveness held. TestNegativeControl runs f+1 colluding
// equivocators and asserts that the checkers do report a violation.
//
// # Engines and apps
//
// The simulator drives any engine behind the Replica interface (Step, Tick,
// Propose, Applied, Ready, Advance over encoded frames), built by an Engine
// at start and at every restart. PBFT adapts pbft.Core: every frame a
// replica receives goes through pbft.Decode, Verifier.Verify with the
// sender the network authenticates, and Core.Step — as in the node — so
// forged and mis-signed messages meet the real checks. A Raft RawNode
// adapter would implement the same interface. Apps: EchoApp (a hash chain
// over batches, fast) and LedgerApp (the real ledger over an in-memory
// database, with signed transfers; supply is checked).
//
// Nothing here reads the wall clock or starts a goroutine; time is the
// simulator's tick.
package sim
