package api

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"

	"github.com/bftledger/bftledger/engine"
)

// Errors of membership changes a Backend returns; compare with errors.Is.
var (
	// ErrNotRaft: the network does not run Raft, whose membership alone
	// can change; 400 not_raft.
	ErrNotRaft = errors.New("api: membership changes need raft mode")
	// ErrBadMembership: the change is malformed or impossible now (an
	// index already a voter, or not one, or a change still in progress);
	// 400 bad_membership.
	ErrBadMembership = errors.New("api: bad membership change")
)

// Codes of membership answers.
const (
	CodeNotRaft       = "not_raft"
	CodeBadMembership = "bad_membership"
	CodeForbidden     = "forbidden"
)

// MembershipRequest is the body of POST /v1/admin/validators: genesis
// validator indexes to make voters, and to remove from the voters.
type MembershipRequest struct {
	Add    []int `json:"add"`
	Remove []int `json:"remove"`
}

// MembershipResult answers POST /v1/admin/validators once the change is
// applied on the node that took it: the voters, ascending.
type MembershipResult struct {
	Voters []int `json:"voters"`
}

// handleMembership answers POST /v1/admin/validators. Only clients on
// the node's own host may change the voters: the API has no other
// authentication, and a remote caller able to remove voters could stop
// the network.
func (s *Server) handleMembership(w http.ResponseWriter, r *http.Request) {
	if !fromLoopback(r) {
		writeError(w, &apiError{http.StatusForbidden, CodeForbidden,
			"membership changes are accepted only from the node's own host (loopback)"})
		return
	}
	var req MembershipRequest
	if e := s.decodeBody(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	if st := s.cfg.Backend.Status(); st.Mode != engine.ModeRaft {
		writeError(w, classify(fmt.Errorf("%w: this network runs %s", ErrNotRaft, st.Mode)))
		return
	}
	if e := s.checkMembership(&req); e != nil {
		writeError(w, e)
		return
	}
	voters, err := s.cfg.Backend.ChangeMembership(r.Context(), req.Add, req.Remove)
	if err != nil {
		writeError(w, classify(err))
		return
	}
	s.log.Warn("admin: voters changed", "add", req.Add, "remove", req.Remove, "voters", voters)
	writeJSON(w, http.StatusOK, MembershipResult{Voters: voters})
}

// checkMembership checks a request's indexes: at least one, at most
// MembershipChangeMax, each a genesis validator named once.
func (s *Server) checkMembership(req *MembershipRequest) *apiError {
	n := len(req.Add) + len(req.Remove)
	if n == 0 {
		return &apiError{http.StatusBadRequest, CodeBadMembership, `nothing to change: give "add" or "remove" indexes`}
	}
	if n > MembershipChangeMax {
		return &apiError{http.StatusBadRequest, CodeBadMembership,
			fmt.Sprintf("%d indexes in one change, at most %d", n, MembershipChangeMax)}
	}
	all := append(slices.Clone(req.Add), req.Remove...)
	for i, v := range all {
		if v < 0 || (s.cfg.Validators > 0 && v >= s.cfg.Validators) {
			return &apiError{http.StatusBadRequest, CodeBadMembership,
				fmt.Sprintf("validator %d is not in genesis (indexes 0..%d)", v, s.cfg.Validators-1)}
		}
		if slices.Contains(all[:i], v) {
			return &apiError{http.StatusBadRequest, CodeBadMembership,
				fmt.Sprintf("validator %d named twice", v)}
		}
	}
	return nil
}

// fromLoopback reports whether r came from a loopback address.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
