package pbft_test

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/bftledger/bftledger/internal/cputime"
	"github.com/bftledger/bftledger/pbft/pbfttest"
)

// BenchmarkCore measures the PBFT core alone: n = 4 replicas in one
// goroutine, real Ed25519 signing and verification of every message at
// every receiver (Encode → Decode → Verify → Step), zero network delay,
// no ledger (a hash-chain state machine). Each iteration orders one batch
// of the given size; the figure of merit is committed tx/s. The node runs
// verification in a worker pool, so on several cores the consensus loop
// itself is faster than this single-threaded total.
//
//	go test ./pbft -run '^$' -bench BenchmarkCore -benchtime 3s
func BenchmarkCore(b *testing.B) {
	for _, batch := range []int{1, 64, 512} {
		b.Run(fmt.Sprintf("n=4/batch=%d", batch), func(b *testing.B) {
			nw, err := pbfttest.New(4, pbfttest.Options{
				CheckpointInterval: 128, WindowSize: 256, MaxBatchTxs: batch,
				MaxBatchBytes: 8 << 20, VerifyEach: true, SkipCertCheck: true,
			})
			if err != nil {
				b.Fatal(err)
			}
			tx := make([]byte, 200) // about a signed transfer
			next := uint64(0)
			b.ResetTimer()
			cpu0 := cputime.Process()
			for range b.N {
				for range batch {
					next++
					binary.BigEndian.PutUint64(tx, next)
					if err := nw.Propose(0, append([]byte(nil), tx...)); err != nil {
						b.Fatal(err)
					}
				}
				nw.Stabilize(1 << 30)
			}
			b.StopTimer()
			cpu := cputime.Process() - cpu0
			if got := nw.Nodes[3].TxCount; got != int(next) {
				b.Fatalf("committed %d txs, proposed %d", got, next)
			}
			b.ReportMetric(float64(next)/b.Elapsed().Seconds(), "tx/s")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/batch")
			// On a shared machine wall time depends on the neighbours; CPU
			// time spent by this process does not.
			b.ReportMetric(float64(next)/cpu.Seconds(), "tx/cpu-s")
		})
	}
}
