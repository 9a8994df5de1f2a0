package e2e

import (
	"archive/zip"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aimsvault/aimsvault/connectors/github/githubfake"
	"github.com/aimsvault/aimsvault/connectors/jira/jirafake"
)

// systemsWorkspace collects from the GitHub and Jira fakes and the shipped
// example documents, with two declared AI systems, a tuned check and a
// check of the config's own.
func systemsWorkspace(t *testing.T) (dir, config string) {
	t.Helper()
	gh := githubfake.New(t)
	jf := jirafake.New(t, jirafake.Options{})
	dir = t.TempDir()
	_, self, _, _ := runtime.Caller(0)
	if err := os.CopyFS(filepath.Join(dir, "docs"), os.DirFS(filepath.Join(filepath.Dir(self), "..", "examples"))); err != nil {
		t.Fatal(err)
	}
	config = filepath.Join(dir, "aimsvault.yaml")
	// Reach back to the fixtures' pull requests #41 and #42 (merged in
	// December 2025), not to #39 (June 2025, whose reviews the fake lacks).
	lookback := fmt.Sprintf("%dd", int(time.Since(time.Date(2025, 11, 25, 0, 0, 0, 0, time.UTC)).Hours()/24)+1)
	cfg := `vault:
  dir: data
  name: e2e.example/aims
connectors:
  - name: gh
    type: github
    base_url: ` + gh.URL + `
    token: ` + githubfake.Token + `
    owner: ` + githubfake.Owner + `
    lookback: ` + lookback + `
    files: [CODEOWNERS, MODEL_CARD.md, SECURITY.md]
  - name: jira
    type: jira
    base_url: ` + jf.URL + `
    deployment: cloud
    email: ` + jf.Email() + `
    token: ` + jf.Token() + `
    queries:
      - {name: risks, jql: project = AIRISK, kind: risk}
      - {name: incidents, jql: project = AIINC, kind: incident}
  - name: docs
    type: files
    path: ./docs
ai_systems:
  - id: inference
    name: Inference API and chatbot
    owner: ml-platform
    risk_level: high
    lifecycle: operation
    match:
      github: {repos: [example-org/inference-*]}
      jira: {labels: [chatbot, llm]}
  - id: credit-risk
    name: Credit scoring
    owner: risk-analytics
    risk_level: high
    lifecycle: development
    match:
      jira: {labels: [credit-scoring]}
      files: {paths: ["assessments/*"]}
findings:
  checks:
    - id: pr-without-independent-approval
      severity: high
    - id: code-scanning-off
      enabled: false
    - id: risk-unresolved
      title: AI risk without a resolution
      kind: jira.risk
      where: {jira.resolution: "!*"}
      controls: ["8.3"]
      severity: low
`
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, config, "init")
	if r := aimsvault(t, config, "collect"); r.code != 0 {
		t.Fatalf("collect: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	return dir, config
}

type findingView struct {
	ID       string   `json:"id"`
	Check    string   `json:"check"`
	Severity string   `json:"severity"`
	Controls []string `json:"controls"`
	Systems  []string `json:"systems"`
	Subject  string   `json:"subject"`
	Records  []string `json:"records"`
}

func findingsOf(t *testing.T, config string, args ...string) []findingView {
	t.Helper()
	out := mustRun(t, config, append([]string{"findings", "--format", "json"}, args...)...).stdout
	var fs []findingView
	if err := json.Unmarshal([]byte(out), &fs); err != nil {
		t.Fatalf("findings json: %v\n%s", err, out)
	}
	return fs
}

func ids(fs []findingView) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	slices.Sort(out)
	return out
}

func TestSystemsAndFindings(t *testing.T) {
	t.Parallel()
	dir, config := systemsWorkspace(t)

	// Exactly the expected findings, from what the fakes serve.
	fs := findingsOf(t, config)
	want := []string{
		// Open, high and critical, opened in 2025; the resolved secret
		// alert and the fixed and medium ones are not findings.
		"alert-past-sla:example-org/model-training/code-scanning/4",
		"alert-past-sla:example-org/model-training/dependabot/7",
		"pr-without-independent-approval:example-org/model-training#41",
		"risk-unresolved:AIRISK-2",
		"risk-unresolved:AIRISK-3",
		"secret-scanning-off:example-org/inference-api/secret_scanning",
		"system-without-impact-assessment:system/inference",
	}
	if got := ids(fs); !slices.Equal(got, want) {
		t.Fatalf("findings:\n got %q\nwant %q", got, want)
	}
	recs := map[string]record{}
	for _, r := range listRecords(t, config) {
		recs[r.ID] = r
	}
	for _, f := range fs {
		if f.Check == "pr-without-independent-approval" && f.Severity != "high" {
			t.Errorf("%s: severity %s, want the config's high", f.ID, f.Severity)
		}
		for _, id := range f.Records {
			if r, ok := recs[id]; !ok || (f.Subject != r.Subject && !strings.HasPrefix(f.Subject, "system/")) {
				t.Errorf("%s rests on record %s, which is not about its subject (%+v)", f.ID, id, r)
			}
		}
		if strings.HasPrefix(f.Subject, "system/") || f.Check == "risk-unresolved" {
			continue
		}
		if len(f.Records) != 1 {
			t.Errorf("%s: records %v, want the one latest record", f.ID, f.Records)
		}
	}

	// Filters.
	// AIRISK-2 carries the llm label, which links it to inference.
	if got := ids(findingsOf(t, config, "--system", "inference")); !slices.Equal(got, []string{
		"risk-unresolved:AIRISK-2", "secret-scanning-off:example-org/inference-api/secret_scanning", "system-without-impact-assessment:system/inference"}) {
		t.Errorf("findings --system inference: %q", got)
	}
	if got := ids(findingsOf(t, config, "--control", "A.5.2")); !slices.Equal(got, []string{"system-without-impact-assessment:system/inference"}) {
		t.Errorf("findings --control A.5.2: %q", got)
	}
	if r := aimsvault(t, config, "findings", "--system", "nope"); r.code != 1 || !strings.Contains(r.stderr, "credit-risk") {
		t.Errorf("unknown system: exit %d, %s", r.code, r.stderr)
	}

	// The inventory: declared systems with their evidence, and the model
	// card of a repository no system declares.
	var inv struct {
		Systems []struct {
			ID            string         `json:"id"`
			EvidenceCount int            `json:"evidence_count"`
			BySource      map[string]int `json:"evidence_by_source"`
			LastEvidence  *string        `json:"last_evidence"`
			OpenFindings  int            `json:"open_findings"`
		} `json:"systems"`
		Undeclared []struct {
			Kind string `json:"kind"`
			Name string `json:"name"`
		} `json:"undeclared"`
	}
	out := mustRun(t, config, "systems", "--format", "json").stdout
	if err := json.Unmarshal([]byte(out), &inv); err != nil {
		t.Fatalf("systems json: %v\n%s", err, out)
	}
	if len(inv.Systems) != 2 || inv.Systems[0].ID != "inference" || inv.Systems[1].ID != "credit-risk" {
		t.Fatalf("systems: %s", out)
	}
	inf, credit := inv.Systems[0], inv.Systems[1]
	if inf.BySource["github"] == 0 || inf.BySource["jira"] == 0 || inf.LastEvidence == nil || inf.OpenFindings != 3 {
		t.Errorf("inference: %+v", inf)
	}
	if credit.BySource["file"] != 1 || credit.BySource["jira"] == 0 || credit.OpenFindings != 0 {
		t.Errorf("credit-risk: %+v", credit)
	}
	if len(inv.Undeclared) != 1 || inv.Undeclared[0].Kind != "github.model_card" || inv.Undeclared[0].Name != "example-org/model-training" {
		t.Errorf("undeclared: %+v", inv.Undeclared)
	}

	// evidence list --system: exactly the records linked to it.
	sys := listRecords(t, config, "--system", "credit-risk")
	if len(sys) != inv.Systems[1].EvidenceCount {
		t.Errorf("evidence list --system credit-risk: %d records, systems says %d", len(sys), credit.EvidenceCount)
	}
	for _, r := range sys {
		if r.Kind != "file.impact_assessment" && !strings.HasPrefix(r.Kind, "jira.") {
			t.Errorf("credit-risk record %s %s", r.Kind, r.Subject)
		}
	}

	// coverage says which controls have open findings.
	var cov []struct {
		Control      string `json:"control"`
		OpenFindings int    `json:"open_findings"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, config, "coverage", "--format", "json").stdout), &cov); err != nil {
		t.Fatal(err)
	}
	open := map[string]int{}
	for _, c := range cov {
		open[c.Control] = c.OpenFindings
	}
	if open["8.3"] != 5 || open["A.5.2"] != 1 || open["A.2.2"] != 0 {
		t.Errorf("coverage open findings: 8.3 %d, A.5.2 %d, A.2.2 %d", open["8.3"], open["A.5.2"], open["A.2.2"])
	}
	if table := mustRun(t, config, "coverage", "--system", "inference").stdout; !strings.Contains(table, "FINDINGS") || !strings.Contains(table, "1 open") {
		t.Errorf("coverage --system table:\n%s", table)
	}

	// The bundle of one system shows its findings.
	bundle := filepath.Join(dir, "inference.zip")
	mustRun(t, config, "bundle", "export", "-o", bundle, "--system", "inference")
	mustRun(t, config, "bundle", "verify", bundle)
	zr, err := zip.OpenReader(bundle)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		files[f.Name] = f
	}
	read := func(name string) string {
		rc, err := files[name].Open()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, _ := io.ReadAll(rc)
		return string(b)
	}
	rows, err := csv.NewReader(strings.NewReader(read("data/controls.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(rows[0], "findings")
	seen := false
	for _, row := range rows[1:] {
		if row[0] == "A.5.2" {
			seen = row[col] == "system-without-impact-assessment:system/inference"
		}
		if strings.Contains(row[col], "model-training") {
			t.Errorf("controls.csv of the inference bundle names another system's finding: %v", row)
		}
	}
	if !seen {
		t.Errorf("controls.csv lacks A.5.2's finding:\n%s", read("data/controls.csv"))
	}
	index := read("data/index.html")
	if !strings.Contains(index, "secret-scanning-off:example-org/inference-api/secret_scanning") || !strings.Contains(index, "AI systems inference") {
		t.Errorf("index.html lacks the system's findings or filter")
	}
	var m struct {
		Artifacts []struct {
			Subject string `json:"subject"`
		} `json:"artifacts"`
	}
	json.Unmarshal([]byte(read("data/manifest.json")), &m)
	for _, a := range m.Artifacts {
		if strings.Contains(a.Subject, "model-training") {
			t.Errorf("inference bundle holds %s", a.Subject)
		}
	}
	if len(m.Artifacts) != inf.EvidenceCount {
		t.Errorf("inference bundle: %d artifacts, systems says %d records", len(m.Artifacts), inf.EvidenceCount)
	}

	// Findings are never written into the evidence: the vault still
	// verifies, and holds only the collected records.
	if rep, code := verify(t, config); code != 0 || !rep.OK {
		t.Errorf("verify after findings: %+v", rep)
	}
}
