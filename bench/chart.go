package bench

import (
	"fmt"
	"image/color"
	"math"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

const (
	chartWidth  = 10 * vg.Inch
	chartHeight = 5 * vg.Inch
)

// WriteThroughputChart draws committed tx/s over time (1 s bins), one line
// per run, with each run's view/leader changes as dashed vertical lines and
// its measurement windows' starts as dotted grey ones. The format follows
// path's extension (.png, .svg, ...).
func WriteThroughputChart(path string, runs []*RunResult) error {
	p := plot.New()
	p.Title.Text = "Committed transactions per second (1 s bins)"
	p.X.Label.Text = "seconds since the first phase started"
	p.Y.Label.Text = "tx/s"
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	ymax := 1.0
	for _, r := range runs {
		for _, b := range r.Series {
			ymax = max(ymax, b.Rate)
		}
	}
	colors, repeated := configColors(runs)
	named := map[string]bool{}
	for _, r := range runs {
		i := colors[configName(r)]
		if len(r.Series) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(r.Series))
		for j, b := range r.Series {
			xys[j] = plotter.XY{X: b.Start + 0.5, Y: b.Rate}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("bench: chart: %w", err)
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		if name := legendName(r, repeated); !named[name] {
			named[name] = true
			p.Legend.Add(name, l)
		}
		for _, ph := range r.Phases {
			if err := vline(p, ph.StartSeconds, ymax, color.Gray{Y: 160}, []vg.Length{vg.Points(1), vg.Points(3)}); err != nil {
				return err
			}
		}
		for _, e := range r.Events {
			if err := vline(p, e.T, ymax, plotutil.Color(i), []vg.Length{vg.Points(6), vg.Points(3)}); err != nil {
				return err
			}
			if name := legendName(r, repeated) + ": " + e.Kind; !named[name] {
				named[name] = true
				p.Legend.Add(name, dashedLegend(plotutil.Color(i)))
			}
		}
	}
	if len(runs) > 0 && len(runs[0].Phases) > 0 {
		// Name the windows once, along the top (runs share the plan).
		var lab plotter.XYLabels
		for _, ph := range runs[0].Phases {
			lab.XYs = append(lab.XYs, plotter.XY{X: ph.StartSeconds, Y: ymax * 1.05})
			lab.Labels = append(lab.Labels, " "+ph.Name)
		}
		l, err := plotter.NewLabels(lab)
		if err != nil {
			return fmt.Errorf("bench: chart: %w", err)
		}
		p.Add(l)
	}
	p.Y.Min = 0
	p.Y.Max = ymax * 1.3 // headroom for the legend and the window names
	if err := p.Save(chartWidth, chartHeight, path); err != nil {
		return fmt.Errorf("bench: chart %s: %w", path, err)
	}
	return nil
}

func vline(p *plot.Plot, x, ymax float64, c color.Color, dashes []vg.Length) error {
	l, err := plotter.NewLine(plotter.XYs{{X: x, Y: 0}, {X: x, Y: ymax}})
	if err != nil {
		return fmt.Errorf("bench: chart: %w", err)
	}
	l.Color, l.Dashes, l.Width = c, dashes, vg.Points(1)
	p.Add(l)
	return nil
}

func dashedLegend(c color.Color) plot.Thumbnailer {
	l := &plotter.Line{}
	l.Color, l.Width, l.Dashes = c, vg.Points(1), []vg.Length{vg.Points(6), vg.Points(3)}
	return l
}

// WriteLatencyChart draws the distribution (CDF) of receipt latency for
// every phase of every run, on a logarithmic latency axis.
func WriteLatencyChart(path string, runs []*RunResult) error {
	p := plot.New()
	p.Title.Text = "Latency to the receipts a client needs (CDF of sampled txs)"
	p.X.Label.Text = "latency, ms (log scale)"
	p.Y.Label.Text = "fraction of txs"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = false // a CDF leaves the bottom right empty
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	p.Y.Min, p.Y.Max = 0, 1
	lines := 0
	colors, repeated := configColors(runs)
	named := map[string]bool{}
	for _, r := range runs {
		i := colors[configName(r)]
		for j, ph := range r.Phases {
			lat := r.Latencies(j)
			if len(lat) == 0 {
				continue
			}
			xys := cdf(lat)
			l, err := plotter.NewLine(xys)
			if err != nil {
				return fmt.Errorf("bench: chart: %w", err)
			}
			l.Color = plotutil.Color(i)
			l.Dashes = plotutil.Dashes(j)
			l.Width = vg.Points(1.5)
			p.Add(l)
			name := fmt.Sprintf("%s %s (p50 %.1f ms, p99 %.1f ms)", r.Label, ph.Name, ph.Latency.P50, ph.Latency.P99)
			if repeated {
				name = fmt.Sprintf("%s %s (each run)", configName(r), ph.Name)
			}
			if !named[name] {
				named[name] = true
				p.Legend.Add(name, l)
			}
			lines++
		}
	}
	if lines == 0 {
		// A log axis needs a positive range even with nothing on it.
		p.X.Min, p.X.Max = 0.1, 1000
	}
	if err := p.Save(chartWidth, chartHeight, path); err != nil {
		return fmt.Errorf("bench: chart %s: %w", path, err)
	}
	return nil
}

// cdf turns sorted latencies into at most 512 CDF points, in ms, clamped
// above zero for the log axis.
func cdf(sorted []time.Duration) plotter.XYs {
	n := len(sorted)
	step := max(1, n/512)
	var xys plotter.XYs
	for i := 0; i < n; i += step {
		xys = append(xys, plotter.XY{X: math.Max(float64(sorted[i])/1e6, 0.01), Y: float64(i+1) / float64(n)})
	}
	if last := n - 1; last%step != 0 {
		xys = append(xys, plotter.XY{X: math.Max(float64(sorted[last])/1e6, 0.01), Y: 1})
	}
	return xys
}

// configColors gives each configuration (mode and size) one colour index,
// in first-seen order, so repeated runs of it share a colour; repeated
// reports whether any configuration ran more than once.
func configColors(runs []*RunResult) (map[string]int, bool) {
	idx := map[string]int{}
	repeated := false
	for _, r := range runs {
		k := configName(r)
		if _, ok := idx[k]; ok {
			repeated = true
			continue
		}
		idx[k] = len(idx)
	}
	return idx, repeated
}

// legendName is a run's legend entry: its configuration when runs repeat
// (one entry for all of them), else its label.
func legendName(r *RunResult, repeated bool) string {
	if repeated {
		return configName(r) + " (each run)"
	}
	return r.Label
}
