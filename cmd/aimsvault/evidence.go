package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/aimsvault/aimsvault/connectors"
	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/mapping"
	"github.com/aimsvault/aimsvault/scheduler"
)

func (a *app) evidenceCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "evidence",
		Short: "List, show, fetch and add evidence records",
	}
	cmd.AddCommand(a.evidenceListCommand(), a.evidenceShowCommand(), a.evidenceGetCommand(), a.evidenceAddCommand())
	return cmd
}

func (a *app) evidenceListCommand() *cobra.Command {
	var (
		ff     filterFlags
		kinds  []string
		limit  int
		format string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List records (all that match unless --limit), streamed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := ff.filter()
			if err != nil {
				return err
			}
			f.Kinds, f.Limit = kinds, limit
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			s, err := a.systemFilter(cmd.Context(), v, &ff, &f)
			if err != nil {
				return err
			}
			if format == "json" {
				arr := newJSONArray(a.stdout)
				err := v.Records(cmd.Context(), f, func(r *evidence.Record) error {
					return arr.add(listedRecord{r, s.link(r)})
				})
				if err != nil {
					return err
				}
				return arr.close()
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "ID\tCOLLECTED\tCONNECTOR\tKIND\tSUBJECT\tCONTROLS")
			err = v.Records(cmd.Context(), f, func(r *evidence.Record) error {
				_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, shortTime(&r.CollectedAt), r.Connector, r.Kind, r.Subject, strings.Join(r.Controls, ","))
				return err
			})
			if err != nil {
				return err
			}
			return tw.Flush()
		},
	}
	ff.register(cmd)
	cmd.Flags().StringSliceVar(&kinds, "kind", nil, "only records of this kind (repeatable)")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many records")
	formatFlag(cmd, &format, "table", "json")
	return cmd
}

// listedRecord is a record as `evidence list --format json` shows it: the
// signed record, plus the AI systems it belongs to under the current config
// (computed, not signed; omitted when none).
type listedRecord struct {
	*evidence.Record
	Systems []string `json:"systems,omitempty"`
}

func (a *app) evidenceShowCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one record",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, r, err := a.record(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if format == "json" {
				return writeJSON(a.stdout, r)
			}
			tw := newTable(a.stdout)
			eff := "-"
			if r.EffectiveAt != nil {
				eff = r.EffectiveAt.Format(time.RFC3339)
			}
			for _, row := range [][2]string{
				{"id", r.ID}, {"index", fmt.Sprint(r.Index)}, {"run", r.Run}, {"connector", r.Connector + " (" + r.Type + ")"},
				{"kind", r.Kind}, {"subject", r.Subject}, {"collected_at", r.CollectedAt.Format(time.RFC3339Nano)},
				{"effective_at", eff}, {"sha256", r.SHA256.String()}, {"size", fmt.Sprint(r.Size)},
				{"media_type", r.MediaType}, {"source_url", r.SourceURL}, {"controls", strings.Join(r.Controls, ", ")},
				{"provenance", string(r.Provenance)},
			} {
				fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
			}
			for _, k := range sortedKeys(r.Attributes) {
				fmt.Fprintf(tw, "attribute %s\t%s\n", k, r.Attributes[k])
			}
			return tw.Flush()
		},
	}
	formatFlag(cmd, &format, "table", "json")
	return cmd
}

func notFoundHint(err error) error {
	if errors.Is(err, evidence.ErrNotFound) {
		return fmt.Errorf("%w: list ids with `aimsvault evidence list`", err)
	}
	return err
}

func (a *app) evidenceGetCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "get ID [-o FILE]",
		Short: "Write a record's raw content to stdout or a file, checking its hash",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, r, err := a.record(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			rc, _, err := v.OpenContent(cmd.Context(), r.SHA256)
			if err != nil {
				return err
			}
			defer rc.Close()
			if out == "" || out == "-" {
				// On stdout a mismatch is reported after the bytes went out;
				// the exit code says not to trust them.
				_, err := io.Copy(a.stdout, rc)
				return err
			}
			return writeFileChecked(out, rc)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to FILE instead of stdout")
	return cmd
}

// writeFileChecked writes r to path through a temp file, renamed into place
// only if r ends without error (the vault's reader fails at EOF when the
// content does not match its hash).
func writeFileChecked(path string, r io.Reader) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = io.Copy(f, r)
	err = errors.Join(err, f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func (a *app) evidenceAddCommand() *cobra.Command {
	var (
		kind, subject, effective string
		controls                 []string
	)
	cmd := &cobra.Command{
		Use:   "add FILE --kind K [--control ID]... [--subject S]",
		Short: "Upload evidence by hand (a signed review, an audit report)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if kind == "" {
				return fmt.Errorf("--kind is required, e.g. --kind file.management_review or --kind manual.upload")
			}
			eff, err := parseTimeFlag("effective-at", effective)
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			if fi, err := f.Stat(); err != nil || fi.IsDir() {
				return fmt.Errorf("%s is not a file", args[0])
			}
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			if !a.mapper.Handles(kind) {
				return fmt.Errorf("--kind %q is not a known evidence kind (a typo would be stored forever): use one from the README's table, or --kind manual.upload with --control", kind)
			}
			attrs := map[string]string{}
			if len(controls) > 0 {
				attrs[mapping.DeclaredAttribute] = strings.Join(controls, ",")
			}
			mapped, err := a.mapper.Map(kind, attrs)
			if err != nil {
				return err
			}
			if subject == "" {
				subject = filepath.Base(args[0])
			}
			mt := mime.TypeByExtension(filepath.Ext(args[0]))
			if mt == "" {
				mt = "application/octet-stream"
			}
			prov, err := connectors.CanonicalJSON(connectors.Provenance{Method: "upload", Endpoint: "cli:evidence add", Identity: currentUser(), Complete: true})
			if err != nil {
				return err
			}
			id, _ := uuid.NewV7()
			run := evidence.Run{ID: id.String(), Connector: "manual", Type: "manual", Trigger: scheduler.TriggerUpload, StartedAt: time.Now().UTC()}
			if err := v.StartRun(cmd.Context(), run); err != nil {
				return err
			}
			rec, newBlob, err := v.Append(cmd.Context(), evidence.Input{
				Run: run.ID, Connector: "manual", Type: "manual", Kind: kind, Subject: subject, MediaType: mt,
				EffectiveAt: eff, Provenance: json.RawMessage(prov), Attributes: attrs, Controls: mapped, Content: f,
			})
			run.Status = evidence.RunOK
			if err == nil {
				run.Artifacts = 1
				if newBlob {
					run.NewBlobs = 1
				}
				_, err = v.SignCheckpoint(cmd.Context())
				if errors.Is(err, evidence.ErrTimestamp) {
					// The record is in and signed; only its trusted time is missing.
					fmt.Fprintf(a.stderr, "aimsvault: warning: %v\n", err)
					err = nil
				}
			}
			if err != nil {
				run.Status, run.Error = evidence.RunFailed, err.Error()
			}
			if ferr := v.FinishRun(cmd.Context(), run); err == nil {
				err = ferr
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "added %s (%s, %d bytes) controls %s\n", rec.ID, rec.SHA256, rec.Size, strings.Join(rec.Controls, ","))
			return nil
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "", "evidence kind, e.g. file.management_review (see README)")
	cmd.Flags().StringSliceVar(&controls, "control", nil, "control this evidences (repeatable)")
	cmd.Flags().StringVar(&subject, "subject", "", "what it is about (default: the file name)")
	cmd.Flags().StringVar(&effective, "effective-at", "", "the date the evidence speaks for (e.g. the meeting date)")
	return cmd
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return "local:" + u
	}
	return ""
}
