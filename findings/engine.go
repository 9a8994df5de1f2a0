// Package findings is the findings engine: built-in, data-driven checks over
// the latest evidence, each tied to ISO/IEC 42001 controls, with a severity
// and the ids of the records it rests on, so an auditor can check the
// reasoning. Findings are derived: they are recomputed from the vault
// whenever asked for and never written into the evidence.
//
// The package is pure. Records stream in through Engine.Add; the engine
// keeps only the latest record of each subject of the kinds its checks read
// (memory grows with subjects, not with records).
package findings

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aimsvault/aimsvault/inventory"
)

// Finding is one open finding: the `aimsvault findings --format json` shape.
type Finding struct {
	// ID is stable across runs while the finding stays open: check:subject.
	ID       string   `json:"id"`
	Check    string   `json:"check"`
	Title    string   `json:"title"`
	Severity Severity `json:"severity"`
	Controls []string `json:"controls"`
	// Systems are the AI systems the evidence belongs to; [] when none.
	Systems []string `json:"systems"`
	// Subject is what the finding is about: the records' subject, or
	// "system/<id>" for a finding about a whole system.
	Subject string `json:"subject"`
	Kind    string `json:"kind,omitempty"` // the subject's evidence kind
	Detail  string `json:"detail"`
	// Records are the ids of the records the finding rests on (for a
	// missing thing, the records that made it required); [] when the
	// finding is an absence with nothing to point at.
	Records []string `json:"records"`
	// Due is when an overdue item fell due.
	Due *time.Time `json:"due,omitempty"`
}

type compiledCheck struct {
	Check
	sel, req, when []compiled
}

func compile(c Check) (compiledCheck, error) {
	cc := compiledCheck{Check: c}
	var errs []error
	comp := func(what string, ms []Match) []compiled {
		var out []compiled
		for _, m := range ms {
			x, err := compileMatch(m)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", what, err))
			}
			out = append(out, x)
		}
		return out
	}
	cc.sel, cc.req, cc.when = comp("select", c.Select), comp("require", c.Require), comp("when", c.When)
	switch c.Type {
	case State, Overdue:
		if len(cc.sel) == 0 {
			errs = append(errs, errors.New("no kind to select"))
		}
	case Requires:
		if len(cc.sel) == 0 || len(cc.req) == 0 || c.Key == "" {
			errs = append(errs, errors.New("a requires check needs select, require and key"))
		}
	case SystemRequires:
		if len(cc.req) == 0 {
			errs = append(errs, errors.New("a system_requires check needs require"))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown type %q", c.Type))
	}
	if c.Type == Overdue && c.SLA <= 0 && c.Due == "" {
		errs = append(errs, errors.New("an overdue check needs an sla"))
	}
	return cc, errors.Join(errs...)
}

func anyMatch(ms []compiled, e *entry) bool {
	for i := range ms {
		if ms[i].matches(e.kind, e.attrs) {
			return true
		}
	}
	return false
}

func anyKind(ms []compiled, kind string) bool {
	for i := range ms {
		if ms[i].kindMatches(kind) {
			return true
		}
	}
	return false
}

// entry is the latest record of one subject.
type entry struct {
	id, kind, subject string
	attrs             map[string]string
	collected         time.Time
	first             time.Time // when the subject was first seen
	systems           []string
}

// Engine evaluates checks over streamed records. It is not safe for
// concurrent use.
type Engine struct {
	checks  []compiledCheck
	systems []inventory.System
	now     time.Time
	latest  map[[2]string]*entry
}

// New returns an engine for checks (from Checks) as of now; systems are the
// declared AI systems, which system checks run over.
func New(checks []Check, systems []inventory.System, now time.Time) (*Engine, error) {
	e := &Engine{systems: systems, now: now, latest: map[[2]string]*entry{}}
	for _, c := range checks {
		cc, err := compile(c)
		if err != nil {
			return nil, fmt.Errorf("check %s: %w", c.ID, err)
		}
		e.checks = append(e.checks, cc)
	}
	return e, nil
}

// Wants reports whether some check reads records of this kind; the caller
// may skip reading content for the others.
func (e *Engine) Wants(kind string) bool {
	for i := range e.checks {
		c := &e.checks[i]
		if anyKind(c.sel, kind) || anyKind(c.req, kind) || anyKind(c.when, kind) {
			return true
		}
	}
	return false
}

// Add takes one record, in log order, with the systems it belongs to. The
// engine keeps it (not a copy of its attributes) only if it is the latest of
// its subject and some check reads its kind.
func (e *Engine) Add(it *inventory.Item, systems []string) {
	if !e.Wants(it.Kind) {
		return
	}
	k := [2]string{it.Kind, it.Subject}
	prev := e.latest[k]
	first := it.CollectedAt
	if prev != nil {
		if prev.first.Before(first) {
			first = prev.first
		}
		if it.CollectedAt.Before(prev.collected) {
			prev.first = first
			return
		}
	}
	e.latest[k] = &entry{id: it.ID, kind: it.Kind, subject: it.Subject, attrs: it.Attributes,
		collected: it.CollectedAt, first: first, systems: systems}
}

func (e *Engine) fresh(c *compiledCheck, en *entry) bool {
	return c.MaxAge <= 0 || e.now.Sub(en.collected) <= c.MaxAge
}

// Findings evaluates every check over the latest records and returns the
// open findings: most severe first, then by check and subject.
func (e *Engine) Findings() []Finding {
	entries := make([]*entry, 0, len(e.latest))
	for _, en := range e.latest {
		entries = append(entries, en)
	}
	slices.SortFunc(entries, func(a, b *entry) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.subject, b.subject))
	})
	out := []Finding{}
	for i := range e.checks {
		c := &e.checks[i]
		switch c.Type {
		case State, Overdue:
			for _, en := range entries {
				if !e.fresh(c, en) || !anyMatch(c.sel, en) {
					continue
				}
				f := e.finding(c, en, describe(c.sel, en))
				if c.Type == Overdue {
					due, how := e.due(c, en)
					if !e.now.After(due) {
						continue
					}
					f.Due = &due
					f.Detail += fmt.Sprintf("; due %s (%s), %d days over", due.Format(time.DateOnly), how, int(e.now.Sub(due)/day))
				}
				out = append(out, f)
			}
		case Requires:
			have := map[string]bool{}
			for _, en := range entries {
				if e.fresh(c, en) && anyMatch(c.req, en) {
					if v := strings.ToLower(keyOf(en, c.Key)); v != "" {
						have[v] = true
					}
				}
			}
			for _, en := range entries {
				if !e.fresh(c, en) || !anyMatch(c.sel, en) {
					continue
				}
				v := keyOf(en, c.Key)
				if v != "" && have[strings.ToLower(v)] {
					continue
				}
				out = append(out, e.finding(c, en, fmt.Sprintf("%s %s (%s=%q): no %s with %s=%q", en.kind, en.subject, c.Key, v, matchText(c.req), c.Key, v)))
			}
		case SystemRequires:
			out = append(out, e.systemFindings(c, entries)...)
		}
	}
	slices.SortStableFunc(out, func(a, b Finding) int {
		return cmp.Or(b.Severity.rank()-a.Severity.rank(), cmp.Compare(a.Check, b.Check), cmp.Compare(a.Subject, b.Subject))
	})
	return out
}

// keyOf is the join key of a record: the attribute, or for "endpoint" the
// endpoint name a SageMaker endpoint's ARN subject ends in (its record has
// no such attribute).
func keyOf(en *entry, key string) string {
	if v := en.attrs[key]; v != "" || key != "endpoint" {
		return v
	}
	return inventory.EndpointName(&inventory.Item{Kind: en.kind, Subject: en.subject, Attributes: en.attrs})
}

func (e *Engine) finding(c *compiledCheck, en *entry, detail string) Finding {
	return Finding{
		ID: c.ID + ":" + en.subject, Check: c.ID, Title: c.Title, Severity: c.Severity,
		Controls: slices.Clone(c.Controls), Systems: nonNil(en.systems), Subject: en.subject, Kind: en.kind,
		Detail: detail, Records: []string{en.id},
	}
}

// due is when an overdue item fell due, and how that was decided.
func (e *Engine) due(c *compiledCheck, en *entry) (time.Time, string) {
	if c.Due != "" {
		if t, ok := inventory.ParseTime(en.attrs[c.Due]); ok {
			if len(strings.TrimSpace(en.attrs[c.Due])) == len(time.DateOnly) {
				t = t.Add(day) // a due date is due by the end of that day
			}
			return t, c.Due
		}
	}
	start, how := en.first, "first seen"
	if c.Start != "" {
		if t, ok := inventory.ParseTime(en.attrs[c.Start]); ok {
			start, how = t, c.Start
		}
	}
	return start.Add(c.SLA), fmt.Sprintf("%s %s + sla %s", how, start.Format(time.DateOnly), durText(c.SLA))
}

// maxRecordsPerFinding bounds the record ids a system finding lists.
const maxRecordsPerFinding = 50

func (e *Engine) systemFindings(c *compiledCheck, entries []*entry) []Finding {
	type scope struct {
		id   string // "" = evidence of no declared system
		when []string
		have bool
	}
	var scopes []*scope
	byID := map[string]*scope{}
	for _, s := range e.systems {
		if len(c.when) == 0 && s.Lifecycle == "retired" {
			continue
		}
		sc := &scope{id: s.ID}
		scopes = append(scopes, sc)
		byID[s.ID] = sc
	}
	if len(c.when) > 0 {
		sc := &scope{}
		scopes = append(scopes, sc)
		byID[""] = sc
	}
	for _, en := range entries {
		if !e.fresh(c, en) {
			continue
		}
		ids := en.systems
		if len(ids) == 0 {
			ids = []string{""}
		}
		for _, id := range ids {
			sc := byID[id]
			if sc == nil {
				continue
			}
			if anyMatch(c.req, en) {
				sc.have = true
			}
			if anyMatch(c.when, en) {
				sc.when = append(sc.when, en.id)
			}
		}
	}
	var out []Finding
	for _, sc := range scopes {
		if sc.have || (len(c.when) > 0 && len(sc.when) == 0) {
			continue
		}
		f := Finding{Check: c.ID, Title: c.Title, Severity: c.Severity, Controls: slices.Clone(c.Controls),
			Systems: []string{}, Records: []string{}}
		if sc.id == "" {
			f.Subject = "system/(none)"
			f.Detail = fmt.Sprintf("%d records of %s belong to no declared system, and no %s does either", len(sc.when), matchText(c.when), matchText(c.req))
		} else {
			f.Subject = "system/" + sc.id
			f.Systems = []string{sc.id}
			if len(c.when) > 0 {
				f.Detail = fmt.Sprintf("AI system %s has %d records of %s but no %s", sc.id, len(sc.when), matchText(c.when), matchText(c.req))
			} else {
				f.Detail = fmt.Sprintf("AI system %s has no %s linked to it", sc.id, matchText(c.req))
			}
		}
		f.ID = c.ID + ":" + f.Subject
		if len(sc.when) > maxRecordsPerFinding {
			f.Detail += fmt.Sprintf(" (the first %d records are listed)", maxRecordsPerFinding)
			sc.when = sc.when[:maxRecordsPerFinding]
		}
		f.Records = append(f.Records, sc.when...)
		out = append(out, f)
	}
	return out
}

// describe says what the latest record shows: its kind, subject and the
// attributes the check looked at.
func describe(ms []compiled, en *entry) string {
	var keys []string
	for i := range ms {
		if ms[i].kindMatches(en.kind) {
			for k := range ms[i].where {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v, ok := en.attrs[k]
		if !ok {
			v = "(absent)"
		}
		parts = append(parts, k+"="+v)
	}
	return fmt.Sprintf("%s %s: %s", en.kind, en.subject, strings.Join(parts, ", "))
}

func matchText(ms []compiled) string {
	var parts []string
	for _, m := range ms {
		s := strings.Join(m.kinds, " or ")
		var conds []string
		for k := range m.where {
			conds = append(conds, k)
		}
		slices.Sort(conds)
		if len(conds) > 0 {
			s += " (matching " + strings.Join(conds, ", ") + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", or ")
}

func durText(d time.Duration) string {
	if d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

// Select keeps the findings that name system (when not "") and any of
// controls (when not empty).
func Select(fs []Finding, system string, controls []string) []Finding {
	out := []Finding{}
	for _, f := range fs {
		if system != "" && !slices.Contains(f.Systems, system) {
			continue
		}
		if len(controls) > 0 && !slices.ContainsFunc(f.Controls, func(c string) bool { return slices.Contains(controls, c) }) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// ByControl counts open findings per control.
func ByControl(fs []Finding) map[string]int {
	out := map[string]int{}
	for _, f := range fs {
		for _, c := range f.Controls {
			out[c]++
		}
	}
	return out
}

// BySystem counts open findings per system.
func BySystem(fs []Finding) map[string]int {
	out := map[string]int{}
	for _, f := range fs {
		for _, s := range f.Systems {
			out[s]++
		}
	}
	return out
}
