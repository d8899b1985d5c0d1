package raft

import (
	"bytes"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "go.etcd.io/raft/v3/raftpb"
)

func TestBatchRoundTrip(t *testing.T) {
	txs := [][]byte{[]byte("a"), []byte("bc"), bytes.Repeat([]byte{7}, 300)}
	data := encodeBatch(2, txs)
	b, err := decodeBatch(data, 3)
	if err != nil {
		t.Fatal(err)
	}
	if b.proposer != 2 || len(b.txs) != 3 || !bytes.Equal(b.txs[2], txs[2]) {
		t.Fatalf("decoded %+v", b)
	}
	for name, bad := range map[string][]byte{
		"empty":        nil,
		"version":      append([]byte{9}, data[1:]...),
		"trailing":     append(append([]byte(nil), data...), 0),
		"truncated":    data[:len(data)-1],
		"proposer":     encodeBatch(3, txs),
		"empty tx":     encodeBatch(0, [][]byte{{}}),
		"huge count":   {batchVersion, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff},
		"count too hi": {batchVersion, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 'x'},
	} {
		if _, err := decodeBatch(bad, 3); !errors.Is(err, ErrBadEntry) {
			t.Errorf("%s: %v, want ErrBadEntry", name, err)
		}
	}
	if b, err := decodeBatch(encodeBatch(0, nil), 1); err != nil || len(b.txs) != 0 {
		t.Fatalf("empty batch: %v %+v", err, b)
	}
}

func TestProofRoundTrip(t *testing.T) {
	p := EncodeProof(7, 42)
	if len(p) != proofBytes {
		t.Fatalf("proof is %d bytes", len(p))
	}
	term, index, err := DecodeProof(p)
	if err != nil || term != 7 || index != 42 {
		t.Fatalf("DecodeProof = %d, %d, %v", term, index, err)
	}
	for name, bad := range map[string][]byte{
		"empty":     nil,
		"short":     p[:5],
		"trailing":  append(append([]byte(nil), p...), 1),
		"version":   append([]byte{2}, p[1:]...),
		"zero term": EncodeProof(0, 1),
	} {
		if _, _, err := DecodeProof(bad); !errors.Is(err, ErrBadProof) {
			t.Errorf("%s: %v, want ErrBadProof", name, err)
		}
	}
}

func TestSnapshotPayloadRoundTrip(t *testing.T) {
	in := snapshotPayload{height: 9, appHash: []byte("hash"), state: []byte("state")}
	out, err := decodeSnapshot(encodeSnapshot(in))
	if err != nil || out.height != 9 || string(out.appHash) != "hash" || string(out.state) != "state" {
		t.Fatalf("decoded %+v, %v", out, err)
	}
	enc := encodeSnapshot(in)
	if _, err := decodeSnapshot(enc[:len(enc)-1]); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("truncated: %v", err)
	}
	long := encodeSnapshot(snapshotPayload{appHash: make([]byte, snapshotAppHashBytesMax+1)})
	if _, err := decodeSnapshot(long); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("long app hash: %v", err)
	}
}

func msgFrame(t *testing.T, m *pb.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeMessage(t *testing.T) {
	batchData := encodeBatch(0, [][]byte{[]byte("tx")})
	snap := &pb.Snapshot{
		Data: encodeSnapshot(snapshotPayload{height: 3, appHash: []byte("h"), state: []byte("s")}),
		Metadata: &pb.SnapshotMetadata{Index: new(uint64(10)), Term: new(uint64(2)),
			ConfState: &pb.ConfState{Voters: []uint64{1, 2, 3}}},
	}
	app := func(mut func(*pb.Message)) *pb.Message {
		m := &pb.Message{Type: pb.MsgApp.Enum(), From: new(uint64(2)), To: new(uint64(1)),
			Term: new(uint64(3)), LogTerm: new(uint64(2)), Index: new(uint64(5)), Commit: new(uint64(5)),
			Entries: []*pb.Entry{
				{Index: new(uint64(6)), Term: new(uint64(2)), Data: batchData},
				{Index: new(uint64(7)), Term: new(uint64(3))},
			}}
		if mut != nil {
			mut(m)
		}
		return m
	}
	good := map[string]*pb.Message{
		"append":    app(nil),
		"heartbeat": {Type: pb.MsgHeartbeat.Enum(), From: new(uint64(2)), To: new(uint64(1)), Term: new(uint64(3))},
		"proposal": {Type: pb.MsgProp.Enum(), From: new(uint64(2)), To: new(uint64(1)),
			Entries: []*pb.Entry{{Data: batchData}}},
		"snapshot": {Type: pb.MsgSnap.Enum(), From: new(uint64(2)), To: new(uint64(1)), Term: new(uint64(3)), Snapshot: snap},
		"read index": {Type: pb.MsgReadIndex.Enum(), From: new(uint64(2)), To: new(uint64(1)),
			Entries: []*pb.Entry{{Data: []byte("ctx")}}},
		"pre-vote": {Type: pb.MsgPreVote.Enum(), From: new(uint64(2)), To: new(uint64(1)), Term: new(uint64(4)),
			LogTerm: new(uint64(3)), Index: new(uint64(9))},
	}
	ccData := func(typ pb.ConfChangeType, id uint64) []byte {
		b, err := proto.Marshal(&pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{{Type: typ.Enum(), NodeId: new(id)}}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good["conf change proposal"] = &pb.Message{Type: pb.MsgProp.Enum(), From: new(uint64(2)), To: new(uint64(1)),
		Entries: []*pb.Entry{{Type: pb.EntryConfChangeV2.Enum(), Data: ccData(pb.ConfChangeRemoveNode, 3)}}}
	for name, m := range good {
		if _, err := decodeMessage(1, 0, 3, msgFrame(t, m)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	bad := map[string]*pb.Message{
		"other sender":   app(func(m *pb.Message) { m.From = new(uint64(3)) }),
		"not to us":      app(func(m *pb.Message) { m.To = new(uint64(2)) }),
		"local type":     {Type: pb.MsgHup.Enum(), From: new(uint64(2)), To: new(uint64(1))},
		"storage type":   {Type: pb.MsgStorageAppend.Enum(), From: new(uint64(2)), To: new(uint64(1)), Term: new(uint64(1))},
		"zero term":      app(func(m *pb.Message) { m.Term = nil }),
		"gap in entries": app(func(m *pb.Message) { m.Entries[1].Index = new(uint64(8)) }),
		"term too high":  app(func(m *pb.Message) { m.Entries[1].Term = new(uint64(4)) }),
		"term goes down": app(func(m *pb.Message) { m.Entries[0].Term = new(uint64(3)); m.Entries[1].Term = new(uint64(2)) }),
		"bad batch":      app(func(m *pb.Message) { m.Entries[0].Data = []byte{1, 2, 3} }),
		"bad conf change": app(func(m *pb.Message) {
			m.Entries[0].Type = pb.EntryConfChangeV2.Enum()
			m.Entries[0].Data = []byte{0xff, 0xff}
		}),
		"responses": app(func(m *pb.Message) { m.Responses = []*pb.Message{{}} }),
		"heartbeat with entries": {Type: pb.MsgHeartbeat.Enum(), From: new(uint64(2)), To: new(uint64(1)), Term: new(uint64(3)),
			Entries: []*pb.Entry{{}}},
		"proposal with index": {Type: pb.MsgProp.Enum(), From: new(uint64(2)), To: new(uint64(1)),
			Entries: []*pb.Entry{{Index: new(uint64(4)), Data: batchData}}},
		"empty proposal": {Type: pb.MsgProp.Enum(), From: new(uint64(2)), To: new(uint64(1))},
		"snapshot bad payload": {Type: pb.MsgSnap.Enum(), From: new(uint64(2)), To: new(uint64(1)), Term: new(uint64(3)),
			Snapshot: &pb.Snapshot{Data: []byte{1}, Metadata: snap.Metadata}},
		"snapshot stranger": {Type: pb.MsgSnap.Enum(), From: new(uint64(2)), To: new(uint64(1)), Term: new(uint64(3)),
			Snapshot: &pb.Snapshot{Data: snap.Data, Metadata: &pb.SnapshotMetadata{Index: new(uint64(10)), Term: new(uint64(2)),
				ConfState: &pb.ConfState{Voters: []uint64{1, 9}}}}},
		"snapshot missing": {Type: pb.MsgSnap.Enum(), From: new(uint64(2)), To: new(uint64(1)), Term: new(uint64(3))},
		"long context": {Type: pb.MsgHeartbeat.Enum(), From: new(uint64(2)), To: new(uint64(1)), Term: new(uint64(3)),
			Context: make([]byte, readCtxBytesMax+1)},
	}
	bad["conf change of a stranger"] = &pb.Message{Type: pb.MsgProp.Enum(), From: new(uint64(2)), To: new(uint64(1)),
		Entries: []*pb.Entry{{Type: pb.EntryConfChangeV2.Enum(), Data: ccData(pb.ConfChangeAddNode, 4)}}}
	bad["learner proposal"] = &pb.Message{Type: pb.MsgProp.Enum(), From: new(uint64(2)), To: new(uint64(1)),
		Entries: []*pb.Entry{{Type: pb.EntryConfChangeV2.Enum(), Data: ccData(pb.ConfChangeAddLearnerNode, 2)}}}
	bad["old conf change proposal"] = &pb.Message{Type: pb.MsgProp.Enum(), From: new(uint64(2)), To: new(uint64(1)),
		Entries: []*pb.Entry{{Type: pb.EntryConfChange.Enum()}}}
	for name, m := range bad {
		if _, err := decodeMessage(1, 0, 3, msgFrame(t, m)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for name, tc := range map[string]struct {
		from  int
		frame []byte
	}{
		"garbage":        {1, []byte{0xff, 0xff, 0xff}},
		"from self":      {0, msgFrame(t, app(nil))},
		"from stranger":  {5, msgFrame(t, app(nil))},
		"too large":      {1, make([]byte, MsgBytesMax+1)},
		"negative index": {-1, msgFrame(t, app(nil))},
	} {
		if _, err := decodeMessage(tc.from, 0, 3, tc.frame); !errors.Is(err, ErrBadMessage) {
			t.Errorf("%s: %v, want ErrBadMessage", name, err)
		}
	}
}

func TestStepRefusesUndecoded(t *testing.T) {
	c := newCluster(t, 3, 1)
	if err := c.nodes[0].e.Step(&pb.Message{Type: pb.MsgHeartbeat.Enum()}); !errors.Is(err, ErrNotDecoded) {
		t.Fatalf("Step of a raw message: %v", err)
	}
}

// FuzzDecode feeds arbitrary frames to Decode: it must never panic, and
// what it accepts must re-encode and decode to an equal message.
func FuzzDecode(f *testing.F) {
	batchData := encodeBatch(0, [][]byte{[]byte("tx")})
	seeds := []*pb.Message{
		{Type: pb.MsgApp.Enum(), From: new(uint64(2)), To: new(uint64(1)), Term: new(uint64(1)), Index: new(uint64(0)),
			Entries: []*pb.Entry{{Index: new(uint64(1)), Term: new(uint64(1)), Data: batchData}}},
		{Type: pb.MsgHeartbeat.Enum(), From: new(uint64(2)), To: new(uint64(1)), Term: new(uint64(1))},
		{Type: pb.MsgProp.Enum(), From: new(uint64(2)), To: new(uint64(1)), Entries: []*pb.Entry{{Data: batchData}}},
		{Type: pb.MsgPreVote.Enum(), From: new(uint64(2)), To: new(uint64(1)), Term: new(uint64(2))},
		{Type: pb.MsgSnap.Enum(), From: new(uint64(2)), To: new(uint64(1)), Term: new(uint64(2)),
			Snapshot: &pb.Snapshot{Data: encodeSnapshot(snapshotPayload{height: 1, appHash: []byte("h")}),
				Metadata: &pb.SnapshotMetadata{Index: new(uint64(5)), Term: new(uint64(1)),
					ConfState: &pb.ConfState{Voters: []uint64{1, 2, 3}}}}},
	}
	for _, m := range seeds {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	e := newCluster(f, 3, 1).nodes[0].e
	f.Fuzz(func(t *testing.T, frame []byte) {
		msg, err := e.Decode(1, frame)
		if err != nil {
			return
		}
		m := msg.(inbound).m
		again, err := proto.Marshal(m)
		if err != nil {
			t.Fatalf("accepted message does not encode: %v", err)
		}
		msg2, err := e.Decode(1, again)
		if err != nil {
			t.Fatalf("re-encoded message refused: %v", err)
		}
		if !proto.Equal(m, msg2.(inbound).m) {
			t.Fatalf("re-encoded message differs")
		}
	})
}
