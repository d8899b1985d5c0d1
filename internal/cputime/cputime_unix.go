//go:build unix

// Package cputime reads the CPU time this process has used, which
// benchmarks report beside wall time: on a loaded machine wall time mostly
// measures waiting for a CPU.
package cputime

import (
	"syscall"
	"time"
)

// Process returns the user plus system CPU time this process has used, or
// 0 if it cannot be read.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
