// Package e2e drives the built aimsvault binary as a user would: init,
// collect, coverage, verify, then tampering with the vault behind its back.
package e2e

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/aimsvault/aimsvault/evidence/tsatest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "aimsvault-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "aimsvault")
	_, self, _, _ := runtime.Caller(0)
	// The aimsvault_e2e tag adds a connector type that blocks until
	// canceled (cmd/aimsvault/e2ehooks.go), for the serve tests.
	build := exec.Command("go", "build", "-tags", "aimsvault_e2e", "-o", binary, "./cmd/aimsvault")
	build.Dir = filepath.Join(filepath.Dir(self), "..")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build aimsvault: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

func aimsvault(t *testing.T, config string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"--config", config}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "AIMSVAULT_CONFIG=")
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

func mustRun(t *testing.T, config string, args ...string) result {
	t.Helper()
	r := aimsvault(t, config, args...)
	if r.code != 0 {
		t.Fatalf("aimsvault %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// workspace copies the shipped examples into a temp folder with a config
// like config.example.yaml, plus one document over 64 KiB so the vault holds
// an object file too.
func workspace(t *testing.T) (dir, config string) {
	t.Helper()
	dir = t.TempDir()
	_, self, _, _ := runtime.Caller(0)
	examples := filepath.Join(filepath.Dir(self), "..", "examples")
	if err := os.CopyFS(filepath.Join(dir, "docs"), os.DirFS(examples)); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 200<<10)
	rand.Read(big)
	if err := os.WriteFile(filepath.Join(dir, "docs", "minutes-scan.pdf"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	config = filepath.Join(dir, "aimsvault.yaml")
	cfg := `vault:
  dir: data
  name: e2e.example/aims
connectors:
  - name: policies
    type: files
    path: ./docs
`
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, config
}

type record struct {
	ID          string            `json:"id"`
	Connector   string            `json:"connector"`
	Kind        string            `json:"kind"`
	Subject     string            `json:"subject"`
	SHA256      string            `json:"sha256"`
	Size        int64             `json:"size"`
	CollectedAt string            `json:"collected_at"`
	Controls    []string          `json:"controls"`
	Attributes  map[string]string `json:"attributes"`
	Provenance  map[string]any    `json:"provenance"`
}

func listRecords(t *testing.T, config string, args ...string) []record {
	t.Helper()
	r := mustRun(t, config, append([]string{"evidence", "list", "--format", "json"}, args...)...)
	var recs []record
	if err := json.Unmarshal([]byte(r.stdout), &recs); err != nil {
		t.Fatalf("evidence list json: %v\n%s", err, r.stdout)
	}
	return recs
}

type verifyReport struct {
	OK       bool `json:"ok"`
	Records  int  `json:"records"`
	Problems []struct {
		Record     string `json:"record"`
		Object     string `json:"object"`
		Checkpoint *int   `json:"checkpoint"`
		Message    string `json:"message"`
	} `json:"problems"`
}

func verify(t *testing.T, config string) (verifyReport, int) {
	t.Helper()
	r := aimsvault(t, config, "verify", "--format", "json")
	var rep verifyReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("verify json: %v\nstdout: %s\nstderr: %s", err, r.stdout, r.stderr)
	}
	return rep, r.code
}

func TestUserJourney(t *testing.T) {
	t.Parallel()
	dir, config := workspace(t)

	// Before init, every vault command says to run init.
	for _, args := range [][]string{{"collect"}, {"evidence", "list"}, {"coverage"}, {"verify"}, {"runs"}} {
		r := aimsvault(t, config, args...)
		if r.code != 1 || !strings.Contains(r.stderr, "aimsvault init") {
			t.Errorf("%v before init: exit %d, stderr %q; want exit 1 telling to run init", args, r.code, r.stderr)
		}
	}

	mustRun(t, config, "init")
	keyPath := filepath.Join(dir, "data", "vault.key")
	key, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(keyPath); fi.Mode().Perm() != 0o600 {
		t.Errorf("vault.key mode %v", fi.Mode().Perm())
	}
	// A second init changes nothing, the key least of all.
	mustRun(t, config, "init")
	if again, _ := os.ReadFile(keyPath); !bytes.Equal(key, again) {
		t.Fatal("second init changed the signing key")
	}

	out := mustRun(t, config, "collect").stdout
	if !strings.Contains(out, "policies") || !strings.Contains(out, "ok") {
		t.Errorf("collect output: %s", out)
	}
	recs := listRecords(t, config)
	bySubject := map[string]record{}
	for _, r := range recs {
		bySubject[r.Subject] = r
	}
	policy, ok := bySubject["policies/ai-policy.md"]
	if !ok {
		t.Fatalf("ai-policy.md not collected; records: %+v", recs)
	}
	if policy.Kind != "file.ai_policy" || !contains(policy.Controls, "A.2.2") || !contains(policy.Controls, "5.2") {
		t.Errorf("ai policy record: %+v", policy)
	}
	if policy.Provenance["complete"] != true {
		t.Errorf("provenance: %+v", policy.Provenance)
	}
	scan, ok := bySubject["minutes-scan.pdf"]
	if !ok || scan.Size != 200<<10 {
		t.Fatalf("big document not collected: %+v", scan)
	}

	// evidence get returns the exact bytes.
	got := filepath.Join(dir, "got.md")
	mustRun(t, config, "evidence", "get", policy.ID, "-o", got)
	want, _ := os.ReadFile(filepath.Join(dir, "docs", "policies", "ai-policy.md"))
	if b, _ := os.ReadFile(got); !bytes.Equal(b, want) {
		t.Error("evidence get returned other bytes than the document")
	}

	// Coverage maps the templates to ISO 42001.
	var cov []struct {
		Control       string `json:"control"`
		Status        string `json:"status"`
		EvidenceCount int    `json:"evidence_count"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, config, "coverage", "--format", "json").stdout), &cov); err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, c := range cov {
		status[c.Control] = c.Status
	}
	if len(cov) != 70 || status["A.2.2"] != "covered" || status["A.5.3"] != "covered" || status["4.1"] != "manual" {
		t.Errorf("coverage: %d items, A.2.2 %s, A.5.3 %s, 4.1 %s", len(cov), status["A.2.2"], status["A.5.3"], status["4.1"])
	}

	// A manual upload lands, mapped, and is listed by control.
	minutes := filepath.Join(dir, "review.txt")
	os.WriteFile(minutes, []byte("management review 2026-10-15: decisions ..."), 0o644)
	mustRun(t, config, "evidence", "add", minutes, "--kind", "file.management_review", "--effective-at", "2026-10-15")
	if got := listRecords(t, config, "--control", "9.3.2"); len(got) != 1 || got[0].Connector != "manual" {
		t.Errorf("records for 9.3.2 after upload: %+v", got)
	}

	rep, code := verify(t, config)
	if code != 0 || !rep.OK || rep.Records != len(recs)+1 {
		t.Fatalf("verify of intact vault: exit %d %+v", code, rep)
	}

	// Now tamper, as someone with write access to the vault folder would.
	objPath := filepath.Join(dir, "data", "objects", "sha256", scan.SHA256[:2], scan.SHA256[2:])
	obj, err := os.ReadFile(objPath)
	if err != nil {
		t.Fatalf("object file: %v", err)
	}
	obj[1234] ^= 0xff
	if err := os.WriteFile(objPath, obj, 0o644); err != nil {
		t.Fatal(err)
	}
	roles := bySubject["roles/ai-roles-and-responsibilities.md"]
	db, err := sql.Open("sqlite", filepath.Join(dir, "data", "vault.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`DROP TRIGGER content_no_update`, `DROP TRIGGER records_no_update`,
		fmt.Sprintf(`UPDATE content SET data = CAST('we never had incidents' AS BLOB) WHERE lower(hex(sha256)) = '%s'`, bySubject["procedures/ai-incident-communication-procedure.md"].SHA256),
		fmt.Sprintf(`UPDATE records SET collected_at = '2025-01-01T00:00:00.000000Z' WHERE id = '%s'`, roles.ID),
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	rep, code = verify(t, config)
	if code != 1 || rep.OK {
		t.Fatalf("verify after tampering: exit %d ok %v", code, rep.OK)
	}
	var named []string
	for _, p := range rep.Problems {
		named = append(named, p.Record+p.Object+": "+p.Message)
	}
	all := strings.Join(named, "\n")
	for what, id := range map[string]string{
		"the altered object":          scan.SHA256,
		"the altered inline content":  bySubject["procedures/ai-incident-communication-procedure.md"].SHA256,
		"the record whose time moved": roles.ID,
	} {
		if !strings.Contains(all, id) {
			t.Errorf("verify does not name %s (%s):\n%s", what, id, all)
		}
	}
	if !strings.Contains(all, "collected_at") {
		t.Errorf("verify does not say the record's time changed:\n%s", all)
	}
	// The table form says the same to a person.
	r := aimsvault(t, config, "verify")
	if r.code != 1 || !strings.Contains(r.stdout, "NOT INTACT") || !strings.Contains(r.stdout, roles.ID) {
		t.Errorf("verify table: exit %d\n%s", r.code, r.stdout)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	// A config with several errors lists each with its line.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(`vault:
  dir: data
  colour: blue
connectors:
  - name: docs
    type: files
    path: ./docs
    recursive: yes
  - name: gh
    type: no-such-type
log:
  level: chatty
`), 0o644)
	r := aimsvault(t, bad, "init")
	if r.code != 1 {
		t.Fatalf("init with bad config: exit %d", r.code)
	}
	for _, want := range []string{"bad.yaml:3: vault.colour", "bad.yaml:8: connectors[0] (docs).recursive", "bad.yaml:10:", "no-such-type", "bad.yaml:12: log.level"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("config errors lack %q:\n%s", want, r.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Error("init with a bad config created the vault")
	}

	// An unset ${VAR} breaks only its connector: init works, and the
	// connector's run fails naming the variable, its connector and line.
	envDir := t.TempDir()
	envCfg := filepath.Join(envDir, "env.yaml")
	os.WriteFile(envCfg, []byte("vault:\n  dir: data\nconnectors:\n  - name: docs\n    type: files\n    path: ${AIMSVAULT_E2E_UNSET}\n"), 0o644)
	mustRun(t, envCfg, "init")
	if r := aimsvault(t, envCfg, "collect"); r.code != 1 || !strings.Contains(r.stdout, "env.yaml:6: connectors[0] (docs).path: ${AIMSVAULT_E2E_UNSET} is not set") {
		t.Errorf("unset variable: exit %d, stdout %s, stderr %s", r.code, r.stdout, r.stderr)
	}

	// A files path that does not exist fails the run and lands nothing.
	cfg := filepath.Join(dir, "aimsvault.yaml")
	os.WriteFile(cfg, []byte("vault:\n  dir: data\nconnectors:\n  - name: docs\n    type: files\n    path: ./missing\n"), 0o644)
	mustRun(t, cfg, "init")
	r = aimsvault(t, cfg, "collect")
	if r.code != 1 || !strings.Contains(r.stdout, "does not exist") {
		t.Errorf("collect of a missing folder: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if recs := listRecords(t, cfg); len(recs) != 0 {
		t.Errorf("a failed run landed %d records", len(recs))
	}
	runs := mustRun(t, cfg, "runs", "--format", "json").stdout
	if !strings.Contains(runs, `"status": "failed"`) || !strings.Contains(runs, `"error_class": "config"`) {
		t.Errorf("run record of the failed run: %s", runs)
	}

	// A file that is not an aimsvault vault is refused and left as it was.
	foreign := filepath.Join(dir, "foreign")
	os.MkdirAll(foreign, 0o755)
	junk := []byte("quarterly numbers, not a vault")
	os.WriteFile(filepath.Join(foreign, "vault.db"), junk, 0o644)
	fcfg := filepath.Join(dir, "foreign.yaml")
	os.WriteFile(fcfg, []byte("vault:\n  dir: foreign\n"), 0o644)
	for _, args := range [][]string{{"init"}, {"verify"}} {
		if r := aimsvault(t, fcfg, args...); r.code != 1 || !strings.Contains(r.stderr, "not an aimsvault vault") {
			t.Errorf("%v on a foreign vault.db: exit %d, stderr %s", args, r.code, r.stderr)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(foreign, "vault.db")); !bytes.Equal(b, junk) {
		t.Error("the foreign vault.db was modified")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestBundleJourney(t *testing.T) {
	t.Parallel()
	dir, config := workspace(t)
	mustRun(t, config, "init")
	mustRun(t, config, "collect")
	oldCheckpoint := filepath.Join(dir, "old.checkpoint")
	os.WriteFile(oldCheckpoint, []byte(mustRun(t, config, "checkpoint").stdout), 0o644)
	mustRun(t, config, "collect")

	// The vault only grew since the kept checkpoint.
	proof := mustRun(t, config, "prove", "--from", oldCheckpoint).stdout
	if !strings.HasPrefix(proof, "aimsvault consistency proof\nold 7\nnew 14\n") {
		t.Errorf("prove output:\n%s", proof)
	}

	bundlePath := filepath.Join(dir, "audit.zip")
	out := mustRun(t, config, "bundle", "export", "-o", bundlePath, "--control", "A.2", "--control", "9.3")
	if !strings.Contains(out.stdout, "wrote "+bundlePath) {
		t.Errorf("export output: %s", out.stdout)
	}
	again := filepath.Join(dir, "again.zip")
	mustRun(t, config, "bundle", "export", "-o", again, "--control", "A.2", "--control", "9.3")
	a, _ := os.ReadFile(bundlePath)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Error("two exports of the same vault and filter differ")
	}

	// Verification needs no config and no vault: run it from elsewhere.
	pub := filepath.Join(dir, "data", "vault.pub")
	elsewhere := filepath.Join(t.TempDir(), "absent.yaml")
	r := aimsvault(t, elsewhere, "bundle", "verify", bundlePath, "--key", pub)
	if r.code != 0 || !strings.Contains(r.stdout, "bundle VALID") {
		t.Fatalf("verify of a fresh bundle: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = aimsvault(t, elsewhere, "bundle", "verify", bundlePath)
	if r.code != 0 || !strings.Contains(r.stderr, "WARNING") || !strings.Contains(r.stderr, "--key") {
		t.Errorf("verify without --key must warn: exit %d, stderr %q", r.code, r.stderr)
	}

	// Standard tools agree: unzip, then sha256sum -c.
	unpacked := filepath.Join(dir, "unpacked")
	if out, err := exec.Command("unzip", "-q", bundlePath, "-d", unpacked).CombinedOutput(); err != nil {
		t.Logf("unzip unavailable or failed (%v: %s); skipping the sha256sum check", err, out)
	} else if out, err := exec.Command("sh", "-c", "cd "+unpacked+" && sha256sum -c --quiet manifest-sha256.txt && sha256sum -c --quiet tagmanifest-sha256.txt").CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c on the unpacked bundle: %v\n%s", err, out)
	}

	var m struct {
		Artifacts []struct {
			Path string `json:"path"`
		} `json:"artifacts"`
	}
	zr, err := zip.OpenReader(bundlePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == "data/manifest.json" {
			rc, _ := f.Open()
			json.NewDecoder(rc).Decode(&m)
			rc.Close()
		}
	}
	zr.Close()
	if len(m.Artifacts) == 0 {
		t.Fatal("manifest lists no artifacts")
	}
	victim := m.Artifacts[0].Path

	// A second vault gives a checkpoint and key that are not this vault's.
	_, otherConfig := workspace(t)
	mustRun(t, otherConfig, "init")
	mustRun(t, otherConfig, "collect")
	otherDir := filepath.Dir(otherConfig)
	otherCheckpoint := mustRun(t, otherConfig, "checkpoint").stdout

	cases := []struct {
		name, key, want string
		edit            func(name string, data []byte) []byte
	}{
		{"flipped byte", pub, victim + ": sha256", func(n string, d []byte) []byte {
			if n == victim {
				d[len(d)/2] ^= 0x20
			}
			return d
		}},
		{"deleted artifact", pub, victim + ": listed in manifest-sha256.txt but missing", func(n string, d []byte) []byte {
			if n == victim {
				return nil
			}
			return d
		}},
		{"swapped checkpoint", pub, "data/checkpoint: ", func(n string, d []byte) []byte {
			if n == "data/checkpoint" {
				return []byte(otherCheckpoint)
			}
			return d
		}},
		{"wrong key", filepath.Join(otherDir, "data", "vault.pub"), "data/checkpoint: checkpoint signature", nil},
	}
	for _, c := range cases {
		path := bundlePath
		if c.edit != nil {
			path = filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".zip")
			os.WriteFile(path, rezip(t, a, c.edit), 0o644)
		}
		r := aimsvault(t, elsewhere, "bundle", "verify", path, "--key", c.key, "--format", "json")
		var rep struct {
			OK       bool `json:"ok"`
			Problems []struct {
				File    string `json:"file"`
				Message string `json:"message"`
			} `json:"problems"`
		}
		json.Unmarshal([]byte(r.stdout), &rep)
		var lines []string
		for _, p := range rep.Problems {
			lines = append(lines, p.File+": "+p.Message)
		}
		if r.code != 1 || rep.OK || !strings.Contains(strings.Join(lines, "\n"), c.want) {
			t.Errorf("%s: exit %d ok %v, problems:\n%s\nwant one containing %q", c.name, r.code, rep.OK, strings.Join(lines, "\n"), c.want)
		}
	}
}

// rezip rewrites a zip, letting edit change or (returning nil) drop entries.
func rezip(t *testing.T, b []byte, edit func(name string, data []byte) []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, _ := f.Open()
		data, _ := io.ReadAll(rc)
		rc.Close()
		if data = edit(f.Name, data); data == nil {
			continue
		}
		w, _ := zw.Create(f.Name)
		w.Write(data)
	}
	zw.Close()
	return out.Bytes()
}

func TestTrustedTime(t *testing.T) {
	t.Parallel()
	tsa := tsatest.New(t)
	dir, config := workspace(t)
	cfg, _ := os.ReadFile(config)
	cfg = bytes.Replace(cfg, []byte("  name: e2e.example/aims\n"), []byte("  name: e2e.example/aims\n  timestamp_authority: "+tsa.URL+"\n"), 1)
	os.WriteFile(config, cfg, 0o644)
	mustRun(t, config, "init")
	mustRun(t, config, "collect")

	tsr := filepath.Join(dir, "checkpoint.tsr")
	note := mustRun(t, config, "checkpoint", "--tsr", tsr).stdout
	os.WriteFile(filepath.Join(dir, "checkpoint"), []byte(note), 0o644)
	os.WriteFile(filepath.Join(dir, "root.pem"), tsa.RootPEM, 0o644)
	os.WriteFile(filepath.Join(dir, "tsa.pem"), tsa.CertPEM, 0o644)
	if _, err := exec.LookPath("openssl"); err == nil {
		cmd := exec.Command("openssl", "ts", "-verify", "-data", "checkpoint", "-in", "checkpoint.tsr", "-CAfile", "root.pem", "-untrusted", "tsa.pem")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Verification: OK") {
			t.Errorf("openssl ts -verify of the checkpoint token: %v\n%s", err, out)
		}
	}

	bundlePath := filepath.Join(dir, "b.zip")
	mustRun(t, config, "bundle", "export", "-o", bundlePath)
	r := mustRun(t, config, "bundle", "verify", bundlePath, "--key", filepath.Join(dir, "data", "vault.pub"), "--format", "json")
	var rep struct {
		OK        bool    `json:"ok"`
		Timestamp *string `json:"timestamp"`
	}
	json.Unmarshal([]byte(r.stdout), &rep)
	if !rep.OK || rep.Timestamp == nil {
		t.Errorf("bundle verify with a time-stamped checkpoint: %s", r.stdout)
	}
}
