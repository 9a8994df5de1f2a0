package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aimsvault/aimsvault/evidence"
)

func (a *app) initCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Create the vault and its signing key (never overwrites a key)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			opts := a.vaultOptions(cfg)
			v, err := evidence.Init(cmd.Context(), opts)
			if errors.Is(err, evidence.ErrExists) {
				fmt.Fprintf(a.stdout, "vault already initialized in %s; nothing changed\n", opts.Dir)
				return nil
			}
			if errors.Is(err, evidence.ErrNotVault) {
				return fmt.Errorf("%v: choose another vault.dir; aimsvault never overwrites a file it did not make", err)
			}
			if err != nil {
				return err
			}
			defer v.Close()
			fmt.Fprintf(a.stdout, "initialized vault %s in %s\n", v.Origin(), opts.Dir)
			fmt.Fprintf(a.stdout, "signing key: %s (keep it secret; back it up)\n", opts.KeyFile)
			fmt.Fprintf(a.stdout, "verifier key: %s\n", v.VerifierKey())
			return nil
		},
	}
}
