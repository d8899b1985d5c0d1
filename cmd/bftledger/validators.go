package main

import "github.com/spf13/cobra"

// newValidatorsCmd is a placeholder until the command lands.
func newValidatorsCmd() *cobra.Command {
	return &cobra.Command{Use: "validators", Short: "Change a Raft network's members", Hidden: true}
}
