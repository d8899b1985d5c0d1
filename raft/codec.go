package raft

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/bftledger/bftledger/internal/wire"
)

// Versions of the encodings in this file. Each encoding starts with its
// version byte, so a future format can be told apart.
const (
	batchVersion    = 1
	proofVersion    = 1
	snapshotVersion = 1
)

// batch is the data of a normal raft entry: txs in order and the leader this
// node believed in when it cut the batch (the proposer of the block).
type batch struct {
	proposer uint32
	txs      [][]byte
}

// encodeBatch returns the canonical entry data for b:
// version u8 | proposer u32 | count u32 | count x (len u32 | tx).
func encodeBatch(proposer uint32, txs [][]byte) []byte {
	n := batchHeaderBytes
	for _, tx := range txs {
		n += batchTxOverheadBytes + len(tx)
	}
	e := wire.NewEncoder(n)
	e.Uint8(batchVersion)
	e.Uint32(proposer)
	e.Count(len(txs))
	for _, tx := range txs {
		e.VarBytes(tx)
	}
	return e.Bytes()
}

// decodeBatch parses entry data strictly. The txs alias data. n bounds the
// proposer index.
func decodeBatch(data []byte, n int) (batch, error) {
	if len(data) > entryBytesMax {
		return batch{}, fmt.Errorf("%d bytes > %d: %w", len(data), entryBytesMax, ErrBadEntry)
	}
	d := wire.NewDecoder(data)
	if v := d.Uint8(); d.Err() == nil && v != batchVersion {
		return batch{}, fmt.Errorf("version %d: %w", v, ErrBadEntry)
	}
	b := batch{proposer: d.Uint32()}
	count := d.Count(BatchTxsMax, batchTxOverheadBytes+1)
	if count > 0 {
		b.txs = make([][]byte, count)
	}
	for i := range b.txs {
		b.txs[i] = d.VarBytes(BatchBytesMax)
		if d.Err() == nil && len(b.txs[i]) == 0 {
			return batch{}, fmt.Errorf("tx %d is empty: %w", i, ErrBadEntry)
		}
	}
	if err := d.Finish(); err != nil {
		return batch{}, fmt.Errorf("%w: %w", ErrBadEntry, err)
	}
	if int(b.proposer) >= n {
		return batch{}, fmt.Errorf("proposer %d of %d validators: %w", b.proposer, n, ErrBadEntry)
	}
	return b, nil
}

// EncodeProof returns the commit proof of a Raft block: the term and index
// of the raft entry that carried it.
func EncodeProof(term, index uint64) []byte {
	e := wire.NewEncoder(proofBytes)
	e.Uint8(proofVersion)
	e.Uint64(term)
	e.Uint64(index)
	return e.Bytes()
}

// DecodeProof parses a commit proof made by EncodeProof. It returns
// ErrBadProof if b is not exactly one.
func DecodeProof(b []byte) (term, index uint64, err error) {
	d := wire.NewDecoder(b)
	if v := d.Uint8(); d.Err() == nil && v != proofVersion {
		return 0, 0, fmt.Errorf("version %d: %w", v, ErrBadProof)
	}
	term, index = d.Uint64(), d.Uint64()
	if err := d.Finish(); err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrBadProof, err)
	}
	if term == 0 || index == 0 {
		return 0, 0, fmt.Errorf("term %d index %d: %w", term, index, ErrBadProof)
	}
	return term, index, nil
}

// snapshotPayload is the Data of a raft snapshot: the ledger state at a
// height, with the app hash the ledger checks it against on Restore.
// Height 0 with no state is the bootstrap snapshot (genesis).
type snapshotPayload struct {
	height  uint64
	appHash []byte
	state   []byte
}

// encodeSnapshot: version u8 | height u64 | appHash bytes | state bytes.
func encodeSnapshot(p snapshotPayload) []byte {
	e := wire.NewEncoder(1 + 8 + 8 + len(p.appHash) + len(p.state))
	e.Uint8(snapshotVersion)
	e.Uint64(p.height)
	e.VarBytes(p.appHash)
	e.VarBytes(p.state)
	return e.Bytes()
}

// decodeSnapshot parses a snapshot payload strictly; the result aliases b.
func decodeSnapshot(b []byte) (snapshotPayload, error) {
	if len(b) > snapshotBytesMax {
		return snapshotPayload{}, fmt.Errorf("%d bytes > %d: %w", len(b), snapshotBytesMax, ErrBadSnapshot)
	}
	d := wire.NewDecoder(b)
	if v := d.Uint8(); d.Err() == nil && v != snapshotVersion {
		return snapshotPayload{}, fmt.Errorf("version %d: %w", v, ErrBadSnapshot)
	}
	p := snapshotPayload{height: d.Uint64()}
	p.appHash = d.VarBytes(snapshotAppHashBytesMax)
	p.state = d.VarBytes(snapshotBytesMax)
	if err := d.Finish(); err != nil {
		return snapshotPayload{}, fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	return p, nil
}

// inbound is a message Decode accepted; Step takes nothing else.
type inbound struct {
	m *pb.Message
}

// remoteTypes are the message types a peer may send us. Local-only types
// (MsgHup, MsgBeat, storage messages, ...) are refused.
var remoteTypes = map[pb.MessageType]bool{
	pb.MsgProp: true, pb.MsgApp: true, pb.MsgAppResp: true,
	pb.MsgVote: true, pb.MsgVoteResp: true, pb.MsgPreVote: true, pb.MsgPreVoteResp: true,
	pb.MsgSnap: true, pb.MsgHeartbeat: true, pb.MsgHeartbeatResp: true,
	pb.MsgTransferLeader: true, pb.MsgTimeoutNow: true,
	pb.MsgReadIndex: true, pb.MsgReadIndexResp: true,
}

// decodeMessage parses and checks a frame from validator from (0-based) to
// us (self, 0-based) in a network of n validators. It checks what etcd raft
// takes on trust: the sender and recipient, the message type, the shape of
// entries and the snapshot payload, so that nothing a peer sends can make
// raft or the ledger panic on malformed data.
func decodeMessage(from, self, n int, frame []byte) (*pb.Message, error) {
	if len(frame) > MsgBytesMax {
		return nil, fmt.Errorf("%d bytes > %d: %w", len(frame), MsgBytesMax, ErrBadMessage)
	}
	if from < 0 || from >= n || from == self {
		return nil, fmt.Errorf("from validator %d: %w", from, ErrBadMessage)
	}
	m := new(pb.Message)
	if err := proto.Unmarshal(frame, m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	if err := checkMessage(m, from, self, n); err != nil {
		return nil, err
	}
	return m, nil
}

func checkMessage(m *pb.Message, from, self, n int) error {
	t := m.GetType()
	switch {
	case !remoteTypes[t]:
		return fmt.Errorf("type %v: %w", t, ErrBadMessage)
	case m.GetFrom() != uint64(from)+1:
		return fmt.Errorf("%v claims from %d, transport says %d: %w", t, m.GetFrom(), from+1, ErrBadMessage)
	case m.GetTo() != uint64(self)+1:
		return fmt.Errorf("%v to %d, we are %d: %w", t, m.GetTo(), self+1, ErrBadMessage)
	case len(m.GetResponses()) != 0:
		return fmt.Errorf("%v with responses: %w", t, ErrBadMessage)
	case len(m.GetContext()) > readCtxBytesMax:
		return fmt.Errorf("%v context %d bytes: %w", t, len(m.GetContext()), ErrBadMessage)
	case (t == pb.MsgProp || t == pb.MsgReadIndex) != (m.GetTerm() == 0):
		// etcd raft forwards proposals and read requests with term 0 and
		// stamps every other message with the sender's term.
		return fmt.Errorf("%v with term %d: %w", t, m.GetTerm(), ErrBadMessage)
	case t != pb.MsgSnap && m.GetSnapshot() != nil && !isEmptySnapshot(m.GetSnapshot()):
		return fmt.Errorf("%v carries a snapshot: %w", t, ErrBadMessage)
	case m.GetVote() > uint64(n):
		return fmt.Errorf("%v vote %d: %w", t, m.GetVote(), ErrBadMessage)
	}
	switch t {
	case pb.MsgProp:
		return checkProposal(m.GetEntries(), n)
	case pb.MsgApp:
		return checkAppend(m, n)
	case pb.MsgSnap:
		return checkSnapshot(m.GetSnapshot(), n)
	case pb.MsgReadIndex:
		if len(m.GetEntries()) != 1 || len(m.GetEntries()[0].GetData()) > readCtxBytesMax {
			return fmt.Errorf("read index with %d entries: %w", len(m.GetEntries()), ErrBadMessage)
		}
		return nil
	case pb.MsgReadIndexResp:
		if len(m.GetEntries()) != 1 || len(m.GetEntries()[0].GetData()) > readCtxBytesMax {
			return fmt.Errorf("read index response with %d entries: %w", len(m.GetEntries()), ErrBadMessage)
		}
		return nil
	}
	if len(m.GetEntries()) != 0 {
		return fmt.Errorf("%v with %d entries: %w", t, len(m.GetEntries()), ErrBadMessage)
	}
	return nil
}

func isEmptySnapshot(s *pb.Snapshot) bool {
	return len(s.GetData()) == 0 && s.GetMetadata().GetIndex() == 0
}

// checkProposal: forwarded proposals are normal entries carrying batches,
// not yet placed in the log.
func checkProposal(ents []*pb.Entry, n int) error {
	if len(ents) == 0 {
		return fmt.Errorf("proposal without entries: %w", ErrBadMessage)
	}
	for i, ent := range ents {
		if ent.GetIndex() != 0 || ent.GetTerm() != 0 {
			return fmt.Errorf("proposal entry %d: index %d term %d: %w",
				i, ent.GetIndex(), ent.GetTerm(), ErrBadMessage)
		}
		switch ent.GetType() {
		case pb.EntryNormal:
			if _, err := decodeBatch(ent.GetData(), n); err != nil {
				return fmt.Errorf("proposal entry %d: %w", i, err)
			}
		case pb.EntryConfChangeV2:
			if err := checkConfChangeData(ent.GetData(), n); err != nil {
				return fmt.Errorf("proposal entry %d: %w", i, err)
			}
		default:
			return fmt.Errorf("proposal entry %d: type %v: %w", i, ent.GetType(), ErrBadMessage)
		}
	}
	return nil
}

// checkConfChangeData checks that a proposed conf change parses and only
// adds or removes validators.
func checkConfChangeData(data []byte, n int) error {
	cc := new(pb.ConfChangeV2)
	if err := proto.Unmarshal(data, cc); err != nil {
		return fmt.Errorf("conf change: %w: %w", ErrBadEntry, err)
	}
	if len(cc.GetChanges()) == 0 || len(cc.GetChanges()) > n {
		return fmt.Errorf("conf change of %d members: %w", len(cc.GetChanges()), ErrBadEntry)
	}
	for _, ch := range cc.GetChanges() {
		t, id := ch.GetType(), ch.GetNodeId()
		if (t != pb.ConfChangeAddNode && t != pb.ConfChangeRemoveNode) || id == 0 || id > uint64(n) {
			return fmt.Errorf("conf change %v of %d: %w", t, id, ErrBadEntry)
		}
	}
	return nil
}

// checkAppend: appended entries follow m.Index one by one, with terms that
// never decrease, start at or after m.LogTerm and do not exceed m.Term.
func checkAppend(m *pb.Message, n int) error {
	prevTerm := m.GetLogTerm()
	if prevTerm > m.GetTerm() {
		return fmt.Errorf("append log term %d > term %d: %w", prevTerm, m.GetTerm(), ErrBadMessage)
	}
	for i, ent := range m.GetEntries() {
		if ent.GetIndex() != m.GetIndex()+uint64(i)+1 {
			return fmt.Errorf("append entry %d has index %d after %d: %w", i, ent.GetIndex(), m.GetIndex(), ErrBadMessage)
		}
		if ent.GetTerm() < prevTerm || ent.GetTerm() > m.GetTerm() {
			return fmt.Errorf("append entry %d has term %d: %w", ent.GetIndex(), ent.GetTerm(), ErrBadMessage)
		}
		prevTerm = ent.GetTerm()
		if err := checkEntry(ent, n); err != nil {
			return err
		}
	}
	return nil
}

// checkEntry checks that a log entry can be applied: an empty or batch
// normal entry, or a conf change that parses.
func checkEntry(ent *pb.Entry, n int) error {
	switch ent.GetType() {
	case pb.EntryNormal:
		if len(ent.GetData()) == 0 {
			return nil
		}
		if _, err := decodeBatch(ent.GetData(), n); err != nil {
			return fmt.Errorf("entry %d: %w", ent.GetIndex(), err)
		}
	case pb.EntryConfChange:
		if err := proto.Unmarshal(ent.GetData(), new(pb.ConfChange)); err != nil {
			return fmt.Errorf("entry %d conf change: %w: %w", ent.GetIndex(), ErrBadEntry, err)
		}
	case pb.EntryConfChangeV2:
		if err := proto.Unmarshal(ent.GetData(), new(pb.ConfChangeV2)); err != nil {
			return fmt.Errorf("entry %d conf change: %w: %w", ent.GetIndex(), ErrBadEntry, err)
		}
	default:
		return fmt.Errorf("entry %d type %v: %w", ent.GetIndex(), ent.GetType(), ErrBadEntry)
	}
	return nil
}

// checkSnapshot: a MsgSnap carries a non-empty snapshot whose payload
// parses and whose voters are validators.
func checkSnapshot(s *pb.Snapshot, n int) error {
	md := s.GetMetadata()
	if md.GetIndex() == 0 || md.GetTerm() == 0 {
		return fmt.Errorf("snapshot index %d term %d: %w", md.GetIndex(), md.GetTerm(), ErrBadMessage)
	}
	cs := md.GetConfState()
	if len(cs.GetVoters()) == 0 {
		return fmt.Errorf("snapshot without voters: %w", ErrBadMessage)
	}
	for _, ids := range [][]uint64{cs.GetVoters(), cs.GetLearners(), cs.GetVotersOutgoing(), cs.GetLearnersNext()} {
		for _, id := range ids {
			if id == 0 || id > uint64(n) {
				return fmt.Errorf("snapshot member %d: %w", id, ErrBadMessage)
			}
		}
	}
	if _, err := decodeSnapshot(s.GetData()); err != nil {
		return err
	}
	return nil
}
