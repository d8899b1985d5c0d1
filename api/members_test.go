package api

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/bftledger/bftledger/crypto"
)

// ChangeMembership applies the change to the fake's voters at once.
func (f *fakeBackend) ChangeMembership(_ context.Context, add, remove []int) ([]int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.memberErr != nil {
		return nil, f.memberErr
	}
	for _, v := range add {
		if slices.Contains(f.voters, v) {
			return nil, fmt.Errorf("%w: validator %d is already a voter", ErrBadMembership, v)
		}
		f.voters = append(f.voters, v)
	}
	for _, v := range remove {
		f.voters = slices.DeleteFunc(f.voters, func(x int) bool { return x == v })
	}
	slices.Sort(f.voters)
	return slices.Clone(f.voters), nil
}

// membersFixture is a fixture over a raft-mode fake with three genesis
// validators, all voters.
func membersFixture(t *testing.T) (*fixture, http.Handler) {
	f := newFixture(t, false)
	f.be.mode, f.be.voters = "raft", []int{0, 1, 2}
	s, err := New(Config{ChainID: testChain, Validator: 0, Signer: f.signer, Backend: f.be,
		MaxBodyBytes: 4096, Validators: 3})
	if err != nil {
		t.Fatal(err)
	}
	f.handler = s.Handler()
	return f, f.handler
}

// postMembers sends a membership change from remote (host:port).
func postMembers(h http.Handler, remote, body string) *http.Response {
	req := httptest.NewRequest(http.MethodPost, "/v1/admin/validators", strings.NewReader(body))
	req.RemoteAddr = remote
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func decodeAnswer[T any](t *testing.T, res *http.Response) T {
	t.Helper()
	var v T
	if err := decodeStrict(res.Body, &v); err != nil {
		t.Fatalf("decode answer: %v", err)
	}
	return v
}

func TestMembershipChange(t *testing.T) {
	f, h := membersFixture(t)
	for _, remote := range []string{"127.0.0.1:4000", "[::1]:4000"} {
		res := postMembers(h, remote, `{"remove":[2]}`)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("remove from %s: status %d %+v", remote, res.StatusCode, decodeAnswer[Error](t, res))
		}
		if got := decodeAnswer[MembershipResult](t, res); !slices.Equal(got.Voters, []int{0, 1}) {
			t.Fatalf("voters after remove: %v", got.Voters)
		}
		res = postMembers(h, remote, `{"add":[2]}`)
		if got := decodeAnswer[MembershipResult](t, res); res.StatusCode != http.StatusOK || !slices.Equal(got.Voters, []int{0, 1, 2}) {
			t.Fatalf("add: status %d voters %v", res.StatusCode, got.Voters)
		}
	}
	var st Status
	f.do("GET", "/v1/status", "", &st)
	if !slices.Equal(st.Voters, []int{0, 1, 2}) {
		t.Fatalf("status voters %v", st.Voters)
	}
}

func TestMembershipErrors(t *testing.T) {
	_, h := membersFixture(t)
	local := "127.0.0.1:4000"
	tests := []struct {
		name, remote, body string
		status             int
		code               string
	}{
		{"remote client", "192.0.2.1:4000", `{"remove":[2]}`, 403, CodeForbidden},
		{"unparsable remote", "somewhere", `{"remove":[2]}`, 403, CodeForbidden},
		{"not JSON", local, `remove 2`, 400, CodeBadRequest},
		{"unknown field", local, `{"delete":[2]}`, 400, CodeBadRequest},
		{"trailing data", local, `{"remove":[2]} {}`, 400, CodeBadRequest},
		{"not an index", local, `{"remove":["2"]}`, 400, CodeBadRequest},
		{"oversized body", local, `{"add":[` + strings.Repeat("1,", 3000) + `1]}`, 400, CodeTooLarge},
		{"empty change", local, `{}`, 400, CodeBadMembership},
		{"empty lists", local, `{"add":[],"remove":[]}`, 400, CodeBadMembership},
		{"unknown index", local, `{"add":[3]}`, 400, CodeBadMembership},
		{"negative index", local, `{"remove":[-1]}`, 400, CodeBadMembership},
		{"repeated index", local, `{"add":[1],"remove":[1]}`, 400, CodeBadMembership},
		{"too many", local, `{"add":[` + strings.Repeat("0,", MembershipChangeMax) + `0]}`, 400, CodeBadMembership},
		{"already a voter (backend)", local, `{"add":[1]}`, 400, CodeBadMembership},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := postMembers(h, tt.remote, tt.body)
			e := decodeAnswer[Error](t, res)
			if res.StatusCode != tt.status || e.Code != tt.code || e.Message == "" {
				t.Fatalf("got %d %+v, want %d %q", res.StatusCode, e, tt.status, tt.code)
			}
		})
	}
}

func TestMembershipBackendErrors(t *testing.T) {
	f, h := membersFixture(t)
	for _, tt := range []struct {
		err    error
		status int
		code   string
	}{
		{ErrBusy, 503, CodeBusy},
		{fmt.Errorf("%w: not applied in time", ErrUnavailable), 503, CodeUnavailable},
		{errors.New("disk on fire"), 500, CodeInternal},
	} {
		f.be.memberErr = tt.err
		res := postMembers(h, "127.0.0.1:1", `{"remove":[1]}`)
		if e := decodeAnswer[Error](t, res); res.StatusCode != tt.status || e.Code != tt.code {
			t.Fatalf("%v: got %d %+v", tt.err, res.StatusCode, e)
		}
	}
}

func TestMembershipNeedsRaft(t *testing.T) {
	f := newFixture(t, true) // pbft mode, admin on: still refused
	res := postMembers(f.handler, "127.0.0.1:4000", `{"remove":[1]}`)
	if e := decodeAnswer[Error](t, res); res.StatusCode != 400 || e.Code != CodeNotRaft {
		t.Fatalf("pbft: got %d %+v", res.StatusCode, e)
	}
	var st Status
	f.do("GET", "/v1/status", "", &st)
	if st.Voters != nil {
		t.Fatalf("pbft status has voters %v", st.Voters)
	}
	if res := postMembers(f.handler, "127.0.0.1:4000", ``); res.StatusCode != 400 {
		t.Fatalf("empty body: %d", res.StatusCode)
	}
}

func TestNewRefusesNegativeValidators(t *testing.T) {
	f := newFixture(t, false)
	if _, err := New(Config{ChainID: testChain, Signer: f.signer, Backend: f.be, Validators: -1}); !errors.Is(err, ErrConfig) {
		t.Fatalf("got %v", err)
	}
}

// recordingBackend records the membership changes that reach it.
type recordingBackend struct {
	*fakeBackend
	add, remove []int
	calls       int
}

func (b *recordingBackend) ChangeMembership(_ context.Context, add, remove []int) ([]int, error) {
	b.calls++
	b.add, b.remove = add, remove
	return []int{0}, nil
}

// FuzzMembership: whatever the body, the answer is 200 or a 400, and only
// a change of distinct genesis indexes reaches the backend.
func FuzzMembership(f *testing.F) {
	f.Add([]byte(`{"add":[1]}`))
	f.Add([]byte(`{"add":[0],"remove":[1,2]}`))
	f.Add([]byte(`{"remove":[2,2]}`))
	f.Add([]byte(`{"add":[-1]}`))
	f.Add([]byte(`{"add":[1e3]}`))
	f.Add([]byte(`{"add":null,"remove":[0]} x`))
	signer, err := crypto.GenerateEd25519(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	be := &recordingBackend{fakeBackend: newFakeBackend()}
	be.mode = "raft"
	s, err := New(Config{ChainID: testChain, Signer: signer, Backend: be, MaxBodyBytes: 4096, Validators: 3})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		be.calls = 0
		res := postMembers(s.Handler(), "127.0.0.1:1", string(body))
		switch res.StatusCode {
		case http.StatusOK:
			if be.calls != 1 {
				t.Fatalf("200 without reaching the backend")
			}
			all := append(slices.Clone(be.add), be.remove...)
			if len(all) == 0 || len(all) > MembershipChangeMax {
				t.Fatalf("%d indexes reached the backend", len(all))
			}
			for i, v := range all {
				if v < 0 || v >= 3 || slices.Contains(all[:i], v) {
					t.Fatalf("index %d reached the backend in %v", v, all)
				}
			}
		case http.StatusBadRequest:
			if be.calls != 0 {
				t.Fatalf("400 after reaching the backend")
			}
			if e := decodeAnswer[Error](t, res); e.Code == "" || e.Message == "" {
				t.Fatalf("400 answer %+v", e)
			}
		default:
			t.Fatalf("status %d for %q", res.StatusCode, body)
		}
	})
}
