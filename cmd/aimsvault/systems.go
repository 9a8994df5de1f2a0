package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/findings"
	"github.com/aimsvault/aimsvault/inventory"
)

// inventory builds the AI system inventory from the config.
func (a *app) inventory() (*inventory.Inventory, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	systems := make([]inventory.System, len(cfg.AISystems))
	for i, s := range cfg.AISystems {
		m := s.Match
		systems[i] = inventory.System{ID: s.ID, Name: s.Name, Owner: s.Owner, RiskLevel: s.RiskLevel, Lifecycle: s.Lifecycle,
			Match: inventory.Matchers{
				GitHubRepos: m.GitHub.Repos, GitHubTopics: m.GitHub.Topics,
				SageMakerModelPackageGroups: m.SageMaker.ModelPackageGroups, SageMakerEndpointPrefixes: m.SageMaker.EndpointPrefixes,
				BedrockCustomModels: m.Bedrock.CustomModels, BedrockGuardrails: m.Bedrock.Guardrails,
				JiraProjects: m.Jira.Projects, JiraLabels: m.Jira.Labels,
				Files: m.Files.Paths,
			}}
	}
	inv, err := inventory.New(systems)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.configPath, err)
	}
	return inv, nil
}

// findingChecks returns the built-in checks as the config tunes them, plus
// the config's own.
func (a *app) findingChecks() ([]findings.Check, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	specs := make([]findings.Spec, len(cfg.Findings.Checks))
	for i, c := range cfg.Findings.Checks {
		specs[i] = findings.Spec{ID: c.ID, Disabled: c.Enabled != nil && !*c.Enabled, Title: c.Title, Kind: c.Kind,
			Where: c.Where, Controls: c.Controls, Severity: findings.Severity(c.Severity),
			MaxAge: c.MaxAge.Duration(), SLA: c.SLA.Duration()}
	}
	checks, err := findings.Checks(specs)
	if err != nil {
		// The loader checked the same things with lines; name the line anyway.
		return nil, specLines(cfg, err)
	}
	return checks, nil
}

func specLines(cfg *config.Config, err error) error {
	var list []*config.Error
	for _, e := range splitJoined(err) {
		ce := &config.Error{File: cfg.File, Msg: e.Error()}
		if se, ok := e.(*findings.SpecError); ok && se.Index < len(cfg.Findings.Checks) {
			ce.Line = cfg.Findings.Checks[se.Index].Line
			ce.Key = fmt.Sprintf("findings.checks[%d]", se.Index)
			ce.Msg = se.Err.Error()
		}
		list = append(list, ce)
	}
	return &config.Errors{File: cfg.File, List: list}
}

func splitJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// checkSystem refuses a --system that the config does not declare.
func checkSystem(inv *inventory.Inventory, id string) error {
	if id == "" {
		return nil
	}
	if _, ok := inv.System(id); ok {
		return nil
	}
	var ids []string
	for _, s := range inv.Systems() {
		ids = append(ids, s.ID)
	}
	if len(ids) == 0 {
		return fmt.Errorf("--system %s: the config declares no AI systems: add an ai_systems: section (see config.example.yaml)", id)
	}
	return fmt.Errorf("--system %s: no such AI system in the config (declared: %s)", id, strings.Join(ids, ", "))
}

// scanner streams records once for everything read-time reasoning needs:
// system membership, the systems tally and the findings engine. Content is
// read only for kinds a check or a topic matcher needs, and only up to
// inventory.MaxContent, so memory stays bounded.
type scanner struct {
	v       *evidence.Vault
	inv     *inventory.Inventory
	engine  *findings.Engine // nil: no findings wanted
	tally   *inventory.Tally // nil: no tally wanted
	below   int64            // > 0: only records a checkpoint of this size covers
	cache   map[evidence.Digest]map[string]string
	primed  bool
	onEntry func(r *evidence.Record, it *inventory.Item, systems []string) error
}

// maxCached bounds the derived-attribute cache (entries are small).
const maxCached = 8192

func (a *app) newScanner(v *evidence.Vault) (*scanner, error) {
	inv, err := a.inventory()
	if err != nil {
		return nil, err
	}
	return &scanner{v: v, inv: inv, cache: map[evidence.Digest]map[string]string{}}, nil
}

// withFindings adds the findings engine as of now.
func (a *app) withFindings(s *scanner, now time.Time) error {
	checks, err := a.findingChecks()
	if err != nil {
		return err
	}
	s.engine, err = findings.New(checks, s.inv.Systems(), now)
	return err
}

func (s *scanner) item(ctx context.Context, r *evidence.Record, content bool) (*inventory.Item, error) {
	it := &inventory.Item{ID: r.ID, Connector: r.Connector, Kind: r.Kind, Subject: r.Subject,
		Attributes: r.Attributes, CollectedAt: r.CollectedAt}
	if it.Attributes == nil {
		it.Attributes = map[string]string{}
	}
	if r.EffectiveAt != nil {
		it.EffectiveAt = *r.EffectiveAt
	}
	if !content || !inventory.ContentKinds(r.Kind) || r.Size > inventory.MaxContent {
		return it, nil
	}
	derived, ok := s.cache[r.SHA256]
	if !ok {
		rc, _, err := s.v.OpenContent(ctx, r.SHA256)
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", r.ID, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, inventory.MaxContent+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("record %s: %w: run `aimsvault verify`", r.ID, err)
		}
		derived = inventory.ContentAttributes(r.Kind, b)
		if len(s.cache) >= maxCached {
			clear(s.cache)
		}
		s.cache[r.SHA256] = derived
	}
	if len(derived) > 0 {
		attrs := make(map[string]string, len(it.Attributes)+len(derived))
		for k, v := range derived {
			attrs[k] = v
		}
		for k, v := range it.Attributes {
			attrs[k] = v // what the record says wins
		}
		it.Attributes = attrs
	}
	return it, nil
}

// prime learns repositories' topics when a system is matched by them, so
// that linking is the same whatever a later filter selects.
func (s *scanner) prime(ctx context.Context) error {
	if s.primed || !s.inv.UsesTopics() {
		s.primed = true
		return nil
	}
	s.primed = true
	return s.v.Records(ctx, evidence.Filter{Kinds: []string{"github.repository"}, Below: s.below}, func(r *evidence.Record) error {
		it, err := s.item(ctx, r, true)
		if err != nil {
			return err
		}
		s.inv.LearnTopics(it)
		return nil
	})
}

// link returns the systems record r belongs to (after prime).
func (s *scanner) link(r *evidence.Record) []string {
	it := &inventory.Item{Kind: r.Kind, Subject: r.Subject, Attributes: r.Attributes}
	return s.inv.Link(it)
}

// matchSystem is a Filter.Match selecting the records of one system.
func (s *scanner) matchSystem(id string) func(*evidence.Record) bool {
	return func(r *evidence.Record) bool { return slices.Contains(s.link(r), id) }
}

// run streams the records f selects through the tally, the engine and
// onEntry.
func (s *scanner) run(ctx context.Context, f evidence.Filter) error {
	if err := s.prime(ctx); err != nil {
		return err
	}
	if s.below > 0 {
		f.Below = s.below
	}
	return s.v.Records(ctx, f, func(r *evidence.Record) error {
		it, err := s.item(ctx, r, s.engine != nil && s.engine.Wants(r.Kind))
		if err != nil {
			return err
		}
		systems := s.inv.Link(it)
		if s.engine != nil {
			s.engine.Add(it, systems)
		}
		if s.tally != nil {
			s.tally.Add(it, systems)
		}
		if s.onEntry != nil {
			return s.onEntry(r, it, systems)
		}
		return nil
	})
}

// openFindings computes the open findings over the whole vault as of now
// (below > 0: over the records a checkpoint of that size covers).
func (a *app) openFindings(ctx context.Context, v *evidence.Vault, now time.Time, below int64) ([]findings.Finding, error) {
	s, err := a.newScanner(v)
	if err != nil {
		return nil, err
	}
	s.below = below
	if err := a.withFindings(s, now); err != nil {
		return nil, err
	}
	if err := s.run(ctx, evidence.Filter{}); err != nil {
		return nil, err
	}
	return s.engine.Findings(), nil
}

func (a *app) systemsCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "systems",
		Short: "The AI system inventory: declared systems, their evidence and open findings, and undeclared ones",
		Long: `The AI system inventory (ISO/IEC 42001 4.3 scope, A.4 resources): each system
the config's ai_systems: section declares, with its owner, risk level, life
cycle stage, the evidence linked to it (by source), when its newest evidence
is from, and its open findings.

Evidence that looks like an AI system of its own (a SageMaker endpoint or model
package group, a Bedrock custom model, a GitHub repository with a model card)
but matches no declared system is listed as undeclared: shadow AI the scope
statement misses. Membership is computed from the config's matchers each time;
records are never rewritten.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			s, err := a.newScanner(v)
			if err != nil {
				return err
			}
			if err := a.withFindings(s, time.Now()); err != nil {
				return err
			}
			s.tally = s.inv.NewTally()
			if err := s.run(cmd.Context(), evidence.Filter{}); err != nil {
				return err
			}
			rows := s.tally.Systems(findings.BySystem(s.engine.Findings()))
			undeclared := s.tally.Undeclared()
			if format == "json" {
				return writeJSON(a.stdout, struct {
					Systems    []inventory.SystemStatus `json:"systems"`
					Undeclared []inventory.Undeclared   `json:"undeclared"`
				}{rows, undeclared})
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "SYSTEM\tRISK\tLIFECYCLE\tOWNER\tEVIDENCE\tLAST EVIDENCE\tFINDINGS\tNAME")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.ID, r.RiskLevel, r.Lifecycle, r.Owner,
					bySourceText(r.EvidenceCount, r.BySource), shortTime(r.LastEvidence), r.OpenFindings, r.Name)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(rows) == 0 {
				fmt.Fprintln(a.stdout, "\nNo AI systems declared: add an ai_systems: section to the config (see config.example.yaml).")
			}
			if len(undeclared) == 0 {
				fmt.Fprintln(a.stdout, "\nNo undeclared AI systems found.")
				return nil
			}
			fmt.Fprintf(a.stdout, "\n%d undeclared (evidence of an AI system that no ai_systems entry matches):\n", len(undeclared))
			tw = newTable(a.stdout)
			fmt.Fprintln(tw, "KIND\tNAME\tCONNECTOR\tEVIDENCE\tLAST SEEN\tRECORD")
			for _, u := range undeclared {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", u.Kind, u.Name, u.Connector, u.EvidenceCount, shortTime(&u.LastSeen), u.Record)
			}
			return tw.Flush()
		},
	}
	formatFlag(cmd, &format, "table", "json")
	return cmd
}

func bySourceText(total int, by map[string]int) string {
	if total == 0 {
		return "0"
	}
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, by[k])
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, ", "))
}

func (a *app) findingsCommand() *cobra.Command {
	var (
		format, system string
		controls       []string
		listChecks     bool
	)
	cmd := &cobra.Command{
		Use:   "findings [--system ID] [--control ID]...",
		Short: "Open findings: where the evidence shows a control not met",
		Long: `Open findings, computed now from the latest evidence by data-driven checks.
Each names its check, severity, the controls it bears on, the AI systems
involved and the records it rests on (see them with aimsvault evidence show
ID). Findings are derived: they are never written into the evidence.

--checks lists the checks in force (built-in ones as the config tunes them,
and the config's own); the config's findings.checks section turns checks off,
tunes their conditions, severity, max_age and sla, and adds checks.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if listChecks {
				checks, err := a.findingChecks()
				if err != nil {
					return err
				}
				return a.printChecks(format, checks)
			}
			ids, err := expandControls(controls)
			if err != nil {
				return err
			}
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			inv, err := a.inventory()
			if err != nil {
				return err
			}
			if err := checkSystem(inv, system); err != nil {
				return err
			}
			all, err := a.openFindings(cmd.Context(), v, time.Now(), 0)
			if err != nil {
				return err
			}
			fs := findings.Select(all, system, ids)
			if format == "json" {
				return writeJSON(a.stdout, fs)
			}
			if len(fs) == 0 {
				fmt.Fprintln(a.stdout, "No open findings.")
				return nil
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "SEVERITY\tCHECK\tCONTROLS\tSYSTEMS\tSUBJECT\tRECORDS")
			for _, f := range fs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Severity, f.Check, strings.Join(f.Controls, ","),
					dash(strings.Join(f.Systems, ",")), f.Subject, dash(recordsText(f.Records)))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			counts := map[findings.Severity]int{}
			for _, f := range fs {
				counts[f.Severity]++
			}
			fmt.Fprintf(a.stdout, "\n%d open findings: %d critical, %d high, %d medium, %d low (details: --format json)\n", len(fs),
				counts[findings.Critical], counts[findings.High], counts[findings.Medium], counts[findings.Low])
			return nil
		},
	}
	cmd.Flags().StringVar(&system, "system", "", "only findings about this AI system (an ai_systems id)")
	cmd.Flags().StringSliceVar(&controls, "control", nil, "only findings bearing on this control (repeatable; A.6 selects its controls)")
	cmd.Flags().BoolVar(&listChecks, "checks", false, "list the checks in force instead")
	formatFlag(cmd, &format, "table", "json")
	return cmd
}

func recordsText(ids []string) string {
	if len(ids) <= 2 {
		return strings.Join(ids, ",")
	}
	return fmt.Sprintf("%s,%s (+%d)", ids[0], ids[1], len(ids)-2)
}

// checkRow is one row of `findings --checks --format json`.
type checkRow struct {
	ID       string            `json:"id"`
	Title    string            `json:"title"`
	Type     findings.Type     `json:"type"`
	Severity findings.Severity `json:"severity"`
	Controls []string          `json:"controls"`
	Select   []matchRow        `json:"select,omitempty"`
	Require  []matchRow        `json:"require,omitempty"`
	When     []matchRow        `json:"when,omitempty"`
	Key      string            `json:"key,omitempty"`
	Start    string            `json:"start,omitempty"`
	Due      string            `json:"due,omitempty"`
	SLA      string            `json:"sla,omitempty"`
	MaxAge   string            `json:"max_age,omitempty"`
}

type matchRow struct {
	Kinds []string          `json:"kinds"`
	Where map[string]string `json:"where,omitempty"`
}

func matchRows(ms []findings.Match) []matchRow {
	var out []matchRow
	for _, m := range ms {
		out = append(out, matchRow{Kinds: m.Kinds, Where: m.Where})
	}
	return out
}

func durationText(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return config.Duration(d).String()
}

func (a *app) printChecks(format string, checks []findings.Check) error {
	rows := make([]checkRow, len(checks))
	for i, c := range checks {
		rows[i] = checkRow{ID: c.ID, Title: c.Title, Type: c.Type, Severity: c.Severity, Controls: c.Controls,
			Select: matchRows(c.Select), Require: matchRows(c.Require), When: matchRows(c.When),
			Key: c.Key, Start: c.Start, Due: c.Due, SLA: durationText(c.SLA), MaxAge: durationText(c.MaxAge)}
	}
	if format == "json" {
		return writeJSON(a.stdout, rows)
	}
	tw := newTable(a.stdout)
	fmt.Fprintln(tw, "CHECK\tTYPE\tSEVERITY\tCONTROLS\tTITLE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Type, r.Severity, strings.Join(r.Controls, ","), r.Title)
	}
	return tw.Flush()
}
