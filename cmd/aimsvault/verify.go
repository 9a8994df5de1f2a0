package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func (a *app) verifyCommand() *cobra.Command {
	var format, keyFile string
	var incremental bool
	cmd := &cobra.Command{
		Use:   "verify [--since-checkpoint]",
		Short: "Recompute every hash, leaf, tree and checkpoint of the vault",
		Long: `Recompute every content hash, every record's leaf and the columns that
mirror it, the Merkle tree, and every checkpoint's signature and root. Names
each record, object or checkpoint that does not match. Exits 0 when the vault
is intact, 1 when not.

A verify that passes records the checkpoint it reached in verified.json in the
vault folder. --since-checkpoint then recomputes only what follows it: the
newer records, content and checkpoints, plus the signature of every
checkpoint and its consistency with the verified one (so the log only grew).
It does not re-read records or objects below that checkpoint: run a full
verify on a schedule too, and always for an audit.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			var pinned string
			if keyFile != "" {
				b, err := os.ReadFile(keyFile)
				if err != nil {
					return fmt.Errorf("--key: %w", err)
				}
				pinned = string(b)
			}
			verify := v.Verify
			if incremental {
				verify = v.VerifyIncremental
			}
			rep, err := verify(cmd.Context(), pinned)
			if err != nil {
				return err
			}
			if format == "json" {
				if err := writeJSON(a.stdout, rep); err != nil {
					return err
				}
			} else {
				for _, p := range rep.Problems {
					fmt.Fprintln(a.stdout, "FAIL "+p.String())
				}
				if rep.Truncated > 0 {
					fmt.Fprintf(a.stdout, "FAIL and %d more problems\n", rep.Truncated)
				}
				status := "intact"
				if !rep.OK {
					status = "NOT INTACT"
				}
				if rep.Incremental {
					fmt.Fprintf(a.stdout, "vault %s: records %d to %d, %d new contents, %d checkpoints checked (from the last verified checkpoint)\n", status, rep.From, rep.Records, rep.Objects, rep.Checkpoints)
				} else {
					fmt.Fprintf(a.stdout, "vault %s: %d records, %d contents, %d checkpoints checked\n", status, rep.Records, rep.Objects, rep.Checkpoints)
				}
			}
			if !rep.OK {
				return exitError{1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&incremental, "since-checkpoint", false, "check only what follows the last checkpoint a verify checked completely")
	cmd.Flags().StringVar(&keyFile, "key", "", "verifier key file (vault.pub) to pin instead of trusting the vault's own")
	formatFlag(cmd, &format, "table", "json")
	return cmd
}

func (a *app) checkpointCommand() *cobra.Command {
	var tsrOut string
	cmd := &cobra.Command{
		Use:   "checkpoint [--tsr FILE]",
		Short: "Print the latest signed checkpoint (C2SP signed note)",
		Long: `Print the latest signed checkpoint, a C2SP signed note. Keep it: later,
` + "`aimsvault prove --from FILE`" + ` shows the vault only grew since. With --tsr, also
write the checkpoint's RFC 3161 timestamp token (when vault.timestamp_authority
is set) for ` + "`openssl ts -verify`" + `.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			cp, err := v.LatestCheckpoint(cmd.Context())
			if err != nil {
				return err
			}
			if cp == nil {
				return fmt.Errorf("no checkpoint yet: run `aimsvault collect` first")
			}
			if tsrOut != "" {
				if cp.TSR == nil {
					return fmt.Errorf("checkpoint %d has no timestamp token: set vault.timestamp_authority", cp.Size)
				}
				if err := writeFileChecked(tsrOut, bytes.NewReader(cp.TSR)); err != nil {
					return err
				}
			}
			_, err = a.stdout.Write(cp.Note)
			return err
		},
	}
	cmd.Flags().StringVar(&tsrOut, "tsr", "", "also write the checkpoint's RFC 3161 token to FILE")
	return cmd
}
