package web

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/mapping"
	"github.com/aimsvault/aimsvault/scheduler"
	"github.com/aimsvault/aimsvault/server/access"
	"github.com/aimsvault/aimsvault/server/api"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

type fakeScheduler struct {
	mu       sync.Mutex
	triggers []string
}

func (f *fakeScheduler) Trigger(name string) (string, error) {
	if name != "docs" {
		return "", fmt.Errorf("connector %q: %w", name, scheduler.ErrUnknownConnector)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.triggers = append(f.triggers, name)
	return fmt.Sprintf("00000000-0000-7000-8000-%012d", len(f.triggers)), nil
}

func (f *fakeScheduler) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.triggers)
}

func (f *fakeScheduler) Status() []scheduler.ConnectorStatus {
	return []scheduler.ConnectorStatus{{
		Connector: config.Connector{Name: "docs", Type: "files", Schedule: "@daily"},
		Next:      time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC),
	}}
}

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	t       testing.TB
	console *Console
	clock   *clock
	vault   *evidence.Vault
	access  *access.DB
	sched   *fakeScheduler
	srv     *httptest.Server
	run     string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	c := &clock{t: t0}
	v, err := evidence.Init(ctx, evidence.Options{Dir: filepath.Join(dir, "vault"), Name: "test.example/aims", Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	acc, err := access.Open(ctx, filepath.Join(dir, "vault", access.FileName), access.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { acc.Close() })
	m, err := mapping.NewMapper(nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clock: c, vault: v, access: acc, sched: &fakeScheduler{}}
	a := api.New(api.Options{Vault: v, Access: acc, Scheduler: e.sched, Now: c.Now,
		Live: func() api.Live { return api.Live{Mapper: m, Sources: []string{"files"}} }})
	mux := http.NewServeMux()
	a.Register(mux)
	e.console = New(Options{API: a, Tokens: acc, Now: c.Now})
	e.console.Register(mux)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)

	e.run = "0190a000-0000-7000-8000-000000000001"
	if err := v.StartRun(ctx, evidence.Run{ID: e.run, Connector: "docs", Type: "files", Trigger: "collect", StartedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := v.AppendRunLogs(ctx, e.run, []evidence.LogLine{{Time: t0, Level: "INFO", Msg: "run started"}}); err != nil {
		t.Fatal(err)
	}
	if err := v.FinishRun(ctx, evidence.Run{ID: e.run, Status: evidence.RunOK, Artifacts: 1}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) add(at time.Time, subject string, controls ...string) *evidence.Record {
	e.t.Helper()
	e.clock.Set(at)
	defer e.clock.Set(t0)
	rec, _, err := e.vault.Append(e.t.Context(), evidence.Input{
		Run: e.run, Connector: "docs", Type: "files", Kind: "file.document", Subject: subject,
		MediaType: "text/markdown", Controls: controls, Content: strings.NewReader("# " + subject + "\n"),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return rec
}

func (e *env) sign() {
	e.t.Helper()
	if _, err := e.vault.SignCheckpoint(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) token(nt access.NewToken) (string, *access.Token) {
	e.t.Helper()
	tok, secret, err := e.access.CreateToken(e.t.Context(), nt)
	if err != nil {
		e.t.Fatal(err)
	}
	return secret, tok
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values) page {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(b.e.t.Context(), method, b.e.srv.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	all, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(all)}
}

func (b *browser) get(path string) page { return b.do("GET", path, nil) }

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t testing.TB, p page) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF field in the page:\n%s", p.body)
	}
	return m[1]
}

// signin signs in with secret and returns the answer to the form's POST.
func (b *browser) signin(secret, next string) page {
	b.e.t.Helper()
	p := b.get("/signin")
	return b.do("POST", "/signin", url.Values{"token": {secret}, "csrf": {csrfOf(b.e.t, p)}, "next": {next}})
}

func (b *browser) mustSignin(secret string) {
	b.e.t.Helper()
	if p := b.signin(secret, "/"); p.status != http.StatusSeeOther {
		b.e.t.Fatalf("sign-in: %d\n%s", p.status, p.body)
	}
}

// csrf is the session's CSRF token, read from a page's form.
func (b *browser) csrf() string {
	b.e.t.Helper()
	return csrfOf(b.e.t, b.get("/bundle"))
}

func wantStatus(t *testing.T, what string, p page, want int) {
	t.Helper()
	if p.status != want {
		t.Fatalf("%s: status %d, want %d\n%s", what, p.status, want, p.body)
	}
}

func TestSignInAndOut(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.token(access.NewToken{Name: "ada", Role: access.Admin, ExpiresIn: 24 * time.Hour})
	b := e.browser()

	p := b.get("/")
	wantStatus(t, "GET / signed out", p, http.StatusUnauthorized)
	if !strings.Contains(p.body, `name="token"`) || !strings.Contains(p.body, `<label for="token">`) {
		t.Fatalf("401 is not the sign-in page:\n%s", p.body)
	}

	// The sign-in form's own CSRF token (double-submitted) is required.
	p = b.do("POST", "/signin", url.Values{"token": {admin}, "csrf": {"forged"}})
	wantStatus(t, "sign-in with a forged form token", p, http.StatusForbidden)
	p = e.browser().do("POST", "/signin", url.Values{"token": {admin}, "csrf": {"x"}})
	wantStatus(t, "sign-in without the sign-in cookie", p, http.StatusForbidden)

	p = b.signin("avt_not-a-token", "/")
	wantStatus(t, "sign-in with an unknown token", p, http.StatusUnauthorized)
	if !strings.Contains(p.body, "not accepted") || strings.Contains(p.body, "avt_not-a-token") {
		t.Fatalf("bad sign-in page:\n%s", p.body)
	}

	p = b.signin(admin, "//evil.example/x")
	wantStatus(t, "sign-in", p, http.StatusSeeOther)
	if loc := p.header.Get("Location"); loc != "/" {
		t.Fatalf("sign-in redirected to %q: an off-site next must become /", loc)
	}
	var cookie string
	for _, c := range p.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, sessionCookie+"=") {
			cookie = c
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(cookie, "Secure") {
		t.Errorf("session cookie %q is Secure over plain HTTP", cookie)
	}
	if strings.Contains(cookie, admin) {
		t.Fatal("the session cookie carries the token")
	}

	p = b.get("/")
	wantStatus(t, "dashboard", p, http.StatusOK)
	if n := strings.Count(p.body, `<tr class="`); n != 70 {
		t.Errorf("dashboard lists %d requirement items, want 70", n)
	}
	for _, want := range []string{"4 Context of the organization", "A.2 Policies related to AI", "Signed in as <strong>ada</strong>", `href="#main"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}

	// Sign-out is a form: it needs the session's CSRF token.
	wantStatus(t, "sign-out without CSRF", b.do("POST", "/signout", url.Values{}), http.StatusForbidden)
	wantStatus(t, "still signed in", b.get("/"), http.StatusOK)
	p = b.do("POST", "/signout", url.Values{"csrf": {b.csrf()}})
	wantStatus(t, "sign-out", p, http.StatusSeeOther)
	wantStatus(t, "GET / after sign-out", b.get("/"), http.StatusUnauthorized)
}

func TestSessionEndsWithToken(t *testing.T) {
	e := newEnv(t)
	secret, _ := e.token(access.NewToken{Name: "c1", Role: access.Compliance, ExpiresIn: time.Hour})
	b := e.browser()
	p := b.signin(secret, "/connectors")
	wantStatus(t, "sign-in", p, http.StatusSeeOther)
	if loc := p.header.Get("Location"); loc != "/connectors" {
		t.Errorf("redirected to %q, want /connectors", loc)
	}
	if c := strings.Join(p.header.Values("Set-Cookie"), "\n"); !strings.Contains(c, "Max-Age=3600") {
		t.Errorf("a session of a token expiring in 1h: cookie %q, want Max-Age=3600", c)
	}
	wantStatus(t, "connectors", b.get("/connectors"), http.StatusOK)
	e.clock.Set(t0.Add(61 * time.Minute))
	wantStatus(t, "after the token expired", b.get("/connectors"), http.StatusUnauthorized)
	e.clock.Set(t0)

	// Revoking a token ends its sessions at once.
	secret2, tok2 := e.token(access.NewToken{Name: "c2", Role: access.Compliance, ExpiresIn: 24 * time.Hour})
	b2 := e.browser()
	b2.mustSignin(secret2)
	wantStatus(t, "before revocation", b2.get("/"), http.StatusOK)
	if _, err := e.access.RevokeToken(t.Context(), tok2.ID); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "after revocation", b2.get("/"), http.StatusUnauthorized)

	// A session lasts 12 hours at most.
	secret3, _ := e.token(access.NewToken{Name: "c3", Role: access.Compliance})
	b3 := e.browser()
	b3.mustSignin(secret3)
	e.clock.Set(t0.Add(MaxSession))
	wantStatus(t, "after 12 hours", b3.get("/"), http.StatusUnauthorized)
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	comp, _ := e.token(access.NewToken{Name: "c", Role: access.Compliance, ExpiresIn: time.Hour})
	b := e.browser()
	b.mustSignin(comp)
	for _, form := range []url.Values{{}, {"csrf": {"forged"}}} {
		p := b.do("POST", "/connectors/docs/run", form)
		wantStatus(t, "run now with a bad CSRF token", p, http.StatusForbidden)
		wantStatus(t, "bundle with a bad CSRF token", b.do("POST", "/bundle", form), http.StatusForbidden)
	}
	// Another session's token is refused too.
	other := e.browser()
	other.mustSignin(comp)
	wantStatus(t, "run now with another session's token", b.do("POST", "/connectors/docs/run", url.Values{"csrf": {other.csrf()}}), http.StatusForbidden)
	if n := e.sched.count(); n != 0 {
		t.Fatalf("%d runs triggered by refused forms", n)
	}
	p := b.do("POST", "/connectors/docs/run", url.Values{"csrf": {b.csrf()}})
	wantStatus(t, "run now", p, http.StatusSeeOther)
	if loc := p.header.Get("Location"); loc != "/runs?connector=docs&queued=00000000-0000-7000-8000-000000000001" {
		t.Errorf("run now redirected to %q", loc)
	}
	if n := e.sched.count(); n != 1 {
		t.Fatalf("%d runs triggered, want 1", n)
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.token(access.NewToken{Name: "a", Role: access.Admin, ExpiresIn: time.Hour})
	rec := e.add(t0.Add(-time.Hour), "policy.md", "A.2.2")
	e.sign()
	b := e.browser()
	check := func(path string, p page) {
		t.Helper()
		csp := p.header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "script-src 'none'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %s", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP %q allows unsafe sources", path, csp)
		}
		if p.header.Get("X-Content-Type-Options") != "nosniff" || p.header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", path, p.header)
		}
		if strings.Contains(strings.ToLower(p.body), "<script") || strings.Contains(p.body, "style=") || strings.Contains(p.body, "http://") || strings.Contains(p.body, "https://") {
			t.Errorf("%s: the page has script, inline style or an absolute URL", path)
		}
	}
	check("/ signed out", b.get("/"))
	b.mustSignin(admin)
	for _, path := range []string{"/", "/controls/A.2.2", "/evidence/" + rec.ID, "/connectors", "/runs", "/runs/" + e.run, "/bundle", "/access-log", "/nope"} {
		check(path, b.get(path))
	}
	css := b.get("/static/style.css")
	wantStatus(t, "style.css", css, http.StatusOK)
	if ct := css.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("style.css Content-Type %q", ct)
	}
	// Evidence content keeps the API's sandboxing policy.
	p := b.get("/evidence/" + rec.ID + "/content")
	wantStatus(t, "content", p, http.StatusOK)
	if csp := p.header.Get("Content-Security-Policy"); csp != "default-src 'none'; sandbox" {
		t.Errorf("content CSP %q", csp)
	}
	if cd := p.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
		t.Errorf("content Content-Disposition %q", cd)
	}
}

func TestRoles(t *testing.T) {
	e := newEnv(t)
	rec := e.add(t0.Add(-time.Hour), "policy.md", "A.2.2")
	e.sign()
	secrets := map[access.Role]string{}
	for _, r := range access.Roles {
		secrets[r], _ = e.token(access.NewToken{Name: string(r), Role: r, ExpiresIn: time.Hour})
	}
	const ok, no = http.StatusOK, http.StatusForbidden
	pages := []struct {
		path string
		want map[access.Role]int
	}{
		{"/", map[access.Role]int{access.Compliance: ok, access.Auditor: ok, access.Security: ok, access.Admin: ok}},
		{"/controls/A.2.2", map[access.Role]int{access.Compliance: ok, access.Auditor: ok, access.Security: no, access.Admin: ok}},
		{"/evidence/" + rec.ID, map[access.Role]int{access.Compliance: ok, access.Auditor: ok, access.Security: no, access.Admin: ok}},
		{"/connectors", map[access.Role]int{access.Compliance: ok, access.Auditor: no, access.Security: ok, access.Admin: ok}},
		{"/runs", map[access.Role]int{access.Compliance: ok, access.Auditor: no, access.Security: ok, access.Admin: ok}},
		{"/runs/" + e.run, map[access.Role]int{access.Compliance: ok, access.Auditor: no, access.Security: ok, access.Admin: ok}},
		// No hint of what exists: a run that does not exist is refused alike.
		{"/runs/0190a000-0000-7000-8000-00000000ffff", map[access.Role]int{access.Auditor: no}},
		{"/bundle", map[access.Role]int{access.Compliance: ok, access.Auditor: ok, access.Security: no, access.Admin: ok}},
		{"/access-log", map[access.Role]int{access.Compliance: no, access.Auditor: no, access.Security: ok, access.Admin: ok}},
	}
	for _, role := range access.Roles {
		b := e.browser()
		b.mustSignin(secrets[role])
		for _, pg := range pages {
			want, ok := pg.want[role]
			if !ok {
				continue
			}
			p := b.get(pg.path)
			if p.status != want {
				t.Errorf("%s GET %s: %d, want %d", role, pg.path, p.status, want)
			}
			if p.status == no && !strings.Contains(p.body, "Not permitted for your role.") {
				t.Errorf("%s GET %s: 403 page says:\n%s", role, pg.path, p.body)
			}
		}
	}
	// The auditor's menu offers no runs, connectors or access log.
	b := e.browser()
	b.mustSignin(secrets[access.Auditor])
	p := b.get("/")
	for _, link := range []string{`href="/runs"`, `href="/connectors"`, `href="/access-log"`} {
		if strings.Contains(p.body, link) {
			t.Errorf("the auditor's dashboard links %s", link)
		}
	}
	wantStatus(t, "auditor run now", b.do("POST", "/connectors/docs/run", url.Values{"csrf": {b.csrf()}}), no)
	// Security: no run-now either.
	s := e.browser()
	s.mustSignin(secrets[access.Security])
	if strings.Contains(s.get("/connectors").body, "Run now") {
		t.Error("security is offered Run now")
	}
	if e.sched.count() != 0 {
		t.Fatal("a refused role triggered a run")
	}
	// Unknown pages: 401 signed out, 404 signed in; nothing else said.
	wantStatus(t, "unknown page signed out", e.browser().get("/admin/secret"), http.StatusUnauthorized)
	wantStatus(t, "unknown page", b.get("/admin/secret"), http.StatusNotFound)
}

func TestAuditorScope(t *testing.T) {
	e := newEnv(t)
	in := e.add(t0.Add(-2*time.Hour), "in-scope.md", "A.6.2.8")
	out := e.add(t0.Add(-2*time.Hour), "other-control.md", "7.2")
	early := e.add(t0.Add(-30*24*time.Hour), "before-period.md", "A.6.2.8")
	e.sign()
	from := t0.Add(-7 * 24 * time.Hour)
	secret, _ := e.token(access.NewToken{Name: "aud", Role: access.Auditor, ExpiresIn: time.Hour,
		Scope: access.Scope{From: &from, Controls: []string{"A.6.2.8"}}})
	b := e.browser()
	b.mustSignin(secret)

	p := b.get("/")
	wantStatus(t, "dashboard", p, http.StatusOK)
	if n := strings.Count(p.body, `<tr class="`); n != 1 || !strings.Contains(p.body, "A.6.2.8") {
		t.Errorf("scoped dashboard lists %d items, want only A.6.2.8", n)
	}
	wantStatus(t, "control outside scope", b.get("/controls/7.2"), http.StatusNotFound)
	p = b.get("/controls/A.6.2.8")
	wantStatus(t, "control in scope", p, http.StatusOK)
	if !strings.Contains(p.body, in.ID) || strings.Contains(p.body, early.ID) {
		t.Errorf("control page: want %s only (not %s, before the period)", in.ID, early.ID)
	}
	wantStatus(t, "record in scope", b.get("/evidence/"+in.ID), http.StatusOK)
	wantStatus(t, "record of another control", b.get("/evidence/"+out.ID), http.StatusNotFound)
	wantStatus(t, "record before the period", b.get("/evidence/"+early.ID), http.StatusNotFound)
	wantStatus(t, "content outside scope", b.get("/evidence/"+out.ID+"/content"), http.StatusNotFound)

	csrf := b.csrf()
	p = b.do("POST", "/bundle", url.Values{"csrf": {csrf}, "controls": {"7.2"}})
	wantStatus(t, "bundle outside scope", p, http.StatusBadRequest)
	if !strings.Contains(p.body, "outside this token") {
		t.Errorf("bundle outside scope says:\n%s", p.body)
	}
	p = b.do("POST", "/bundle", url.Values{"csrf": {csrf}})
	wantStatus(t, "bundle", p, http.StatusOK)
	zr, err := zip.NewReader(bytes.NewReader([]byte(p.body)), int64(len(p.body)))
	if err != nil {
		t.Fatal(err)
	}
	var records []string
	for _, f := range zr.File {
		if strings.HasPrefix(f.Name, "data/records/") {
			records = append(records, f.Name)
		}
	}
	if len(records) != 1 || !strings.Contains(records[0], in.ID) {
		t.Errorf("scoped bundle records %v, want only %s", records, in.ID)
	}

	// The access log has the bundle's receipt and the record reads, by the
	// auditor's token, as the API writes them.
	es, err := e.access.Entries(t.Context(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var receipt *access.Entry
	for _, en := range es {
		if en.Action == access.ActionBundle && en.Outcome == access.OutcomeOK {
			receipt = en
			break
		}
	}
	if receipt == nil || receipt.TokenName != "aud" || receipt.Role != "auditor" || receipt.SHA256 == "" {
		t.Fatalf("no bundle receipt for the auditor in the access log: %+v", receipt)
	}
	if receipt.Size != int64(len(p.body)) {
		t.Errorf("receipt size %d, sent %d", receipt.Size, len(p.body))
	}
}

func TestPaginationAndLogs(t *testing.T) {
	e := newEnv(t)
	for i := range pageLimit + 10 {
		e.add(t0.Add(-time.Duration(i+1)*time.Minute), fmt.Sprintf("doc-%03d.md", i), "A.2.2")
	}
	e.sign()
	admin, _ := e.token(access.NewToken{Name: "a", Role: access.Admin, ExpiresIn: time.Hour})
	b := e.browser()
	b.mustSignin(admin)
	p := b.get("/controls/A.2.2")
	wantStatus(t, "control page 1", p, http.StatusOK)
	if n := strings.Count(p.body, `href="/evidence/`); n != pageLimit {
		t.Fatalf("page 1 links %d records, want %d", n, pageLimit)
	}
	m := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatal("page 1 has no next page link")
	}
	p = b.get(strings.ReplaceAll(m[1], "&amp;", "&"))
	wantStatus(t, "control page 2", p, http.StatusOK)
	if n := strings.Count(p.body, `href="/evidence/`); n != 10 {
		t.Fatalf("page 2 links %d records, want 10", n)
	}
	if strings.Contains(p.body, `rel="next"`) {
		t.Error("the last page links a next page")
	}
	p = b.get("/runs/" + e.run)
	wantStatus(t, "run log", p, http.StatusOK)
	if !strings.Contains(p.body, "run started") {
		t.Error("the run log page lacks its line")
	}
	p = b.get("/access-log")
	wantStatus(t, "access log", p, http.StatusOK)
	if !strings.Contains(p.body, "evidence.list") {
		t.Error("the access log page does not show the listings just made")
	}
}

func TestSecureCookieUnderTLS(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.token(access.NewToken{Name: "a", Role: access.Admin, ExpiresIn: time.Hour})
	tls := httptest.NewTLSServer(e.srv.Config.Handler)
	t.Cleanup(tls.Close)
	c := tls.Client()
	jar, _ := cookiejar.New(nil)
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(tls.URL + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf := csrfOf(t, page{body: string(body)})
	resp, err = c.PostForm(tls.URL+"/signin", url.Values{"token": {admin}, "csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in over TLS: %d", resp.StatusCode)
	}
	found := false
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			found = true
			if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
				t.Errorf("session cookie over TLS: %+v", ck)
			}
		}
	}
	if !found {
		t.Fatal("no session cookie over TLS")
	}
}
