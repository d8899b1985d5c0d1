package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bftledger/bftledger/api"
	"github.com/bftledger/bftledger/raft"
)

// memberRequest is one membership change waiting for the loop: done
// receives the voters once the change is applied here, or the error that
// prevented it.
type memberRequest struct {
	add, remove []int
	done        chan memberResult // buffered: the loop never blocks on it
	target      []int             // the voters once applied; set by the loop
	started     time.Time         // when the loop proposed it
}

// memberResult answers a memberRequest.
type memberResult struct {
	voters []int
	err    error
}

// membership is implemented by engines whose voters can change (Raft).
type membership interface {
	ChangeMembership(add, remove []int) error
	Voters() []int
}

// changeMembership hands a membership change to the loop and waits until
// it is applied, membershipWait passes, ctx ends or the node stops.
func (n *Node) changeMembership(ctx context.Context, add, remove []int) ([]int, error) {
	if _, ok := n.eng.(membership); !ok {
		return nil, fmt.Errorf("%w: this network runs %s", api.ErrNotRaft, n.mode)
	}
	ctx, cancel := context.WithTimeout(ctx, membershipWait)
	defer cancel()
	r := &memberRequest{add: slices.Clone(add), remove: slices.Clone(remove), done: make(chan memberResult, 1)}
	select {
	case <-n.done:
		return nil, fmt.Errorf("%w: %w", api.ErrUnavailable, ErrStopped)
	default:
	}
	select {
	case n.members <- r:
	default:
		return nil, fmt.Errorf("%w: membership changes queued", api.ErrBusy)
	}
	select {
	case res := <-r.done:
		return res.voters, res.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: membership change not applied in time (it may still be): %w", api.ErrUnavailable, ctx.Err())
	case <-n.done:
		return nil, fmt.Errorf("%w: %w", api.ErrUnavailable, ErrStopped)
	}
}

// startMembership proposes r's change, or answers it at once if the change
// cannot be made. One change at a time: raft refuses a second one until
// the first is applied. Loop only.
func (n *Node) startMembership(r *memberRequest) {
	m, ok := n.eng.(membership)
	if !ok {
		r.done <- memberResult{err: fmt.Errorf("%w: this network runs %s", api.ErrNotRaft, n.mode)}
		return
	}
	if n.pendingMember != nil {
		r.done <- memberResult{err: fmt.Errorf("%w: another membership change is waiting to apply", api.ErrBusy)}
		return
	}
	nv := len(n.home.Genesis.Validators)
	voters := m.Voters()
	target := slices.Clone(voters)
	for _, v := range r.add {
		if v < 0 || v >= nv {
			r.done <- memberResult{err: fmt.Errorf("%w: validator %d is not in genesis", api.ErrBadMembership, v)}
			return
		}
		if slices.Contains(voters, v) {
			r.done <- memberResult{err: fmt.Errorf("%w: validator %d is already a voter (voters %v)", api.ErrBadMembership, v, voters)}
			return
		}
		target = append(target, v)
	}
	leader := n.eng.Status().Leader
	for _, v := range r.remove {
		if v == leader {
			// etcd raft keeps a removed leader in office, dropping every
			// proposal, unless told to step down on removal (which the
			// engine does not ask for): the network would stall.
			r.done <- memberResult{err: fmt.Errorf("%w: validator %d is the leader, and a removed raft leader stays in office refusing proposals; "+
				"restart validator %d so that another takes over, then retry", api.ErrBadMembership, v, v)}
			return
		}
		if !slices.Contains(voters, v) {
			r.done <- memberResult{err: fmt.Errorf("%w: validator %d is not a voter (voters %v)", api.ErrBadMembership, v, voters)}
			return
		}
		target = slices.DeleteFunc(target, func(x int) bool { return x == v })
	}
	slices.Sort(target)
	if err := m.ChangeMembership(r.add, r.remove); err != nil {
		if errors.Is(err, raft.ErrMembership) {
			err = fmt.Errorf("%w: %w", api.ErrBadMembership, err)
		}
		r.done <- memberResult{err: err}
		return
	}
	r.target, r.started = target, time.Now()
	n.pendingMember = r
	n.log.Info("membership change proposed", "add", r.add, "remove", r.remove, "target", target)
}

// checkMembership answers the pending change once this node has applied
// it, and gives up on it after membershipWait (a change lost to a leader
// change never applies). Loop only.
func (n *Node) checkMembership(now time.Time) {
	r := n.pendingMember
	if r == nil {
		return
	}
	voters := n.eng.(membership).Voters()
	switch {
	case slices.Equal(voters, r.target):
		r.done <- memberResult{voters: voters}
		n.pendingMember = nil
		n.log.Info("membership change applied", "voters", voters)
	case now.Sub(r.started) > membershipWait:
		r.done <- memberResult{err: fmt.Errorf("%w: membership change not applied in %v (voters %v)", api.ErrUnavailable, membershipWait, voters)}
		n.pendingMember = nil
	}
}

// failMembership answers the membership changes still waiting when the
// loop exits.
func (n *Node) failMembership() {
	stopped := memberResult{err: fmt.Errorf("%w: %w", api.ErrUnavailable, ErrStopped)}
	if n.pendingMember != nil {
		n.pendingMember.done <- stopped
		n.pendingMember = nil
	}
	for {
		select {
		case r := <-n.members:
			r.done <- stopped
		default:
			return
		}
	}
}

// voters returns the engine's voters in Raft mode, nil in PBFT mode.
// Loop (or New) only.
func (n *Node) voters() []int {
	if m, ok := n.eng.(membership); ok {
		return m.Voters()
	}
	return nil
}
