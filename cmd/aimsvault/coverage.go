package main

import (
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/findings"
	"github.com/aimsvault/aimsvault/inventory"
	"github.com/aimsvault/aimsvault/mapping"
)

func (a *app) coverageCommand() *cobra.Command {
	var format, period, system string
	cmd := &cobra.Command{
		Use:   "coverage [--period FROM..TO] [--system ID]",
		Short: "Status of every ISO 42001 clause and Annex A control",
		Long: `Status of every requirement item of ISO/IEC 42001:2023:

  covered  fresh evidence exists
  stale    evidence exists, but none within its freshness window
  missing  no evidence yet, though a configured connector could supply it
  manual   no evidence yet, and only a document or an upload can supply it

Each item also shows how many open findings bear on it (see aimsvault
findings --control ID): covered says evidence exists, not that it shows the
control met.

With --period FROM..TO (dates or RFC 3339), each item also lists the spans
inside the period when it had no fresh evidence. With --system ID, only the
evidence and findings of that AI system count.`,
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
			now := time.Now()
			s, err := a.newScanner(v)
			if err != nil {
				return err
			}
			if err := checkSystem(s.inv, system); err != nil {
				return err
			}
			if err := a.withFindings(s, now); err != nil {
				return err
			}
			cov := mapping.NewCoverage(a.mapper, a.configuredSources(), now)
			if period == "" && system == "" {
				// The status now needs counts and newest times only:
				// aggregate in SQL, and scan only the kinds the findings
				// checks read.
				var kinds []string
				err := v.Groups(cmd.Context(), a.mapper.AttributeKeys(), now, func(g evidence.Group) error {
					cov.AddGroup(mapping.Evidence{Kind: g.Kind, Attributes: g.Attributes, Controls: g.Controls}, g.Count, g.Newest, g.NewestAsOf)
					if s.engine.Wants(g.Kind) && !slices.Contains(kinds, g.Kind) {
						kinds = append(kinds, g.Kind)
					}
					return nil
				})
				if err != nil {
					return err
				}
				if len(kinds) > 0 {
					if err := s.run(cmd.Context(), evidence.Filter{Kinds: kinds}); err != nil {
						return err
					}
				}
				return a.printCoverage(format, cov.Result(), findings.ByControl(findings.Select(s.engine.Findings(), "", nil)))
			}
			s.onEntry = func(r *evidence.Record, _ *inventory.Item, systems []string) error {
				if system != "" && !slices.Contains(systems, system) {
					return nil
				}
				e := mapping.Evidence{Kind: r.Kind, Attributes: r.Attributes, Controls: r.Controls, CollectedAt: r.CollectedAt}
				if r.EffectiveAt != nil {
					e.EffectiveAt = *r.EffectiveAt
				}
				cov.Add(e)
				return nil
			}
			if err := s.run(cmd.Context(), evidence.Filter{}); err != nil {
				return err
			}
			open := findings.ByControl(findings.Select(s.engine.Findings(), system, nil))
			if period != "" {
				return a.printPeriod(format, cov.Period(from, to), open)
			}
			return a.printCoverage(format, cov.Result(), open)
		},
	}
	cmd.Flags().StringVar(&period, "period", "", "audit period FROM..TO, e.g. 2026-01-01..2026-06-30")
	cmd.Flags().StringVar(&system, "system", "", "only the evidence and findings of this AI system (an ai_systems id)")
	formatFlag(cmd, &format, "table", "json", "csv")
	return cmd
}

// coverageRow is a coverage row with its open findings count: the
// `coverage --format json` shape plus open_findings.
type coverageRow struct {
	mapping.ControlStatus
	OpenFindings int `json:"open_findings"`
}

type periodRow struct {
	mapping.PeriodStatus
	OpenFindings int `json:"open_findings"`
}

func (a *app) printCoverage(format string, rows []mapping.ControlStatus, open map[string]int) error {
	switch format {
	case "json":
		out := make([]coverageRow, len(rows))
		for i, r := range rows {
			out[i] = coverageRow{r, open[r.Control]}
		}
		return writeJSON(a.stdout, out)
	case "csv":
		w := csv.NewWriter(a.stdout)
		w.Write([]string{"control", "title", "kind", "status", "evidence_count", "newest", "open_findings"})
		for _, r := range rows {
			w.Write([]string{r.Control, r.Title, r.Kind, string(r.Status), strconv.Itoa(r.EvidenceCount), rfc3339(r.Newest), strconv.Itoa(open[r.Control])})
		}
		w.Flush()
		return w.Error()
	}
	tw := newTable(a.stdout)
	fmt.Fprintln(tw, "CONTROL\tSTATUS\tEVIDENCE\tNEWEST\tFINDINGS\tTITLE")
	counts := map[mapping.Status]int{}
	withFindings := 0
	for _, r := range rows {
		counts[r.Status]++
		if open[r.Control] > 0 {
			withFindings++
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", r.Control, r.Status, r.EvidenceCount, shortTime(r.Newest), findingsCell(open[r.Control]), r.Title)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "\n%d items: %d covered, %d stale, %d missing, %d manual; %d with open findings (aimsvault findings)\n", len(rows),
		counts[mapping.Covered], counts[mapping.Stale], counts[mapping.Missing], counts[mapping.Manual], withFindings)
	return nil
}

// findingsCell says a control has open findings; "-" when it has none.
func findingsCell(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%d open", n)
}

func (a *app) printPeriod(format string, rows []mapping.PeriodStatus, open map[string]int) error {
	switch format {
	case "json":
		out := make([]periodRow, len(rows))
		for i, r := range rows {
			out[i] = periodRow{r, open[r.Control]}
		}
		return writeJSON(a.stdout, out)
	case "csv":
		w := csv.NewWriter(a.stdout)
		w.Write([]string{"control", "title", "kind", "status", "evidence_count", "newest", "covered_fraction", "gaps", "open_findings"})
		for _, r := range rows {
			w.Write([]string{r.Control, r.Title, r.Kind, string(r.Status), strconv.Itoa(r.EvidenceCount), rfc3339(r.Newest),
				strconv.FormatFloat(r.CoveredFraction, 'f', 4, 64), gapsText(r.Gaps), strconv.Itoa(open[r.Control])})
		}
		w.Flush()
		return w.Error()
	}
	tw := newTable(a.stdout)
	fmt.Fprintln(tw, "CONTROL\tSTATUS\tCOVERED\tGAPS\tFINDINGS\tTITLE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%.0f%%\t%s\t%s\t%s\n", r.Control, r.Status, 100*r.CoveredFraction, gapsText(r.Gaps), findingsCell(open[r.Control]), r.Title)
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
