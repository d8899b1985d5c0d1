package p2p

import (
	"runtime"
	"testing"
	"time"
)

// BenchmarkThroughput200B measures frames per second from one host to
// another over loopback, 200-byte frames, the sender retrying when its queue
// is full (as the consensus layer would, later) and the receiver draining
// Inbound as fast as it can.
func BenchmarkThroughput200B(b *testing.B) {
	nodes := newNodes(b, 2, func(c *Config) { c.Logger = nil })
	from, to := nodes[0].h, nodes[1].h
	data := make([]byte, 200)
	if !from.Send(1, data) { // wait for the stream before timing
		b.Fatal("Send failed")
	}
	recv(b, to)

	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range b.N {
			<-to.Inbound()
		}
	}()
	for range b.N {
		for !from.Send(1, data) {
			runtime.Gosched()
		}
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		b.Fatal("frames not delivered")
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}
