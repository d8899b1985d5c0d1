package sim

import (
	"math/rand/v2"
	"testing"
)

func drainNet(nw *network, until uint64) []packet {
	var out []packet
	for ; nw.now <= until; nw.now++ {
		for {
			p, ok := nw.due()
			if !ok {
				break
			}
			out = append(out, p)
		}
	}
	return out
}

func TestNetworkDelayBounds(t *testing.T) {
	nw := newNetwork(3, rand.New(rand.NewPCG(1, 0)), Faults{MinDelayTicks: 2, MaxDelayTicks: 5})
	for i := 0; i < 200; i++ {
		nw.send(0, 1, []byte{byte(i)})
	}
	got := drainNet(nw, 10)
	if len(got) != 200 {
		t.Fatalf("delivered %d of 200", len(got))
	}
	reordered := false
	for i, p := range got {
		if p.at < 2 || p.at > 5 {
			t.Fatalf("packet delivered at %d, outside [2,5]", p.at)
		}
		if i > 0 && p.data[0] < got[i-1].data[0] {
			reordered = true
		}
	}
	if !reordered {
		t.Fatal("random delays never reordered anything")
	}
}

func TestNetworkLossAndDuplication(t *testing.T) {
	nw := newNetwork(2, rand.New(rand.NewPCG(2, 0)), Faults{LossPercent: 30, DupPercent: 50})
	for i := 0; i < 1000; i++ {
		nw.send(0, 1, []byte{1})
	}
	got := len(drainNet(nw, 1))
	st := nw.stats
	if st.Lost < 200 || st.Lost > 400 || st.Duplicated < 250 || st.Duplicated > 450 {
		t.Fatalf("loss/dup rates off: %+v", st)
	}
	if got != 1000-st.Lost+st.Duplicated {
		t.Fatalf("delivered %d, want %d", got, 1000-st.Lost+st.Duplicated)
	}
}

func TestNetworkPartitions(t *testing.T) {
	nw := newNetwork(4, rand.New(rand.NewPCG(3, 0)), Faults{MaxDelayTicks: 2})
	nw.send(0, 2, []byte("in flight before the partition"))
	nw.partition([]bool{true, true, false, false})
	nw.send(0, 1, []byte("same side"))
	nw.send(0, 3, []byte("across"))
	nw.send(3, 0, []byte("across back"))
	got := drainNet(nw, 5)
	if len(got) != 1 || string(got[0].data) != "same side" {
		t.Fatalf("partition delivered %+v", got)
	}
	nw.heal()
	nw.oneWay([]bool{true, false, false, false}, []bool{false, true, true, true})
	nw.send(0, 1, []byte("blocked one way"))
	nw.send(1, 0, []byte("open the other"))
	got = drainNet(nw, 10)
	if len(got) != 1 || string(got[0].data) != "open the other" {
		t.Fatalf("one-way delivered %+v", got)
	}
	if !nw.partitioned() {
		t.Fatal("partitioned() = false with a one-way block")
	}
	nw.heal()
	if nw.partitioned() {
		t.Fatal("partitioned() after heal")
	}
	nw.send(0, 0, []byte("self"))
	nw.send(0, 9, []byte("nobody"))
	if len(drainNet(nw, 12)) != 0 {
		t.Fatal("frames to self or out of range delivered")
	}
}

func TestConfigValidate(t *testing.T) {
	good := toyConfig(1, false)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*Config){
		"n":         func(c *Config) { c.N = maxReplicas + 1 },
		"engine":    func(c *Config) { c.Engine = nil },
		"clients":   func(c *Config) { c.Clients = 0 },
		"loss":      func(c *Config) { c.Faults.LossPercent = 101 },
		"delay":     func(c *Config) { c.Faults.MinDelayTicks, c.Faults.MaxDelayTicks = 3, 2 },
		"byzantine": func(c *Config) { c.Byzantine = []int{1, 1} },
		"liveness":  func(c *Config) { c.LivenessTicks = 0 },
		"crash":     func(c *Config) { c.CrashPerMille = 1001 },
	} {
		c := toyConfig(1, false)
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: invalid config accepted", name)
		}
	}
}
