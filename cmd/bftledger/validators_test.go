package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bftledger/bftledger/api"
	"github.com/bftledger/bftledger/client"
)

// fakeRaftNodes serves three nodes' statuses (node 1 leads, in mode) and
// answers membership changes on node 1 with answers, one per call (the
// last repeats).
func fakeRaftNodes(t *testing.T, mode string, answers ...func(w http.ResponseWriter)) (*client.Client, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	var urls []string
	for i := range 3 {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, _ *http.Request) {
			role := "follower"
			if i == 1 {
				role = "leader"
			}
			json.NewEncoder(w).Encode(api.Status{Validator: i, Mode: mode, Role: role, Leader: 1})
		})
		mux.HandleFunc("POST /v1/admin/validators", func(w http.ResponseWriter, r *http.Request) {
			if i != 1 {
				t.Errorf("change sent to node %d, not the leader", i)
			}
			var req api.MembershipRequest
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil || !slices.Equal(req.Remove, []int{2}) {
				t.Errorf("request %+v %v", req, err)
			}
			n := int(calls.Add(1))
			answers[min(n, len(answers))-1](w)
		})
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	c, err := client.New(urls, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c, &calls
}

func answer(status int, v any) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
}

func TestSendMembershipRetriesBusyAtTheLeader(t *testing.T) {
	c, calls := fakeRaftNodes(t, "raft",
		answer(503, api.Error{Message: "no leader", Code: api.CodeBusy}),
		answer(200, api.MembershipResult{Voters: []int{0, 1}}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out membershipOutput
	voters, err := sendMembership(ctx, c, api.MembershipRequest{Remove: []int{2}}, &out)
	if err != nil || !slices.Equal(voters, []int{0, 1}) || out.Leader != 1 || calls.Load() != 2 {
		t.Fatalf("voters %v err %v leader %d calls %d", voters, err, out.Leader, calls.Load())
	}
}

func TestSendMembershipExitCodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := api.MembershipRequest{Remove: []int{2}}
	for _, tt := range []struct {
		name string
		c    *client.Client
		want int
	}{
		{"refused", first(fakeRaftNodes(t, "raft", answer(400, api.Error{Message: "not a voter", Code: api.CodeBadMembership}))), exitRejected},
		{"pbft", first(fakeRaftNodes(t, "pbft", answer(200, api.MembershipResult{}))), exitRejected},
		{"not applied", first(fakeRaftNodes(t, "raft", answer(503, api.Error{Message: "not in time", Code: api.CodeUnavailable}))), exitTimeout},
		{"broken", first(fakeRaftNodes(t, "raft", answer(500, api.Error{Message: "disk on fire", Code: api.CodeInternal}))), 1},
	} {
		_, err := sendMembership(ctx, tt.c, req, &membershipOutput{})
		code := 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		if err == nil || code != tt.want {
			t.Fatalf("%s: err %v, exit %d, want %d", tt.name, err, code, tt.want)
		}
	}
}

func first[A, B any](a A, _ B) A { return a }
