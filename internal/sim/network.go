package sim

import (
	"container/heap"
	"math/rand/v2"
)

// Faults are the network's per-message fault rates. Percentages are 0..100.
type Faults struct {
	LossPercent   int // a message is dropped
	DupPercent    int // a message is delivered twice (with independent delays)
	MinDelayTicks int // every message waits at least this many ticks
	MaxDelayTicks int // and at most this many; distinct delays reorder messages
}

// packet is one frame in flight.
type packet struct {
	from, to int
	data     []byte
	at       uint64 // tick at which it is delivered
	seq      uint64 // send order, the tie-breaker that keeps delivery deterministic
}

// packetHeap orders packets by (at, seq).
type packetHeap []packet

func (h packetHeap) Len() int { return len(h) }
func (h packetHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h packetHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *packetHeap) Push(x any)   { *h = append(*h, x.(packet)) }
func (h *packetHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = packet{}
	*h = old[:len(old)-1]
	return p
}

// NetStats counts what the network did to messages.
type NetStats struct {
	Sent       int // frames handed to the network (per recipient)
	Delivered  int // frames handed to a live recipient
	Lost       int // dropped by LossPercent
	Duplicated int // extra copies made by DupPercent
	Blocked    int // dropped by a partition (at send or at delivery)
	ToDown     int // dropped because the recipient was crashed
	Overflow   int // dropped because maxInFlight frames were already queued
}

// network is the virtual network: a priority queue of frames in flight and
// a matrix of blocked links. It never touches the wall clock; now is the
// simulator's tick.
type network struct {
	n       int
	rng     *rand.Rand
	faults  Faults
	blocked [][]bool // blocked[from][to]: frames on this link are dropped
	queue   packetHeap
	seq     uint64
	now     uint64
	stats   NetStats
}

func newNetwork(n int, rng *rand.Rand, f Faults) *network {
	nw := &network{n: n, rng: rng, faults: f, blocked: make([][]bool, n)}
	for i := range nw.blocked {
		nw.blocked[i] = make([]bool, n)
	}
	return nw
}

// send queues data from one replica to another, applying loss, duplication,
// delay and partitions. Frames to oneself are not sent.
func (nw *network) send(from, to int, data []byte) {
	if from == to || to < 0 || to >= nw.n {
		return
	}
	nw.stats.Sent++
	if nw.blocked[from][to] {
		nw.stats.Blocked++
		return
	}
	if nw.percent(nw.faults.LossPercent) {
		nw.stats.Lost++
		return
	}
	nw.enqueue(from, to, data)
	if nw.percent(nw.faults.DupPercent) {
		nw.stats.Duplicated++
		nw.enqueue(from, to, data)
	}
}

func (nw *network) enqueue(from, to int, data []byte) {
	if len(nw.queue) >= maxInFlight {
		nw.stats.Overflow++
		return
	}
	delay := nw.faults.MinDelayTicks
	if span := nw.faults.MaxDelayTicks - nw.faults.MinDelayTicks; span > 0 {
		delay += nw.rng.IntN(span + 1)
	}
	nw.seq++
	heap.Push(&nw.queue, packet{from: from, to: to, data: data, at: nw.now + uint64(delay), seq: nw.seq})
}

// due pops the next frame whose delivery tick has come, if any. A frame
// on a link blocked since it was sent is dropped here.
func (nw *network) due() (packet, bool) {
	for len(nw.queue) > 0 && nw.queue[0].at <= nw.now {
		p := heap.Pop(&nw.queue).(packet)
		if nw.blocked[p.from][p.to] {
			nw.stats.Blocked++
			continue
		}
		return p, true
	}
	return packet{}, false
}

func (nw *network) percent(p int) bool {
	return p > 0 && nw.rng.IntN(100) < p
}

// heal removes every partition.
func (nw *network) heal() {
	for i := range nw.blocked {
		clear(nw.blocked[i])
	}
}

// partitionSets blocks every link between side a and the rest, both ways.
func (nw *network) partition(side []bool) {
	for i := 0; i < nw.n; i++ {
		for j := 0; j < nw.n; j++ {
			nw.blocked[i][j] = side[i] != side[j]
		}
	}
}

// oneWay blocks links from every replica in src to every replica in dst,
// leaving the reverse direction open.
func (nw *network) oneWay(src, dst []bool) {
	for i := 0; i < nw.n; i++ {
		for j := 0; j < nw.n; j++ {
			if src[i] && dst[j] && i != j {
				nw.blocked[i][j] = true
			}
		}
	}
}

// partitioned reports whether any link is blocked.
func (nw *network) partitioned() bool {
	for i := range nw.blocked {
		for _, b := range nw.blocked[i] {
			if b {
				return true
			}
		}
	}
	return false
}
