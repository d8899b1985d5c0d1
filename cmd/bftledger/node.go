package main

import "github.com/spf13/cobra"

// newNodeCmd is a placeholder until the command lands.
func newNodeCmd() *cobra.Command {
	return &cobra.Command{Use: "node", Short: "Run a validator node", Hidden: true}
}
