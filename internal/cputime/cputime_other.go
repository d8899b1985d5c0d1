//go:build !unix

// Package cputime reads the CPU time this process has used, which
// benchmarks report beside wall time: on a loaded machine wall time mostly
// measures waiting for a CPU.
package cputime

import "time"

// Process returns 0: CPU time is not read on this platform, and callers
// then report wall time only.
func Process() time.Duration { return 0 }
