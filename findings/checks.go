package findings

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aimsvault/aimsvault/inventory"
	"github.com/aimsvault/aimsvault/mapping"
)

// Severity of a finding.
type Severity string

// Severities, lowest first.
const (
	Low      Severity = "low"
	Medium   Severity = "medium"
	High     Severity = "high"
	Critical Severity = "critical"
)

// Severities lists the allowed severities, lowest first.
var Severities = []Severity{Low, Medium, High, Critical}

func (s Severity) rank() int { return slices.Index(Severities, s) }

// Type says how a check reasons over the evidence.
type Type string

const (
	// State: the latest record of a subject matches Select. The type of
	// every check the config adds.
	State Type = "state"
	// Overdue: the latest record of a subject matches Select, and it is
	// past its due time: the Due attribute's time if it has one, else the
	// Start attribute's time (or, without it, when the subject was first
	// seen) plus SLA.
	Overdue Type = "overdue"
	// Requires: each subject whose latest record matches Select needs a
	// subject whose latest record matches Require with the same Key value
	// (case-insensitive).
	Requires Type = "requires"
	// SystemRequires: each AI system that has evidence matching When (or
	// every declared system not retired, when When is empty) needs evidence
	// matching Require. Evidence linked to no system is checked as a group
	// of its own when When is set.
	SystemRequires Type = "system_requires"
)

// Check is one data-driven check. Built-in checks are values of it, and the
// config tunes or adds them.
type Check struct {
	ID       string // [a-z0-9][a-z0-9_-]*
	Title    string
	Type     Type
	Controls []string
	Severity Severity
	// Select: the records the check is about; any of the matches.
	Select []Match
	// MaxAge: only subjects whose latest record was collected within MaxAge
	// of now count (evidence of something since deleted ages out); 0 means
	// no limit.
	MaxAge time.Duration
	// Overdue: Start and Due name time attributes; SLA is the allowed time.
	Start, Due string
	SLA        time.Duration
	// Requires: Key is the attribute joining Select and Require.
	Key string
	// Requires and SystemRequires.
	Require []Match
	// SystemRequires: when the requirement applies; empty = always.
	When []Match
}

const day = 24 * time.Hour

// freshState matches the freshness of configuration evidence in mapping:
// a setting re-read on every run that has not been seen for a month is no
// longer "latest".
const freshState = 30 * day

// builtin is every built-in check. Inputs are the kinds and attributes the
// connectors emit (see each connector's code and mapping's rules); each is
// data, so a connector that names a thing differently is fixed here or, by a
// user, with a config override of `where`.
var builtin = []Check{
	{
		ID: "model-package-without-metrics", Title: "SageMaker model package approved without metrics", Type: State,
		Controls: []string{"A.6.2.4", "A.6.2.5"}, Severity: High, MaxAge: freshState,
		Select: []Match{{Kinds: []string{"sagemaker.model_package"}, Where: map[string]string{"approval_status": "Approved", "model_metrics": "false"}}},
	},
	{
		ID: "endpoint-without-data-capture", Title: "SageMaker endpoint without data capture", Type: State,
		Controls: []string{"A.6.2.8"}, Severity: Medium, MaxAge: freshState,
		Select: []Match{{Kinds: []string{"sagemaker.data_capture_config"}, Where: map[string]string{"enabled": "false"}}},
	},
	{
		ID: "endpoint-without-monitoring", Title: "Live SageMaker endpoint without a Model Monitor schedule", Type: Requires,
		Controls: []string{"9.1", "A.6.2.6"}, Severity: Medium, MaxAge: freshState, Key: "endpoint",
		Select:  []Match{{Kinds: []string{"sagemaker.endpoint"}, Where: map[string]string{"endpoint_status": "InService|Updating|UpdateRollbackFailed"}}},
		Require: []Match{{Kinds: []string{"sagemaker.monitoring_schedule"}, Where: map[string]string{"schedule_status": "Scheduled"}}},
	},
	{
		ID: "bedrock-invocation-logging-off", Title: "Bedrock model invocation logging off", Type: State,
		Controls: []string{"A.6.2.8"}, Severity: High, MaxAge: freshState,
		Select: []Match{{Kinds: []string{"bedrock.invocation_logging"}, Where: map[string]string{"enabled": "false"}}},
	},
	{
		ID: "model-without-guardrail", Title: "Live Bedrock model without a guardrail", Type: SystemRequires,
		Controls: []string{"A.6.2.6", "A.9.2"}, Severity: High, MaxAge: freshState,
		When:    []Match{{Kinds: []string{"bedrock.custom_model", "bedrock.provisioned_throughput"}}},
		Require: []Match{{Kinds: []string{"bedrock.guardrail"}, Where: map[string]string{"status": "READY"}}},
	},
	{
		ID: "pr-without-independent-approval", Title: "Pull request merged without an independent approval", Type: State,
		Controls: []string{"8.1", "A.6.1.3"}, Severity: Medium, MaxAge: freshState,
		Select: []Match{{Kinds: []string{"github.pull_request"}, Where: map[string]string{"approved": "false"}}},
	},
	{
		ID: "branch-unprotected", Title: "Default branch without protection or rulesets", Type: State,
		Controls: []string{"7.5.3", "8.1", "A.6.1.3"}, Severity: High, MaxAge: freshState,
		Select: []Match{{Kinds: []string{"github.branch_protection"}, Where: map[string]string{"protected": "false"}}},
	},
	{
		ID: "secret-scanning-off", Title: "Secret scanning off", Type: State,
		Controls: []string{"8.3"}, Severity: Medium, MaxAge: freshState,
		Select: []Match{{Kinds: []string{"github.alert_summary"}, Where: map[string]string{"feature": "secret_scanning", "enabled": "false"}}},
	},
	{
		ID: "code-scanning-off", Title: "Code scanning off", Type: State,
		Controls: []string{"8.3"}, Severity: Medium, MaxAge: freshState,
		Select: []Match{{Kinds: []string{"github.alert_summary"}, Where: map[string]string{"feature": "code_scanning", "enabled": "false"}}},
	},
	{
		ID: "alert-past-sla", Title: "Open high-severity security alert past its SLA", Type: Overdue,
		Controls: []string{"8.3"}, Severity: High, MaxAge: freshState, Start: inventory.AttrCreatedAt, SLA: 30 * day,
		Select: []Match{
			{Kinds: []string{"github.code_scanning_alert", "github.dependabot_alert"}, Where: map[string]string{"state": "open", "severity": "critical|high"}},
			// A leaked secret has no severity: every open one is high.
			{Kinds: []string{"github.secret_scanning_alert"}, Where: map[string]string{"state": "open"}},
		},
	},
	{
		ID: "training-overdue", Title: "Required training overdue", Type: State,
		Controls: []string{"7.2", "7.3"}, Severity: Medium, MaxAge: freshState,
		Select: []Match{{Kinds: []string{"bamboohr.training_summary", "knowbe4.training_summary", "training.summary"}, Where: map[string]string{"overdue": ">0"}}},
	},
	{
		ID: "incident-past-target", Title: "AI incident open past its target", Type: Overdue,
		Controls: []string{"10.2", "A.8.4"}, Severity: High, MaxAge: freshState,
		Start: inventory.AttrJiraCreated, Due: inventory.AttrJiraDueDate, SLA: 30 * day,
		Select: []Match{
			{Kinds: []string{"jira.incident"}, Where: map[string]string{"jira.status_category": "!done"}},
			{Kinds: []string{"jira.issue"}, Where: map[string]string{"jira.issuetype": "Incident", "jira.status_category": "!done"}},
		},
	},
	{
		ID: "system-without-impact-assessment", Title: "AI system with no impact assessment", Type: SystemRequires,
		Controls: []string{"6.1.4", "8.4", "A.5.2"}, Severity: High,
		Require: []Match{
			{Kinds: []string{"jira.impact_assessment", "file.impact_assessment"}},
			{Kinds: []string{"jira.issue"}, Where: map[string]string{"jira.issuetype": "Impact Assessment"}},
		},
	},
}

// Builtin returns a copy of the built-in checks.
func Builtin() []Check {
	out := make([]Check, len(builtin))
	for i, c := range builtin {
		out[i] = c.clone()
	}
	return out
}

// IsBuiltin reports whether id names a built-in check.
func IsBuiltin(id string) bool {
	return slices.ContainsFunc(builtin, func(c Check) bool { return c.ID == id })
}

func (c Check) clone() Check {
	c.Controls = slices.Clone(c.Controls)
	c.Select, c.Require, c.When = cloneMatches(c.Select), cloneMatches(c.Require), cloneMatches(c.When)
	return c
}

func cloneMatches(ms []Match) []Match {
	if ms == nil {
		return nil
	}
	out := make([]Match, len(ms))
	for i, m := range ms {
		out[i] = Match{Kinds: slices.Clone(m.Kinds), Where: maps.Clone(m.Where)}
	}
	return out
}

// Spec is one entry of the config's findings.checks: it tunes a built-in
// check (ID names one) or adds a state check (Kind, Where and Controls).
// Zero fields keep the built-in's values.
type Spec struct {
	ID       string
	Disabled bool
	Title    string
	// Kind is the kind (or glob) of a new check; not allowed on a built-in.
	Kind string
	// Where is merged into each of a built-in check's Select matches (an
	// attribute given replaces that attribute's condition), or is a new
	// check's conditions.
	Where    map[string]string
	Controls []string
	Severity Severity
	MaxAge   time.Duration
	SLA      time.Duration
}

// SpecError is a problem with one Spec; Index is its position in the list
// passed to Checks, so the config loader can name the line.
type SpecError struct {
	Index int
	ID    string
	Err   error
}

func (e *SpecError) Error() string {
	return fmt.Sprintf("findings.checks[%d] (%s): %v", e.Index, e.ID, e.Err)
}

func (e *SpecError) Unwrap() error { return e.Err }

var checkID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Checks returns the built-in checks tuned by specs, without the disabled
// ones, followed by the checks specs add. Every problem is reported, as
// errors.Join of *SpecError.
func Checks(specs []Spec) ([]Check, error) {
	checks := Builtin()
	var errs []error
	seen := map[string]bool{}
	for i, s := range specs {
		bad := func(format string, args ...any) {
			errs = append(errs, &SpecError{Index: i, ID: s.ID, Err: fmt.Errorf(format, args...)})
		}
		switch {
		case !checkID.MatchString(s.ID):
			bad("id must match [a-z0-9][a-z0-9_-]*")
			continue
		case seen[s.ID]:
			bad("id is used twice")
			continue
		}
		seen[s.ID] = true
		if s.Severity != "" && s.Severity.rank() < 0 {
			bad("severity %q: use low, medium, high or critical", s.Severity)
		}
		for _, id := range s.Controls {
			if _, err := mapping.Expand(id); err != nil || !mapping.Known(id) {
				bad("unknown control %q: write IDs as in the catalog (aimsvault controls)", id)
			} else if e, _ := mapping.Lookup(id); e.Heading {
				bad("control %q is a heading: name one of its sub-clauses", id)
			}
		}
		if s.MaxAge < 0 || s.SLA < 0 {
			bad("max_age and sla must not be negative")
		}
		i := slices.IndexFunc(checks, func(c Check) bool { return c.ID == s.ID })
		if i >= 0 {
			c := &checks[i]
			if s.Kind != "" {
				bad("kind is not allowed on the built-in check %s: tune it with where, or give a new check its own id", s.ID)
			}
			if s.SLA > 0 && c.Type != Overdue {
				bad("sla applies only to overdue checks (alert-past-sla, incident-past-target)")
			}
			if s.Title != "" {
				c.Title = s.Title
			}
			if len(s.Controls) > 0 {
				c.Controls = slices.Clone(s.Controls)
			}
			if s.Severity != "" {
				c.Severity = s.Severity
			}
			if s.MaxAge > 0 {
				c.MaxAge = s.MaxAge
			}
			if s.SLA > 0 {
				c.SLA = s.SLA
			}
			if len(s.Where) > 0 {
				targets := c.Select
				if c.Type == SystemRequires {
					targets = c.Require
				}
				for j := range targets {
					if targets[j].Where == nil {
						targets[j].Where = map[string]string{}
					}
					maps.Copy(targets[j].Where, s.Where)
				}
			}
			continue
		}
		if s.Disabled {
			continue // disabling a check we do not have: harmless, and a new check may be parked so
		}
		if s.Kind == "" || len(s.Controls) == 0 {
			bad("not a built-in check (%s); a new check needs kind, where and controls", strings.Join(builtinIDs(), ", "))
			continue
		}
		c := Check{ID: s.ID, Title: s.Title, Type: State, Controls: slices.Clone(s.Controls), Severity: s.Severity, MaxAge: s.MaxAge,
			Select: []Match{{Kinds: []string{s.Kind}, Where: maps.Clone(s.Where)}}}
		if c.Title == "" {
			c.Title = s.ID
		}
		if c.Severity == "" {
			c.Severity = Medium
		}
		checks = append(checks, c)
	}
	// Compile once here, so a bad condition is reported against its spec.
	for i, s := range specs {
		j := slices.IndexFunc(checks, func(c Check) bool { return c.ID == s.ID })
		if j < 0 {
			continue
		}
		if _, err := compile(checks[j]); err != nil {
			errs = append(errs, &SpecError{Index: i, ID: s.ID, Err: err})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	disabled := map[string]bool{}
	for _, s := range specs {
		disabled[s.ID] = s.Disabled
	}
	return slices.DeleteFunc(checks, func(c Check) bool { return disabled[c.ID] }), nil
}

func builtinIDs() []string {
	ids := make([]string, len(builtin))
	for i, c := range builtin {
		ids[i] = c.ID
	}
	return ids
}
