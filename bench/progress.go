package bench

import (
	"context"
	"fmt"
	"sync"
	"time"
)

const (
	progressTick        = 250 * time.Millisecond // refresh of an interactive line
	progressTickNonTerm = 5 * time.Second        // one line per tick otherwise
)

// startProgress prints a progress line to cfg.Progress until the returned
// stop function is called: refreshed in place on a terminal, one line
// every few seconds otherwise. stop erases an in-place line.
func (r *runner) startProgress(ctx context.Context, wg *sync.WaitGroup) (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	every := progressTickNonTerm
	if r.cfg.Interactive {
		every = progressTick
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-pctx.Done():
				if r.cfg.Interactive {
					fmt.Fprint(r.cfg.Progress, "\r\x1b[K")
				}
				return
			case <-t.C:
			}
			line := r.progressLine(time.Now())
			if r.cfg.Interactive {
				fmt.Fprintf(r.cfg.Progress, "\r\x1b[K%s", line)
			} else {
				fmt.Fprintln(r.cfg.Progress, line)
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { cancel(); <-done }) }
}

// progressLine reports elapsed time, the current phase, committed tx/s over
// the last second and since the origin, and the in-flight count.
func (r *runner) progressLine(now time.Time) string {
	el := r.since(now)
	ph := r.cfg.Phases[r.phase.Load()]
	name := ph.Name
	switch {
	case r.draining.Load():
		name = "drain"
	case now.UnixNano() < r.winStart.Load():
		name += " (warm-up)"
	}
	r.mu.Lock()
	last := CountWindow(r.points, el-time.Second, el+time.Second)
	total := CountWindow(r.points, 0, el+time.Second)
	inflight := len(r.inflight)
	r.mu.Unlock()
	return fmt.Sprintf("[%s] %5.1fs  phase %-16s  %7.0f tx/s now  %7.0f tx/s avg  %6d in flight  %d samples",
		r.cfg.Label, el.Seconds(), name, float64(last), Rate(total, el), inflight, r.sampleCount())
}

func (r *runner) sampleCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.samples)
}
