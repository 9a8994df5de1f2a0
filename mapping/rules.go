package mapping

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// Rule maps artifacts of a kind (and, optionally, with certain attributes) to
// the controls they evidence.
type Rule struct {
	// Kind is an exact kind ("github.branch_protection") or a path.Match glob
	// ("github.*", "file.*").
	Kind string
	// Attributes must all match for the rule to apply. A value of "*" means the
	// attribute is present and non-empty; any other value must be equal
	// (case-sensitive: "Approved" is not "approved").
	Attributes map[string]string
	// Controls are requirement IDs (no headings). A rule with no controls is
	// allowed: it says the kind is known and maps nothing by itself (a generic
	// document, a manual upload), so its controls come from attrs["controls"].
	Controls []string
	// Freshness is how recent evidence from this rule must be to count as
	// covered; 0 means DefaultFreshness.
	Freshness time.Duration
}

// DefaultFreshness suits documents and anything reviewed yearly: ISO 42001
// asks for planned intervals, and a year is the longest an auditor accepts.
const DefaultFreshness = 365 * 24 * time.Hour

const day = 24 * time.Hour

// Freshness of automated evidence. Configuration that is re-read on every run
// (branch protection, logging switches) should be recent: a month-old reading
// says little about today. Jira records move on a quarterly rhythm.
const (
	freshConfig = 30 * day
	freshJira   = 90 * day
)

// builtinRules is the one place built-in mappings live. Every kind a built-in
// connector emits has a rule here (the connector conformance suite checks it
// with Mapper.Handles); choices follow the catalog's evidence hints and
// artifacts. Rules only ever add controls, so each mapping errs on the side
// of not claiming coverage the evidence does not give.
var builtinRules = []Rule{
	// Documents from the files connector. A generic document maps nothing;
	// front matter `kind: ai_policy` makes it file.ai_policy, and front matter
	// `controls:` declares more.
	{Kind: "file.document"},
	{Kind: "file.context_analysis", Controls: []string{"4.1"}},
	{Kind: "file.interested_parties", Controls: []string{"4.2"}},
	{Kind: "file.aims_scope", Controls: []string{"4.3"}},
	{Kind: "file.aims_manual", Controls: []string{"4.4"}},
	{Kind: "file.leadership_commitment", Controls: []string{"5.1"}},
	{Kind: "file.ai_policy", Controls: []string{"5.2", "A.2.2"}, Freshness: DefaultFreshness},
	{Kind: "file.policy_alignment", Controls: []string{"A.2.3"}},
	{Kind: "file.policy_review", Controls: []string{"A.2.4"}},
	{Kind: "file.roles_responsibilities", Controls: []string{"5.3", "A.3.2"}},
	{Kind: "file.concern_reporting", Controls: []string{"A.3.3"}},
	{Kind: "file.risk_procedure", Controls: []string{"6.1.1"}},
	{Kind: "file.risk_register", Controls: []string{"6.1.2", "6.1.3", "8.2", "8.3"}},
	{Kind: "file.statement_of_applicability", Controls: []string{"6.1.3"}},
	{Kind: "file.impact_assessment_procedure", Controls: []string{"6.1.4", "A.5.2"}},
	{Kind: "file.impact_assessment", Controls: []string{"8.4", "A.5.3", "A.5.4", "A.5.5"}},
	{Kind: "file.ai_objectives", Controls: []string{"6.2", "A.6.1.2", "A.9.3"}},
	{Kind: "file.change_plan", Controls: []string{"6.3"}},
	{Kind: "file.resource_plan", Controls: []string{"7.1"}},
	{Kind: "file.competence_matrix", Controls: []string{"7.2", "A.4.6"}},
	{Kind: "file.awareness_programme", Controls: []string{"7.3"}},
	{Kind: "file.communication_plan", Controls: []string{"7.4"}},
	{Kind: "file.document_index", Controls: []string{"7.5.1"}},
	{Kind: "file.document_control", Controls: []string{"7.5.2", "7.5.3"}},
	{Kind: "file.operating_procedure", Controls: []string{"8.1"}},
	{Kind: "file.monitoring_plan", Controls: []string{"9.1", "A.6.2.6"}},
	{Kind: "file.performance_evaluation", Controls: []string{"9.1"}},
	{Kind: "file.internal_audit_report", Controls: []string{"9.2.1"}},
	{Kind: "file.internal_audit_programme", Controls: []string{"9.2.2"}},
	{Kind: "file.management_review", Controls: []string{"9.3.1", "9.3.2", "9.3.3"}},
	{Kind: "file.improvement", Controls: []string{"10.1"}},
	{Kind: "file.nonconformity", Controls: []string{"10.2"}},
	{Kind: "file.resource_documentation", Controls: []string{"A.4.2", "A.4.4", "A.4.5"}},
	{Kind: "file.datasheet", Controls: []string{"A.4.3", "A.7.5", "A.7.6"}},
	{Kind: "file.ai_lifecycle_procedure", Controls: []string{"A.6.1.3"}},
	{Kind: "file.requirements_specification", Controls: []string{"A.6.2.2"}},
	{Kind: "file.design_documentation", Controls: []string{"A.6.2.3"}},
	{Kind: "file.verification_report", Controls: []string{"A.6.2.4"}},
	{Kind: "file.deployment_plan", Controls: []string{"A.6.2.5"}},
	{Kind: "file.technical_documentation", Controls: []string{"A.6.2.7"}},
	{Kind: "file.event_logging", Controls: []string{"A.6.2.8"}},
	{Kind: "file.data_management", Controls: []string{"A.7.2"}},
	{Kind: "file.data_acquisition", Controls: []string{"A.7.3"}},
	{Kind: "file.data_quality_report", Controls: []string{"A.7.4"}},
	{Kind: "file.user_documentation", Controls: []string{"A.8.2"}},
	{Kind: "file.external_reporting", Controls: []string{"A.8.3"}},
	{Kind: "file.incident_procedure", Controls: []string{"A.8.4"}},
	{Kind: "file.stakeholder_information", Controls: []string{"A.8.5"}},
	{Kind: "file.responsible_use", Controls: []string{"A.9.2"}},
	{Kind: "file.intended_use", Controls: []string{"A.9.4"}},
	{Kind: "file.responsibility_allocation", Controls: []string{"A.10.2"}},
	{Kind: "file.supplier_assessment", Controls: []string{"A.10.3"}},
	{Kind: "file.customer_terms", Controls: []string{"A.10.4"}},

	// `evidence add` without --control: the upload's declared controls map it.
	{Kind: "manual.upload"},

	// GitHub.
	{Kind: "github.repository", Controls: []string{"4.3", "A.4.4"}},
	{Kind: "github.branch_protection", Controls: []string{"7.5.3", "8.1", "A.6.1.3"}, Freshness: freshConfig},
	{Kind: "github.pull_request", Controls: []string{"7.5.2", "8.1", "A.6.1.3", "A.6.2.5"}, Freshness: freshConfig},
	{Kind: "github.workflow_run", Controls: []string{"A.6.1.3", "A.6.2.4"}, Freshness: freshConfig},
	{Kind: "github.codeowners", Controls: []string{"5.3", "A.3.2"}},
	// Security alerts show treatments being carried out (8.3). The catalog does
	// not count GitHub as a source for A.6.2.6 (operation and monitoring of the
	// AI system), so they do not claim it.
	{Kind: "github.code_scanning_alert", Controls: []string{"8.3"}, Freshness: freshConfig},
	{Kind: "github.secret_scanning_alert", Controls: []string{"8.3"}, Freshness: freshConfig},
	// Dependabot alerts also inventory the libraries in use (A.4.4 tooling).
	{Kind: "github.dependabot_alert", Controls: []string{"8.3", "A.4.4"}, Freshness: freshConfig},
	{Kind: "github.model_card", Controls: []string{"A.6.2.7", "A.8.2"}},
	{Kind: "github.release", Controls: []string{"A.6.2.5"}},
	{Kind: "github.sbom", Controls: []string{"A.4.4", "A.10.3"}},
	// A summary of one repository's alerts of one feature. Only an enabled
	// feature shows treatment being carried out; "enabled=false" (off or not
	// licensed) is kept as evidence of the gap and maps nothing.
	{Kind: "github.alert_summary"},
	{Kind: "github.alert_summary", Attributes: map[string]string{"enabled": "true"}, Controls: []string{"8.3"}, Freshness: freshConfig},
	// Organisation settings (two-factor requirement, members) control access
	// to the documented information kept there.
	{Kind: "github.organization", Controls: []string{"7.5.3"}, Freshness: freshConfig},
	// SECURITY.md and other configured files: known kinds that map nothing by
	// themselves (the catalog does not count GitHub for A.8.3).
	{Kind: "github.security_policy"},
	{Kind: "github.file"},

	// AWS SageMaker. Only an approved model package records a deployment
	// decision; every package documents design and technical detail.
	{Kind: "sagemaker.model_package", Controls: []string{"A.6.2.3", "A.6.2.7"}},
	{Kind: "sagemaker.model_package", Attributes: map[string]string{"approval_status": "Approved"}, Controls: []string{"A.6.2.5"}},
	// An approved package that carries its metrics reports records the
	// verification the approval rested on.
	{Kind: "sagemaker.model_package", Attributes: map[string]string{"approval_status": "Approved", "model_metrics": "true"}, Controls: []string{"A.6.2.4"}},
	// A model package group names one model of the registry: the inventory
	// the AIMS scope is checked against.
	{Kind: "sagemaker.model_package_group", Controls: []string{"4.3"}},
	{Kind: "sagemaker.model_card", Controls: []string{"A.4.2", "A.6.2.7", "A.8.2"}},
	{Kind: "sagemaker.endpoint", Controls: []string{"4.3", "A.4.5"}},
	{Kind: "sagemaker.endpoint_config", Controls: []string{"A.4.5"}},
	// Only a running schedule shows the system being monitored; a stopped or
	// failed one is kept as evidence of the gap and maps nothing.
	{Kind: "sagemaker.monitoring_schedule"},
	{Kind: "sagemaker.monitoring_schedule", Attributes: map[string]string{"schedule_status": "Scheduled"}, Controls: []string{"9.1", "A.6.2.6"}, Freshness: freshConfig},
	{Kind: "sagemaker.training_job", Controls: []string{"A.4.3", "A.4.5", "A.7.5", "A.7.6"}},
	// Training data sources named by the job record where the data came from.
	{Kind: "sagemaker.training_job", Attributes: map[string]string{"input_data": "*"}, Controls: []string{"A.7.3"}},
	// Data capture is an endpoint's event log; capture that is off
	// (enabled=false) is kept as evidence of the gap and maps nothing.
	{Kind: "sagemaker.data_capture_config"},
	{Kind: "sagemaker.data_capture_config", Attributes: map[string]string{"enabled": "true"}, Controls: []string{"A.6.2.8"}, Freshness: freshConfig},
	{Kind: "sagemaker.pipeline_execution", Controls: []string{"A.6.1.3", "A.7.6"}},

	// AWS Bedrock.
	// Invocation logging that is off, or has no destination (enabled=false),
	// is kept as evidence of the gap and maps nothing.
	{Kind: "bedrock.invocation_logging"},
	{Kind: "bedrock.invocation_logging", Attributes: map[string]string{"enabled": "true"}, Controls: []string{"A.6.2.8"}, Freshness: freshConfig},
	// A guardrail version that is ready enforces responsible use at run time.
	{Kind: "bedrock.guardrail"},
	{Kind: "bedrock.guardrail", Attributes: map[string]string{"status": "READY"}, Controls: []string{"A.6.2.6", "A.9.2", "A.9.4"}},
	{Kind: "bedrock.custom_model", Controls: []string{"4.3", "A.4.2", "A.4.3"}},
	// A customization job names its base model and training data location.
	{Kind: "bedrock.model_customization_job", Controls: []string{"A.4.3", "A.7.5"}},
	{Kind: "bedrock.foundation_model", Controls: []string{"A.4.4", "A.10.3"}},
	// Only a completed evaluation holds results.
	{Kind: "bedrock.model_evaluation"},
	{Kind: "bedrock.model_evaluation", Attributes: map[string]string{"status": "Completed"}, Controls: []string{"A.6.2.4"}},
	{Kind: "bedrock.provisioned_throughput", Controls: []string{"A.4.5"}},

	// Jira. What an issue evidences depends on its type; a project alone says
	// nothing built-in rules could know, so users add rules for their projects.
	{Kind: "jira.issue"},
	{Kind: "jira.issue", Attributes: map[string]string{"jira.issuetype": "Risk"}, Controls: []string{"6.1.2", "8.2"}, Freshness: freshJira},
	{Kind: "jira.issue", Attributes: map[string]string{"jira.issuetype": "Incident"}, Controls: []string{"10.2", "A.8.4"}, Freshness: freshJira},
	{Kind: "jira.issue", Attributes: map[string]string{"jira.issuetype": "Nonconformity"}, Controls: []string{"10.2"}, Freshness: freshJira},
	{Kind: "jira.issue", Attributes: map[string]string{"jira.issuetype": "Change"}, Controls: []string{"6.3"}, Freshness: freshJira},
	{Kind: "jira.issue", Attributes: map[string]string{"jira.issuetype": "Impact Assessment"}, Controls: []string{"8.4", "A.5.3"}, Freshness: freshJira},
	{Kind: "jira.issue", Attributes: map[string]string{"jira.issuetype": "Corrective Action"}, Controls: []string{"10.2"}, Freshness: freshJira},
	// A risk with a resolution was treated (accepted, mitigated, closed): 8.3.
	{Kind: "jira.issue", Attributes: map[string]string{"jira.issuetype": "Risk", "jira.resolution": "*"}, Controls: []string{"8.3"}, Freshness: freshJira},
	// A jira query's `kind` names the family whatever the issue types are.
	{Kind: "jira.risk", Controls: []string{"6.1.2", "8.2"}, Freshness: freshJira},
	{Kind: "jira.risk", Attributes: map[string]string{"jira.resolution": "*"}, Controls: []string{"8.3"}, Freshness: freshJira},
	{Kind: "jira.incident", Controls: []string{"10.2", "A.6.2.6", "A.8.4"}, Freshness: freshJira},
	{Kind: "jira.impact_assessment", Controls: []string{"8.4", "A.5.3"}, Freshness: freshJira},
	{Kind: "jira.change", Controls: []string{"6.3", "8.1"}, Freshness: freshJira},
	{Kind: "jira.corrective_action", Controls: []string{"10.2"}, Freshness: freshJira},
	{Kind: "jira.corrective_action", Attributes: map[string]string{"jira.resolution": "*"}, Controls: []string{"10.1"}, Freshness: freshJira},
	// Derived from, or attached to, an issue: supporting detail; the issue
	// itself carries the mapping.
	{Kind: "jira.status_history"},
	{Kind: "jira.attachment"},

	// HR and training (BambooHR, KnowBe4).
	{Kind: "training.completion", Controls: []string{"7.2", "7.3"}, Freshness: DefaultFreshness},
	{Kind: "training.campaign", Controls: []string{"7.3"}},
	{Kind: "hr.employee", Controls: []string{"7.1", "A.4.6"}},
	{Kind: "policy.acknowledgement", Controls: []string{"5.2", "7.3"}},

	// BambooHR. The employee roster (departments, job titles, supervisors)
	// documents the people resourcing AI work and their roles; a training
	// record is a completion. A training type only defines what is required.
	// Rosters and summaries are recomputed on every run, so they must be
	// recent to count.
	{Kind: "bamboohr.employee", Controls: []string{"A.3.2", "A.4.6"}},
	{Kind: "bamboohr.training_type"},
	{Kind: "bamboohr.training_record", Controls: []string{"7.2", "7.3", "A.4.6"}, Freshness: DefaultFreshness},
	{Kind: "bamboohr.training_roster", Controls: []string{"7.2", "7.3", "A.4.6"}, Freshness: freshConfig},
	{Kind: "bamboohr.training_summary", Controls: []string{"7.2", "7.3"}, Freshness: freshConfig},

	// KnowBe4. Only a completed enrollment evidences competence and
	// awareness; an open one is kept as evidence of the gap and maps nothing.
	// An acknowledged policy is a policy acknowledgement.
	{Kind: "knowbe4.user"},
	{Kind: "knowbe4.campaign", Controls: []string{"7.3"}},
	{Kind: "knowbe4.enrollment"},
	{Kind: "knowbe4.enrollment", Attributes: map[string]string{"knowbe4.completed": "true"}, Controls: []string{"7.2", "7.3", "A.4.6"}, Freshness: DefaultFreshness},
	{Kind: "knowbe4.enrollment", Attributes: map[string]string{"knowbe4.policy_acknowledged": "true"}, Controls: []string{"5.2", "7.3"}},
	{Kind: "knowbe4.training_roster", Controls: []string{"7.2", "7.3", "A.4.6"}, Freshness: freshConfig},
	{Kind: "knowbe4.training_summary", Controls: []string{"7.2", "7.3"}, Freshness: freshConfig},
}

// BuiltinRules returns a copy of the built-in rules.
func BuiltinRules() []Rule {
	return cloneRules(builtinRules)
}

func cloneRules(rs []Rule) []Rule {
	out := make([]Rule, len(rs))
	for i, r := range rs {
		r.Attributes = maps.Clone(r.Attributes)
		r.Controls = slices.Clone(r.Controls)
		out[i] = r
	}
	return out
}

// Mapper applies the built-in rules plus a config's extra rules. It is
// immutable once built and safe for concurrent use.
type Mapper struct {
	rules    []Rule
	builtins int // rules[:builtins] are the built-in rules, the rest the config's
}

// NewMapper checks the extra rules and returns a mapper over the built-in
// rules followed by them. Every problem is reported at once, as errors.Join of
// *RuleError values naming each rule's index in extra.
func NewMapper(extra []Rule) (*Mapper, error) {
	var errs []error
	for _, r := range builtinRules {
		errs = append(errs, checkRule(-1, r)...)
	}
	for i, r := range extra {
		errs = append(errs, checkRule(i, r)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	rules := cloneRules(builtinRules)
	rules = append(rules, cloneRules(extra)...)
	return &Mapper{rules: rules, builtins: len(builtinRules)}, nil
}

// builtinMapper backs a nil *Mapper; the built-in rules are checked by tests,
// so building it cannot fail in a release.
var builtinMapper = sync.OnceValue(func() *Mapper {
	m, err := NewMapper(nil)
	if err != nil {
		panic("mapping: built-in rules: " + err.Error())
	}
	return m
})

func checkRule(index int, r Rule) []error {
	var errs []error
	bad := func(err error) { errs = append(errs, &RuleError{Index: index, Kind: r.Kind, Err: err}) }
	if r.Kind == "" {
		bad(errors.New("kind is empty"))
	} else if _, err := path.Match(r.Kind, ""); err != nil {
		bad(fmt.Errorf("kind is not a valid pattern: %w", err))
	}
	for k := range r.Attributes {
		if k == "" {
			bad(errors.New("an attribute name is empty"))
		}
	}
	if r.Freshness < 0 {
		bad(fmt.Errorf("freshness %v is negative", r.Freshness))
	}
	for _, id := range r.Controls {
		if err := checkControl(id, "in the rule"); err != nil {
			bad(err)
		}
	}
	return errs
}

// kindMatches reports whether kind matches a rule's Kind. Patterns were
// checked by NewMapper, so a Match error cannot happen here.
func kindMatches(pattern, kind string) bool {
	ok, _ := path.Match(pattern, kind)
	return ok
}

func (r *Rule) matches(kind string, attrs map[string]string) bool {
	if !kindMatches(r.Kind, kind) {
		return false
	}
	for k, want := range r.Attributes {
		got, ok := attrs[k]
		if want == "*" {
			if !ok || got == "" {
				return false
			}
		} else if !ok || got != want {
			return false
		}
	}
	return true
}

// DeclaredAttribute is the attribute in which an artifact declares control IDs
// itself (a document's front matter, an upload's --control flags).
const DeclaredAttribute = "controls"

// declared parses attrs["controls"]: comma-separated, spaces trimmed, empty
// items skipped. It returns the valid IDs and an error for each invalid one.
func declared(attrs map[string]string) ([]string, []error) {
	v := attrs[DeclaredAttribute]
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var ids []string
	var errs []error
	for item := range strings.SplitSeq(v, ",") {
		id := strings.TrimSpace(item)
		if id == "" {
			continue
		}
		if err := checkControl(id, "in "+DeclaredAttribute); err != nil {
			errs = append(errs, err)
			continue
		}
		ids = append(ids, id)
	}
	return ids, errs
}

// Map returns the controls an artifact evidences: the union of the controls of
// every matching rule and the IDs declared in attrs["controls"], de-duplicated
// and sorted in catalog order (see CompareIDs). A declared ID that is unknown or
// a heading is an error naming it; the result then still holds every valid ID,
// so a caller may keep the artifact and report the problem.
func (m *Mapper) Map(kind string, attrs map[string]string) ([]string, error) {
	if m == nil {
		m = builtinMapper()
	}
	set := map[string]bool{}
	for i := range m.rules {
		if m.rules[i].matches(kind, attrs) {
			for _, c := range m.rules[i].Controls {
				set[c] = true
			}
		}
	}
	ids, errs := declared(attrs)
	for _, c := range ids {
		set[c] = true
	}
	out := slices.SortedFunc(maps.Keys(set), CompareIDs)
	if out == nil {
		out = []string{}
	}
	return out, errors.Join(errs...)
}

// Freshness returns how recent evidence of this kind and attributes must be to
// cover control. A freshness set by a config rule that matches and gives the
// control wins (the longest, if several). Otherwise it is the longest among
// the matching built-in rules that give the control (a rule's 0 counting as
// DefaultFreshness): evidence counts as fresh if any reason it maps does. A
// control declared in attrs["controls"] is held to DefaultFreshness, as is
// one no rule gives.
func (m *Mapper) Freshness(kind string, attrs map[string]string, control string) time.Duration {
	if m == nil {
		m = builtinMapper()
	}
	// A freshness the config sets wins over the built-in rules', shorter
	// or longer: it is the organisation's own policy for that evidence.
	var configured time.Duration
	for i := m.builtins; i < len(m.rules); i++ {
		r := &m.rules[i]
		if r.Freshness > 0 && slices.Contains(r.Controls, control) && r.matches(kind, attrs) {
			configured = max(configured, r.Freshness)
		}
	}
	if configured > 0 {
		return configured
	}
	var best time.Duration
	for i := range m.rules {
		r := &m.rules[i]
		if slices.Contains(r.Controls, control) && r.matches(kind, attrs) {
			best = max(best, effectiveFreshness(r.Freshness))
		}
	}
	if best == 0 {
		return DefaultFreshness
	}
	if ids, _ := declared(attrs); slices.Contains(ids, control) {
		best = max(best, DefaultFreshness)
	}
	return best
}

func effectiveFreshness(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultFreshness
	}
	return d
}

// Handles reports whether some rule is about this kind, whatever the
// attributes: the connector conformance suite uses it to check that every
// kind a connector emits is known to mapping, which catches a misspelt kind.
func (m *Mapper) Handles(kind string) bool {
	if m == nil {
		m = builtinMapper()
	}
	for i := range m.rules {
		if kindMatches(m.rules[i].Kind, kind) {
			return true
		}
	}
	return false
}

// Rules returns a copy of every rule, built-in first, then the extra ones.
func (m *Mapper) Rules() []Rule {
	if m == nil {
		m = builtinMapper()
	}
	return cloneRules(m.rules)
}

// AttributeKeys returns, sorted, every attribute key Freshness can read: the
// keys the rules test and DeclaredAttribute. Two records of one kind whose
// attributes agree on these keys get the same freshness for every control,
// so coverage can group records by them (see Coverage.AddGroup).
func (m *Mapper) AttributeKeys() []string {
	if m == nil {
		m = builtinMapper()
	}
	keys := []string{DeclaredAttribute}
	for i := range m.rules {
		for k := range m.rules[i].Attributes {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}
