package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bftledger/bftledger/api"
	"github.com/bftledger/bftledger/client"
	"github.com/bftledger/bftledger/engine"
)

// membershipAnswerMax bounds the answer read from a node.
const membershipAnswerMax = 64 << 10

func newValidatorsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "validators",
		Short: "Change a Raft network's voting members",
		Long: `Add or remove voters of a Raft network (joint consensus when more than one
changes). Only genesis validators can be members. The change is sent to the
leader, which accepts it only from its own host (loopback), and the command
prints the voters once the leader has applied it.

A leader cannot be removed: restart it so that another takes over, then retry.

Exit status: 0 applied; 1 usage or other error; 2 refused (not a Raft
network, an index not in genesis, already a voter or not one, the leader,
a change still in progress); 4 not applied in time (it may still apply).`,
	}
	cmd.AddCommand(newValidatorsChangeCmd("add"), newValidatorsChangeCmd("remove"))
	return cmd
}

// membershipOutput is what validators add|remove print with --json.
type membershipOutput struct {
	Change string `json:"change"` // add or remove
	Nodes  []int  `json:"nodes"`
	Leader int    `json:"leader"` // the validator the change went to
	URL    string `json:"url"`
	Voters []int  `json:"voters"`
}

func newValidatorsChangeCmd(change string) *cobra.Command {
	var (
		nf      netFlags
		nodes   []int
		timeout time.Duration
		asJSON  bool
	)
	verb := map[string]string{"add": "Make validators voters again", "remove": "Stop validators from voting"}[change]
	cmd := &cobra.Command{
		Use:   change + " --node I[,J...]",
		Short: verb + " (Raft networks)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(nodes) == 0 {
				return fmt.Errorf("which validator? give --node INDEX")
			}
			c, err := nf.client(false)
			if err != nil {
				return err
			}
			if c.Mode() != "" && c.Mode() != engine.ModeRaft {
				return withExit(exitRejected, fmt.Errorf("this network runs %s: only Raft networks change members", c.Mode()))
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			req := api.MembershipRequest{}
			if change == "add" {
				req.Add = nodes
			} else {
				req.Remove = nodes
			}
			out := membershipOutput{Change: change, Nodes: nodes, Leader: -1}
			voters, err := sendMembership(ctx, c, req, &out)
			if err != nil {
				return err
			}
			out.Voters = voters
			if asJSON {
				return printJSON(cmd.OutOrStdout(), out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s via leader %d (%s)\nvoters %s\n",
				change, joinInts(nodes), out.Leader, out.URL, joinInts(voters))
			return nil
		},
	}
	nf.register(cmd)
	cmd.Flags().IntSliceVar(&nodes, "node", nil, "validator index (genesis order); repeat or comma-separate for a joint change")
	cmd.Flags().DurationVar(&timeout, "timeout", 20*time.Second, "give up after this long")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// sendMembership finds the leader, sends it the change, and retries while
// no leader is known or the node is busy (nothing was proposed then). It
// records where the change went in out.
func sendMembership(ctx context.Context, c *client.Client, req api.MembershipRequest, out *membershipOutput) ([]int, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var last error
	for attempt := 0; ; attempt++ {
		url, leader, err := findLeader(ctx, c)
		if err == nil {
			out.Leader, out.URL = leader, url
			var voters []int
			voters, err = postMembership(ctx, url, body)
			if err == nil {
				return voters, nil
			}
			var ae *membershipError
			switch {
			case errors.As(err, &ae) && ae.Answer.Code == api.CodeUnavailable:
				// Proposed but not applied in time: it may still apply.
				return nil, withExit(exitTimeout, fmt.Errorf("%w; the leader's GET /v1/status lists the voters", err))
			case !errors.As(err, &ae) || ae.Answer.Code != api.CodeBusy:
				return nil, err
			}
		} else if ee := (*exitError)(nil); errors.As(err, &ee) {
			return nil, err // not a Raft network
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, withExit(exitTimeout, fmt.Errorf("no membership change in time: %w", last))
		case <-time.After(time.Duration(min(attempt+1, 10)) * 100 * time.Millisecond): // retry backoff
		}
	}
}

// findLeader returns the API URL and validator index of the Raft leader the
// most nodes name, provided that node is reachable and agrees it leads.
func findLeader(ctx context.Context, c *client.Client) (string, int, error) {
	st := c.StatusAll(ctx)
	votes := map[int]int{}
	urls := map[int]string{}
	var seen []string
	for _, s := range st {
		if s.Err != nil {
			seen = append(seen, fmt.Sprintf("%s: %v", s.URL, s.Err))
			continue
		}
		if s.Status.Mode != engine.ModeRaft {
			return "", -1, withExit(exitRejected, fmt.Errorf("%s runs %s: only Raft networks change members", s.URL, s.Status.Mode))
		}
		urls[s.Status.Validator] = s.URL
		if s.Status.Role == "leader" {
			votes[s.Status.Validator]++
		}
		if s.Status.Leader >= 0 {
			votes[s.Status.Leader]++
		}
		seen = append(seen, fmt.Sprintf("%s: %s, leader %d", s.Status.Name, s.Status.Role, s.Status.Leader))
	}
	best, n := -1, 0
	for _, v := range slices.Sorted(maps.Keys(votes)) {
		if votes[v] > n && urls[v] != "" {
			best, n = v, votes[v]
		}
	}
	if best < 0 {
		return "", -1, fmt.Errorf("no reachable leader (%s)", strings.Join(seen, "; "))
	}
	return urls[best], best, nil
}

// membershipError is a node's error answer to a membership change.
type membershipError struct {
	Status int
	Answer api.Error
}

func (e *membershipError) Error() string {
	return fmt.Sprintf("%s (%d %s)", e.Answer.Message, e.Status, e.Answer.Code)
}

// postMembership sends one membership change to url and returns the
// voters the node answers with. A 4xx answer is exitRejected.
func postMembership(ctx context.Context, url string, body []byte) ([]int, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(url, "/")+"/v1/admin/validators", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, membershipAnswerMax))
	if err != nil {
		return nil, fmt.Errorf("%s: read answer: %w", url, err)
	}
	if res.StatusCode != http.StatusOK {
		e := &membershipError{Status: res.StatusCode}
		if json.Unmarshal(raw, &e.Answer) != nil || e.Answer.Code == "" {
			e.Answer = api.Error{Message: strings.TrimSpace(string(raw)), Code: "unknown"}
		}
		if res.StatusCode >= 400 && res.StatusCode < 500 {
			return nil, withExit(exitRejected, fmt.Errorf("%s refused the change: %w", url, e))
		}
		return nil, e
	}
	var ans api.MembershipResult
	if err := json.Unmarshal(raw, &ans); err != nil {
		return nil, fmt.Errorf("%s: bad answer: %w", url, err)
	}
	return ans.Voters, nil
}
