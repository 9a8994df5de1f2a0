package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aimsvault/aimsvault/connectors/bamboohr/bamboohrfake"
	"github.com/aimsvault/aimsvault/connectors/bedrock/bedrockfake"
	"github.com/aimsvault/aimsvault/connectors/github/githubfake"
	"github.com/aimsvault/aimsvault/connectors/jira/jirafake"
	"github.com/aimsvault/aimsvault/connectors/knowbe4/knowbe4fake"
	"github.com/aimsvault/aimsvault/connectors/sagemaker/sagemakerfake"
)

// secretsEnv are the distinctive secrets of TestSecrets_NeverStored, by the
// environment variable the config names them with. The "bad" ones are
// refused by the fakes, so those connectors' runs fail.
var secretsEnv = map[string]string{
	"AIMSVAULT_S_GITHUB":        "S3CR3T-github-7f3c1a9e5d2b4c6a8e0f",
	"AIMSVAULT_S_GITHUB_BAD":    "S3CR3T-github-bad-91d0e2c4b6a8f1e3",
	"AIMSVAULT_S_JIRA":          "S3CR3T-jira-0b8d6f4e2c1a3957ae6d",
	"AIMSVAULT_S_JIRA_BAD":      "S3CR3T-jira-bad-5e7c9a1b3d2f4e6a",
	"AIMSVAULT_S_SAGEMAKER":     "S3CR3T-sagemaker-c4e6a8b0d2f13579",
	"AIMSVAULT_S_SAGEMAKER_BAD": "S3CR3T-sagemaker-bad-2468ace13579bd",
	"AIMSVAULT_S_BEDROCK":       "S3CR3T-bedrock-a1c3e5f7b9d02468ac",
	"AIMSVAULT_S_BAMBOOHR":      "S3CR3T-bamboohr-d3f5a7c9e1b24680",
	"AIMSVAULT_S_BAMBOOHR_BAD":  "S3CR3T-bamboohr-bad-13579bdf2468a",
	"AIMSVAULT_S_KNOWBE4":       "S3CR3T-knowbe4-e2a4c6f8b0d13579a",
	"AIMSVAULT_S_KNOWBE4_BAD":   "S3CR3T-knowbe4-bad-97531fdb8642ec",
}

// needles are what must appear nowhere: each secret, and its base64 in both
// alphabets at each of the three alignments it can take inside a longer
// encoded text (a Basic authorization, a JSON []byte).
func needles() map[string]string {
	out := map[string]string{}
	for name, s := range secretsEnv {
		out[s] = name
		for i := range 3 {
			part := s[i:]
			part = part[:len(part)/3*3]
			out[base64.StdEncoding.EncodeToString([]byte(part))] = name + " (base64)"
			out[base64.URLEncoding.EncodeToString([]byte(part))] = name + " (base64url)"
		}
	}
	return out
}

// leakChecker collects every place searched and reports each hit.
type leakChecker struct {
	t       *testing.T
	needles map[string]string
	places  int
}

func (c *leakChecker) check(where string, b []byte) {
	c.t.Helper()
	c.places++
	for n, name := range c.needles {
		if bytes.Contains(b, []byte(n)) {
			c.t.Errorf("%s holds %s (%q)", where, name, n)
		}
	}
}

// TestSecrets_NeverStored runs every connector type with distinctive
// secrets given through ${VAR}, some refused so their runs fail, then
// searches the vault folder's files, the CLI's output, every run record and
// log line, an exported bundle (its entries unpacked), the API's answers
// and /metrics for the secrets and their base64: there must be none.
func TestSecrets_NeverStored(t *testing.T) {
	t.Parallel()
	sagemakerfake.AddKey("AKIASECRETSTESTSM01", secretsEnv["AIMSVAULT_S_SAGEMAKER"])
	bedrockfake.AddKey("AKIASECRETSTESTBR01", secretsEnv["AIMSVAULT_S_BEDROCK"])
	gh, err := githubfake.Start(githubfake.Options{Token: secretsEnv["AIMSVAULT_S_GITHUB"]})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gh.Close)
	jf := jirafake.New(t, jirafake.Options{Token: secretsEnv["AIMSVAULT_S_JIRA"]})
	sm := sagemakerfake.New(t, sagemakerfake.Options{})
	br := bedrockfake.New(t, bedrockfake.Options{})
	bh := bamboohrfake.New(t, bamboohrfake.Options{APIKey: secretsEnv["AIMSVAULT_S_BAMBOOHR"]})
	kb := knowbe4fake.New(t, knowbe4fake.Options{Token: secretsEnv["AIMSVAULT_S_KNOWBE4"]})

	dir, config := workspace(t)
	githubBlock := func(name, env string) string {
		return fmt.Sprintf("  - name: %s\n    type: github\n    base_url: %s\n    token: ${%s}\n    owner: %s\n", name, gh.URL, env, githubfake.Owner)
	}
	jiraBlock := func(name, env string) string {
		return fmt.Sprintf("  - name: %s\n    type: jira\n    base_url: %s\n    deployment: cloud\n    email: %s\n    token: ${%s}\n    queries:\n      - {name: risks, jql: project = AIRISK, kind: risk}\n",
			name, jf.URL, jf.Email(), env)
	}
	awsBlock := func(name, typ, url, region, keyID, env string) string {
		return fmt.Sprintf("  - name: %s\n    type: %s\n    regions: [%s]\n    endpoint: %s\n    sts_endpoint: %s\n    access_key_id: %s\n    secret_access_key: ${%s}\n",
			name, typ, region, url, url, keyID, env)
	}
	bambooBlock := func(name, env string) string {
		return fmt.Sprintf("  - name: %s\n    type: bamboohr\n    base_url: %s\n    company: %s\n    api_key: ${%s}\n    required_trainings:\n      - training: Responsible AI\n",
			name, bh.URL, bh.Company(), env)
	}
	knowbe4Block := func(name, env string) string {
		return fmt.Sprintf("  - name: %s\n    type: knowbe4\n    base_url: %s\n    token: ${%s}\n    request_interval: 0s\n    required_trainings:\n      - training: Responsible AI\n",
			name, kb.URL, env)
	}
	cfg := `vault:
  dir: data
  name: e2e.example/aims
server:
  listen: 127.0.0.1:0
log:
  level: debug
connectors:
  - name: policies
    type: files
    path: ./docs
` + githubBlock("gh", "AIMSVAULT_S_GITHUB") + githubBlock("gh-bad", "AIMSVAULT_S_GITHUB_BAD") +
		jiraBlock("jira", "AIMSVAULT_S_JIRA") + jiraBlock("jira-bad", "AIMSVAULT_S_JIRA_BAD") +
		awsBlock("sm", "sagemaker", sm.URL, "us-east-1", "AKIASECRETSTESTSM01", "AIMSVAULT_S_SAGEMAKER") +
		awsBlock("sm-bad", "sagemaker", sm.URL, "us-east-1", "AKIASECRETSTESTSM01", "AIMSVAULT_S_SAGEMAKER_BAD") +
		awsBlock("bedrock", "bedrock", br.URL, "us-east-1", "AKIASECRETSTESTBR01", "AIMSVAULT_S_BEDROCK") +
		bambooBlock("bamboo", "AIMSVAULT_S_BAMBOOHR") + bambooBlock("bamboo-bad", "AIMSVAULT_S_BAMBOOHR_BAD") +
		knowbe4Block("kb4", "AIMSVAULT_S_KNOWBE4") + knowbe4Block("kb4-bad", "AIMSVAULT_S_KNOWBE4_BAD")
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	lc := &leakChecker{t: t, needles: needles()}
	lc.check("the config file", []byte(cfg)) // names variables only

	env := append(os.Environ(), "AIMSVAULT_CONFIG=")
	for k, v := range secretsEnv {
		env = append(env, k+"="+v)
	}
	run := func(args ...string) (stdout, stderr []byte, code int) {
		t.Helper()
		cmd := exec.Command(binary, append([]string{"--config", config}, args...)...)
		cmd.Env = env
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		if ee := (*exec.ExitError)(nil); err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		where := "aimsvault " + strings.Join(args, " ")
		lc.check(where+" stdout", out.Bytes())
		lc.check(where+" stderr", errb.Bytes())
		return out.Bytes(), errb.Bytes(), cmd.ProcessState.ExitCode()
	}
	if _, errb, code := run("init"); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errb)
	}
	run("collect") // fails overall: the bad connectors fail

	// Every run record and every log line, through the CLI.
	out, errb, code := run("runs", "--format", "json", "--limit", "1000")
	if code != 0 {
		t.Fatalf("runs: exit %d: %s", code, errb)
	}
	var runs []runView
	if err := json.Unmarshal(out, &runs); err != nil {
		t.Fatalf("runs json: %v\n%s", err, out)
	}
	failed, ok := map[string]bool{}, map[string]bool{}
	for _, r := range runs {
		if r.Status == "failed" {
			failed[r.Connector] = true
		} else if r.Status == "ok" {
			ok[r.Connector] = true
		}
		run("logs", r.ID)
		run("logs", "--format", "json", r.ID)
	}
	for _, name := range []string{"policies", "gh", "jira", "sm", "bedrock", "bamboo", "kb4"} {
		if !ok[name] {
			t.Errorf("connector %s has no ok run: the test must collect with each secret (runs: %+v)", name, runs)
		}
	}
	for _, name := range []string{"gh-bad", "jira-bad", "sm-bad", "bamboo-bad", "kb4-bad"} {
		if !failed[name] {
			t.Errorf("connector %s has no failed run: its secret must be refused (runs: %+v)", name, runs)
		}
	}
	run("evidence", "list", "--format", "json")
	run("coverage", "--format", "json")
	bundle := filepath.Join(dir, "bundle.zip")
	if _, errb, code := run("bundle", "export", "-o", bundle); code != 0 {
		t.Fatalf("bundle export: exit %d: %s", code, errb)
	}
	checkZip(t, lc, bundle)

	// The daemon: its log, every API answer and /metrics, with a token.
	tok, errb, code := run("token", "create", "--role", "admin", "--name", "secrets-test")
	if code != 0 {
		t.Fatalf("token create: exit %d: %s", code, errb)
	}
	token := strings.TrimSpace(string(tok))
	d := serveWithEnv(t, config, env)
	api := func(method, path string) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+d.addr+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		lc.check(method+" "+path, b)
		for k, vs := range resp.Header {
			lc.check(method+" "+path+" header "+k, []byte(strings.Join(vs, "\n")))
		}
		return b
	}
	d.waitLog(t, "scheduler started", func(map[string]any) bool { return true })
	// Runs through the daemon too, so /metrics counts them. A 409 (the
	// connector's startup run is in progress) is fine: that run counts.
	for _, name := range []string{"gh", "gh-bad", "jira-bad", "sm-bad", "bamboo-bad", "kb4-bad"} {
		api("POST", "/api/v1/connectors/"+name+"/run")
	}
	deadline := time.Now().Add(guard)
	for {
		var rs struct {
			Items []runView `json:"items"`
		}
		if err := json.Unmarshal(api("GET", "/api/v1/runs?limit=1000"), &rs); err != nil {
			t.Fatal(err)
		}
		running := 0
		for _, r := range rs.Items {
			if r.Status == "running" || r.Status == "queued" {
				running++
			}
		}
		if running == 0 && len(rs.Items) > len(runs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon's runs never finished (%d running):\n%s", running, d.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if m := api("GET", "/metrics"); !bytes.Contains(m, []byte(`aimsvault_runs_total{connector="gh-bad",status="failed"}`)) {
		t.Errorf("/metrics does not count the daemon's runs:\n%s", m)
	}
	for _, p := range []string{"/api/v1/coverage", "/api/v1/controls", "/api/v1/connectors", "/api/v1/verify",
		"/api/v1/audit-log", "/api/v1/tokens", "/metrics", "/healthz", "/readyz"} {
		api("GET", p)
	}
	var apiRuns struct {
		Items []runView `json:"items"`
	}
	if err := json.Unmarshal(api("GET", "/api/v1/runs?limit=1000"), &apiRuns); err != nil {
		t.Fatal(err)
	}
	for _, r := range apiRuns.Items {
		api("GET", "/api/v1/runs/"+r.ID+"/logs")
	}
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
		Next *string `json:"next_cursor"`
	}
	seen := 0
	for cursor := ""; ; {
		if err := json.Unmarshal(api("GET", "/api/v1/evidence?limit=500&cursor="+cursor), &page); err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			seen++
			api("GET", "/api/v1/evidence/"+it.ID)
			api("GET", "/api/v1/evidence/"+it.ID+"/content")
			api("GET", "/api/v1/evidence/"+it.ID+"/proof")
		}
		if page.Next == nil || len(page.Items) == 0 {
			break
		}
		cursor = *page.Next
		page.Next = nil
	}
	if seen == 0 {
		t.Error("the API listed no evidence: the search must see the records")
	}
	b := api("GET", "/api/v1/bundle")
	apiBundle := filepath.Join(dir, "api-bundle.zip")
	if err := os.WriteFile(apiBundle, b, 0o644); err != nil {
		t.Fatal(err)
	}
	checkZip(t, lc, apiBundle)
	d.signal(t, os.Interrupt)
	d.wait(t)
	lc.check("serve's log", []byte(d.log()))

	// Last, the vault folder as it rests on disk: vault.db, its WAL, the
	// objects, the access log and the key.
	filepath.WalkDir(filepath.Join(dir, "data"), func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lc.check(path, b)
		return nil
	})
	t.Logf("searched %d places for %d needles", lc.places, len(lc.needles))
}

// checkZip searches a bundle as stored and each of its entries unpacked.
func checkZip(t *testing.T, lc *leakChecker, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lc.check(path, b)
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		lc.check(path+":"+f.Name, data)
	}
}
