package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/ledger"
	"github.com/bftledger/bftledger/node"
)

func newNodeCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "node", Short: "Run a validator node"}
	cmd.AddCommand(newNodeStartCmd(), newNodeInitCmd())
	return cmd
}

func newNodeStartCmd() *cobra.Command {
	var home string
	cmd := &cobra.Command{
		Use:   "start --home DIR",
		Short: "Run the validator whose config, genesis and key are in DIR until SIGINT or SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if home == "" {
				return fmt.Errorf("--home is required")
			}
			h, err := node.LoadHome(home)
			if err != nil {
				return err
			}
			log, err := node.NewLogger(h.Config.Log, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if lim := h.Config.Runtime.MemoryLimitMiB; lim > 0 && os.Getenv("GOMEMLIMIT") == "" {
				debug.SetMemoryLimit(int64(lim) << 20)
			}
			n, err := node.NewFromHome(h, log)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return n.Run(ctx)
		},
	}
	cmd.Flags().StringVar(&home, "home", "", "node home directory (config.toml, genesis.json, node_key.json, data/)")
	return cmd
}

func newNodeInitCmd() *cobra.Command {
	var (
		home, chainID, consensus, fund string
		balance                        uint64
	)
	cmd := &cobra.Command{
		Use:   "init --home DIR",
		Short: "Create a single-validator home: a key, a default config and a one-validator genesis",
		Long: "Create DIR with node_key.json, config.toml and genesis.json for a network of one\n" +
			"validator. Files that already exist are kept. For multi-node networks use\n" +
			"`bftledger testnet init`.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if home == "" {
				return fmt.Errorf("--home is required")
			}
			return initHome(cmd, home, chainID, consensus, fund, balance)
		},
	}
	cmd.Flags().StringVar(&home, "home", "", "home directory to create")
	cmd.Flags().StringVar(&chainID, "chain-id", "bftledger-local", "chain id of the new genesis")
	cmd.Flags().StringVar(&consensus, "consensus", engine.ModePBFT, "consensus engine: pbft or raft")
	cmd.Flags().StringVar(&fund, "fund", "", "hex address to fund in genesis (default: the node key's address)")
	cmd.Flags().Uint64Var(&balance, "balance", 1_000_000_000, "balance of the funded account")
	return cmd
}

func initHome(cmd *cobra.Command, home, chainID, consensus, fund string, balance uint64) error {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	kpath := filepath.Join(home, node.KeyFile)
	key, err := crypto.ReadKeyFile(kpath)
	if errors.Is(err, os.ErrNotExist) {
		if key, err = crypto.GenerateEd25519(rand.Reader); err == nil {
			err = crypto.WriteKeyFile(kpath, key)
		}
	}
	if err != nil {
		return fmt.Errorf("key file %s: %w", kpath, err)
	}
	cfg := node.DefaultConfig()
	cpath := filepath.Join(home, node.ConfigFile)
	if _, err := os.Stat(cpath); errors.Is(err, os.ErrNotExist) {
		if err := cfg.Write(cpath); err != nil {
			return err
		}
	} else if cfg, err = node.LoadConfig(cpath); err != nil {
		return err
	}
	gpath := filepath.Join(home, node.GenesisFile)
	if _, err := os.Stat(gpath); errors.Is(err, os.ErrNotExist) {
		addr := key.Address()
		if fund != "" {
			if addr, err = crypto.ParseAddress(fund); err != nil {
				return fmt.Errorf("--fund: %w", err)
			}
		}
		g := &ledger.Genesis{
			ChainID:   chainID,
			Consensus: consensus,
			Validators: []ledger.GenesisValidator{{
				Name:      "node0",
				PublicKey: hex.EncodeToString(key.PublicKey()),
				P2PAddr:   cfg.P2P.ListenAddr,
				APIAddr:   "http://" + cfg.API.ListenAddr,
			}},
			Accounts: []ledger.GenesisAccount{{Address: addr, Balance: balance}},
			Params:   ledger.DefaultParams(),
		}
		if err := g.Validate(); err != nil {
			return err
		}
		b, err := g.Encode()
		if err != nil {
			return err
		}
		if err := os.WriteFile(gpath, b, 0o644); err != nil {
			return err
		}
	}
	if _, err := node.LoadHome(home); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "initialised %s (validator %s)\nrun: bftledger node start --home %s\n",
		home, key.Address(), home)
	return nil
}
