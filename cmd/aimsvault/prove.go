package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/aimsvault/aimsvault/evidence"
)

func (a *app) proveCommand() *cobra.Command {
	var from string
	cmd := &cobra.Command{
		Use:   "prove --from OLD_CHECKPOINT_FILE",
		Short: "Print a consistency proof from an old checkpoint to the latest",
		Long: `Print a consistency proof from a checkpoint you kept (a file holding what
` + "`aimsvault checkpoint`" + ` printed then) to the latest one: evidence that the vault only
grew since, with no record changed or removed. Output: the old and new tree
sizes, the proof hashes in base64, a blank line, then the latest checkpoint.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				return fmt.Errorf("--from is required: the old checkpoint file")
			}
			old, err := os.ReadFile(from)
			if err != nil {
				return err
			}
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			origin, oldSize, oldRoot, err := evidence.ParseCheckpoint(old, v.VerifierKey())
			if err != nil {
				return fmt.Errorf("%s: %w (is it a checkpoint of this vault?)", from, err)
			}
			if origin != v.Origin() {
				return fmt.Errorf("%s: origin %q, this vault is %q", from, origin, v.Origin())
			}
			cp, err := v.LatestCheckpoint(cmd.Context())
			if err != nil {
				return err
			}
			if cp == nil || cp.Size < oldSize {
				return fmt.Errorf("%s: signs a tree of %d records, larger than this vault's latest checkpoint: it is not from this vault's history", from, oldSize)
			}
			proof, err := v.ProveTree(cmd.Context(), cp.Size, oldSize)
			if err != nil {
				return err
			}
			// Check before printing: a proof that fails here means the vault
			// does not extend the old checkpoint.
			if err := checkTree(proof, cp, oldSize, oldRoot); err != nil {
				return fmt.Errorf("the vault is NOT consistent with %s: %w", from, err)
			}
			var b strings.Builder
			fmt.Fprintf(&b, "aimsvault consistency proof\nold %d\nnew %d\n", oldSize, cp.Size)
			for _, h := range proof {
				b.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
			}
			b.WriteString("\n")
			b.Write(cp.Note)
			_, err = fmt.Fprint(a.stdout, b.String())
			return err
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "a checkpoint file kept from earlier")
	return cmd
}

func checkTree(proof tlog.TreeProof, cp *evidence.Checkpoint, oldSize int64, oldRoot tlog.Hash) error {
	return tlog.CheckTree(proof, cp.Size, cp.Root, oldSize, oldRoot)
}
