package bench

import (
	"math"
	"slices"
	"time"
)

// Latency summarises a set of latencies, in milliseconds (JSON friendly and
// what people read).
type Latency struct {
	Samples int     `json:"samples"`
	P50     float64 `json:"p50_ms"`
	P90     float64 `json:"p90_ms"`
	P99     float64 `json:"p99_ms"`
	Max     float64 `json:"max_ms"`
	Mean    float64 `json:"mean_ms"`
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted, which must be sorted ascending: the smallest value such that at
// least p% of the values are less than or equal to it. It returns 0 for an
// empty slice. p outside (0, 100] is clamped.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// Summarize sorts ds in place and returns its summary.
func Summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return Latency{
		Samples: len(ds),
		P50:     ms(Percentile(ds, 50)),
		P90:     ms(Percentile(ds, 90)),
		P99:     ms(Percentile(ds, 99)),
		Max:     ms(ds[len(ds)-1]),
		Mean:    ms(sum / time.Duration(len(ds))),
	}
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// Bin is one slot of a time series: Count events in [Start, Start+width).
type Bin struct {
	Start float64 `json:"t_s"`  // seconds since the run's origin
	Rate  float64 `json:"tx_s"` // Count divided by the bin width in seconds
	Count int     `json:"txs"`
}

// Point is one observation: Count events at time T after an origin.
type Point struct {
	T     time.Duration
	Count int
}

// BinPoints counts points into consecutive bins of width from 0 up to end
// (the last bin may be partial and is scaled by its actual width). Points
// before 0 or at or after end are ignored.
func BinPoints(points []Point, width, end time.Duration) []Bin {
	if width <= 0 || end <= 0 {
		return nil
	}
	n := int((end + width - 1) / width)
	bins := make([]Bin, n)
	for i := range bins {
		bins[i].Start = (time.Duration(i) * width).Seconds()
	}
	for _, p := range points {
		if p.T < 0 || p.T >= end {
			continue
		}
		bins[int(p.T/width)].Count += p.Count
	}
	for i := range bins {
		w := width
		if last := end - time.Duration(i)*width; last < width {
			w = last
		}
		bins[i].Rate = math.Round(float64(bins[i].Count)/w.Seconds()*10) / 10
	}
	return bins
}

// CountWindow sums the counts of points with from <= T < to.
func CountWindow(points []Point, from, to time.Duration) int {
	total := 0
	for _, p := range points {
		if p.T >= from && p.T < to {
			total += p.Count
		}
	}
	return total
}

// countBlocks counts the points (one per block) with from <= T < to.
func countBlocks(points []Point, from, to time.Duration) int {
	n := 0
	for _, p := range points {
		if p.T >= from && p.T < to {
			n++
		}
	}
	return n
}

// Rate returns count per second over d, rounded to 0.1; 0 for d <= 0.
func Rate(count int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return math.Round(float64(count)/d.Seconds()*10) / 10
}

// ratio returns a/b rounded to 0.01, or 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return math.Round(a/b*100) / 100
}
