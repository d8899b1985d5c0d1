package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// procUsage is one reading of a process's resource use from /proc.
type procUsage struct {
	PeakRSSBytes uint64  // VmHWM: the resident set's high-water mark
	CPUSeconds   float64 // utime + stime
}

// readProc reads /proc/<pid>/status and /proc/<pid>/stat (Linux only).
func readProc(pid int) (procUsage, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procUsage{}, fmt.Errorf("bench: pid %d: %w", pid, err)
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procUsage{}, fmt.Errorf("bench: pid %d: %w", pid, err)
	}
	rss, err := parseVmHWM(status)
	if err != nil {
		return procUsage{}, fmt.Errorf("bench: pid %d: %w", pid, err)
	}
	cpu, err := parseCPUTicks(stat)
	if err != nil {
		return procUsage{}, fmt.Errorf("bench: pid %d: %w", pid, err)
	}
	return procUsage{PeakRSSBytes: rss, CPUSeconds: float64(cpu) / clockTicksPerSecond}, nil
}

// parseVmHWM finds "VmHWM:   12345 kB" in a /proc/<pid>/status file and
// returns it in bytes.
func parseVmHWM(status []byte) (uint64, error) {
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, []byte("VmHWM:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("bench: malformed VmHWM line %q", bytes.TrimSpace(line))
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil || kb > 1<<40 {
			return 0, fmt.Errorf("bench: malformed VmHWM value %q", f[0])
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("bench: no VmHWM line in status")
}

// parseCPUTicks returns utime+stime (fields 14 and 15) from a
// /proc/<pid>/stat line. The command name (field 2) is in parentheses and
// may itself hold spaces and parentheses, so fields are counted after the
// last ')'.
func parseCPUTicks(stat []byte) (uint64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("bench: malformed stat: no ')'")
	}
	f := bytes.Fields(stat[i+1:])
	// After ')' come field 3 (state) onwards: utime is field 14, index 11.
	if len(f) < 13 {
		return 0, fmt.Errorf("bench: malformed stat: %d fields after the name", len(f))
	}
	utime, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil || utime > 1<<50 || stime > 1<<50 {
		return 0, fmt.Errorf("bench: malformed stat utime %q stime %q", f[11], f[12])
	}
	return utime + stime, nil
}
