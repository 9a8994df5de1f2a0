package mapping

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var now = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func daysAgo(n int) time.Time { return now.AddDate(0, 0, -n) }

func statusOf(t *testing.T, rows []ControlStatus, id string) ControlStatus {
	t.Helper()
	for _, r := range rows {
		if r.Control == id {
			return r
		}
	}
	t.Fatalf("control %s not in coverage", id)
	return ControlStatus{}
}

func TestCoverage_StatusTransitions(t *testing.T) {
	t.Parallel()
	c := NewCoverage(nil, []string{"files", "github"}, now)
	rows := c.Result()
	for id, want := range map[string]Status{
		"4.1":     Manual,  // files only
		"A.6.2.5": Missing, // github could supply it
		"8.1":     Missing,
		"7.3":     Manual, // hr_training not configured
		"A.6.2.6": Manual, // sagemaker, bedrock, jira not configured
	} {
		if got := statusOf(t, rows, id).Status; got != want {
			t.Errorf("before evidence: %s is %s, want %s", id, got, want)
		}
	}
	if got := statusOf(t, rows, "A.6.2.5").Sources; !cmp.Equal(got, []string{"github"}) {
		t.Errorf("A.6.2.5 sources = %v, want the configured one, github", got)
	}

	c.Add(Evidence{Kind: "file.context_analysis", CollectedAt: daysAgo(10)})
	c.Add(Evidence{Kind: "github.branch_protection", Controls: []string{"7.5.3", "8.1", "A.6.1.3"}, CollectedAt: daysAgo(40)})
	rows = c.Result()
	if got := statusOf(t, rows, "4.1"); got.Status != Manual || got.EvidenceCount != 0 {
		t.Errorf("coverage must use the record's Controls, not re-map its kind: 4.1 = %+v", got)
	}
	if got := statusOf(t, rows, "8.1"); got.Status != Stale || got.EvidenceCount != 1 || !got.Newest.Equal(daysAgo(40)) {
		t.Errorf("40-day-old branch protection (30-day freshness): 8.1 = %+v, want stale", got)
	}

	c.Add(Evidence{Kind: "file.context_analysis", Controls: []string{"4.1"}, CollectedAt: daysAgo(10)})
	c.Add(Evidence{Kind: "github.branch_protection", Controls: []string{"7.5.3", "8.1", "A.6.1.3"}, CollectedAt: daysAgo(5)})
	rows = c.Result()
	if got := statusOf(t, rows, "4.1"); got.Status != Covered || got.EvidenceCount != 1 {
		t.Errorf("manual item once a document lands: 4.1 = %+v, want covered", got)
	}
	got := statusOf(t, rows, "8.1")
	if got.Status != Covered || got.EvidenceCount != 2 || got.Newest == nil || !got.Newest.Equal(daysAgo(5)) {
		t.Errorf("8.1 = %+v, want covered, 2 records, newest 5 days ago", got)
	}
}

func TestCoverage_MissingNeedsANonFilesSource(t *testing.T) {
	t.Parallel()
	// A.6.2.5 lists aws_sagemaker, github and jira; A.8.5 lists only files.
	for _, tc := range []struct {
		configured []string
		a625, a85  Status
	}{
		{nil, Manual, Manual},
		{[]string{"files"}, Manual, Manual},
		{[]string{"files", "hr_training"}, Manual, Manual},
		{[]string{"files", "jira"}, Missing, Manual},
		{[]string{"aws_sagemaker"}, Missing, Manual},
	} {
		rows := NewCoverage(nil, tc.configured, now).Result()
		if got := statusOf(t, rows, "A.6.2.5").Status; got != tc.a625 {
			t.Errorf("configured %v: A.6.2.5 is %s, want %s", tc.configured, got, tc.a625)
		}
		if got := statusOf(t, rows, "A.8.5").Status; got != tc.a85 {
			t.Errorf("configured %v: A.8.5 is %s, want %s", tc.configured, got, tc.a85)
		}
	}
	rows := NewCoverage(nil, []string{"files", "jira", "files"}, now).Result()
	if got := statusOf(t, rows, "A.8.5").Sources; !cmp.Equal(got, []string{"files"}) {
		t.Errorf("A.8.5 sources = %v, want [files]", got)
	}
	if got := statusOf(t, rows, "A.6.2.5").Sources; !cmp.Equal(got, []string{"jira"}) {
		t.Errorf("A.6.2.5 sources = %v, want [jira]", got)
	}
}

func TestCoverage_EffectiveAtWins(t *testing.T) {
	t.Parallel()
	policy := Evidence{Kind: "file.ai_policy", Controls: []string{"5.2", "A.2.2"}, CollectedAt: daysAgo(1)}
	c := NewCoverage(nil, []string{"files"}, now)
	c.Add(policy)
	if got := statusOf(t, c.Result(), "5.2"); got.Status != Covered {
		t.Fatalf("policy collected yesterday: 5.2 = %+v, want covered", got)
	}

	// Collected yesterday, but approved 400 days ago: a year-old policy is stale.
	policy.EffectiveAt = daysAgo(400)
	c = NewCoverage(nil, []string{"files"}, now)
	c.Add(policy)
	got := statusOf(t, c.Result(), "5.2")
	if got.Status != Stale || !got.Newest.Equal(daysAgo(400)) {
		t.Errorf("policy effective 400 days ago: 5.2 = %+v, want stale with newest = effective_at", got)
	}
}

func TestCoverage_ListsRequirementsOnly(t *testing.T) {
	t.Parallel()
	c := NewCoverage(nil, nil, now)
	c.Add(Evidence{Kind: "manual.upload", Controls: []string{"9.3", "A.99", "9.3.1", "9.3.1"}, CollectedAt: daysAgo(1)})
	rows := c.Result()
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.Control)
	}
	var want []string
	for _, e := range Requirements() {
		want = append(want, e.ID)
	}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("coverage rows (-want +got):\n%s", diff)
	}
	if got := statusOf(t, rows, "9.3.1"); got.EvidenceCount != 1 || got.Status != Covered {
		t.Errorf("9.3.1 = %+v, want one record (listed twice in it), covered", got)
	}
}

func TestControlStatus_JSON(t *testing.T) {
	t.Parallel()
	c := NewCoverage(nil, []string{"files"}, now)
	c.Add(Evidence{Kind: "file.ai_policy", Controls: []string{"5.2"}, CollectedAt: time.Date(2026, 11, 1, 9, 0, 0, 0, time.FixedZone("CET", 3600))})
	rows := c.Result()
	got, err := json.Marshal([]ControlStatus{statusOf(t, rows, "4.1"), statusOf(t, rows, "5.2")})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"control":"4.1","title":"Understanding the organization and its context","kind":"clause","status":"manual","evidence_count":0,"newest":null,"sources":["files"]},` +
		`{"control":"5.2","title":"AI policy","kind":"clause","status":"covered","evidence_count":1,"newest":"2026-11-01T08:00:00Z","sources":["files"]}]`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func periodOf(t *testing.T, rows []PeriodStatus, id string) PeriodStatus {
	t.Helper()
	for _, r := range rows {
		if r.Control == id {
			return r
		}
	}
	t.Fatalf("control %s not in period coverage", id)
	return PeriodStatus{}
}

func TestPeriod_GapsBetweenSpans(t *testing.T) {
	t.Parallel()
	from, to, err := ParsePeriod("2026-01-01..2026-06-30")
	if err != nil {
		t.Fatal(err)
	}
	c := NewCoverage(nil, []string{"github"}, now)
	// Branch protection is fresh for 30 days. The first reading, from before
	// the period, covers 2026-01-01..01-19; the second 03-01..03-31.
	bp := func(at time.Time) Evidence {
		return Evidence{Kind: "github.branch_protection", Controls: []string{"8.1"}, CollectedAt: at}
	}
	c.Add(bp(date(2026, 3, 1)))
	c.Add(bp(date(2025, 12, 20)))
	got := periodOf(t, c.Period(from, to), "8.1")
	wantGaps := []Gap{
		{From: date(2026, 1, 19), To: date(2026, 3, 1)},
		{From: date(2026, 3, 31), To: date(2026, 7, 1)},
	}
	if diff := cmp.Diff(wantGaps, got.Gaps); diff != "" {
		t.Errorf("gaps (-want +got):\n%s", diff)
	}
	// 18 days (Jan 1-19) + 30 days (Mar) of a 181-day period.
	if want := 48.0 / 181.0; got.CoveredFraction != want {
		t.Errorf("covered fraction = %v, want %v", got.CoveredFraction, want)
	}
	if got.Status != Stale || got.EvidenceCount != 2 {
		t.Errorf("status now = %s with %d records, want stale with 2", got.Status, got.EvidenceCount)
	}

	none := periodOf(t, c.Period(from, to), "4.1")
	if diff := cmp.Diff([]Gap{{From: from, To: to}}, none.Gaps); diff != "" || none.CoveredFraction != 0 {
		t.Errorf("no evidence: gaps %v fraction %v, want the whole period and 0 (%s)", none.Gaps, none.CoveredFraction, diff)
	}
}

func TestPeriod_DailyEvidenceMergesIntoOneSpan(t *testing.T) {
	t.Parallel()
	c := NewCoverage(nil, []string{"github"}, now)
	for d := date(2025, 12, 15); d.Before(date(2026, 7, 1)); d = d.AddDate(0, 0, 1) {
		c.Add(Evidence{Kind: "github.branch_protection", Controls: []string{"8.1"}, CollectedAt: d.Add(3 * time.Hour)})
	}
	if n := len(c.state["8.1"].spans); n != 1 {
		t.Errorf("daily readings kept as %d spans, want 1 merged span", n)
	}
	got := periodOf(t, c.Period(date(2026, 1, 1), date(2026, 7, 1)), "8.1")
	if len(got.Gaps) != 0 || got.CoveredFraction != 1 {
		t.Errorf("gaps %v fraction %v, want none and 1", got.Gaps, got.CoveredFraction)
	}
	b, _ := json.Marshal(got)
	if !strings.Contains(string(b), `"gaps":[],"covered_fraction":1`) || !strings.Contains(string(b), `"control":"8.1"`) {
		t.Errorf("JSON %s: want flattened control fields and an empty gaps array", b)
	}
}

func TestAddSpan_MergesInAnyOrder(t *testing.T) {
	t.Parallel()
	d := func(n int) time.Time { return date(2026, 1, 1).AddDate(0, 0, n) }
	var st controlState
	for _, s := range []span{{d(10), d(12)}, {d(1), d(3)}, {d(20), d(25)}, {d(5), d(6)}, {d(3), d(4)}, {d(11), d(21)}, {d(30), d(31)}} {
		st.addSpan(s)
	}
	want := []span{{d(1), d(4)}, {d(5), d(6)}, {d(10), d(25)}, {d(30), d(31)}}
	if diff := cmp.Diff(want, st.spans, cmp.AllowUnexported(span{})); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
	for day, want := range map[int]bool{0: false, 1: true, 4: false, 5: true, 6: false, 24: true, 25: false, 30: true} {
		if got := st.freshAt(d(day)); got != want {
			t.Errorf("freshAt(day %d) = %v, want %v", day, got, want)
		}
	}
}

func TestParsePeriod(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in       string
		from, to time.Time
	}{
		{"2026-01-01..2026-06-30", date(2026, 1, 1), date(2026, 7, 1)},
		{"2026-01-01..2026-01-01", date(2026, 1, 1), date(2026, 1, 2)},
		{"2026-01-01T08:00:00+02:00..2026-01-02T00:00:00Z", time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC), date(2026, 1, 2)},
		{"2026-01-01..2026-03-01T12:00:00Z", date(2026, 1, 1), time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
	} {
		from, to, err := ParsePeriod(tc.in)
		if err != nil || !from.Equal(tc.from) || !to.Equal(tc.to) {
			t.Errorf("ParsePeriod(%q) = %v, %v, %v; want %v, %v", tc.in, from, to, err, tc.from, tc.to)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", `no ".."`},
		{"2026-01-01", `no ".."`},
		{"2026-01-01..", "both required"},
		{"..2026-06-30", "both required"},
		{"2026-13-01..2026-06-30", `FROM "2026-13-01" is neither a date nor an RFC 3339 time`},
		{"2026-01-01..June", `TO "June" is neither`},
		{"2026-06-30..2026-01-01", "is not before TO"},
		{"2026-01-02T00:00:00Z..2026-01-01", "is not before TO"},
	} {
		_, _, err := ParsePeriod(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParsePeriod(%q) error = %v, want one containing %q", tc.in, err, tc.want)
		}
	}
}
