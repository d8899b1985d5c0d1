package main

import "github.com/spf13/cobra"

// newQueryCmd is a placeholder until the command lands.
func newQueryCmd() *cobra.Command {
	return &cobra.Command{Use: "query", Short: "Query the ledger", Hidden: true}
}
