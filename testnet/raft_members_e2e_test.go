package testnet

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bftledger/bftledger/api"
	"github.com/bftledger/bftledger/engine"
)

// validatorsCLI runs `bftledger validators change --node i --testnet DIR
// --json` with the binary the nodes run, and returns the voters it prints.
func validatorsCLI(t *testing.T, tn *Testnet, change string, i int) []int {
	t.Helper()
	ctx := ctxFor(t, 30*time.Second)
	cmd := exec.CommandContext(ctx, nodeBinary(t), "validators", change, "--node", fmt.Sprint(i),
		"--testnet", tn.Dir, "--json", "--timeout", "20s")
	start := time.Now()
	out, err := cmd.Output()
	took := time.Since(start)
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("validators %s --node %d: %v\n%s%s", change, i, err, out, stderr)
	}
	var res struct {
		Voters []int `json:"voters"`
		Leader int   `json:"leader"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("validators %s: output %q: %v", change, out, err)
	}
	t.Logf("validators %s --node %d via leader %d: voters %v in %v", change, i, res.Leader, res.Voters, took.Round(time.Millisecond))
	return res.Voters
}

// apiStatus reads node i's full status (the client's view has no voters).
func apiStatus(ctx context.Context, tn *Testnet, i int) (*api.Status, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, tn.Genesis.Validators[i].APIAddr+"/v1/status", nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var st api.Status
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		return nil, err
	}
	return &st, nil
}

// waitVoters waits until each of nodes reports want as its voters.
func waitVoters(t *testing.T, tn *Testnet, nodes []int, want []int) {
	t.Helper()
	eventually(t, 10*time.Second, fmt.Sprintf("nodes %v report voters %v", nodes, want), func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, i := range nodes {
			st, err := apiStatus(ctx, tn, i)
			if err != nil {
				return err
			}
			if !slices.Equal(st.Voters, want) {
				return errorf("node %d reports voters %v", i, st.Voters)
			}
		}
		return nil
	})
}

// Issue 5's membership change, end to end on three Raft node processes
// through the CLI: remove node 2, and the two voters left commit; kill
// node 2, and they still commit (a quorum of three would survive that
// too: this checks that the removed node is needed for nothing); restart
// node 2 and add it back, and it catches up as the third voter with the
// same chain, supply and every acknowledged transfer.
func TestE2ERaftMembership(t *testing.T) {
	tn, c := startE2E(t, raftOptions(t))
	if c.Mode() != engine.ModeRaft {
		t.Fatalf("client mode %s", c.Mode())
	}
	all, pair := indices(3), []int{0, 1}
	ctx := ctxFor(t, 60*time.Second)
	l := newLoad(t, tn, c, 4)
	l.run(ctx, 2)
	waitVoters(t, tn, all, all)

	// A leader cannot be removed (it would stay in office refusing
	// proposals): the CLI says so and exits 2. If node 2 leads, restart it
	// so that another takes over.
	var lead int
	eventually(t, 10*time.Second, "a leader", func() (err error) {
		lead, _, err = raftLeader(ctx, c, all)
		return err
	})
	cmd := exec.CommandContext(ctx, nodeBinary(t), "validators", "remove", "--node", fmt.Sprint(lead), "--testnet", tn.Dir)
	if out, err := cmd.CombinedOutput(); cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 2 ||
		!strings.Contains(string(out), "is the leader") {
		t.Fatalf("removing leader %d: %v\n%s", lead, err, out)
	}
	eventually(t, 15*time.Second, "a leader other than node 2", func() error {
		lead, _, err := raftLeader(ctx, c, all)
		if err != nil {
			return err
		}
		if lead == 2 {
			if err := tn.Restart(ctx, 2); err != nil {
				return err
			}
			return errorf("node 2 led; restarted it")
		}
		return nil
	})
	if got := validatorsCLI(t, tn, "remove", 2); !slices.Equal(got, pair) {
		t.Fatalf("voters after removing node 2: %v", got)
	}
	waitVoters(t, tn, pair, pair)
	l.run(ctx, 2)

	if err := tn.Kill(2); err != nil {
		t.Fatal(err)
	}
	l.run(ctx, 2)
	height := waitConverged(t, c, pair, 1)

	if err := tn.Restart(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if got := validatorsCLI(t, tn, "add", 2); !slices.Equal(got, all) {
		t.Fatalf("voters after adding node 2 back: %v", got)
	}
	l.run(ctx, 2)
	waitVoters(t, tn, all, all)
	height = max(height, waitConverged(t, c, all, height+1))
	checkTail(t, c, all, height, 4)
	checkSupply(t, tn, c, 2)
	checkAcked(t, c, l.ackedTxs())
}
