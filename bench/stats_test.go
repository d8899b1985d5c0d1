package bench

import (
	"slices"
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		name string
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 50, 7 * time.Millisecond},
		{"one p99", ms(7), 99, 7 * time.Millisecond},
		{"p50 of 4", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p90 of 4", ms(1, 2, 3, 4), 90, 4 * time.Millisecond},
		{"p100", ms(1, 2, 3, 4), 100, 4 * time.Millisecond},
		{"p0 clamps to min", ms(1, 2, 3, 4), 0, 1 * time.Millisecond},
		{"p200 clamps to max", ms(1, 2, 3, 4), 200, 4 * time.Millisecond},
		{"p50 of 1..100", ms(hundred...), 50, 50 * time.Millisecond},
		{"p90 of 1..100", ms(hundred...), 90, 90 * time.Millisecond},
		{"p99 of 1..100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p99.9 of 1..100", ms(hundred...), 99.9, 100 * time.Millisecond},
	} {
		if got := Percentile(tc.in, tc.p); got != tc.want {
			t.Errorf("%s: p%v = %v, want %v", tc.name, tc.p, got, tc.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	ds := []time.Duration{4 * time.Millisecond, time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond}
	got := Summarize(ds)
	want := Latency{Samples: 4, P50: 2, P90: 4, P99: 4, Max: 4, Mean: 2.5}
	if got != want {
		t.Errorf("Summarize = %+v, want %+v", got, want)
	}
	if !slices.IsSorted(ds) {
		t.Error("Summarize did not sort its input")
	}
	if (Summarize(nil) != Latency{}) {
		t.Error("empty summary not zero")
	}
	if got := Summarize([]time.Duration{1500 * time.Microsecond}); got.P50 != 1.5 {
		t.Errorf("sub-millisecond precision lost: %v", got.P50)
	}
}

func TestBinPoints(t *testing.T) {
	s := time.Second
	points := []Point{
		{T: 0, Count: 10},
		{T: 999 * time.Millisecond, Count: 5},
		{T: s, Count: 7},                   // second bin, inclusive start
		{T: -time.Millisecond, Count: 100}, // before the origin: ignored
		{T: 2500 * time.Millisecond, Count: 3},
		{T: 3 * s, Count: 100}, // at end: ignored
	}
	got := BinPoints(points, s, 3*s)
	want := []Bin{{Start: 0, Rate: 15, Count: 15}, {Start: 1, Rate: 7, Count: 7}, {Start: 2, Rate: 3, Count: 3}}
	if !slices.Equal(got, want) {
		t.Errorf("BinPoints = %+v, want %+v", got, want)
	}
	// A partial last bin is scaled by its real width.
	got = BinPoints([]Point{{T: 2200 * time.Millisecond, Count: 5}}, s, 2500*time.Millisecond)
	if len(got) != 3 || got[2].Count != 5 || got[2].Rate != 10 {
		t.Errorf("partial bin: %+v", got)
	}
	if BinPoints(points, 0, s) != nil || BinPoints(points, s, 0) != nil {
		t.Error("degenerate width or end should give no bins")
	}
}

func TestCountWindowAndRate(t *testing.T) {
	points := []Point{{T: 0, Count: 1}, {T: time.Second, Count: 2}, {T: 2 * time.Second, Count: 4}}
	if got := CountWindow(points, time.Second, 2*time.Second); got != 2 {
		t.Errorf("window [1s,2s) = %d, want 2", got)
	}
	if got := CountWindow(points, 0, 3*time.Second); got != 7 {
		t.Errorf("window [0,3s) = %d, want 7", got)
	}
	if got := Rate(7, 2*time.Second); got != 3.5 {
		t.Errorf("Rate = %v", got)
	}
	if Rate(7, 0) != 0 {
		t.Error("Rate over zero time should be 0")
	}
	if ratio(1, 0) != 0 || ratio(3, 2) != 1.5 {
		t.Error("ratio")
	}
}

func TestPhaseSampleEvery(t *testing.T) {
	for _, tc := range []struct {
		every int
		rate  float64
		want  int
	}{
		{16, 0, 16},    // closed loop: as configured
		{16, 40, 1},    // slow: every tx
		{16, 200, 4},   // 50 samples/s
		{16, 8000, 16}, // capped by the configuration
		{1, 100000, 1}, // every tx if asked
	} {
		if got := phaseSampleEvery(tc.every, tc.rate); got != tc.want {
			t.Errorf("every %d at %v tx/s: %d, want %d", tc.every, tc.rate, got, tc.want)
		}
	}
}
