package mapping

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func sortIDs(ids []string) { slices.SortFunc(ids, CompareIDs) }

func TestBuiltinRules_ControlsAreRequirements(t *testing.T) {
	t.Parallel()
	for i, r := range BuiltinRules() {
		for _, id := range r.Controls {
			e, ok := Lookup(id)
			if !ok || e.Heading {
				t.Errorf("built-in rule %d (%s): control %q is unknown or a heading", i, r.Kind, id)
			}
		}
	}
	if _, err := NewMapper(nil); err != nil {
		t.Fatalf("NewMapper(nil): %v", err)
	}
}

func TestBuiltinRules_EveryRequirementHasADocumentKind(t *testing.T) {
	t.Parallel()
	reach := map[string][]string{}
	for _, r := range BuiltinRules() {
		if strings.HasPrefix(r.Kind, "file.") && len(r.Attributes) == 0 {
			for _, id := range r.Controls {
				reach[id] = append(reach[id], r.Kind)
			}
		}
	}
	for _, e := range Requirements() {
		if len(reach[e.ID]) == 0 {
			t.Errorf("%s %s: no file.* kind maps to it, so no document can evidence it", e.ID, e.Title)
		}
	}
}

// sourceOfKind is the catalog source a connector's kinds belong to.
func sourceOfKind(kind string) string {
	prefix, _, _ := strings.Cut(kind, ".")
	return map[string]string{
		"github": "github", "sagemaker": "aws_sagemaker", "bedrock": "aws_bedrock", "jira": "jira",
		"training": "hr_training", "hr": "hr_training", "policy": "hr_training",
		"bamboohr": "hr_training", "knowbe4": "hr_training",
	}[prefix]
}

// Coverage says "missing" only when a configured source is in an item's
// Sources; a connector rule that maps an item whose Sources lack that
// connector would make coverage tell the user to upload what the connector
// already supplies.
func TestBuiltinRules_ConnectorControlsListTheConnector(t *testing.T) {
	t.Parallel()
	for _, r := range BuiltinRules() {
		src := sourceOfKind(r.Kind)
		if src == "" {
			continue // documents and uploads may evidence anything
		}
		for _, id := range r.Controls {
			if e, _ := Lookup(id); !slices.Contains(e.Sources, src) {
				t.Errorf("rule %s maps %s, whose catalog sources %v lack %s", r.Kind, id, e.Sources, src)
			}
		}
	}
}

func TestBuiltinRules_HandleEveryConnectorKind(t *testing.T) {
	t.Parallel()
	kinds := []string{
		"file.document", "manual.upload",
		"file.ai_policy", "file.policy_review", "file.policy_alignment", "file.aims_scope", "file.context_analysis",
		"file.interested_parties", "file.aims_manual", "file.roles_responsibilities", "file.ai_objectives",
		"file.risk_procedure", "file.risk_register", "file.impact_assessment_procedure", "file.impact_assessment",
		"file.incident_procedure", "file.communication_plan", "file.internal_audit_programme",
		"file.internal_audit_report", "file.management_review", "file.competence_matrix", "file.resource_plan",
		"file.supplier_assessment", "file.responsibility_allocation", "file.customer_terms", "file.external_reporting",
		"file.stakeholder_information", "file.data_management", "file.data_acquisition", "file.user_documentation",
		"file.technical_documentation", "file.responsible_use", "file.intended_use", "file.nonconformity",
		"file.improvement", "file.change_plan", "file.concern_reporting", "file.document_index",
		"github.repository", "github.branch_protection", "github.pull_request", "github.workflow_run",
		"github.codeowners", "github.code_scanning_alert", "github.secret_scanning_alert", "github.dependabot_alert",
		"github.model_card", "github.release", "github.sbom",
		"github.alert_summary", "github.organization", "github.security_policy", "github.file",
		"sagemaker.model_package", "sagemaker.model_card", "sagemaker.endpoint", "sagemaker.monitoring_schedule",
		"sagemaker.training_job", "sagemaker.data_capture_config", "sagemaker.pipeline_execution",
		"sagemaker.model_package_group", "sagemaker.endpoint_config", "bedrock.model_customization_job",
		"bedrock.invocation_logging", "bedrock.guardrail", "bedrock.custom_model", "bedrock.foundation_model",
		"bedrock.model_evaluation", "bedrock.provisioned_throughput",
		"jira.issue", "training.completion", "training.campaign", "hr.employee", "policy.acknowledgement",
		"bamboohr.employee", "bamboohr.training_type", "bamboohr.training_record", "bamboohr.training_roster",
		"bamboohr.training_summary", "knowbe4.user", "knowbe4.campaign", "knowbe4.enrollment",
		"knowbe4.training_roster", "knowbe4.training_summary",
	}
	m, _ := NewMapper(nil)
	for _, k := range kinds {
		if !m.Handles(k) {
			t.Errorf("no built-in rule handles kind %q", k)
		}
	}
	for _, k := range []string{"file.ai_polcy", "github.branch", "unknown"} {
		if m.Handles(k) {
			t.Errorf("Handles(%q) = true; a misspelt kind must not pass", k)
		}
	}
}

func TestMap(t *testing.T) {
	t.Parallel()
	m, err := NewMapper([]Rule{
		{Kind: "github.*", Attributes: map[string]string{"topic": "ai"}, Controls: []string{"4.3"}},
		{Kind: "jira.issue", Attributes: map[string]string{"jira.project": "AIRISK", "jira.labels": "*"}, Controls: []string{"6.1.3"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		kind  string
		attrs map[string]string
		want  []string
	}{
		{"exact kind", "github.release", nil, []string{"A.6.2.5"}},
		{"attribute matches", "sagemaker.model_package", map[string]string{"approval_status": "Approved"}, []string{"A.6.2.3", "A.6.2.5", "A.6.2.7"}},
		{"attribute differs", "sagemaker.model_package", map[string]string{"approval_status": "PendingManualApproval"}, []string{"A.6.2.3", "A.6.2.7"}},
		{"jira risk", "jira.issue", map[string]string{"jira.issuetype": "Risk", "jira.project": "OPS"}, []string{"6.1.2", "8.2"}},
		{"jira project alone", "jira.issue", map[string]string{"jira.project": "AIRISK"}, []string{}},
		{"star needs a value", "jira.issue", map[string]string{"jira.project": "AIRISK", "jira.labels": ""}, []string{}},
		{"star matches any value", "jira.issue", map[string]string{"jira.project": "AIRISK", "jira.labels": "x"}, []string{"6.1.3"}},
		{"glob kind", "github.release", map[string]string{"topic": "ai"}, []string{"4.3", "A.6.2.5"}},
		{"glob kind, other connector", "sagemaker.endpoint", map[string]string{"topic": "ai"}, []string{"4.3", "A.4.5"}},
		{"generic document", "file.document", nil, []string{}},
		{"declared, trimmed, catalog order", "file.document", map[string]string{"controls": " A.10.2 ,4.1,, A.2.2"}, []string{"4.1", "A.2.2", "A.10.2"}},
		{"declared and ruled merge", "file.ai_policy", map[string]string{"controls": "A.2.2, A.2.4"}, []string{"5.2", "A.2.2", "A.2.4"}},
		{"unknown kind", "custom.report", nil, []string{}},
	} {
		got, err := m.Map(tc.kind, tc.attrs)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: Map(%q, %v) (-want +got):\n%s", tc.name, tc.kind, tc.attrs, diff)
		}
	}
}

func TestMap_RejectsBadDeclaredControls(t *testing.T) {
	t.Parallel()
	m, _ := NewMapper(nil)
	got, err := m.Map("manual.upload", map[string]string{"controls": "A.2.2, A.99"})
	if !errors.Is(err, ErrUnknownControl) {
		t.Fatalf("err = %v, want ErrUnknownControl", err)
	}
	if want := "unknown control ID \"A.99\" in controls: see `aimsvault controls`"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	if diff := cmp.Diff([]string{"A.2.2"}, got); diff != "" {
		t.Errorf("valid IDs kept alongside the error (-want +got):\n%s", diff)
	}

	_, err = m.Map("manual.upload", map[string]string{"controls": "9.3"})
	if !errors.Is(err, ErrHeading) || !strings.Contains(err.Error(), "9.3.1, 9.3.2, 9.3.3") {
		t.Errorf("heading declared: err = %v, want ErrHeading naming the sub-clauses", err)
	}
}

func TestNewMapper_RejectsBadRules(t *testing.T) {
	t.Parallel()
	_, err := NewMapper([]Rule{
		{Kind: "github.release", Controls: []string{"A.6.2.5"}},
		{Kind: "github.release", Controls: []string{"A.99"}},
		{Kind: "[", Controls: []string{"4.1"}},
		{Kind: "", Controls: []string{"7.5"}, Freshness: -time.Hour},
	})
	if err == nil {
		t.Fatal("NewMapper accepted bad rules")
	}
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var re *RuleError
		if !errors.As(e, &re) {
			t.Fatalf("%v is not a *RuleError", e)
		}
		got = append(got, e.Error())
	}
	for _, want := range []string{
		`mapping rule 1 (kind "github.release"): unknown control ID "A.99" in the rule`,
		`mapping rule 2 (kind "["): kind is not a valid pattern`,
		`mapping rule 3 (kind ""): kind is empty`,
		`mapping rule 3 (kind ""): freshness -1h0m0s is negative`,
		`mapping rule 3 (kind ""): control "7.5" in the rule is a heading`,
	} {
		if !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, want) }) {
			t.Errorf("no error starting %q in:\n%s", want, strings.Join(got, "\n"))
		}
	}
	if len(got) != 5 {
		t.Errorf("got %d errors, want 5 (rule 0 is valid):\n%s", len(got), strings.Join(got, "\n"))
	}
	if !errors.Is(err, ErrUnknownControl) || !errors.Is(err, ErrHeading) {
		t.Errorf("joined error does not wrap ErrUnknownControl and ErrHeading: %v", err)
	}
}

func TestFreshness(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	m, err := NewMapper([]Rule{
		{Kind: "github.pull_request", Controls: []string{"8.1"}, Freshness: 90 * day},
		{Kind: "github.workflow_run", Controls: []string{"A.6.2.4"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, kind string
		attrs      map[string]string
		control    string
		want       time.Duration
	}{
		{"rule sets it", "github.branch_protection", nil, "8.1", 30 * day},
		{"longest of matching rules", "github.pull_request", nil, "8.1", 90 * day},
		{"other control of that kind", "github.pull_request", nil, "7.5.2", 30 * day},
		{"unset extra rule counts as default", "github.workflow_run", nil, "A.6.2.4", DefaultFreshness},
		{"jira", "jira.issue", map[string]string{"jira.issuetype": "Risk"}, "8.2", 90 * day},
		{"declared", "file.document", map[string]string{"controls": "8.1"}, "8.1", DefaultFreshness},
		{"declared beside a shorter rule", "github.branch_protection", map[string]string{"controls": "8.1"}, "8.1", DefaultFreshness},
		{"rule without freshness", "file.aims_scope", nil, "4.3", DefaultFreshness},
		{"not mapped", "github.release", nil, "4.1", DefaultFreshness},
	} {
		if got := m.Freshness(tc.kind, tc.attrs, tc.control); got != tc.want {
			t.Errorf("%s: Freshness(%s, %s) = %v, want %v", tc.name, tc.kind, tc.control, got, tc.want)
		}
	}
}

func TestMapper_RulesAreCopies(t *testing.T) {
	t.Parallel()
	extra := []Rule{{Kind: "custom.report", Attributes: map[string]string{"a": "b"}, Controls: []string{"9.1"}}}
	m, err := NewMapper(extra)
	if err != nil {
		t.Fatal(err)
	}
	extra[0].Controls[0] = "4.1"
	rules := m.Rules()
	if n := len(rules); n != len(BuiltinRules())+1 {
		t.Fatalf("Rules() has %d rules, want built-in plus 1", n)
	}
	rules[len(rules)-1].Attributes["a"] = "changed"
	got, _ := m.Map("custom.report", map[string]string{"a": "b"})
	if diff := cmp.Diff([]string{"9.1"}, got); diff != "" {
		t.Errorf("mapper changed through its input or Rules() (-want +got):\n%s", diff)
	}
}

func TestNilMapperUsesBuiltinRules(t *testing.T) {
	t.Parallel()
	var m *Mapper
	got, err := m.Map("github.release", nil)
	if err != nil || !slices.Equal(got, []string{"A.6.2.5"}) {
		t.Errorf("nil Mapper: Map = %v, %v", got, err)
	}
}

func TestFreshness_ConfigRuleWins(t *testing.T) {
	t.Parallel()
	m, err := NewMapper([]Rule{{Kind: "file.ai_policy", Controls: []string{"A.2.2"}, Freshness: 30 * 24 * time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Freshness("file.ai_policy", nil, "A.2.2"); got != 30*24*time.Hour {
		t.Errorf("config rule's 30d freshness ignored: got %v", got)
	}
	// Controls the config rule does not name keep the built-in freshness.
	if got := m.Freshness("file.ai_policy", nil, "5.2"); got != DefaultFreshness {
		t.Errorf("5.2 freshness %v, want the built-in %v", got, DefaultFreshness)
	}
}
