package main

import "github.com/spf13/cobra"

// newTestnetCmd is a placeholder until the command lands.
func newTestnetCmd() *cobra.Command {
	return &cobra.Command{Use: "testnet", Short: "Run a local testnet", Hidden: true}
}
