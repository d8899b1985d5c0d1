package main

import "github.com/spf13/cobra"

// newTxCmd is a placeholder until the command lands.
func newTxCmd() *cobra.Command {
	return &cobra.Command{Use: "tx", Short: "Send transfers", Hidden: true}
}
