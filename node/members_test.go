package node

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bftledger/bftledger/api"
	"github.com/bftledger/bftledger/engine"
)

// changeVoters posts a membership change to r, retrying while the node
// answers 503 (no leader yet), and returns the status and answer.
func changeVoters(t *testing.T, r *running, req api.MembershipRequest) (int, api.MembershipResult, api.Error) {
	t.Helper()
	url := "http://" + r.n.APIAddr() + "/v1/admin/validators"
	for deadline := time.Now().Add(20 * time.Second); ; {
		var raw map[string]any
		code := httpJSON(t, "POST", url, req, &raw)
		if code == 503 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond) // client backoff, as Retry-After asks
			continue
		}
		var res api.MembershipResult
		var e api.Error
		if v, ok := raw["voters"].([]any); ok {
			for _, x := range v {
				res.Voters = append(res.Voters, int(x.(float64)))
			}
		}
		e.Code, _ = raw["code"].(string)
		e.Message, _ = raw["error"].(string)
		return code, res, e
	}
}

// TestNetworkRaftMembership refuses to remove the leader, removes a
// follower from a three-node Raft network through the other follower's
// API, checks that the two voters left commit, refuses changes that cannot
// be made, and adds the follower back.
func TestNetworkRaftMembership(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three nodes")
	}
	tn := newTestNet(t, 3, engine.ModeRaft, 4, nil)
	rs := startNodes(t, tn.homes)
	sendRound(t, tn, rs, 0)

	// Leadership is settled once a round committed; the leader cannot be
	// removed (it would stay in office refusing proposals).
	var st api.Status
	httpJSON(t, "GET", "http://"+rs[0].n.APIAddr()+"/v1/status", nil, &st)
	lead := st.Leader
	if lead < 0 {
		t.Fatalf("no leader after a committed round: %+v", st)
	}
	if code, _, e := changeVoters(t, rs[lead], api.MembershipRequest{Remove: []int{lead}}); code != 400 || e.Code != api.CodeBadMembership {
		t.Fatalf("remove the leader: %d %+v", code, e)
	}

	// Remove a follower through the other follower.
	gone := (lead + 1) % 3
	via, keep := rs[(lead+2)%3], []*running{rs[lead], rs[(lead+2)%3]}
	code, res, e := changeVoters(t, via, api.MembershipRequest{Remove: []int{gone}})
	want := slices.Sorted(slices.Values([]int{lead, (lead + 2) % 3}))
	if code != 200 || !slices.Equal(res.Voters, want) {
		t.Fatalf("remove %d: %d %v %+v", gone, code, res.Voters, e)
	}
	// The loop publishes status on its next tick.
	for deadline := time.Now().Add(5 * time.Second); ; {
		httpJSON(t, "GET", "http://"+via.n.APIAddr()+"/v1/status", nil, &st)
		if slices.Equal(st.Voters, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status voters %v, want %v", st.Voters, want)
		}
		time.Sleep(10 * time.Millisecond) // polling the published status
	}
	sendRound(t, tn, keep, 1)

	for _, bad := range []api.MembershipRequest{
		{Remove: []int{gone}},    // not a voter any more
		{Add: []int{lead}},       // already a voter
		{Add: []int{3}},          // not in genesis
		{Remove: want},           // would leave no voter (and names the leader)
		{Add: []int{gone, gone}}, // named twice
	} {
		if code, _, e := changeVoters(t, via, bad); code != 400 || e.Code != api.CodeBadMembership {
			t.Fatalf("%+v: %d %+v", bad, code, e)
		}
	}

	code, res, e = changeVoters(t, via, api.MembershipRequest{Add: []int{gone}})
	if code != 200 || !slices.Equal(res.Voters, []int{0, 1, 2}) {
		t.Fatalf("add %d: %d %v %+v", gone, code, res.Voters, e)
	}
	sendRound(t, tn, rs, 2)
	checkAgreement(t, rs)

	// Two voters at once go through a joint configuration: the leader
	// alone, then all three again. A change while raft still leaves the
	// joint configuration is refused; the test waits that out.
	followers := []int{(lead + 1) % 3, (lead + 2) % 3}
	for _, step := range []struct {
		req  api.MembershipRequest
		want []int
	}{
		{api.MembershipRequest{Remove: followers}, []int{lead}},
		{api.MembershipRequest{Add: followers}, []int{0, 1, 2}},
	} {
		for deadline := time.Now().Add(10 * time.Second); ; {
			code, res, e := changeVoters(t, rs[lead], step.req)
			if code == 200 && slices.Equal(res.Voters, step.want) {
				break
			}
			if code != 400 || !strings.Contains(e.Message, "in progress") || time.Now().After(deadline) {
				t.Fatalf("%+v: %d %v %+v", step.req, code, res.Voters, e)
			}
			time.Sleep(10 * time.Millisecond) // raft leaves the joint configuration on its own
		}
	}
	sendRound(t, tn, rs, 3)
	checkAgreement(t, rs)
}
