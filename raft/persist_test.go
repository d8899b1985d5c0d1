package raft

import (
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	"google.golang.org/protobuf/proto"

	pb "go.etcd.io/raft/v3/raftpb"
)

// syncDB counts synced and unsynced batch writes.
type syncDB struct {
	dbm.DB
	synced, unsynced int
}

func (d *syncDB) NewBatch() dbm.Batch { return &syncBatch{Batch: d.DB.NewBatch(), db: d} }

type syncBatch struct {
	dbm.Batch
	db *syncDB
}

func (b *syncBatch) Write() error     { b.db.unsynced++; return b.Batch.Write() }
func (b *syncBatch) WriteSync() error { b.db.synced++; return b.Batch.WriteSync() }

// TestPersistBeforeSend checks etcd raft's contract on every Ready of a
// busy cluster: once Persist returns, the database holds (synced) every
// entry the Ready's messages refer to and the HardState they were sent
// under, so a crash right after sending cannot make a node forget a vote or
// an entry it acknowledged.
func TestPersistBeforeSend(t *testing.T) {
	c := newCluster(t, 3, 14)
	dbs := make([]*syncDB, 3)
	for i, nd := range c.nodes {
		dbs[i] = &syncDB{DB: dbm.NewMemDB()}
		nd.cfg.DB, nd.db = dbs[i], dbs[i]
		c.start(i)
	}
	checked := 0
	check := func(i int) {
		nd := c.nodes[i]
		for nd.e.HasReady() {
			rd := nd.e.Ready()
			w := rd.Persist.(*persistWork)
			before := dbs[i].synced
			if err := nd.e.Persist(rd); err != nil {
				t.Fatal(err)
			}
			if (len(w.entries) > 0 || w.sync) && dbs[i].synced != before+1 {
				t.Fatalf("node %d: entries or vote persisted without sync", i)
			}
			hs := new(pb.HardState)
			if b, _ := dbs[i].Get(keyHardState); b != nil {
				if err := proto.Unmarshal(b, hs); err != nil {
					t.Fatal(err)
				}
			}
			for _, out := range rd.Messages {
				m := new(pb.Message)
				if err := proto.Unmarshal(out.Data, m); err != nil {
					t.Fatal(err)
				}
				if m.GetType() == pb.MsgProp || m.GetType() == pb.MsgReadIndex {
					continue
				}
				// Pre-votes carry the term a candidate would take, not ours.
				if m.GetTerm() > hs.GetTerm() && m.GetType() != pb.MsgPreVote && m.GetType() != pb.MsgPreVoteResp {
					t.Fatalf("node %d sends %v at term %d, stored term %d", i, m.GetType(), m.GetTerm(), hs.GetTerm())
				}
				if m.GetType() == pb.MsgVoteResp && !m.GetReject() && (hs.GetVote() != m.GetTo() || hs.GetTerm() != m.GetTerm()) {
					t.Fatalf("node %d grants a vote to %d in term %d, stored vote %d in term %d",
						i, m.GetTo(), m.GetTerm(), hs.GetVote(), hs.GetTerm())
				}
				for _, ent := range m.GetEntries() {
					if b, _ := dbs[i].Get(entryKey(ent.GetIndex())); b == nil {
						t.Fatalf("node %d sends entry %d before storing it", i, ent.GetIndex())
					}
				}
				if m.GetType() == pb.MsgAppResp && !m.GetReject() {
					if b, _ := dbs[i].Get(entryKey(m.GetIndex())); b == nil && m.GetIndex() > 0 {
						t.Fatalf("node %d acknowledges entry %d before storing it", i, m.GetIndex())
					}
				}
				c.inflight = append(c.inflight, packet{from: i, to: out.To, data: out.Data})
				checked++
			}
			for _, b := range rd.Committed {
				if err := nd.ledger.apply(b); err != nil {
					t.Fatal(err)
				}
				ah := nd.ledger.appHash()
				nd.e.Applied(b.Height, ah[:])
			}
			nd.e.Advance(rd)
		}
	}
	for tick := 0; tick < 300; tick++ {
		for i, nd := range c.nodes {
			nd.e.Tick()
			if tick%3 == 0 && nd.e.Status().Leader >= 0 {
				_ = nd.e.Propose(testTx(tick*3 + i))
			}
			check(i)
		}
		c.deliver()
		for i := range c.nodes {
			check(i)
		}
	}
	if checked < 500 || c.nodes[0].ledger.height == 0 {
		t.Fatalf("only %d messages checked, height %d", checked, c.nodes[0].ledger.height)
	}
}
