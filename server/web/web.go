// Package web is aimsvault's web console: server-rendered pages
// (html/template, assets embedded, no script, nothing from another origin)
// over the same handlers, role table, scope filtering and access log as the
// REST API.
//
// Sign-in takes an API token (form POST) and sets a session cookie
// (HttpOnly, SameSite=Strict, Secure under TLS) naming a random id in an
// in-memory store; a session lasts until its token expires or for 12 hours,
// whichever is sooner, and re-authenticates its token on every request, so a
// revoked token ends its sessions at once. A session resolves to the same
// auth.Principal a bearer token does.
//
// Every page asks the API for its data in-process, as the signed-in caller:
// the page for runs calls the handler of GET /api/v1/runs, and so on. So a
// page is allowed to exactly the roles of its API route (api.API.Routes),
// an auditor's scope applies as it does to the API, and every evidence read,
// content download and bundle download is written to the access log by the
// same code, with the same receipt. The one difference: a console request
// is logged with the API path it was served by (a bundle built with the
// form is logged as GET /api/v1/bundle?… with its filter).
//
// Listings page with the API's cursors. The dashboard's coverage and
// findings, which read the whole vault, come from a cache per auditor scope
// (see swr): computed once (serve warms it at start), then refreshed in the
// background while in use; the page says when its figures were computed.
//
// Every form carries the session's CSRF token (the sign-in form a
// pre-session one, double-submitted in a cookie), checked on every POST.
// Every response carries a strict Content-Security-Policy (default-src
// 'self', no script at all, form-action 'self', frame-ancestors 'none').
// An unauthenticated request gets the sign-in page (401); a role not
// allowed gets "not permitted for your role" (403) whether or not the thing
// asked for exists.
package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aimsvault/aimsvault/findings"
	"github.com/aimsvault/aimsvault/mapping"
	"github.com/aimsvault/aimsvault/server/access"
	"github.com/aimsvault/aimsvault/server/api"
	"github.com/aimsvault/aimsvault/server/auth"
)

//go:embed templates/*.html static/*
var assets embed.FS

// MaxSession bounds a session's life whatever its token's expiry.
const MaxSession = 12 * time.Hour

const (
	sessionCookie = "aimsvault_session"
	signinCookie  = "aimsvault_signin"
	csrfField     = "csrf"
)

// CSP is the console's Content-Security-Policy: everything from this
// origin only, no script, no plugins, no framing, forms post only here.
const CSP = "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Options configure the console.
type Options struct {
	// API is the REST API whose handlers and role table the console uses.
	API *api.API
	// Tokens authenticates the token given at sign-in; *access.DB.
	Tokens auth.Tokens
	// Findings returns the open findings (nil: the dashboard shows none).
	Findings func(ctx context.Context) ([]findings.Finding, error)
	// Logger receives internal errors (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Console is the web console's handler set.
type Console struct {
	opts     Options
	log      *slog.Logger
	inner    *http.ServeMux
	roles    map[string][]access.Role // API pattern -> roles
	sessions *sessionStore
	pages    map[string]*template.Template
	static   http.Handler

	// The dashboard's coverage (per scope) and findings scan the whole
	// vault: cached, refreshed in the background (see swr).
	coverage *swr[[]mapping.ControlStatus]
	findings *swr[[]findings.Finding]
}

// dashboardTTL is how old the dashboard's figures may get before a
// background refresh starts; the page says when they were computed.
const dashboardTTL = 30 * time.Second // or 10x the computation, if longer

// New returns the console.
func New(opts Options) *Console {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Console{opts: opts, log: opts.Logger, inner: http.NewServeMux(),
		roles: map[string][]access.Role{}, sessions: newSessionStore()}
	// The inner mux serves the API's handlers behind the API's own role
	// check (the Principal comes from the session instead of a header).
	for _, rt := range opts.API.Routes() {
		c.roles[rt.Pattern] = rt.Roles
		c.inner.Handle(rt.Pattern, auth.Require(rt.Roles, rt.Handler))
	}
	for _, rt := range []string{routeCoverage, routeEvidence, routeRecord, routeContent, routeProof, routeBundle,
		routeConnector, routeRun, routeRuns, routeLogs, routeAuditLog} {
		if c.roles[rt] == nil {
			panic("web: the API has no route " + rt) // a page would be refused to everyone
		}
	}
	logErr := func(what string) func(error) {
		return func(err error) { c.log.Error("console: "+what+" refresh failed", "err", err) }
	}
	c.coverage = newSWR[[]mapping.ControlStatus](dashboardTTL, opts.Now, logErr("coverage"))
	c.findings = newSWR[[]findings.Finding](dashboardTTL, opts.Now, logErr("findings"))
	c.pages = parseTemplates()
	sub, _ := fs.Sub(assets, "static")
	c.static = http.StripPrefix("/static/", http.FileServerFS(sub))
	return c
}

// API routes each console page stands on: a page is allowed to the roles of
// its route.
const (
	routeCoverage  = "GET /api/v1/coverage"
	routeEvidence  = "GET /api/v1/evidence"
	routeRecord    = "GET /api/v1/evidence/{id}"
	routeContent   = "GET /api/v1/evidence/{id}/content"
	routeProof     = "GET /api/v1/evidence/{id}/proof"
	routeBundle    = "GET /api/v1/bundle"
	routeConnector = "GET /api/v1/connectors"
	routeRun       = "POST /api/v1/connectors/{name}/run"
	routeRuns      = "GET /api/v1/runs"
	routeLogs      = "GET /api/v1/runs/{id}/logs"
	routeAuditLog  = "GET /api/v1/audit-log"
)

// Register mounts the console at / on m (the API keeps /api/v1/).
func (c *Console) Register(m api.Mux) {
	m.Handle("GET /static/", c.secure(http.HandlerFunc(c.serveStatic)))
	m.Handle("GET /favicon.ico", c.secure(http.NotFoundHandler()))
	m.Handle("GET /signin", c.secure(http.HandlerFunc(c.signinPage)))
	m.Handle("POST /signin", c.secure(http.HandlerFunc(c.signin)))
	m.Handle("POST /signout", c.page("", c.signout))
	m.Handle("GET /{$}", c.page(routeCoverage, c.dashboard))
	m.Handle("GET /controls/{id}", c.page(routeEvidence, c.control))
	m.Handle("GET /evidence/{id}", c.page(routeRecord, c.record))
	m.Handle("GET /evidence/{id}/content", c.page(routeContent, c.content))
	m.Handle("GET /connectors", c.page(routeConnector, c.connectors))
	m.Handle("POST /connectors/{name}/run", c.page(routeRun, c.runNow))
	m.Handle("GET /runs", c.page(routeRuns, c.runs))
	m.Handle("GET /runs/{id}", c.page(routeLogs, c.runLogs))
	m.Handle("GET /bundle", c.page(routeBundle, c.bundleForm))
	m.Handle("POST /bundle", c.page(routeBundle, c.bundleDownload))
	m.Handle("GET /access-log", c.page(routeAuditLog, c.accessLog))
	// Anything else: sign in first, then 404; nothing said before that.
	m.Handle("/", c.page("", func(w http.ResponseWriter, r *http.Request, v *view) {
		c.errorPage(w, r, v, http.StatusNotFound, "")
	}))
}

// secure sets the headers every console response carries.
func (c *Console) secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", CSP)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

func (c *Console) serveStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	c.static.ServeHTTP(w, r)
}

// view is what every page template gets.
type view struct {
	Title     string
	Principal *auth.Principal
	CSRF      string
	Nav       []navItem
	Path      string
	Data      any
	// error pages
	Status  int
	Message string
}

type navItem struct {
	Href, Label string
	Current     bool
}

// current returns the signed-in caller's session and Principal, or nils.
func (c *Console) current(r *http.Request) (*session, *auth.Principal, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, nil, nil
	}
	sess := c.sessions.get(ck.Value, c.opts.Now())
	if sess == nil {
		return nil, nil, nil
	}
	t, err := c.opts.Tokens.Authenticate(r.Context(), sess.secret)
	if errors.Is(err, access.ErrInvalidToken) {
		c.sessions.delete(ck.Value)
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return sess, auth.PrincipalOf(t), nil
}

// page wraps a console page: a session (else the sign-in page, 401), a
// CSRF check on POST, and the role check of API route (else 403).
func (c *Console) page(route string, h func(http.ResponseWriter, *http.Request, *view)) http.Handler {
	return c.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, p, err := c.current(r)
		if err != nil {
			c.log.Error("console: token lookup failed", "err", err)
			c.errorPage(w, r, &view{}, http.StatusInternalServerError, "")
			return
		}
		if p == nil {
			c.renderSignin(w, r, http.StatusUnauthorized, "", nextOf(r))
			return
		}
		v := &view{Principal: p, CSRF: sess.csrf, Path: r.URL.Path}
		v.Nav = c.nav(p, r.URL.Path)
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil || !sameToken(r.PostFormValue(csrfField), sess.csrf) {
				c.errorPage(w, r, v, http.StatusForbidden, "The form was stale or did not come from this console. Go back, reload the page and try again.")
				return
			}
		}
		if route != "" && !c.allowed(p, route) {
			c.errorPage(w, r, v, http.StatusForbidden, "")
			return
		}
		h(w, r.WithContext(auth.WithPrincipal(r.Context(), p)), v)
	}))
}

func (c *Console) allowed(p *auth.Principal, route string) bool {
	return slices.Contains(c.roles[route], p.Role)
}

func (c *Console) nav(p *auth.Principal, path string) []navItem {
	items := []struct{ href, label, route string }{
		{"/", "Dashboard", routeCoverage},
		{"/connectors", "Connectors", routeConnector},
		{"/runs", "Runs", routeRuns},
		{"/bundle", "Bundle", routeBundle},
		{"/access-log", "Access log", routeAuditLog},
	}
	var out []navItem
	for _, it := range items {
		if c.allowed(p, it.route) {
			cur := path == it.href || (it.href != "/" && strings.HasPrefix(path, it.href+"/"))
			out = append(out, navItem{Href: it.href, Label: it.label, Current: cur})
		}
	}
	return out
}

// nextOf is where to go back to after signing in: this page, if a GET.
func nextOf(r *http.Request) string {
	if r.Method != http.MethodGet {
		return "/"
	}
	return r.URL.RequestURI()
}

// safeNext accepts only a local path ("/x", never "//host" or "/\host").
func safeNext(s string) string {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") ||
		strings.ContainsAny(s, "\r\n") {
		return "/"
	}
	if u, err := url.Parse(s); err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return s
}

// render executes page name with v, status first.
func (c *Console) render(w http.ResponseWriter, status int, name string, v *view) {
	t := c.pages[name]
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		c.log.Error("console: render failed", "page", name, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte("500 internal error: the server log has the details\n"))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorPage renders a plain page with the status. A 403 says only that the
// role may not do this; a 404 says only that there is nothing here.
func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, v *view, status int, msg string) {
	if msg == "" {
		switch status {
		case http.StatusForbidden:
			msg = "Not permitted for your role."
		case http.StatusNotFound:
			msg = "Nothing here."
		case http.StatusInternalServerError:
			msg = "Something went wrong on the server; its log has the details."
		default:
			msg = http.StatusText(status)
		}
	}
	v.Title = http.StatusText(status)
	v.Status, v.Message = status, msg
	c.render(w, status, "error", v)
}

// --- calling the API in-process ---

// recorder is a minimal buffered http.ResponseWriter.
type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (rec *recorder) Header() http.Header { return rec.h }
func (rec *recorder) WriteHeader(s int) {
	if rec.status == 0 {
		rec.status = s
	}
}
func (rec *recorder) Write(p []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.body.Write(p)
}

// apiRequest makes the in-process API request for r: same caller, same
// remote address (the access log's "from where"), no cookies.
func (c *Console) apiRequest(r *http.Request, method, target string) *http.Request {
	req, err := http.NewRequestWithContext(r.Context(), method, target, nil)
	if err != nil {
		panic(err) // targets are built here from escaped parts
	}
	req.Header = r.Header.Clone()
	req.Header.Del("Cookie")
	req.Header.Del("Authorization")
	req.Header.Del("Content-Type")
	req.Header.Del("Content-Length")
	req.RemoteAddr, req.TLS, req.Host = r.RemoteAddr, r.TLS, r.Host
	return req
}

// apiError is an API answer other than 2xx.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

// call runs the API handler for method and target and decodes its JSON
// answer into out.
func (c *Console) call(r *http.Request, method, target string, out any) error {
	return c.do(c.apiRequest(r, method, target), out)
}

// do serves req with the API's handler and decodes its JSON answer into out.
func (c *Console) do(req *http.Request, out any) error {
	rec := &recorder{h: http.Header{}}
	c.inner.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(rec.body.Bytes(), &e)
		return &apiError{status: rec.status, msg: e.Error}
	}
	if s, ok := out.(*string); ok {
		*s = rec.body.String()
		return nil
	}
	return json.Unmarshal(rec.body.Bytes(), out)
}

// fail renders an error page for an API error: 400 and 409 messages are the
// API's own (written to be shown); 403 and 404 say nothing more.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, v *view, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		msg := ""
		switch ae.status {
		case http.StatusBadRequest, http.StatusConflict, http.StatusServiceUnavailable:
			msg = ae.msg
		}
		c.errorPage(w, r, v, ae.status, msg)
		return
	}
	if r.Context().Err() != nil {
		return
	}
	c.log.Error("console page failed", "path", r.URL.Path, "err", err)
	c.errorPage(w, r, v, http.StatusInternalServerError, "")
}

// stream serves the API handler's answer to w as it comes (a download), or,
// when the handler answers an error before any byte, an error page.
func (c *Console) stream(w http.ResponseWriter, r *http.Request, v *view, method, target string) {
	iw := &interceptWriter{w: w, h: http.Header{}}
	c.inner.ServeHTTP(iw, c.apiRequest(r, method, target))
	if iw.failed != nil {
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(iw.failed.body.Bytes(), &e)
		c.fail(w, r, v, &apiError{status: iw.failed.status, msg: e.Error})
	}
}

// interceptWriter passes a 2xx answer through with the handler's headers
// (its own Content-Security-Policy, Content-Disposition) and captures an
// error answer for an HTML page.
type interceptWriter struct {
	w      http.ResponseWriter
	h      http.Header
	wrote  bool
	failed *recorder
}

func (iw *interceptWriter) Header() http.Header { return iw.h }

func (iw *interceptWriter) WriteHeader(status int) {
	if iw.wrote || iw.failed != nil {
		return
	}
	if status >= 300 {
		iw.failed = &recorder{h: iw.h, status: status}
		return
	}
	iw.wrote = true
	for k, vs := range iw.h {
		iw.w.Header()[k] = vs
	}
	iw.w.WriteHeader(status)
}

func (iw *interceptWriter) Write(p []byte) (int, error) {
	if !iw.wrote && iw.failed == nil {
		iw.WriteHeader(http.StatusOK)
	}
	if iw.failed != nil {
		return iw.failed.body.Write(p)
	}
	return iw.w.Write(p)
}

func (iw *interceptWriter) Unwrap() http.ResponseWriter { return iw.w }
