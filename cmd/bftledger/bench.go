package main

import "github.com/spf13/cobra"

// newBenchCmd is a placeholder until the command lands.
func newBenchCmd() *cobra.Command {
	return &cobra.Command{Use: "bench", Short: "Benchmark PBFT and Raft", Hidden: true}
}
