package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bftledger/bftledger/client"
	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/ledger"
	"github.com/bftledger/bftledger/testnet"
)

// Exit codes of `tx send` (and 1 for usage and other errors).
const (
	exitRejected = 2 // a node refused the tx (4xx)
	exitFailed   = 3 // committed with a failed receipt
	exitTimeout  = 4 // no f+1 matching receipts in time
)

// defaultTestnetDir is where `testnet up` puts its network, and where the
// client commands look when told nothing else.
const defaultTestnetDir = "testnet-local"

// netFlags say which network a client command talks to.
type netFlags struct {
	testnet string
	genesis string
	nodes   string
}

func (f *netFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.testnet, "testnet", "", "testnet directory (uses its genesis.json); default ./"+defaultTestnetDir+" if it exists")
	cmd.Flags().StringVar(&f.genesis, "genesis", "", "genesis file of the network (chain id, mode, validator keys, node URLs)")
	cmd.Flags().StringVar(&f.nodes, "nodes", "", "comma-separated node API URLs, e.g. http://127.0.0.1:26601 (overrides the genesis URLs)")
}

// client builds the client. Verifying receipts and certificates needs the
// genesis; needGenesis commands refuse to run on bare URLs.
func (f *netFlags) client(needGenesis bool) (*client.Client, error) {
	if f.testnet != "" && f.genesis != "" {
		return nil, fmt.Errorf("give --testnet or --genesis, not both")
	}
	var nodes []string
	if f.nodes != "" {
		for _, n := range strings.Split(f.nodes, ",") {
			if n = strings.TrimSpace(n); n != "" {
				nodes = append(nodes, n)
			}
		}
	}
	gen := f.genesis
	if f.testnet != "" {
		gen = filepath.Join(f.testnet, testnet.GenesisFile)
	}
	if gen == "" && len(nodes) == 0 {
		if _, err := os.Stat(filepath.Join(defaultTestnetDir, testnet.GenesisFile)); err == nil {
			gen = filepath.Join(defaultTestnetDir, testnet.GenesisFile)
		}
	}
	switch {
	case gen != "":
		return client.FromGenesisFile(gen, nodes, client.Options{})
	case len(nodes) == 0:
		return nil, fmt.Errorf("which network? give --testnet DIR, --genesis FILE or --nodes URL,... (no ./%s here)", defaultTestnetDir)
	case needGenesis:
		return nil, fmt.Errorf("--nodes alone is not enough: the client checks signed receipts and certificates against the genesis validators, so add --genesis FILE (or use --testnet DIR)")
	}
	return client.New(nodes, client.Options{})
}

func newTxCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tx", Short: "Send transfers"}
	cmd.AddCommand(newTxSendCmd())
	return cmd
}

// txOutput is what `tx send --json` prints.
type txOutput struct {
	Status   string          `json:"status"` // committed | failed | rejected | timeout | error
	Hash     string          `json:"hash,omitempty"`
	From     string          `json:"from"`
	To       string          `json:"to"`
	Amount   uint64          `json:"amount"`
	Nonce    uint64          `json:"nonce"`
	Receipt  *client.Receipt `json:"receipt,omitempty"`
	Signers  []int           `json:"signers,omitempty"` // validators whose matching signed receipts were gathered
	Need     int             `json:"need"`
	Error    string          `json:"error,omitempty"`
	Code     string          `json:"code,omitempty"` // the API's machine code when rejected
	CodeName string          `json:"code_name,omitempty"`
}

func newTxSendCmd() *cobra.Command {
	var (
		nf       netFlags
		from, to string
		amount   string
		nonce    uint64
		timeout  time.Duration
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "send --from KEYFILE --to ADDRESS --amount N",
		Short: "Sign a transfer, submit it and wait for f+1 matching signed receipts",
		Long: `Sign a transfer with the key in KEYFILE, submit it to every node and wait
until f+1 validators (1 in Raft mode) have returned matching signed receipts.
Without --nonce, the next nonce is the highest any of f+1 nodes reports.

Exit status: 0 committed and succeeded; 1 usage or other error; 2 rejected
by the nodes; 3 committed but failed (e.g. insufficient funds, bad nonce);
4 timed out waiting for receipts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || to == "" || amount == "" {
				return fmt.Errorf("--from, --to and --amount are required")
			}
			key, err := crypto.ReadKeyFile(from)
			if err != nil {
				return err
			}
			toAddr, err := crypto.ParseAddress(to)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			amt, err := strconv.ParseUint(amount, 10, 64)
			if err != nil || amt == 0 {
				return fmt.Errorf("--amount %q: want a whole number of at least 1", amount)
			}
			if timeout <= 0 {
				return fmt.Errorf("--timeout must be positive")
			}
			c, err := nf.client(true)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			out := txOutput{From: key.Address().String(), To: toAddr.String(), Amount: amt, Need: c.Need()}
			if cmd.Flags().Changed("nonce") {
				out.Nonce = nonce
			} else if out.Nonce, err = c.NextNonce(ctx, key.Address()); err != nil {
				return err
			}
			tx := ledger.NewTransfer(key, c.ChainID(), toAddr, amt, out.Nonce)
			out.Hash = tx.Hash().String()
			res, err := c.Transfer(ctx, tx)
			code, err := txOutcome(&out, res, err)
			printTx(cmd.OutOrStdout(), &out, asJSON)
			if err != nil {
				return withExit(code, err)
			}
			return nil
		},
	}
	nf.register(cmd)
	cmd.Flags().StringVar(&from, "from", "", "sender's key file")
	cmd.Flags().StringVar(&to, "to", "", "recipient address (40 hex characters)")
	cmd.Flags().StringVar(&amount, "amount", "", "amount to transfer (a whole number >= 1)")
	cmd.Flags().Uint64Var(&nonce, "nonce", 0, "sender's nonce (default: looked up from the nodes)")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "give up waiting for receipts after this long")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// txOutcome fills out from a Transfer result and returns the exit code
// and error to end with (nil for success).
func txOutcome(out *txOutput, res *client.Result, err error) (int, error) {
	var ae *client.APIError
	switch {
	case err == nil:
		out.Receipt = &res.Receipt
		out.Signers = res.Signers
		out.CodeName = ledger.CodeName(res.Receipt.Code)
		if !res.Receipt.OK() {
			out.Status = "failed"
			return exitFailed, fmt.Errorf("tx %s committed at height %d but failed: %s (%s)", out.Hash, res.Receipt.Height, res.Receipt.Message, out.CodeName)
		}
		out.Status = "committed"
		return 0, nil
	case errors.Is(err, client.ErrRejected):
		out.Status = "rejected"
		if errors.As(err, &ae) {
			out.Code = ae.Code
		}
		out.Error = err.Error()
		return exitRejected, fmt.Errorf("tx rejected: %w", err)
	case errors.Is(err, client.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		out.Status = "timeout"
		out.Error = err.Error()
		return exitTimeout, err
	default:
		out.Status = "error"
		out.Error = err.Error()
		return 1, err
	}
}

func printTx(w io.Writer, out *txOutput, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
		return
	}
	fmt.Fprintf(w, "tx       %s\n", out.Hash)
	fmt.Fprintf(w, "from     %s (nonce %d)\nto       %s\namount   %d\n", out.From, out.Nonce, out.To, out.Amount)
	if out.Receipt == nil {
		fmt.Fprintf(w, "status   %s\n", out.Status)
		return
	}
	r := out.Receipt
	fmt.Fprintf(w, "height   %d (index %d)\n", r.Height, r.Index)
	if r.OK() {
		fmt.Fprintf(w, "result   ok\n")
	} else {
		fmt.Fprintf(w, "result   FAILED: %s (code %d %s)\n", r.Message, r.Code, out.CodeName)
	}
	fmt.Fprintf(w, "receipts %d matching signed receipts (%d needed) from validators %s\n", len(out.Signers), out.Need, joinInts(out.Signers))
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}
