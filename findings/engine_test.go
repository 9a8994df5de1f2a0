package findings

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aimsvault/aimsvault/inventory"
)

var now = time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)

// rec builds one record, collected a day before now unless attrs say
// otherwise with the pseudo-attribute "@collected" (days ago).
func rec(id, kind, subject string, attrs map[string]string) *inventory.Item {
	it := &inventory.Item{ID: id, Connector: "c", Kind: kind, Subject: subject, Attributes: map[string]string{}, CollectedAt: now.Add(-day)}
	for k, v := range attrs {
		if k == "@collected" {
			var d int
			fmt.Sscan(v, &d)
			it.CollectedAt = now.Add(-time.Duration(d) * day)
			continue
		}
		it.Attributes[k] = v
	}
	return it
}

var systems = []inventory.System{
	{ID: "fraud", Name: "Fraud", Owner: "o", RiskLevel: "high", Lifecycle: "operation",
		Match: inventory.Matchers{JiraProjects: []string{"FRAUD"}, BedrockCustomModels: []string{"fraud-*"}, BedrockGuardrails: []string{"fraud-*"}, Files: []string{"ia/fraud*"}}},
	{ID: "old", Name: "Old", Owner: "o", RiskLevel: "low", Lifecycle: "retired", Match: inventory.Matchers{JiraProjects: []string{"OLD"}}},
}

// run feeds recs, in order, through an engine with the built-in checks and
// returns the ids of the findings of check.
func run(t *testing.T, check string, recs []*inventory.Item) []Finding {
	t.Helper()
	checks, err := Checks(nil)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.New(systems)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(checks, systems, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		e.Add(r, inv.Link(r))
	}
	var out []Finding
	for _, f := range e.Findings() {
		if f.Check == check {
			out = append(out, f)
		}
	}
	return out
}

func TestBuiltinChecks(t *testing.T) {
	t.Parallel()
	type a = map[string]string
	ep := "arn:aws:sagemaker:us-east-1:1:endpoint/fraud-prod"
	cases := []struct {
		check, name string
		recs        []*inventory.Item
		want        []string // finding ids
	}{
		{"model-package-without-metrics", "approved without metrics",
			[]*inventory.Item{rec("r1", "sagemaker.model_package", "pkg/1", a{"approval_status": "Approved", "model_metrics": "false"})},
			[]string{"model-package-without-metrics:pkg/1"}},
		{"model-package-without-metrics", "approved with metrics, or pending",
			[]*inventory.Item{
				rec("r1", "sagemaker.model_package", "pkg/1", a{"approval_status": "Approved", "model_metrics": "true"}),
				rec("r2", "sagemaker.model_package", "pkg/2", a{"approval_status": "PendingManualApproval", "model_metrics": "false"}),
			}, nil},
		{"endpoint-without-data-capture", "capture off",
			[]*inventory.Item{rec("r1", "sagemaker.data_capture_config", ep, a{"endpoint": "fraud-prod", "enabled": "false"})},
			[]string{"endpoint-without-data-capture:" + ep}},
		{"endpoint-without-data-capture", "capture on (latest), or last seen long ago",
			[]*inventory.Item{
				rec("r1", "sagemaker.data_capture_config", ep, a{"enabled": "false", "@collected": "3"}),
				rec("r2", "sagemaker.data_capture_config", ep, a{"enabled": "true"}),
				rec("r3", "sagemaker.data_capture_config", ep+"-gone", a{"enabled": "false", "@collected": "90"}),
			}, nil},
		{"endpoint-without-monitoring", "in service, schedule stopped",
			[]*inventory.Item{
				rec("r1", "sagemaker.endpoint", ep, a{"endpoint_status": "InService"}),
				rec("r2", "sagemaker.monitoring_schedule", "sched", a{"endpoint": "fraud-prod", "schedule_status": "Stopped"}),
			}, []string{"endpoint-without-monitoring:" + ep}},
		{"endpoint-without-monitoring", "scheduled (name case differs from the ARN's), or not in service",
			[]*inventory.Item{
				rec("r1", "sagemaker.endpoint", ep, a{"endpoint_status": "InService"}),
				rec("r2", "sagemaker.monitoring_schedule", "sched", a{"endpoint": "Fraud-Prod", "schedule_status": "Scheduled"}),
				rec("r3", "sagemaker.endpoint", ep+"x", a{"endpoint_status": "Creating"}),
			}, nil},
		{"bedrock-invocation-logging-off", "off",
			[]*inventory.Item{rec("r1", "bedrock.invocation_logging", "us-east-1", a{"enabled": "false"})},
			[]string{"bedrock-invocation-logging-off:us-east-1"}},
		{"bedrock-invocation-logging-off", "on",
			[]*inventory.Item{rec("r1", "bedrock.invocation_logging", "us-east-1", a{"enabled": "true"})}, nil},
		{"model-without-guardrail", "system model, guardrail not ready; unlinked model, no guardrail",
			[]*inventory.Item{
				rec("r1", "bedrock.custom_model", "fraud-llm", nil),
				rec("r2", "bedrock.guardrail", "fraud-guard", a{"status": "CREATING"}),
				rec("r3", "bedrock.custom_model", "other-llm", nil),
			}, []string{"model-without-guardrail:system/(none)", "model-without-guardrail:system/fraud"}},
		{"model-without-guardrail", "guardrail ready; no model at all elsewhere",
			[]*inventory.Item{
				rec("r1", "bedrock.custom_model", "fraud-llm", nil),
				rec("r2", "bedrock.guardrail", "fraud-guard", a{"status": "READY"}),
			}, nil},
		{"pr-without-independent-approval", "merged unapproved",
			[]*inventory.Item{rec("r1", "github.pull_request", "o/r#1", a{"approved": "false"})},
			[]string{"pr-without-independent-approval:o/r#1"}},
		{"pr-without-independent-approval", "approved, or out of the window",
			[]*inventory.Item{
				rec("r1", "github.pull_request", "o/r#1", a{"approved": "true"}),
				rec("r2", "github.pull_request", "o/r#2", a{"approved": "false", "@collected": "200"}),
			}, nil},
		{"branch-unprotected", "unprotected",
			[]*inventory.Item{rec("r1", "github.branch_protection", "o/r:main", a{"protected": "false"})},
			[]string{"branch-unprotected:o/r:main"}},
		{"branch-unprotected", "protected since",
			[]*inventory.Item{
				rec("r1", "github.branch_protection", "o/r:main", a{"protected": "false", "@collected": "5"}),
				rec("r2", "github.branch_protection", "o/r:main", a{"protected": "true"}),
			}, nil},
		{"secret-scanning-off", "off",
			[]*inventory.Item{rec("r1", "github.alert_summary", "o/r/secret_scanning", a{"feature": "secret_scanning", "enabled": "false"})},
			[]string{"secret-scanning-off:o/r/secret_scanning"}},
		{"secret-scanning-off", "on, and another feature off",
			[]*inventory.Item{
				rec("r1", "github.alert_summary", "o/r/secret_scanning", a{"feature": "secret_scanning", "enabled": "true"}),
				rec("r2", "github.alert_summary", "o/r/dependabot", a{"feature": "dependabot", "enabled": "false"}),
			}, nil},
		{"code-scanning-off", "off",
			[]*inventory.Item{rec("r1", "github.alert_summary", "o/r/code_scanning", a{"feature": "code_scanning", "enabled": "false"})},
			[]string{"code-scanning-off:o/r/code_scanning"}},
		{"code-scanning-off", "on",
			[]*inventory.Item{rec("r1", "github.alert_summary", "o/r/code_scanning", a{"feature": "code_scanning", "enabled": "true"})}, nil},
		{"alert-past-sla", "high opened 40 days ago; open secret first seen 35 days ago",
			[]*inventory.Item{
				rec("r1", "github.code_scanning_alert", "o/r/code-scanning/1", a{"state": "open", "severity": "high", "created_at": now.Add(-40 * day).Format(time.RFC3339)}),
				rec("r2", "github.secret_scanning_alert", "o/r/secret-scanning/1", a{"state": "open", "@collected": "35"}),
				rec("r3", "github.secret_scanning_alert", "o/r/secret-scanning/1", a{"state": "open"}),
			}, []string{"alert-past-sla:o/r/code-scanning/1", "alert-past-sla:o/r/secret-scanning/1"}},
		{"alert-past-sla", "inside the SLA, medium, or fixed",
			[]*inventory.Item{
				rec("r1", "github.dependabot_alert", "o/r/dependabot/1", a{"state": "open", "severity": "critical", "created_at": now.Add(-10 * day).Format(time.RFC3339)}),
				rec("r2", "github.dependabot_alert", "o/r/dependabot/2", a{"state": "open", "severity": "medium", "created_at": "2020-01-01T00:00:00Z"}),
				rec("r3", "github.code_scanning_alert", "o/r/code-scanning/3", a{"state": "fixed", "severity": "high", "created_at": "2020-01-01T00:00:00Z"}),
			}, nil},
		{"training-overdue", "people overdue",
			[]*inventory.Item{rec("r1", "knowbe4.training_summary", "training/AI literacy", a{"overdue": "3"})},
			[]string{"training-overdue:training/AI literacy"}},
		{"training-overdue", "nobody overdue",
			[]*inventory.Item{rec("r1", "bamboohr.training_summary", "training/AI literacy", a{"overdue": "0"})}, nil},
		{"incident-past-target", "open, created 45 days ago; open, past its due date",
			[]*inventory.Item{
				rec("r1", "jira.incident", "FRAUD-1", a{"jira.project": "FRAUD", "jira.status_category": "indeterminate", "jira.created": now.Add(-45 * day).Format(time.RFC3339)}),
				rec("r2", "jira.issue", "OPS-2", a{"jira.issuetype": "Incident", "jira.status_category": "new", "jira.created": now.Add(-2 * day).Format(time.RFC3339), "jira.duedate": "2026-06-28"}),
			}, []string{"incident-past-target:FRAUD-1", "incident-past-target:OPS-2"}},
		{"incident-past-target", "closed, recent, or due today",
			[]*inventory.Item{
				rec("r1", "jira.incident", "FRAUD-1", a{"jira.status_category": "done", "jira.created": "2020-01-01T00:00:00Z"}),
				rec("r2", "jira.incident", "FRAUD-2", a{"jira.status_category": "new", "jira.created": now.Add(-5 * day).Format(time.RFC3339)}),
				rec("r3", "jira.incident", "FRAUD-3", a{"jira.status_category": "new", "jira.created": "2020-01-01T00:00:00Z", "jira.duedate": "2026-06-30"}),
			}, nil},
		{"system-without-impact-assessment", "no assessment linked (the retired system is exempt)",
			[]*inventory.Item{
				rec("r1", "jira.risk", "FRAUD-9", a{"jira.project": "FRAUD"}),
				rec("r2", "file.impact_assessment", "ia/other.md", nil),
			}, []string{"system-without-impact-assessment:system/fraud"}},
		{"system-without-impact-assessment", "assessment in files",
			[]*inventory.Item{rec("r1", "file.impact_assessment", "ia/fraud.md", nil)}, nil},
		{"system-without-impact-assessment", "assessment in Jira by issue type",
			[]*inventory.Item{rec("r1", "jira.issue", "FRAUD-3", a{"jira.project": "FRAUD", "jira.issuetype": "Impact Assessment"})}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.check+"/"+tc.name, func(t *testing.T) {
			t.Parallel()
			fs := run(t, tc.check, tc.recs)
			var got []string
			for _, f := range fs {
				got = append(got, f.ID)
				if f.Severity == "" || len(f.Controls) == 0 || f.Detail == "" || f.Records == nil || f.Systems == nil {
					t.Errorf("incomplete finding %+v", f)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings %q, want %q", got, tc.want)
			}
		})
	}
	// Every built-in check has a case above.
	tested := map[string]bool{}
	for _, tc := range cases {
		tested[tc.check] = tested[tc.check] || len(tc.want) > 0
	}
	for _, c := range builtin {
		if !tested[c.ID] {
			t.Errorf("built-in check %s has no positive case", c.ID)
		}
	}
}

func TestFinding_NamesRecordsAndSystems(t *testing.T) {
	t.Parallel()
	fs := run(t, "incident-past-target", []*inventory.Item{
		rec("old", "jira.incident", "FRAUD-1", a2("jira.project", "FRAUD", "jira.status_category", "new", "@collected", "3")),
		rec("new", "jira.incident", "FRAUD-1", a2("jira.project", "FRAUD", "jira.status_category", "new", "jira.created", "2026-01-01T00:00:00Z")),
	})
	if len(fs) != 1 {
		t.Fatalf("findings %+v", fs)
	}
	f := fs[0]
	if !slices.Equal(f.Records, []string{"new"}) || !slices.Equal(f.Systems, []string{"fraud"}) || f.Due == nil ||
		!f.Due.Equal(time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)) || !strings.Contains(f.Detail, "jira.created 2026-01-01 + sla 30d") {
		t.Errorf("finding %+v", f)
	}
}

func a2(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestChecks_ConfigTunesDisablesAndAdds(t *testing.T) {
	t.Parallel()
	checks, err := Checks([]Spec{
		{ID: "branch-unprotected", Disabled: true},
		{ID: "training-overdue", Where: map[string]string{"overdue": ">5"}, Severity: High},
		{ID: "alert-past-sla", SLA: 7 * day},
		{ID: "model-card-draft", Kind: "sagemaker.model_card", Where: map[string]string{"model_card_status": "Draft"}, Controls: []string{"A.6.2.7"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Check{}
	for _, c := range checks {
		byID[c.ID] = c
	}
	if _, ok := byID["branch-unprotected"]; ok {
		t.Error("disabled check still in force")
	}
	if c := byID["training-overdue"]; c.Severity != High || c.Select[0].Where["overdue"] != ">5" {
		t.Errorf("tuned check %+v", c)
	}
	if builtin[slices.IndexFunc(builtin, func(c Check) bool { return c.ID == "training-overdue" })].Select[0].Where["overdue"] != ">0" {
		t.Error("tuning changed the built-in table")
	}
	if c := byID["alert-past-sla"]; c.SLA != 7*day {
		t.Errorf("sla %v", c.SLA)
	}
	if c := byID["model-card-draft"]; c.Type != State || c.Severity != Medium {
		t.Errorf("added check %+v", c)
	}

	e, err := New(checks, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*inventory.Item{
		rec("r1", "knowbe4.training_summary", "training/a", a2("overdue", "3")),
		rec("r2", "knowbe4.training_summary", "training/b", a2("overdue", "9")),
		rec("r3", "sagemaker.model_card", "card/1", a2("model_card_status", "Draft")),
		rec("r4", "sagemaker.model_card", "card/2", a2("model_card_status", "Approved")),
		rec("r5", "github.branch_protection", "o/r:main", a2("protected", "false")),
	} {
		e.Add(r, nil)
	}
	var got []string
	for _, f := range e.Findings() {
		got = append(got, f.ID)
	}
	slices.Sort(got)
	if want := []string{"model-card-draft:card/1", "training-overdue:training/b"}; !slices.Equal(got, want) {
		t.Errorf("findings %q, want %q", got, want)
	}
}

func TestChecks_Errors(t *testing.T) {
	t.Parallel()
	_, err := Checks([]Spec{
		{ID: "Bad ID"},
		{ID: "branch-unprotected", Kind: "github.x"},
		{ID: "typo-check", Where: map[string]string{"a": "b"}},
		{ID: "new-check", Kind: "x.y", Where: map[string]string{"n": ">abc"}, Controls: []string{"A.99"}},
		{ID: "pr-without-independent-approval", SLA: day},
		{ID: "code-scanning-off", Severity: "urgent"},
	})
	var se *SpecError
	if !errors.As(err, &se) {
		t.Fatalf("err %v, want *SpecError", err)
	}
	msg := err.Error()
	for _, want := range []string{"[0]", "kind is not allowed", "not a built-in check", "unknown control \"A.99\"", "not a number",
		"sla applies only", "severity \"urgent\""} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors lack %q:\n%s", want, msg)
		}
	}
}

func TestCondition(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cond, v string
		present bool
		want    bool
	}{
		{"Approved", "Approved", true, true},
		{"Approved", "approved", true, false},
		{"a|b", "b", true, true},
		{"!done", "", false, true},
		{"!done", "done", true, false},
		{"!a|b", "c", true, true},
		{"*", "", true, false},
		{"*", "x", true, true},
		{"!*", "", false, true},
		{">0", "3", true, true},
		{">0", "0", true, false},
		{">0", "n/a", true, false},
		{"<=0.9", "0.9", true, true},
		{">=2", "", false, false},
	} {
		c, err := parseCondition(tc.cond)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.holds(tc.v, tc.present); got != tc.want {
			t.Errorf("%q on %q (present %v) = %v, want %v", tc.cond, tc.v, tc.present, got, tc.want)
		}
	}
	if CheckCondition(">x") == nil {
		t.Error(">x accepted")
	}
}

// The engine keeps one entry per subject, however many observations.
func TestEngine_LatestPerSubjectOnly(t *testing.T) {
	t.Parallel()
	checks, _ := Checks(nil)
	e, _ := New(checks, nil, now)
	for i := range 1000 {
		e.Add(rec(fmt.Sprint(i), "github.branch_protection", "o/r:main", a2("protected", "true")), nil)
		e.Add(rec(fmt.Sprint(i), "file.document", fmt.Sprint(i), nil), nil) // no check reads it
	}
	if len(e.latest) != 1 {
		t.Errorf("engine keeps %d entries, want 1", len(e.latest))
	}
}
