package main

import (
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/mapping"
)

func (a *app) coverageCommand() *cobra.Command {
	var format, period string
	cmd := &cobra.Command{
		Use:   "coverage [--period FROM..TO]",
		Short: "Status of every ISO 42001 clause and Annex A control",
		Long: `Status of every requirement item of ISO/IEC 42001:2023:

  covered  fresh evidence exists
  stale    evidence exists, but none within its freshness window
  missing  no evidence yet, though a configured connector could supply it
  manual   no evidence yet, and only a document or an upload can supply it

With --period FROM..TO (dates or RFC 3339), each item also lists the spans
inside the period when it had no fresh evidence.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var from, to time.Time
			if period != "" {
				var err error
				if from, to, err = mapping.ParsePeriod(period); err != nil {
					return fmt.Errorf("--period: %w", err)
				}
			}
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			cov := mapping.NewCoverage(a.mapper, a.configuredSources(), time.Now())
			err = v.Records(cmd.Context(), evidence.Filter{}, func(r *evidence.Record) error {
				e := mapping.Evidence{Kind: r.Kind, Attributes: r.Attributes, Controls: r.Controls, CollectedAt: r.CollectedAt}
				if r.EffectiveAt != nil {
					e.EffectiveAt = *r.EffectiveAt
				}
				cov.Add(e)
				return nil
			})
			if err != nil {
				return err
			}
			if period != "" {
				return a.printPeriod(format, cov.Period(from, to))
			}
			return a.printCoverage(format, cov.Result())
		},
	}
	cmd.Flags().StringVar(&period, "period", "", "audit period FROM..TO, e.g. 2026-01-01..2026-06-30")
	formatFlag(cmd, &format, "table", "json", "csv")
	return cmd
}

func (a *app) printCoverage(format string, rows []mapping.ControlStatus) error {
	switch format {
	case "json":
		return writeJSON(a.stdout, rows)
	case "csv":
		w := csv.NewWriter(a.stdout)
		w.Write([]string{"control", "title", "kind", "status", "evidence_count", "newest"})
		for _, r := range rows {
			w.Write([]string{r.Control, r.Title, r.Kind, string(r.Status), strconv.Itoa(r.EvidenceCount), rfc3339(r.Newest)})
		}
		w.Flush()
		return w.Error()
	}
	tw := newTable(a.stdout)
	fmt.Fprintln(tw, "CONTROL\tSTATUS\tEVIDENCE\tNEWEST\tTITLE")
	counts := map[mapping.Status]int{}
	for _, r := range rows {
		counts[r.Status]++
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", r.Control, r.Status, r.EvidenceCount, shortTime(r.Newest), r.Title)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "\n%d items: %d covered, %d stale, %d missing, %d manual\n", len(rows),
		counts[mapping.Covered], counts[mapping.Stale], counts[mapping.Missing], counts[mapping.Manual])
	return nil
}

func (a *app) printPeriod(format string, rows []mapping.PeriodStatus) error {
	switch format {
	case "json":
		return writeJSON(a.stdout, rows)
	case "csv":
		w := csv.NewWriter(a.stdout)
		w.Write([]string{"control", "title", "kind", "status", "evidence_count", "newest", "covered_fraction", "gaps"})
		for _, r := range rows {
			w.Write([]string{r.Control, r.Title, r.Kind, string(r.Status), strconv.Itoa(r.EvidenceCount), rfc3339(r.Newest),
				strconv.FormatFloat(r.CoveredFraction, 'f', 4, 64), gapsText(r.Gaps)})
		}
		w.Flush()
		return w.Error()
	}
	tw := newTable(a.stdout)
	fmt.Fprintln(tw, "CONTROL\tSTATUS\tCOVERED\tGAPS\tTITLE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%.0f%%\t%s\t%s\n", r.Control, r.Status, 100*r.CoveredFraction, gapsText(r.Gaps), r.Title)
	}
	return tw.Flush()
}

// gapsText shows gaps as inclusive days, like --period takes them: a gap
// ending at midnight ends on the day before.
func gapsText(gs []mapping.Gap) string {
	if len(gs) == 0 {
		return "-"
	}
	parts := make([]string, len(gs))
	for i, g := range gs {
		parts[i] = g.From.UTC().Format("2006-01-02") + ".." + g.To.Add(-time.Nanosecond).UTC().Format("2006-01-02")
	}
	return strings.Join(parts, " ")
}

func rfc3339(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
