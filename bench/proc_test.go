package bench

import (
	"os"
	"runtime"
	"testing"
)

func TestParseVmHWM(t *testing.T) {
	status := []byte("Name:\tbftledger\nVmPeak:\t  900 kB\nVmHWM:\t   12345 kB\nVmRSS:\t 100 kB\n")
	got, err := parseVmHWM(status)
	if err != nil || got != 12345*1024 {
		t.Errorf("parseVmHWM = %d, %v", got, err)
	}
	for _, bad := range []string{"", "VmRSS: 1 kB\n", "VmHWM: 12 MB\n", "VmHWM: x kB\n", "VmHWM:\n", "VmHWM: 99999999999999999999 kB\n"} {
		if _, err := parseVmHWM([]byte(bad)); err == nil {
			t.Errorf("parseVmHWM(%q) accepted", bad)
		}
	}
}

func TestParseCPUTicks(t *testing.T) {
	// Field 2 may hold spaces and parentheses.
	stat := []byte("4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 1234 5678 90 18446744073709551615\n")
	got, err := parseCPUTicks(stat)
	if err != nil || got != 300 {
		t.Errorf("parseCPUTicks = %d, %v; want 300", got, err)
	}
	for _, bad := range []string{"", "1 (x) S 1 2 3", "1 x S 1 2 3 4 5 6 7 8 9 10 11 12 13", "1 (x) S 1 2 3 4 5 6 7 8 9 a b 12 13"} {
		if _, err := parseCPUTicks([]byte(bad)); err == nil {
			t.Errorf("parseCPUTicks(%q) accepted", bad)
		}
	}
}

func TestReadProcSelf(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	u, err := readProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if u.PeakRSSBytes < 1<<20 || u.CPUSeconds < 0 {
		t.Errorf("self usage %+v", u)
	}
	if _, err := readProc(1 << 30); err == nil {
		t.Error("a missing pid should fail")
	}
}

func FuzzParseProc(f *testing.F) {
	f.Add([]byte("VmHWM:\t 1 kB\n"))
	f.Add([]byte("1 (a) S 1 1 1 0 -1 0 0 0 0 0 1 2 0 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, err := parseVmHWM(b); err == nil && v > 1<<50 {
			t.Errorf("implausible VmHWM %d accepted", v)
		}
		if v, err := parseCPUTicks(b); err == nil && v > 1<<51 {
			t.Errorf("implausible ticks %d accepted", v)
		}
	})
}
