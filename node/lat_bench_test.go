package node

import (
	"encoding/hex"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/bftledger/bftledger/api"
	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/ledger"
)

// BenchmarkLatency measures one transfer at a time, from POST /v1/txs on
// node 0 to its receipt on node 0, over an in-process network, and reports
// the median and the 99th percentile. batch_timeout_ticks is 0 for PBFT.
//
//	go test -run=^$ -bench=Latency -benchtime=200x ./node
func BenchmarkLatency(b *testing.B) {
	for _, c := range []struct {
		mode string
		n    int
	}{{engine.ModePBFT, 4}, {engine.ModeRaft, 3}} {
		b.Run(fmt.Sprintf("%s-%d", c.mode, c.n), func(b *testing.B) {
			tn := newTestNetParams(b, c.n, c.mode, 1, func(_ int, cfg *Config) {
				cfg.Consensus.BatchTimeoutTicks = 0
			}, ledger.DefaultParams())
			rs := startNodes(b, tn.homes)
			url := "http://" + rs[0].n.APIAddr() + "/v1/txs"
			send := func(nonce uint64) time.Duration {
				tx := ledger.NewTransfer(tn.users[0], testChainID, tn.users[0].Address(), 1, nonce).Encode()
				t0 := time.Now()
				for {
					code := httpJSON(b, "POST", url, api.SubmitRequest{Tx: hex.EncodeToString(tx)}, nil)
					if code == 202 {
						break
					}
					time.Sleep(10 * time.Millisecond) // no leader yet (Raft): back off and retry
				}
				waitReceipt(b, rs[0], ledger.TxHash(tx), time.Minute)
				return time.Since(t0)
			}
			send(0) // warm up: connections, leader election
			lat := make([]time.Duration, b.N)
			b.ResetTimer()
			for i := range b.N {
				lat[i] = send(uint64(i + 1))
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
