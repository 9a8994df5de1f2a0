package mapping

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Status is a control's coverage status.
type Status string

const (
	// Covered: some evidence is within its freshness now.
	Covered Status = "covered"
	// Stale: there is evidence, but all of it is older than its freshness.
	Stale Status = "stale"
	// Missing: no evidence, though a configured connector could supply it.
	Missing Status = "missing"
	// Manual: no evidence, and only a document or an upload can supply it with
	// the configured connectors: the compliance team's to-upload list.
	Manual Status = "manual"
)

// Evidence is one vault record, as coverage needs it.
type Evidence struct {
	Kind       string
	Attributes map[string]string
	// Controls are the IDs stored with the record when it was collected: what
	// was signed is what counts. Unknown IDs and headings are ignored.
	Controls []string
	// CollectedAt is when we saw it; EffectiveAt, when set, the time the
	// evidence speaks for (an approval date) and then the evidence time.
	CollectedAt, EffectiveAt time.Time
}

// Time is the evidence time: EffectiveAt if set, else CollectedAt.
func (e Evidence) Time() time.Time {
	if !e.EffectiveAt.IsZero() {
		return e.EffectiveAt
	}
	return e.CollectedAt
}

// ControlStatus is one row of `coverage --format json`.
type ControlStatus struct {
	Control       string     `json:"control"`
	Title         string     `json:"title"`
	Kind          string     `json:"kind"` // KindClause or KindControl
	Status        Status     `json:"status"`
	EvidenceCount int        `json:"evidence_count"`
	Newest        *time.Time `json:"newest"` // newest evidence time, UTC; null when none
	// Sources are the configured sources that could supply this item, in the
	// catalog's order, so the user sees where to look.
	Sources []string `json:"sources,omitempty"`
}

// span is a half-open interval [from, to) during which a control had fresh
// evidence.
type span struct{ from, to time.Time }

// controlState is all coverage keeps per control: a count, the newest time
// and the merged fresh spans. Records are never kept, so memory stays bounded
// whatever the size of the vault.
type controlState struct {
	count  int
	newest time.Time
	spans  []span // sorted, disjoint and non-touching
}

// addSpan merges s into the sorted span list. Evidence re-collected every day
// overlaps the previous day's span, so a steady source keeps one span.
func (st *controlState) addSpan(s span) {
	// i: first span that ends at or after s starts (touching spans merge:
	// no gap lies between them).
	i := sort.Search(len(st.spans), func(k int) bool { return !st.spans[k].to.Before(s.from) })
	j := i
	for j < len(st.spans) && !st.spans[j].from.After(s.to) {
		if st.spans[j].from.Before(s.from) {
			s.from = st.spans[j].from
		}
		if st.spans[j].to.After(s.to) {
			s.to = st.spans[j].to
		}
		j++
	}
	st.spans = slices.Replace(st.spans, i, j, s)
}

// freshAt reports whether t lies inside a fresh span.
func (st *controlState) freshAt(t time.Time) bool {
	i := sort.Search(len(st.spans), func(k int) bool { return st.spans[k].to.After(t) })
	return i < len(st.spans) && !st.spans[i].from.After(t)
}

// Coverage accumulates evidence records, streamed one by one, into the status
// of every requirement item. It is not safe for concurrent use.
type Coverage struct {
	m          *Mapper
	now        time.Time
	configured []string
	reqs       []Entry // the 70 requirement items, catalog order (shared, read-only)
	state      map[string]*controlState
}

// NewCoverage starts a coverage computation as of now. configuredSources are
// the catalog source names of the configured connectors ("files", "github",
// "aws_sagemaker", …); they decide between missing and manual. A nil m means
// the built-in rules.
func NewCoverage(m *Mapper, configuredSources []string, now time.Time) *Coverage {
	if m == nil {
		m = builtinMapper()
	}
	c := &Coverage{m: m, now: now, state: map[string]*controlState{}}
	for _, s := range configuredSources {
		if !slices.Contains(c.configured, s) {
			c.configured = append(c.configured, s)
		}
	}
	for _, e := range loadCatalog().entries {
		if !e.Heading {
			c.reqs = append(c.reqs, e)
			c.state[e.ID] = &controlState{}
		}
	}
	return c
}

// Add counts one record. Each of its controls gets the record's evidence time
// and a fresh span [t, t+freshness), the freshness coming from the rules that
// map the record's kind and attributes to that control.
func (c *Coverage) Add(e Evidence) {
	t := e.Time().UTC()
	for i, id := range e.Controls {
		st, ok := c.state[id]
		if !ok || slices.Contains(e.Controls[:i], id) {
			continue // not a requirement item, or listed twice in one record
		}
		st.count++
		if t.After(st.newest) {
			st.newest = t
		}
		st.addSpan(span{from: t, to: t.Add(c.m.Freshness(e.Kind, e.Attributes, id))})
	}
}

// AddGroup counts count records at once that share e's kind, controls and
// the attributes Mapper.AttributeKeys names (e.Attributes may hold just
// those): newest is the newest evidence time among them and newestAsOf the
// newest not after the coverage's now (zero when none is). For Result it is
// exactly the same as adding each record: a record's span covers now only
// if its time is at or before now, and among those the newest reaches
// furthest, since the group shares one freshness per control. Period needs
// every record's span: feed it with Add only.
func (c *Coverage) AddGroup(e Evidence, count int, newest, newestAsOf time.Time) {
	if count <= 0 {
		return
	}
	newest = newest.UTC()
	for i, id := range e.Controls {
		st, ok := c.state[id]
		if !ok || slices.Contains(e.Controls[:i], id) {
			continue
		}
		st.count += count
		if newest.After(st.newest) {
			st.newest = newest
		}
		if !newestAsOf.IsZero() {
			t := newestAsOf.UTC()
			st.addSpan(span{from: t, to: t.Add(c.m.Freshness(e.Kind, e.Attributes, id))})
		}
	}
}

// Result returns the status of the 70 requirement items in catalog order;
// headings are not listed.
func (c *Coverage) Result() []ControlStatus {
	out := make([]ControlStatus, len(c.reqs))
	for i, e := range c.reqs {
		out[i] = c.status(e)
	}
	return out
}

func (c *Coverage) status(e Entry) ControlStatus {
	st := c.state[e.ID]
	cs := ControlStatus{
		Control: e.ID, Title: e.Title, Kind: e.Kind,
		EvidenceCount: st.count,
	}
	automated := false
	for _, s := range e.Sources {
		if slices.Contains(c.configured, s) {
			cs.Sources = append(cs.Sources, s)
			automated = automated || s != "files"
		}
	}
	switch {
	case st.count > 0 && st.freshAt(c.now):
		cs.Status = Covered
	case st.count > 0:
		cs.Status = Stale
	case automated:
		cs.Status = Missing
	default:
		cs.Status = Manual
	}
	if st.count > 0 {
		newest := st.newest
		cs.Newest = &newest
	}
	return cs
}

// Gap is a stretch of an audit period with no fresh evidence, [From, To).
type Gap struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// PeriodStatus is one row of `coverage --period FROM..TO --format json`: the
// status now, plus the gaps inside the period and the share of it covered.
type PeriodStatus struct {
	ControlStatus
	Gaps            []Gap   `json:"gaps"` // never null: [] when the whole period was covered
	CoveredFraction float64 `json:"covered_fraction"`
}

// Period returns, for each requirement item in catalog order, the parts of the
// period [from, to) in which it had no fresh evidence. Evidence at time t is
// fresh over [t, t+freshness): evidence from before the period can cover its
// start, and a span reaching past now counts, since freshness is a matter of
// the evidence's age. Status stays the status as of now. A period with to not
// after from has no gaps and a covered fraction of 0.
func (c *Coverage) Period(from, to time.Time) []PeriodStatus {
	from, to = from.UTC(), to.UTC()
	out := make([]PeriodStatus, len(c.reqs))
	for i, e := range c.reqs {
		ps := PeriodStatus{ControlStatus: c.status(e), Gaps: []Gap{}}
		if to.After(from) {
			ps.Gaps, ps.CoveredFraction = gaps(c.state[e.ID].spans, from, to)
		}
		out[i] = ps
	}
	return out
}

// gaps subtracts the fresh spans from [from, to).
func gaps(spans []span, from, to time.Time) ([]Gap, float64) {
	out := []Gap{}
	var missing time.Duration
	cursor := from
	for _, s := range spans {
		if !s.to.After(cursor) {
			continue
		}
		if !s.from.Before(to) {
			break
		}
		if s.from.After(cursor) {
			out = append(out, Gap{From: cursor, To: s.from})
			missing += s.from.Sub(cursor)
		}
		cursor = s.to
	}
	if cursor.Before(to) {
		out = append(out, Gap{From: cursor, To: to})
		missing += to.Sub(cursor)
	}
	total := to.Sub(from)
	return out, float64(total-missing) / float64(total)
}

// ParsePeriod parses `--period FROM..TO`. Each side is a date (2026-01-01,
// UTC) or an RFC 3339 time. Dates are inclusive: a date as TO means the end of
// that day, returned as the instant it ends (the next midnight), since periods
// are half-open [from, to). from must be before to.
func ParsePeriod(s string) (from, to time.Time, err error) {
	const want = "want FROM..TO with dates (2026-01-01..2026-06-30) or RFC 3339 times"
	a, b, ok := strings.Cut(s, "..")
	if !ok {
		return time.Time{}, time.Time{}, fmt.Errorf("period %q: no \"..\": %s", s, want)
	}
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == "" || b == "" {
		return time.Time{}, time.Time{}, fmt.Errorf("period %q: FROM and TO are both required: %s", s, want)
	}
	from, fromErr := parsePeriodEnd(a, false)
	to, toErr := parsePeriodEnd(b, true)
	if err := errors.Join(fromErr, toErr); err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("period %q: %w: %s", s, err, want)
	}
	if !from.Before(to) {
		return time.Time{}, time.Time{}, fmt.Errorf("period %q: FROM %s is not before TO %s",
			s, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return from, to, nil
}

func parsePeriodEnd(v string, isEnd bool) (time.Time, error) {
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		if isEnd {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		which := "FROM"
		if isEnd {
			which = "TO"
		}
		return time.Time{}, fmt.Errorf("%s %q is neither a date nor an RFC 3339 time", which, v)
	}
	return t.UTC(), nil
}
