package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/server/access"
	"github.com/aimsvault/aimsvault/server/api"
)

// openAccess opens access.db (tokens and the access log) in the vault's
// folder, creating it on first use.
func (a *app) openAccess(ctx context.Context, v *evidence.Vault) (*access.DB, error) {
	return access.Open(ctx, filepath.Join(v.Dir(), access.FileName), access.Options{})
}

func (a *app) tokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke API tokens",
	}
	cmd.AddCommand(a.tokenCreateCommand(), a.tokenListCommand(), a.tokenRevokeCommand())
	return cmd
}

// localIdentity names who ran a local command, for the access log.
func localIdentity() string {
	if u := currentUser(); u != "" {
		return u
	}
	return "local"
}

func (a *app) tokenCreateCommand() *cobra.Command {
	var (
		role, name, expires, period string
		controls                    []string
	)
	cmd := &cobra.Command{
		Use:   "create --role ROLE --name NAME [--expires DURATION] [--period FROM..TO] [--control ID]...",
		Short: "Create an API token and print it once, alone on stdout",
		Long: `Create an API token and print it once, alone on stdout; only its SHA-256 is
stored, so it cannot be shown again. Roles: compliance, auditor, security,
admin (see the README's HTTP API table). Tokens expire after 90 days unless
--expires says otherwise (a duration such as 30d or 12h, or never). An auditor
token may be scoped with --period FROM..TO (records collected in it) and
--control (records evidencing one of these; A.6 means its controls): outside
its scope it sees nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if role == "" || name == "" {
				return errors.New("--role and --name are required, e.g. --role auditor --name ext-audit-2026")
			}
			nt, err := api.ParseTokenRequest(name, role, expires, period, controls)
			if err != nil {
				return err
			}
			nt.CreatedBy = localIdentity()
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			acc, err := a.openAccess(cmd.Context(), v)
			if err != nil {
				return err
			}
			defer acc.Close()
			t, secret, err := acc.CreateToken(cmd.Context(), nt)
			if err != nil {
				return err
			}
			_, err = acc.Append(cmd.Context(), access.Entry{
				TokenName: localIdentity(), Role: "local", Method: "CLI", Path: "token create",
				Action: access.ActionTokenNew, Outcome: access.OutcomeOK,
				Detail: "created " + t.ID + " (" + t.Name + ", " + string(t.Role) + ")",
			})
			if err != nil {
				return err
			}
			// Only the secret on stdout, so `TOKEN=$(aimsvault token create ...)` works.
			fmt.Fprintln(a.stdout, secret)
			exp := "never"
			if t.ExpiresAt != nil {
				exp = t.ExpiresAt.Format(time.RFC3339)
			}
			fmt.Fprintf(a.stderr, "created token %s (%s, role %s, expires %s); it is shown only this once\n", t.ID, t.Name, t.Role, exp)
			return nil
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "compliance, auditor, security or admin")
	cmd.Flags().StringVar(&name, "name", "", "a name for the token (who or what uses it)")
	cmd.Flags().StringVar(&expires, "expires", "", "lifetime, e.g. 30d or 12h, or never (default 90d)")
	cmd.Flags().StringVar(&period, "period", "", "auditor scope: records collected in FROM..TO")
	cmd.Flags().StringSliceVar(&controls, "control", nil, "auditor scope: records evidencing this control (repeatable)")
	return cmd
}

func (a *app) tokenListCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets), revoked and expired ones too",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			acc, err := a.openAccess(cmd.Context(), v)
			if err != nil {
				return err
			}
			defer acc.Close()
			ts, err := acc.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			now := time.Now()
			if format == "json" {
				type view struct {
					*access.Token
					State string `json:"state"`
				}
				out := []view{}
				for _, t := range ts {
					out = append(out, view{t, t.State(now)})
				}
				return writeJSON(a.stdout, out)
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "ID\tNAME\tROLE\tSTATE\tCREATED\tEXPIRES\tSCOPE")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, t.State(now), shortTime(&t.CreatedAt), shortTime(t.ExpiresAt), scopeText(t.Scope))
			}
			return tw.Flush()
		},
	}
	formatFlag(cmd, &format, "table", "json")
	return cmd
}

func scopeText(s access.Scope) string {
	var parts []string
	if s.From != nil || s.To != nil {
		parts = append(parts, shortTime(s.From)+".."+shortTime(s.To))
	}
	if len(s.Controls) > 0 {
		parts = append(parts, strings.Join(s.Controls, ","))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func (a *app) tokenRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke NAME|ID",
		Short: "Revoke a token: it stops working at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			acc, err := a.openAccess(cmd.Context(), v)
			if err != nil {
				return err
			}
			defer acc.Close()
			t, err := acc.RevokeToken(cmd.Context(), args[0])
			if errors.Is(err, access.ErrNotFound) {
				return fmt.Errorf("%w: list tokens with `aimsvault token list`", err)
			}
			if err != nil {
				return err
			}
			if _, err := acc.Append(cmd.Context(), access.Entry{
				TokenName: localIdentity(), Role: "local", Method: "CLI", Path: "token revoke",
				Action: access.ActionTokenDel, Outcome: access.OutcomeOK, Detail: "revoked " + t.ID + " (" + t.Name + ")",
			}); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "revoked %s (%s)\n", t.ID, t.Name)
			return nil
		},
	}
}

func (a *app) accessLogCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "access-log",
		Short: "Read and verify the access audit log (who read or downloaded what)",
	}
	var format, head string
	verify := &cobra.Command{
		Use:   "verify [--head SEQ:HASH]",
		Short: "Recompute the access log's hash chain",
		Long: `Recompute the access log's hash chain: each entry's hash, its link to the
entry before, and the sequence (a removed entry leaves a gap). Given a head
kept earlier (--head SEQ:HASH, as printed here or by GET /api/v1/audit-log),
also check the log still holds it, so that cutting entries off the end is
caught too. Exits 0 when intact, 1 when not.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var want *access.Head
			if head != "" {
				var h access.Head
				if _, err := fmt.Sscanf(strings.Replace(head, ":", " ", 1), "%d %s", &h.Seq, &h.Hash); err != nil || len(h.Hash) != 64 {
					return fmt.Errorf("--head %q: want SEQ:HASH, e.g. 42:9f86d0…", head)
				}
				want = &h
			}
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			path := filepath.Join(v.Dir(), access.FileName)
			if _, err := os.Stat(path); err != nil {
				return fmt.Errorf("no access log in %s yet: `aimsvault serve` or `aimsvault token create` starts it", v.Dir())
			}
			acc, err := a.openAccess(cmd.Context(), v)
			if err != nil {
				return err
			}
			defer acc.Close()
			rep, err := acc.Verify(cmd.Context(), want)
			if err != nil {
				return err
			}
			if format == "json" {
				if err := writeJSON(a.stdout, rep); err != nil {
					return err
				}
			} else {
				for _, p := range rep.Problems {
					fmt.Fprintf(a.stdout, "FAIL entry %d: %s\n", p.Seq, p.Message)
				}
				status := "intact"
				if !rep.OK {
					status = "NOT INTACT"
				}
				fmt.Fprintf(a.stdout, "access log %s: %d entries, head %d:%s\n", status, rep.Entries, rep.Head.Seq, rep.Head.Hash)
			}
			if !rep.OK {
				return exitError{1}
			}
			return nil
		},
	}
	verify.Flags().StringVar(&head, "head", "", "a head kept earlier, SEQ:HASH")
	formatFlag(verify, &format, "table", "json")
	cmd.AddCommand(verify)
	return cmd
}
