package inventory

import (
	"slices"
	"testing"
	"time"
)

var testSystems = []System{
	{ID: "fraud", Name: "Fraud scoring", Owner: "risk", RiskLevel: "high", Lifecycle: "operation", Match: Matchers{
		GitHubRepos: []string{"example-org/fraud-*"}, SageMakerModelPackageGroups: []string{"fraud-*"}, SageMakerEndpointPrefixes: []string{"fraud-"},
		BedrockCustomModels: []string{"fraud-llm*"}, BedrockGuardrails: []string{"fraud-guard"},
		JiraProjects: []string{"FRAUD"}, JiraLabels: []string{"fraud"}, Files: []string{"assessments/fraud-*.md"},
	}},
	{ID: "chat", Name: "Chatbot", Owner: "cx", RiskLevel: "medium", Lifecycle: "development", Match: Matchers{
		GitHubTopics: []string{"chatbot"}, JiraLabels: []string{"chatbot", "fraud"},
	}},
}

func item(kind, subject string, kv ...string) *Item {
	it := &Item{ID: kind + " " + subject, Connector: "c", Kind: kind, Subject: subject, Attributes: map[string]string{}, CollectedAt: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
	for i := 0; i+1 < len(kv); i += 2 {
		it.Attributes[kv[i]] = kv[i+1]
	}
	return it
}

func TestLink(t *testing.T) {
	t.Parallel()
	inv, err := New(testSystems)
	if err != nil {
		t.Fatal(err)
	}
	// Topics come from the repository's own record.
	inv.LearnTopics(item("github.repository", "example-org/assistant", AttrTopics, "chatbot,ml"))
	for _, tc := range []struct {
		name string
		it   *Item
		want []string
	}{
		{"repo glob", item("github.pull_request", "example-org/fraud-model#3", "repository", "example-org/fraud-model"), []string{"fraud"}},
		{"repo by topic", item("github.branch_protection", "example-org/assistant:main", "repository", "example-org/assistant"), []string{"chat"}},
		{"other repo", item("github.repository", "example-org/website"), nil},
		{"model package group", item("sagemaker.model_package", "arn:…/fraud-detector/1", "model_package_group", "fraud-detector"), []string{"fraud"}},
		{"endpoint by ARN", item("sagemaker.endpoint", "arn:aws:sagemaker:us-east-1:1:endpoint/fraud-prod"), []string{"fraud"}},
		{"monitoring schedule by endpoint", item("sagemaker.monitoring_schedule", "arn:…/sched", "endpoint", "Fraud-Prod"), []string{"fraud"}},
		{"other endpoint", item("sagemaker.endpoint", "arn:aws:sagemaker:us-east-1:1:endpoint/churn-prod"), nil},
		{"custom model", item("bedrock.custom_model", "arn:aws:bedrock:us-east-1:1:custom-model/fraud-llm-v2"), []string{"fraud"}},
		{"guardrail", item("bedrock.guardrail", "arn:aws:bedrock:us-east-1:1:guardrail/fraud-guard"), []string{"fraud"}},
		{"jira project", item("jira.risk", "FRAUD-1", "jira.project", "FRAUD"), []string{"fraud"}},
		{"jira label in two systems", item("jira.incident", "OPS-9", "jira.project", "OPS", "jira.labels", "fraud,urgent"), []string{"fraud", "chat"}},
		{"file path", item("file.impact_assessment", "assessments/fraud-2026.md"), []string{"fraud"}},
		{"other file", item("file.impact_assessment", "assessments/chat.md"), nil},
	} {
		if got := inv.Link(tc.it); !slices.Equal(got, tc.want) {
			t.Errorf("%s: Link = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestNew_Rejects(t *testing.T) {
	t.Parallel()
	if _, err := New([]System{{ID: "a"}, {ID: "a"}}); err == nil {
		t.Error("duplicate id accepted")
	}
	if _, err := New([]System{{ID: "a", Match: Matchers{Files: []string{"[x"}}}}); err == nil {
		t.Error("bad glob accepted")
	}
}

func TestTally_CountsAndUndeclared(t *testing.T) {
	t.Parallel()
	inv, _ := New(testSystems)
	tally := inv.NewTally()
	for _, it := range []*Item{
		item("sagemaker.endpoint", "arn:aws:sagemaker:us-east-1:1:endpoint/fraud-prod"),
		item("jira.risk", "FRAUD-1", "jira.project", "FRAUD"),
		item("sagemaker.endpoint", "arn:aws:sagemaker:us-east-1:1:endpoint/churn-prod"),
		item("sagemaker.endpoint", "arn:aws:sagemaker:us-east-1:1:endpoint/churn-prod"),
		item("sagemaker.model_package_group", "arn:…/credit", "model_package_group", "credit-scoring"),
		item("github.model_card", "example-org/lab:MODEL_CARD.md", "repository", "example-org/lab"),
		item("github.pull_request", "example-org/lab#1", "repository", "example-org/lab"), // not a candidate
	} {
		tally.Add(it, inv.Link(it))
	}
	rows := tally.Systems(map[string]int{"fraud": 2})
	if len(rows) != 2 || rows[0].EvidenceCount != 2 || rows[0].BySource["sagemaker"] != 1 || rows[0].OpenFindings != 2 || rows[0].LastEvidence == nil ||
		rows[1].EvidenceCount != 0 || rows[1].LastEvidence != nil {
		t.Errorf("systems %+v", rows)
	}
	var got []string
	for _, u := range tally.Undeclared() {
		got = append(got, u.Kind+" "+u.Name)
		if u.Name == "churn-prod" && u.EvidenceCount != 2 {
			t.Errorf("churn-prod counted %d", u.EvidenceCount)
		}
	}
	want := []string{"github.model_card example-org/lab", "sagemaker.endpoint churn-prod", "sagemaker.model_package_group credit-scoring"}
	if !slices.Equal(got, want) {
		t.Errorf("undeclared %q, want %q", got, want)
	}
}

func TestContentAttributes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind, content string
		want          map[string]string
	}{
		{"github.repository", `{"topics":["ML","chatbot"]}`, map[string]string{AttrTopics: "chatbot,ml"}},
		{"github.repository", `{"topics":[]}`, map[string]string{AttrTopics: ""}},
		{"github.dependabot_alert", `{"created_at":"2025-10-02T00:00:00Z"}`, map[string]string{AttrCreatedAt: "2025-10-02T00:00:00Z"}},
		{"jira.incident", `{"fields":{"created":"2026-02-10T07:20:00.000+0100","duedate":"2026-03-01"}}`,
			map[string]string{AttrJiraCreated: "2026-02-10T06:20:00Z", AttrJiraDueDate: "2026-03-01"}},
		{"jira.incident", `not json`, nil},
		{"file.document", `{}`, nil},
	} {
		got := ContentAttributes(tc.kind, []byte(tc.content))
		if len(got) != len(tc.want) {
			t.Errorf("%s %s: %v, want %v", tc.kind, tc.content, got, tc.want)
			continue
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s %s: %s=%q, want %q", tc.kind, tc.content, k, got[k], v)
			}
		}
	}
	if ContentKinds("file.document") || !ContentKinds("jira.risk") || !ContentKinds("github.secret_scanning_alert") {
		t.Error("ContentKinds")
	}
}
