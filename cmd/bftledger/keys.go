package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bftledger/bftledger/crypto"
)

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Create and inspect key files"}
	cmd.AddCommand(newKeysNewCmd(), newKeysShowCmd())
	return cmd
}

func newKeysNewCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "new --out FILE",
		Short: "Generate an Ed25519 key and write it to FILE (mode 0600)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			s, err := crypto.GenerateEd25519(rand.Reader)
			if err != nil {
				return err
			}
			if err := crypto.WriteKeyFile(out, s); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\naddress %s\n", out, s.Address())
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "key file to create (must not exist)")
	return cmd
}

// keyInfo is what `keys show --json` prints.
type keyInfo struct {
	Type      string `json:"type"`
	PublicKey string `json:"public_key"`
	Address   string `json:"address"`
}

func newKeysShowCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show FILE",
		Short: "Print the address and public key of a key file",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := crypto.ReadKeyFile(args[0])
			if err != nil {
				return err
			}
			info := keyInfo{Type: crypto.KeyTypeEd25519, PublicKey: hex.EncodeToString(s.PublicKey()), Address: s.Address().String()}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "address    %s\npublic key %s\ntype       %s\n", info.Address, info.PublicKey, info.Type)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
