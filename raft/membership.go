package raft

import (
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	etcdraft "go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/bftledger/bftledger/engine"
)

// ErrMembership: a membership change is malformed, would leave no voter,
// or another one is still in progress.
var ErrMembership = errors.New("raft: bad membership change")

// ChangeMembership proposes a change of the voting members through raft's
// joint consensus (one ConfChangeV2): the validators in add (genesis
// indexes) become voters, those in remove stop being members. A change of
// more than one voter goes through a joint configuration that raft leaves
// on its own once it is committed. Any node may propose; a follower
// forwards the change to the leader.
//
// Only genesis validators can be members: the transport admits no one
// else. A removed validator keeps running but takes no part; adding it back
// brings it up to date (by snapshot if the log moved on).
//
// It returns ErrMembership for an empty or overlapping change, an index out
// of range, a change that leaves no voter, or while an earlier change is
// still in progress (the leader would drop this one); engine.ErrNotReady
// when no leader is known. A nil error means the change was proposed, not
// that it took effect: watch Voters.
func (e *Engine) ChangeMembership(add, remove []int) error {
	cc, err := e.confChange(add, remove)
	if err != nil {
		return err
	}
	if e.leader() == etcdraft.None {
		return fmt.Errorf("raft: membership change: %w", engine.ErrNotReady)
	}
	if err := e.rn.ProposeConfChange(cc); err != nil {
		return fmt.Errorf("raft: membership change: %w", err)
	}
	e.log.Info("membership change proposed", "add", add, "remove", remove)
	return nil
}

// confChange builds and checks the ConfChangeV2 for add and remove against
// the current configuration.
func (e *Engine) confChange(add, remove []int) (*pb.ConfChangeV2, error) {
	if len(add)+len(remove) == 0 {
		return nil, fmt.Errorf("nothing to change: %w", ErrMembership)
	}
	if len(e.cs.GetVotersOutgoing()) > 0 || e.pendingConfChange() {
		return nil, fmt.Errorf("a change is in progress: %w", ErrMembership)
	}
	cc := &pb.ConfChangeV2{Transition: pb.ConfChangeTransitionAuto.Enum()}
	seen := map[int]bool{}
	for k, ids := range [][]int{add, remove} {
		typ := pb.ConfChangeAddNode
		if k == 1 {
			typ = pb.ConfChangeRemoveNode
		}
		for _, id := range ids {
			if id < 0 || id >= e.cfg.N || seen[id] {
				return nil, fmt.Errorf("validator %d out of range or repeated: %w", id, ErrMembership)
			}
			seen[id] = true
			cc.Changes = append(cc.Changes, &pb.ConfChangeSingle{Type: typ.Enum(), NodeId: new(uint64(id) + 1)})
		}
	}
	if err := e.checkConfChange(cc); err != nil {
		return nil, err
	}
	return cc, nil
}

// checkConfChange refuses a change that would leave no voter, which etcd
// raft would only notice (with a panic) when applying it.
func (e *Engine) checkConfChange(cc *pb.ConfChangeV2) error {
	voters := slices.Clone(e.cs.GetVoters())
	for _, ch := range cc.GetChanges() {
		id := ch.GetNodeId()
		switch ch.GetType() {
		case pb.ConfChangeAddNode:
			if !slices.Contains(voters, id) {
				voters = append(voters, id)
			}
		case pb.ConfChangeRemoveNode:
			voters = slices.DeleteFunc(voters, func(v uint64) bool { return v == id })
		default:
			return fmt.Errorf("change type %v: %w", ch.GetType(), ErrMembership)
		}
	}
	if len(voters) == 0 {
		return fmt.Errorf("no voter would be left: %w", ErrMembership)
	}
	return nil
}

// pendingConfChange reports whether a conf change is in our log but not
// yet applied.
func (e *Engine) pendingConfChange() bool {
	return e.confIndex > e.appliedIndex
}

// checkProposedConfChanges refuses a forwarded proposal whose conf change
// would leave no voter.
func (e *Engine) checkProposedConfChanges(m *pb.Message) error {
	for _, ent := range m.GetEntries() {
		if ent.GetType() != pb.EntryConfChangeV2 {
			continue
		}
		cc := new(pb.ConfChangeV2)
		if err := proto.Unmarshal(ent.GetData(), cc); err != nil {
			return fmt.Errorf("%w: %w", ErrMembership, err)
		}
		if err := e.checkConfChange(cc); err != nil {
			return err
		}
	}
	return nil
}

// Voters returns the validator indexes of the current voters (the incoming
// set during a joint change), ascending.
func (e *Engine) Voters() []int {
	out := make([]int, 0, len(e.cs.GetVoters()))
	for _, id := range e.cs.GetVoters() {
		out = append(out, int(id)-1)
	}
	slices.Sort(out)
	return out
}
