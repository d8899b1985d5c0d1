package raft

import (
	"encoding/binary"
	"testing"

	"github.com/bftledger/bftledger/internal/cputime"
)

// BenchmarkCommit3 measures committed tx/s through three engines in one
// goroutine over the in-memory network (MemDB storage, the fake ledger): the
// cost of etcd raft, batching, encoding and Decode validation, without disk
// or network. The three engines share one goroutine, so tx/cpu-s is the
// throughput one core would sustain for all three; wall-clock tx/s depends
// on what else the machine runs.
//
//	go test -run XXX -bench Commit3 -benchtime 200000x ./raft/
func BenchmarkCommit3(b *testing.B) {
	for _, tc := range []struct {
		name     string
		batchTxs int
	}{{"batch=100", 100}, {"batch=1000", 1000}} {
		b.Run(tc.name, func(b *testing.B) {
			c := newCluster(b, 3, 1, func(cfg *Config) {
				cfg.MaxBatchTxs = tc.batchTxs
				cfg.MaxPendingTxs = 1 << 16
				cfg.SnapshotInterval = 1 << 20
			})
			lead := c.waitLeader()
			txs := make([][]byte, b.N)
			for i := range txs {
				tx := make([]byte, 200) // about a signed transfer
				binary.BigEndian.PutUint64(tx, uint64(i))
				txs[i] = tx
			}
			e, l := c.nodes[lead].e, c.nodes[(lead+1)%3].ledger
			start := l.count
			b.ResetTimer()
			cpu0 := cputime.Process()
			next := 0
			for l.count-start < uint64(b.N) {
				for next < len(txs) && e.Status().PendingTxs < 4*tc.batchTxs {
					if err := e.Propose(txs[next]); err != nil {
						b.Fatal(err)
					}
					next++
				}
				c.round()
			}
			b.StopTimer()
			cpu := cputime.Process() - cpu0
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/tx")
			b.ReportMetric(float64(b.N)/cpu.Seconds(), "tx/cpu-s")
		})
	}
}
