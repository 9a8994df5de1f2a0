package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// chromium finds the browser: $AIMSVAULT_CHROMIUM, else chromium (Debian's
// package), chromium-browser or google-chrome on PATH. It skips the test,
// saying why, only when no browser is installed or the one found cannot
// start; with AIMSVAULT_REQUIRE_CHROMIUM=1 (.ci/run sets it, having
// installed chromium) those are failures instead.
func chromium(t *testing.T) string {
	t.Helper()
	cannot := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("AIMSVAULT_REQUIRE_CHROMIUM") == "1" {
			t.Fatal(msg)
		}
		t.Skip("skipping the browser test: " + msg)
	}
	path := os.Getenv("AIMSVAULT_CHROMIUM")
	if path == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		cannot("no Chromium found (install Debian's chromium: apt-get install -y chromium, or set AIMSVAULT_CHROMIUM)")
	}
	// Can it run here at all? (A missing shared library, no /dev/shm...)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	probe := exec.CommandContext(ctx, path, append(chromiumFlags(t.TempDir()), "--dump-dom", "about:blank")...)
	if out, err := probe.CombinedOutput(); err != nil {
		cannot("%s cannot run here: %v\n%s", path, err, out)
	}
	return path
}

// chromiumFlags are the browser's flags: headless, and nothing that reaches
// the network on its own.
func chromiumFlags(userDataDir string) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--disable-dev-shm-usage", "--user-data-dir=" + userDataDir}
}

// tab is a browser tab with the test's helpers.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string // the server's root URL, ending in /
}

func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// open navigates to path and returns the HTTP status of the page.
func (b *tab) open(path string) int64 {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(b.base+strings.TrimPrefix(path, "/")))
	if err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
	return resp.Status
}

// click clicks sel and waits for the page it leads to.
func (b *tab) click(what, sel string) *network.Response {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return resp
}

// shot saves a screenshot of the page as name.png in
// $AIMSVAULT_CONSOLE_SCREENSHOTS, when set (for a person to look at).
func (b *tab) shot(name string) {
	b.t.Helper()
	dir := os.Getenv("AIMSVAULT_CONSOLE_SCREENSHOTS")
	if dir == "" {
		return
	}
	b.do("viewport", chromedp.EmulateViewport(1280, 1000))
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (b *tab) count(sel string) int {
	b.t.Helper()
	nodes, err := chromedp.Run(b.ctx, chromedp.Nodes(chromedp.CSSAll(sel), chromedp.AtLeast(0)))
	if err != nil {
		b.t.Fatalf("nodes %s: %v", sel, err)
	}
	return len(nodes)
}

func (b *tab) location() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

func (b *tab) signin(token string) {
	b.t.Helper()
	if st := b.open("/"); st != http.StatusUnauthorized {
		b.t.Fatalf("the console's root signed out: %d, want 401 with the sign-in page", st)
	}
	b.do("type the token", chromedp.SendKeys(chromedp.ID("token"), token))
	if resp := b.click("sign in", "form.signin button[type=submit]"); resp.Status != http.StatusOK {
		b.t.Fatalf("after sign-in: %d at %s", resp.Status, resp.URL)
	}
	if h := b.text("h1"); h != "Coverage" {
		b.t.Fatalf("after sign-in the page is %q, want the dashboard", h)
	}
}

// TestConsole_Browser drives the web console in a real headless Chromium:
// sign in, the dashboard, a control, an evidence record, a run, a bundle
// downloaded and verified, the access log's receipt of it, and an
// auditor refused the runs and logs pages.
func TestConsole_Browser(t *testing.T) {
	path := chromium(t)
	tmp := t.TempDir()
	d := startDemo(t, tmp)
	base, admin, config := d.ready(t)
	auditor := strings.TrimSpace(mustRun(t, config, "token", "create", "--role", "auditor", "--name", "e2e-auditor", "--expires", "1h").stdout)
	if !strings.HasPrefix(auditor, "avt_") {
		t.Fatalf("token create printed %q", auditor)
	}

	var browserOut lockedBuffer
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.CombinedOutput(&browserOut),
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v\n%s", path, err, browserOut.String())
	}
	defer func() {
		if t.Failed() {
			t.Logf("browser output:\n%s\ndemo output:\n%s", browserOut.String(), d.output())
		}
	}()
	b := &tab{t: t, ctx: bctx, base: base}

	// Sign in as the demo's admin: the dashboard of all 70 items.
	b.signin(admin)
	b.shot("dashboard")
	if n := b.count("table.coverage tbody tr"); n != 70 {
		t.Errorf("the dashboard shows %d requirement items, want 70", n)
	}
	summary := b.text("p.summary")
	for _, s := range []string{"covered", "stale", "missing", "manual"} {
		if !strings.Contains(summary, s) {
			t.Errorf("the dashboard's summary %q lacks %s", summary, s)
		}
	}
	// Keyboard: the first Tab reaches the skip link.
	b.do("tab to the skip link", chromedp.KeyEvent(kb.Tab))
	if focused, err := chromedp.Run(bctx, chromedp.Evaluate[string]("document.activeElement.textContent")); err != nil || focused != "Skip to content" {
		t.Errorf("the first Tab focuses %q (%v), want the skip link", focused, err)
	}

	// A control and one of its records.
	if resp := b.click("open a control", `a[href="/controls/A.6.2.8"]`); resp.Status != http.StatusOK {
		t.Fatalf("control page: %d", resp.Status)
	}
	if h := b.text("h1"); !strings.HasPrefix(h, "A.6.2.8 ") {
		t.Fatalf("control page heading %q", h)
	}
	b.shot("control")
	if n := b.count(`a[href^="/evidence/"]`); n == 0 {
		t.Fatal("the control page lists no evidence")
	}
	if resp := b.click("open a record", `table a[href^="/evidence/"]`); resp.Status != http.StatusOK {
		t.Fatalf("evidence page: %d", resp.Status)
	}
	b.shot("evidence")
	if proof := b.text("pre.proof"); !strings.HasPrefix(proof, "c2sp.org/tlog-proof@v1") {
		t.Errorf("the evidence page's proof starts %.40q", proof)
	}

	// Run a connector now: the runs page says it is queued, then lists it.
	if st := b.open("/connectors"); st != http.StatusOK {
		t.Fatalf("connectors: %d", st)
	}
	if resp := b.click("run now", `button[aria-label="Run github now"]`); resp.Status != http.StatusOK {
		t.Fatalf("run now: %d", resp.Status)
	}
	loc, err := url.Parse(b.location())
	if err != nil {
		t.Fatal(err)
	}
	runID := loc.Query().Get("queued")
	if loc.Path != "/runs" || runID == "" {
		t.Fatalf("run now led to %s, want /runs?connector=github&queued=RUN_ID", loc)
	}
	b.shot("runs-queued")
	if note := b.text("p.note"); !strings.Contains(note, runID) {
		t.Errorf("the runs page says %q, not that run %s is queued", note, runID)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		b.open("/runs?connector=github")
		if html, _ := chromedp.Run(bctx, chromedp.OuterHTML(chromedp.CSS("main"))); strings.Contains(html, "/runs/"+runID) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s never showed on the runs page", runID)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if st := b.open("/runs/" + runID); st != http.StatusOK {
		t.Fatalf("the run's log page: %d", st)
	}

	// Build and download a bundle of A.6.2.8.
	downloads := t.TempDir()
	progress := chromedp.Events(bctx, browser.DownloadProgress)
	if st := b.open("/bundle"); st != http.StatusOK {
		t.Fatalf("bundle form: %d", st)
	}
	b.do("download a bundle",
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: ptr(true),
			})
			return err
		}),
		chromedp.SendKeys(chromedp.ID("controls"), "A.6.2.8"),
		chromedp.Click(chromedp.ID("download")),
	)
	var bundleFile string
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("waiting for the download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("the bundle download was canceled")
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			bundleFile = filepath.Join(downloads, ev.GUID)
			break
		}
	}
	zipped, err := os.ReadFile(bundleFile)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(zipped)
	receipt := hex.EncodeToString(sum[:])
	if out := mustRun(t, config, "bundle", "verify", bundleFile).stdout; !strings.Contains(out, "bundle VALID") {
		t.Fatalf("bundle verify of the download: %s", out)
	}

	// The access log holds the download's receipt: its SHA-256, by the
	// admin's token, as the page and the API both show.
	if st := b.open("/access-log"); st != http.StatusOK {
		t.Fatalf("access log page: %d", st)
	}
	b.shot("access-log")
	if page := b.text("main"); !strings.Contains(page, receipt) || !strings.Contains(page, "bundle.download") {
		t.Errorf("the access log page lacks the bundle's receipt %s", receipt)
	}
	code, body := getWith(t, base+"api/v1/audit-log", admin)
	var log struct {
		Items []struct {
			Action, Outcome, SHA256, Role string
			Size                          int64
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &log); code != http.StatusOK || err != nil {
		t.Fatalf("GET /api/v1/audit-log: %d %v", code, err)
	}
	found := false
	for _, e := range log.Items {
		if e.Action == "bundle.download" && e.SHA256 == receipt && e.Size == int64(len(zipped)) && e.Role == "admin" && e.Outcome == "ok" {
			found = true
		}
	}
	if !found {
		t.Errorf("no bundle.download entry with sha256 %s and size %d in the access log:\n%s", receipt, len(zipped), body)
	}

	// Sign out; sign in as an auditor: no runs, logs, connectors or access log.
	if resp := b.click("sign out", "form.who button"); resp.Status != http.StatusOK || b.text("h1") != "Sign in" {
		t.Fatalf("sign out led to %d %q", resp.Status, b.text("h1"))
	}
	b.signin(auditor)
	for _, p := range []string{"/runs", "/runs/" + runID, "/connectors", "/access-log"} {
		if st := b.open(p); st != http.StatusForbidden {
			t.Errorf("auditor opens %s: %d, want 403", p, st)
		}
		b.shot("auditor-refused")
		if msg := b.text("main"); !strings.Contains(msg, "Not permitted for your role.") {
			t.Errorf("auditor opens %s: the page says %q", p, msg)
		}
	}
	if n := b.count(`nav a[href="/runs"]`); n != 0 {
		t.Error("the auditor's menu links the runs page")
	}
	if st := b.open("/bundle"); st != http.StatusOK {
		t.Errorf("auditor opens the bundle builder: %d", st)
	}
}

func ptr[T any](v T) *T { return &v }

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
