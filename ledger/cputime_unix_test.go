//go:build unix

package ledger

import (
	"syscall"
	"time"
)

// processCPU returns the user plus system CPU time the process has used.
// Benchmarks report it beside wall time because on a loaded machine the
// wall time mostly measures waiting for a CPU.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
