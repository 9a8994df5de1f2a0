package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/evidence/bundle"
	"github.com/aimsvault/aimsvault/findings"
)

func (a *app) bundleCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bundle",
		Short: "Export auditor evidence bundles and verify them offline",
	}
	cmd.AddCommand(a.bundleExportCommand(), a.bundleVerifyCommand())
	return cmd
}

func (a *app) bundleExportCommand() *cobra.Command {
	var (
		out string
		ff  filterFlags
	)
	cmd := &cobra.Command{
		Use:   "export -o FILE [--control ID]... [--connector NAME]... [--system ID] [--since T] [--until T]",
		Short: "Write a BagIt evidence bundle (zip) an auditor can verify offline",
		Long: `Write a BagIt 1.0 bag in a zip: each selected record's content, canonical
bytes and inclusion proof, the signed checkpoint they lead to, the vault's
public key, controls.csv (control -> evidence) and index.html (a readable
report, with the open findings as of the checkpoint). The same vault state
and filter always give the same bytes. --system selects one AI system's
evidence and findings.
With --since and --until, index.html and controls.csv also show the gaps in
that period.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("-o FILE is required: where to write the bundle")
			}
			f, err := ff.filter()
			if err != nil {
				return err
			}
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			if _, err := a.systemFilter(cmd.Context(), v, &ff, &f); err != nil {
				return err
			}
			opts := bundle.Options{Filter: f, Mapper: a.mapper, Sources: a.configuredSources()}
			opts.Findings = func(ctx context.Context, cp *evidence.Checkpoint) ([]findings.Finding, error) {
				all, err := a.openFindings(ctx, v, cp.CreatedAt, cp.Size)
				return findings.Select(all, ff.system, nil), err
			}
			if ff.system != "" {
				opts.Systems = []string{ff.system}
			}
			if isatty.IsTerminal(os.Stderr.Fd()) {
				bar := progressbar.NewOptions64(-1, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription("exporting"),
					progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
				opts.Progress = func(done, total int64) {
					if bar.GetMax64() != total {
						bar.ChangeMax64(total)
					}
					bar.Set64(done)
				}
				defer bar.Finish()
			}
			tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
			if err != nil {
				return err
			}
			sum, err := bundle.Export(cmd.Context(), v, tmp, opts)
			err = errors.Join(err, tmp.Sync(), tmp.Close())
			if err == nil {
				err = os.Rename(tmp.Name(), out)
			}
			if err != nil {
				os.Remove(tmp.Name())
				return err
			}
			fmt.Fprintf(a.stdout, "wrote %s: %d of %d selected records (%d left out, see manifest.json), checkpoint %d\n",
				out, sum.Included, sum.Selected, sum.Excluded, sum.Checkpoint)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "bundle file to write (.zip)")
	ff.register(cmd)
	return cmd
}

func (a *app) bundleVerifyCommand() *cobra.Command {
	var format, keyFile string
	cmd := &cobra.Command{
		Use:   "verify FILE [--key vault.pub]",
		Short: "Verify a bundle offline: needs no config and no vault",
		Long: `Verify a bundle offline, needing no config and no vault: every file's hash,
every record's canonical bytes and inclusion proof, the checkpoint's signature.
Pin the vault's public key with --key; without it the key inside the bundle is
used, which proves the bundle is intact but not who made it. Exits 0 when
valid, 1 when not.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var pinned string
			if keyFile != "" {
				b, err := os.ReadFile(keyFile)
				if err != nil {
					return fmt.Errorf("--key: %w", err)
				}
				pinned = string(b)
			}
			rep, err := bundle.VerifyFile(args[0], pinned)
			if err != nil {
				return err
			}
			if format == "json" {
				if err := writeJSON(a.stdout, rep); err != nil {
					return err
				}
			} else {
				for _, w := range rep.Warnings {
					fmt.Fprintln(a.stderr, "WARNING: "+w)
				}
				for _, p := range rep.Problems {
					fmt.Fprintln(a.stdout, "FAIL "+p.String())
				}
				if rep.Truncated > 0 {
					fmt.Fprintf(a.stdout, "FAIL and %d more problems\n", rep.Truncated)
				}
				status := "VALID"
				if !rep.OK {
					status = "NOT VALID"
				}
				fmt.Fprintf(a.stdout, "bundle %s: %d artifacts, %d files, checkpoint %d of %s\n", status, rep.Artifacts, rep.Files, rep.Checkpoint, rep.Origin)
			}
			if !rep.OK {
				return exitError{1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&keyFile, "key", "", "the vault's public key (vault.pub) to pin")
	formatFlag(cmd, &format, "table", "json")
	return cmd
}
