package node

import (
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/bftledger/bftledger/api"
	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/ledger"
)

// BenchmarkNetwork drives b.N pre-signed transfers through an in-process
// network over real libp2p on 127.0.0.1, in batches of 500 spread over the
// nodes, and reports committed tx/s (all nodes and the load share the
// machine's cores). Run with e.g.
//
//	go test -run=^$ -bench=Network -benchtime=20000x ./node
//
// BFTLEDGER_BENCH_ONE=1 submits everything through node 0 (the PBFT
// primary: no relayed requests); BFTLEDGER_BENCH_TRACE=1 prints how long
// each batch took to be admitted.
func BenchmarkNetwork(b *testing.B) {
	for _, c := range []struct {
		mode string
		n    int
	}{{engine.ModePBFT, 4}, {engine.ModeRaft, 3}} {
		b.Run(fmt.Sprintf("%s-%d", c.mode, c.n), func(b *testing.B) { benchNetwork(b, c.mode, c.n) })
	}
}

func benchNetwork(b *testing.B, mode string, n int) {
	const users, batch = 1000, 500
	tn := newTestNetParams(b, n, mode, users, nil, ledger.DefaultParams())
	// Pre-sign: user u's k-th transfer, nonce k, all through the same node.
	txs := make([][]string, n) // per node, in submission order
	var last []byte
	for i := range b.N {
		u, k := i%users, uint64(i/users)
		tx := ledger.NewTransfer(tn.users[u], testChainID, tn.users[(u+1)%users].Address(), 1, k).Encode()
		txs[benchTarget(u, n)] = append(txs[benchTarget(u, n)], hex.EncodeToString(tx))
		last = tx
	}
	rs := startNodes(b, tn.homes)
	start0 := rs[0].n.Height()
	b.ResetTimer()
	start := time.Now()
	done := make(chan error, n)
	for i := range n {
		go func() {
			url := "http://" + rs[i].n.APIAddr() + "/v1/txs/batch"
			queue := txs[i]
			for len(queue) > 0 {
				k := min(batch, len(queue))
				var out api.BatchResponse
				t0 := time.Now()
				if code := httpJSON(b, "POST", url, api.BatchRequest{Txs: queue[:k]}, &out); code != 200 {
					done <- fmt.Errorf("batch: status %d", code)
					return
				}
				if os.Getenv("BFTLEDGER_BENCH_TRACE") != "" {
					fmt.Printf("node %d: batch of %d in %s\n", i, k, time.Since(t0))
				}
				var busy []string
				for j, r := range out.Results {
					if r.Code == api.CodeBusy {
						busy = append(busy, queue[j])
					}
				}
				queue = append(busy, queue[k:]...)
				if len(busy) > 0 {
					time.Sleep(5 * time.Millisecond) // back off, as Retry-After asks
				}
			}
			done <- nil
		}()
	}
	for range n {
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	waitReceipt(b, rs[0], ledger.TxHash(last), 5*time.Minute)
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "tx/s")
	b.ReportMetric(float64(rs[0].n.Height()-start0), "blocks")
}

// benchTarget picks the node user u submits through: all to node 0 with
// BFTLEDGER_BENCH_ONE set, else spread.
func benchTarget(u, n int) int {
	if os.Getenv("BFTLEDGER_BENCH_ONE") != "" {
		return 0
	}
	return u % n
}
