package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func systemsOpts() Options {
	o := opts(nil)
	o.BuiltinCheck = func(id string) bool { return id == "branch-unprotected" || id == "training-overdue" }
	o.CheckCondition = func(c string) error {
		if strings.HasPrefix(c, ">") && strings.Trim(c[1:], "0123456789") != "" {
			return errors.New("not a number")
		}
		return nil
	}
	return o
}

func TestLoad_AISystemsAndFindings(t *testing.T) {
	t.Parallel()
	src := `ai_systems:
  - id: fraud-scoring
    name: Fraud scoring
    owner: risk-ml@example.com
    risk_level: high
    lifecycle: operation
    match:
      github: {repos: [example-org/fraud-*], topics: [fraud]}
      sagemaker: {model_package_groups: [fraud-*], endpoint_prefixes: [fraud-]}
      bedrock: {custom_models: [fraud-llm], guardrails: [fraud-guard]}
      jira: {projects: [FRAUD], labels: [fraud-scoring]}
      files: {paths: ["impact/fraud-*.md"]}
findings:
  checks:
    - id: branch-unprotected
      enabled: false
    - id: training-overdue
      where: {overdue: ">5"}
      severity: high
      max_age: 14d
    - id: model-card-draft
      kind: sagemaker.model_card
      where: {model_card_status: Draft}
      controls: [A.6.2.8]
`
	cfg, err := Load(write(t, src), systemsOpts())
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.AISystems) != 1 {
		t.Fatalf("systems %+v", cfg.AISystems)
	}
	s := cfg.AISystems[0]
	if s.ID != "fraud-scoring" || s.RiskLevel != "high" || s.Line != 2 || !slices.Equal(s.Match.GitHub.Topics, []string{"fraud"}) ||
		!slices.Equal(s.Match.SageMaker.EndpointPrefixes, []string{"fraud-"}) || !slices.Equal(s.Match.Files.Paths, []string{"impact/fraud-*.md"}) {
		t.Errorf("system %+v", s)
	}
	cs := cfg.Findings.Checks
	if len(cs) != 3 || cs[0].Enabled == nil || *cs[0].Enabled || cs[1].Where["overdue"] != ">5" || cs[1].MaxAge.String() != "14d" ||
		cs[2].Kind != "sagemaker.model_card" || cs[2].Line != 21 {
		t.Errorf("checks %+v", cs)
	}
}

func TestLoad_AISystemErrorsWithLines(t *testing.T) {
	t.Parallel()
	src := `ai_systems:
  - id: Fraud Scoring
    name: Fraud
    owner: risk
    risk_level: extreme
    lifecycle: live
    match:
      github: {repos: ["[bad"]}
  - id: chat
    owner: cx
    risk_level: low
    lifecycle: design
  - id: chat
    name: Chat again
    owner: cx
    risk_level: low
    lifecycle: design
    match:
      jira: {projects: [CX]}
      gitlab: {repos: [x]}
`
	list := loadErrs(t, src, systemsOpts())
	for key, line := range map[string]int{
		"ai_systems[0].id":                    2,
		"ai_systems[0].risk_level":            5,
		"ai_systems[0].lifecycle":             6,
		"ai_systems[0].match.github.repos[0]": 8,
		"ai_systems[2].match.gitlab":          20,
	} {
		if e := find(t, list, key); e.Line != line {
			t.Errorf("%s: line %d, want %d (%s)", key, e.Line, line, e.Msg)
		}
	}
	var msgs []string
	for _, e := range list {
		if e.Key == "ai_systems[1]" {
			msgs = append(msgs, e.Msg)
			if e.Line != 9 {
				t.Errorf("ai_systems[1] problem on line %d: %s", e.Line, e.Msg)
			}
		}
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"name is required", "match is empty"} {
		if !strings.Contains(all, want) {
			t.Errorf("ai_systems[1] problems lack %q:\n%s", want, all)
		}
	}
	if !strings.Contains(find(t, list, "ai_systems[0].risk_level").Msg, "low, medium, high, critical") {
		t.Error("risk_level message does not list the allowed values")
	}
	// The duplicate id is only reported on a cleanly decoded entry.
	list = loadErrs(t, "ai_systems:\n  - {id: a, name: A, owner: o, risk_level: low, lifecycle: design, match: {jira: {projects: [A]}}}\n  - {id: a, name: B, owner: o, risk_level: low, lifecycle: design, match: {jira: {projects: [B]}}}\n", systemsOpts())
	if e := find(t, list, "ai_systems[1].id"); e.Line != 3 || !strings.Contains(e.Msg, "first at line 2") {
		t.Errorf("duplicate: %+v", e)
	}
}

func TestLoad_FindingCheckErrorsWithLines(t *testing.T) {
	t.Parallel()
	src := `findings:
  checks:
    - id: branch-unprotected
      kind: github.branch_protection
    - id: tpyo-check
      severity: high
    - id: training-overdue
      where: {overdue: ">many"}
      severity: urgent
      sla: -1d
    - id: new-check
      kind: x.y
      where: {a: b}
      controls: [A.9.9]
  rules: []
`
	list := loadErrs(t, src, systemsOpts())
	for key, line := range map[string]int{
		"findings.checks[0].kind":          4,
		"findings.checks[1]":               5,
		"findings.checks[2].where.overdue": 8,
		"findings.checks[2].severity":      9,
		"findings.checks[2].sla":           10,
		"findings.checks[3].controls[0]":   14,
		"findings.rules":                   15,
	} {
		if e := find(t, list, key); e.Line != line {
			t.Errorf("%s: line %d, want %d (%s)", key, e.Line, line, e.Msg)
		}
	}
	if !strings.Contains(find(t, list, "findings.checks[1]").Msg, "not a built-in check") {
		t.Error("unknown check id not explained")
	}
}
