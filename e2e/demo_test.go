package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// demoRun is a running `aimsvault demo`.
type demoRun struct {
	cmd    *exec.Cmd
	exited chan struct{}

	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	lines  chan string
}

// startDemo runs `aimsvault demo --listen 127.0.0.1:0 args...` with a
// temporary folder of its own (TMPDIR) and no AWS or other credentials in
// its environment.
func startDemo(t *testing.T, tmp string, args ...string) *demoRun {
	t.Helper()
	d := &demoRun{exited: make(chan struct{}), lines: make(chan string, 100)}
	d.cmd = exec.Command(binary, append([]string{"demo", "--listen", "127.0.0.1:0"}, args...)...)
	var env []string
	for _, kv := range os.Environ() {
		// Nothing of the machine's upstream credentials may matter.
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") || strings.HasSuffix(k, "_TOKEN") || strings.HasSuffix(k, "_API_KEY") {
			continue
		}
		env = append(env, kv)
	}
	d.cmd.Env = append(env, "TMPDIR="+tmp, "AIMSVAULT_CONFIG=", "AWS_PROFILE=aimsvault-demo-no-such-profile")
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stderr = &lockedWriter{mu: &d.mu, w: &d.stderr}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			d.mu.Lock()
			d.stdout.WriteString(sc.Text() + "\n")
			d.mu.Unlock()
			select {
			case d.lines <- sc.Text():
			default:
			}
		}
		io.Copy(io.Discard, stdout)
		d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.exited
	})
	return d
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (d *demoRun) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return "stdout:\n" + d.stdout.String() + "stderr:\n" + d.stderr.String()
}

var (
	demoURL    = regexp.MustCompile(`(?m)^\s+URL:\s+(http://127\.0\.0\.1:\d+/)$`)
	demoToken  = regexp.MustCompile(`(?m)^\s+Admin token:\s+(avt_\S+)$`)
	demoConfig = regexp.MustCompile(`(?m)^\s+CLI:\s+aimsvault --config (\S+) coverage$`)
)

// ready waits for the banner and returns the URL, the admin token and the
// demo's config file.
func (d *demoRun) ready(t *testing.T) (url, token, config string) {
	t.Helper()
	deadline := time.After(guard)
	for {
		select {
		case l := <-d.lines:
			if !strings.HasPrefix(l, "Press Ctrl-C") {
				continue
			}
			out := d.output()
			u, tok, c := demoURL.FindStringSubmatch(out), demoToken.FindStringSubmatch(out), demoConfig.FindStringSubmatch(out)
			if u == nil || tok == nil || c == nil {
				t.Fatalf("the banner lacks the URL, the token or the config:\n%s", out)
			}
			return u[1], tok[1], c[1]
		case <-d.exited:
			t.Fatalf("demo exited (%v) before it was ready:\n%s", d.cmd.ProcessState, d.output())
		case <-deadline:
			t.Fatalf("demo not ready within %v:\n%s", guard, d.output())
		}
	}
}

// stop sends SIGTERM and waits for the exit status.
func (d *demoRun) stop(t *testing.T) int {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.exited:
	case <-time.After(guard):
		t.Fatalf("demo did not exit within %v of SIGTERM:\n%s", guard, d.output())
	}
	return d.cmd.ProcessState.ExitCode()
}

func getWith(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// demoSources are the connectors the demo configures and the kind prefix
// of their evidence.
var demoSources = map[string]string{
	"policies": "file.", "github": "github.", "jira": "jira.", "sagemaker": "sagemaker.",
	"bedrock": "bedrock.", "bamboohr": "bamboohr.", "knowbe4": "knowbe4.",
}

// checkDemoVault checks the first collection: every connector ran ok and
// stored evidence of its source, and coverage counts evidence from each.
func checkDemoVault(t *testing.T, config string) {
	t.Helper()
	var runs []runView
	if err := json.Unmarshal([]byte(mustRun(t, config, "runs", "--format", "json").stdout), &runs); err != nil {
		t.Fatal(err)
	}
	ran := map[string]bool{}
	for _, r := range runs {
		if r.Status != "ok" {
			t.Errorf("run %s of %s: status %s (%s), want ok", r.ID, r.Connector, r.Status, r.Error)
		}
		if r.Artifacts == 0 {
			t.Errorf("run %s of %s: no artifacts", r.ID, r.Connector)
		}
		ran[r.Connector] = true
	}

	type coverageItem struct {
		Control       string `json:"control"`
		Status        string `json:"status"`
		EvidenceCount int    `json:"evidence_count"`
	}
	var cov []coverageItem
	if err := json.Unmarshal([]byte(mustRun(t, config, "coverage", "--format", "json").stdout), &cov); err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, c := range cov {
		if c.Status == "covered" && c.EvidenceCount > 0 {
			covered[c.Control] = true
		}
	}
	recs := listRecords(t, config)
	for name, prefix := range demoSources {
		if !ran[name] {
			t.Errorf("connector %s never ran", name)
		}
		var controls []string
		n := 0
		for _, r := range recs {
			if r.Connector != name {
				continue
			}
			n++
			if !strings.HasPrefix(r.Kind, prefix) {
				t.Errorf("%s record %s: kind %s, want %s*", name, r.ID, r.Kind, prefix)
			}
			for _, c := range r.Controls {
				if covered[c] && !slices.Contains(controls, c) {
					controls = append(controls, c)
				}
			}
		}
		if n == 0 || len(controls) == 0 {
			t.Errorf("%s: %d records, covering %v: want evidence that coverage counts", name, n, controls)
		}
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	d := startDemo(t, tmp)
	url, token, config := d.ready(t)
	dir := filepath.Dir(config)
	if !strings.HasPrefix(dir, tmp) {
		t.Fatalf("the demo's folder %s is not a temporary one (under %s)", dir, tmp)
	}

	if code, body := getWith(t, url+"readyz", ""); code != http.StatusOK {
		t.Errorf("GET /readyz: %d %s", code, body)
	}
	// The printed token is an admin's.
	if code, body := getWith(t, url+"api/v1/tokens", token); code != http.StatusOK {
		t.Errorf("GET /api/v1/tokens with the demo's token: %d %s", code, body)
	}
	if code, _ := getWith(t, url+"api/v1/tokens", ""); code != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/tokens without a token: %d, want 401", code)
	}
	checkDemoVault(t, config)

	if code := d.stop(t); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0:\n%s", code, d.output())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the demo's folder %s is still there (%v)", dir, err)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("the demo left %d files in TMPDIR", len(entries))
	}
}

// TestDemo_Dir keeps the vault in --dir, and a second demo on it collects
// into the same vault with a new token, the old one revoked.
func TestDemo_Dir(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	dir := filepath.Join(t.TempDir(), "demo")
	d := startDemo(t, tmp, "--dir", dir)
	url, token, config := d.ready(t)
	if config != filepath.Join(dir, "aimsvault.yaml") {
		t.Errorf("config %s, want it in --dir %s", config, dir)
	}
	if code, body := getWith(t, url+"readyz", ""); code != http.StatusOK {
		t.Errorf("GET /readyz: %d %s", code, body)
	}
	if code := d.stop(t); code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0:\n%s", code, d.output())
	}
	checkDemoVault(t, config)
	verifyOK(t, config)

	d2 := startDemo(t, tmp, "--dir", dir)
	url2, token2, _ := d2.ready(t)
	if code, _ := getWith(t, url2+"api/v1/tokens", token); code != http.StatusUnauthorized {
		t.Errorf("the first demo's token: %d, want 401 (revoked)", code)
	}
	if code, body := getWith(t, url2+"api/v1/tokens", token2); code != http.StatusOK {
		t.Errorf("the second demo's token: %d %s", code, body)
	}
	if code := d2.stop(t); code != 0 {
		t.Fatalf("second demo: exit %d after SIGTERM, want 0:\n%s", code, d2.output())
	}
	verifyOK(t, config)

	// A folder that is neither empty nor a demo's is refused.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine"), 0o644)
	r := aimsvault(t, config, "demo", "--dir", other)
	if r.code == 0 || !strings.Contains(r.stderr, "neither empty nor an earlier demo") {
		t.Errorf("demo --dir on a folder of other files: exit %d, stderr %q", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(other, "notes.txt")); string(b) != "mine" {
		t.Error("the folder of other files was changed")
	}
}
