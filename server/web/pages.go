package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/findings"
	"github.com/aimsvault/aimsvault/mapping"
	"github.com/aimsvault/aimsvault/server/access"
	"github.com/aimsvault/aimsvault/server/auth"
)

var pageNames = []string{"signin", "error", "dashboard", "control", "record", "connectors", "runs", "logs", "bundle", "accesslog"}

func parseTemplates() map[string]*template.Template {
	funcs := template.FuncMap{
		"when": func(v any) string {
			switch t := v.(type) {
			case time.Time:
				if t.IsZero() {
					return "—"
				}
				return t.UTC().Format("2006-01-02 15:04:05 UTC")
			case *time.Time:
				if t == nil || t.IsZero() {
					return "—"
				}
				return t.UTC().Format("2006-01-02 15:04:05 UTC")
			case *string:
				if t == nil {
					return "—"
				}
				if tt, err := time.Parse(time.RFC3339, *t); err == nil {
					return tt.UTC().Format("2006-01-02 15:04:05 UTC")
				}
				return *t
			}
			return "—"
		},
		"join": strings.Join,
	}
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		out[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+name+".html"))
	}
	return out
}

// pageLimit is the page size of every listing: pages stay fast whatever the
// vault's size (the API's cursors are index range scans).
const pageLimit = 50

// listPage is the API's collection envelope.
type listPage[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// pager links a listing's pages.
type pager struct {
	First, Next string // "" when there is none
}

func pagerOf(r *http.Request, next *string) pager {
	var p pager
	q := r.URL.Query()
	if q.Get("cursor") != "" {
		q.Del("cursor")
		p.First = r.URL.Path + encodeQuery(q)
	}
	if next != nil {
		q.Set("cursor", *next)
		p.Next = r.URL.Path + encodeQuery(q)
	}
	return p
}

func encodeQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// --- sign-in ---

type signinData struct {
	Message, Next, CSRF string
}

func (c *Console) renderSignin(w http.ResponseWriter, r *http.Request, status int, msg, next string) {
	// A pre-session CSRF token, double-submitted: a cookie and a field.
	tok := ""
	if ck, err := r.Cookie(signinCookie); err == nil && len(ck.Value) == 43 {
		tok = ck.Value
	} else {
		tok = randomToken()
	}
	http.SetCookie(w, &http.Cookie{Name: signinCookie, Value: tok, Path: "/", MaxAge: 3600,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	c.render(w, status, "signin", &view{Title: "Sign in", Data: signinData{Message: msg, Next: safeNext(next), CSRF: tok}})
}

func (c *Console) signinPage(w http.ResponseWriter, r *http.Request) {
	c.renderSignin(w, r, http.StatusOK, "", r.URL.Query().Get("next"))
}

func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		c.renderSignin(w, r, http.StatusBadRequest, "The form could not be read: try again.", "/")
		return
	}
	next := safeNext(r.PostFormValue("next"))
	ck, err := r.Cookie(signinCookie)
	if err != nil || !sameToken(r.PostFormValue(csrfField), ck.Value) {
		c.renderSignin(w, r, http.StatusForbidden, "The sign-in form was stale: enter the token again.", next)
		return
	}
	secret := strings.TrimSpace(r.PostFormValue("token"))
	t, err := c.opts.Tokens.Authenticate(r.Context(), secret)
	if err != nil || secret == "" {
		if err != nil && !isInvalidToken(err) {
			c.log.Error("console: token lookup failed", "err", err)
			c.errorPage(w, r, &view{}, http.StatusInternalServerError, "")
			return
		}
		c.renderSignin(w, r, http.StatusUnauthorized, "That token was not accepted: it is unknown, expired or revoked.", next)
		return
	}
	now := c.opts.Now()
	expires := now.Add(MaxSession)
	if t.ExpiresAt != nil && t.ExpiresAt.Before(expires) {
		expires = *t.ExpiresAt
	}
	if old, err := r.Cookie(sessionCookie); err == nil {
		c.sessions.delete(old.Value) // a new id at every sign-in
	}
	id, _ := c.sessions.create(secret, expires, now)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", Expires: expires,
		MaxAge: max(1, int(expires.Sub(now).Seconds())), HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: signinCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func isInvalidToken(err error) bool { return errors.Is(err, access.ErrInvalidToken) }

func (c *Console) signout(w http.ResponseWriter, r *http.Request, v *view) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		c.sessions.delete(ck.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// --- dashboard ---

var clauseTitles = map[string]string{
	"4": "4 Context of the organization", "5": "5 Leadership", "6": "6 Planning", "7": "7 Support",
	"8": "8 Operation", "9": "9 Performance evaluation", "10": "10 Improvement",
}

type counts struct{ Covered, Stale, Missing, Manual, Findings int }

func (n *counts) add(s mapping.Status) {
	switch s {
	case mapping.Covered:
		n.Covered++
	case mapping.Stale:
		n.Stale++
	case mapping.Missing:
		n.Missing++
	case mapping.Manual:
		n.Manual++
	}
}

type dashItem struct {
	mapping.ControlStatus
	Findings int
}

type dashGroup struct {
	Title  string
	Counts counts
	Items  []dashItem
}

type dashData struct {
	AsOf          time.Time
	Total         int
	Counts        counts
	Groups        []dashGroup
	CanEvidence   bool
	FindingsShown bool
	FindingsError bool
	Findings      []findings.Finding
	MoreFindings  int
}

func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, v *view) {
	p := auth.FromContext(r.Context())
	// Coverage depends only on the caller's scope: callers with the same
	// scope share one cached computation, made as the caller (so the API's
	// scope filtering applies) from a request of its own.
	rows, at, err := c.coverageOf(r.Context(), p, r.RemoteAddr)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	d := dashData{Total: len(rows), CanEvidence: c.allowed(p, routeEvidence), AsOf: at}
	perControl := map[string]int{}
	// Findings rest on records of the whole vault: shown to unscoped
	// callers only.
	if c.opts.Findings != nil && p.Scope.Empty() {
		d.FindingsShown = true
		fs, _, err := c.findings.get(r.Context(), "", c.opts.Findings)
		if err != nil {
			c.log.Error("console: findings failed", "err", err)
			d.FindingsError = true
		}
		for _, f := range fs {
			for _, id := range f.Controls {
				perControl[id]++
			}
		}
		d.Counts.Findings = len(fs)
		if len(fs) > 50 {
			d.MoreFindings, fs = len(fs)-50, fs[:50]
		}
		d.Findings = fs
	}
	index := map[string]int{}
	for _, row := range rows {
		key := row.Control
		if e, ok := mapping.Lookup(row.Control); ok && e.Kind == mapping.KindControl {
			key = e.Objective
		} else {
			top, _, _ := strings.Cut(row.Control, ".")
			key = clauseTitles[top]
			if key == "" {
				key = "Clause " + top
			}
		}
		i, ok := index[key]
		if !ok {
			i = len(d.Groups)
			index[key] = i
			d.Groups = append(d.Groups, dashGroup{Title: key})
		}
		g := &d.Groups[i]
		it := dashItem{ControlStatus: row, Findings: perControl[row.Control]}
		g.Items = append(g.Items, it)
		g.Counts.add(row.Status)
		g.Counts.Findings += it.Findings
		d.Counts.add(row.Status)
	}
	v.Title, v.Data = "Dashboard", d
	c.render(w, http.StatusOK, "dashboard", v)
}

// coverageOf is /api/v1/coverage as p sees it, from the cache.
func (c *Console) coverageOf(ctx context.Context, p *auth.Principal, remote string) ([]mapping.ControlStatus, time.Time, error) {
	key, _ := json.Marshal(p.Scope)
	return c.coverage.get(ctx, string(key), func(ctx context.Context) ([]mapping.ControlStatus, error) {
		req, err := http.NewRequestWithContext(auth.WithPrincipal(ctx, p), http.MethodGet, "/api/v1/coverage", nil)
		if err != nil {
			return nil, err
		}
		req.RemoteAddr = remote
		var rows []mapping.ControlStatus
		return rows, c.do(req, &rows)
	})
}

// Warm computes the dashboard's figures for unscoped callers in the
// background, so that the first visitor after a start does not wait for a
// scan of the whole vault (seconds for a million records).
func (c *Console) Warm(ctx context.Context) {
	go func() {
		p := &auth.Principal{Name: "console-warm-up", Role: access.Admin}
		if _, _, err := c.coverageOf(ctx, p, ""); err != nil && ctx.Err() == nil {
			c.log.Warn("console: coverage warm-up failed", "err", err)
		}
		if c.opts.Findings != nil {
			if _, _, err := c.findings.get(ctx, "", c.opts.Findings); err != nil && ctx.Err() == nil {
				c.log.Warn("console: findings warm-up failed", "err", err)
			}
		}
	}()
}

// --- control and evidence ---

// recordView is a record in the `evidence list --format json` shape.
type recordView struct {
	ID          string            `json:"id"`
	Run         string            `json:"run"`
	Connector   string            `json:"connector"`
	Type        string            `json:"type"`
	Kind        string            `json:"kind"`
	Subject     string            `json:"subject"`
	CollectedAt time.Time         `json:"collected_at"`
	EffectiveAt *time.Time        `json:"effective_at"`
	SHA256      string            `json:"sha256"`
	Size        int64             `json:"size"`
	MediaType   string            `json:"media_type"`
	SourceURL   string            `json:"source_url"`
	Provenance  json.RawMessage   `json:"provenance"`
	Attributes  map[string]string `json:"attributes"`
	Controls    []string          `json:"controls"`
}

type controlData struct {
	Entry    mapping.Entry
	Records  []recordView
	Pager    pager
	Searched bool
}

func (c *Console) control(w http.ResponseWriter, r *http.Request, v *view) {
	id := r.PathValue("id")
	e, ok := mapping.Lookup(id)
	p := auth.FromContext(r.Context())
	if !ok || e.Heading || !p.Scope.AllowsControl(e.ID) {
		c.errorPage(w, r, v, http.StatusNotFound, "")
		return
	}
	q := url.Values{"control": {e.ID}, "limit": {strconv.Itoa(pageLimit)}}
	if cur := r.URL.Query().Get("cursor"); cur != "" {
		q.Set("cursor", cur)
	}
	var pg listPage[recordView]
	if err := c.call(r, http.MethodGet, "/api/v1/evidence?"+q.Encode(), &pg); err != nil {
		c.fail(w, r, v, err)
		return
	}
	v.Title = e.ID + " " + e.Title
	v.Data = controlData{Entry: e, Records: pg.Items, Pager: pagerOf(r, pg.NextCursor)}
	c.render(w, http.StatusOK, "control", v)
}

type recordData struct {
	Record     recordView
	Provenance string
	Proof      string
	ProofNote  string
}

func (c *Console) record(w http.ResponseWriter, r *http.Request, v *view) {
	base := "/api/v1/evidence/" + url.PathEscape(r.PathValue("id"))
	var d recordData
	if err := c.call(r, http.MethodGet, base, &d.Record); err != nil {
		c.fail(w, r, v, err)
		return
	}
	var buf bytes.Buffer
	if len(d.Record.Provenance) > 0 && json.Indent(&buf, d.Record.Provenance, "", "  ") == nil {
		d.Provenance = buf.String()
	}
	if c.allowed(auth.FromContext(r.Context()), routeProof) {
		if err := c.call(r, http.MethodGet, base+"/proof", &d.Proof); err != nil {
			if ae, ok := err.(*apiError); ok && ae.status == http.StatusConflict {
				d.ProofNote = ae.msg
			} else {
				c.fail(w, r, v, err)
				return
			}
		}
	}
	v.Title, v.Data = "Evidence "+d.Record.ID, d
	c.render(w, http.StatusOK, "record", v)
}

// content streams a record's content through the API's handler: the same
// access log entry, the same headers (attachment, sandboxing CSP).
func (c *Console) content(w http.ResponseWriter, r *http.Request, v *view) {
	c.stream(w, r, v, http.MethodGet, "/api/v1/evidence/"+url.PathEscape(r.PathValue("id"))+"/content")
}

// --- connectors and runs ---

type connectorView struct {
	Name      string  `json:"name"`
	Type      string  `json:"type"`
	Schedule  string  `json:"schedule"`
	LastRun   *string `json:"last_run"`
	LastState string  `json:"last_status"`
	NextRun   *string `json:"next_run"`
	Error     string  `json:"error"`
	Running   bool    `json:"running"`
}

type connectorsData struct {
	Connectors []connectorView
	CanRun     bool
	CanRuns    bool
}

func (c *Console) connectors(w http.ResponseWriter, r *http.Request, v *view) {
	var pg listPage[connectorView]
	if err := c.call(r, http.MethodGet, "/api/v1/connectors", &pg); err != nil {
		c.fail(w, r, v, err)
		return
	}
	p := auth.FromContext(r.Context())
	v.Title = "Connectors"
	v.Data = connectorsData{Connectors: pg.Items, CanRun: c.allowed(p, routeRun), CanRuns: c.allowed(p, routeRuns)}
	c.render(w, http.StatusOK, "connectors", v)
}

func (c *Console) runNow(w http.ResponseWriter, r *http.Request, v *view) {
	var out struct {
		Run string `json:"run"`
	}
	if err := c.call(r, http.MethodPost, "/api/v1/connectors/"+url.PathEscape(r.PathValue("name"))+"/run", &out); err != nil {
		c.fail(w, r, v, err)
		return
	}
	// The run is queued: its record (and log page) appears once it starts,
	// so the runs list, which says so, comes next.
	to := "/connectors"
	if c.allowed(auth.FromContext(r.Context()), routeRuns) {
		to = "/runs" + encodeQuery(url.Values{"connector": {r.PathValue("name")}, "queued": {out.Run}})
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

type runsData struct {
	Runs      []evidence.Run
	Connector string
	Queued    string // a run just triggered from the connectors page
	Pager     pager
}

func (c *Console) runs(w http.ResponseWriter, r *http.Request, v *view) {
	q := url.Values{"limit": {strconv.Itoa(pageLimit)}}
	for _, k := range []string{"cursor", "connector"} { // not "queued": the API does not know it
		if s := r.URL.Query().Get(k); s != "" {
			q.Set(k, s)
		}
	}
	var pg listPage[evidence.Run]
	if err := c.call(r, http.MethodGet, "/api/v1/runs?"+q.Encode(), &pg); err != nil {
		c.fail(w, r, v, err)
		return
	}
	v.Title = "Runs"
	d := runsData{Runs: pg.Items, Connector: q.Get("connector"), Pager: pagerOf(r, pg.NextCursor)}
	if id := r.URL.Query().Get("queued"); len(id) <= 64 {
		d.Queued = id
	}
	v.Data = d
	c.render(w, http.StatusOK, "runs", v)
}

type logsData struct {
	Run   string
	Lines []evidence.LogLine
	Pager pager
}

func (c *Console) runLogs(w http.ResponseWriter, r *http.Request, v *view) {
	id := r.PathValue("id")
	q := url.Values{"limit": {"500"}}
	if s := r.URL.Query().Get("cursor"); s != "" {
		q.Set("cursor", s)
	}
	var pg listPage[evidence.LogLine]
	if err := c.call(r, http.MethodGet, "/api/v1/runs/"+url.PathEscape(id)+"/logs?"+q.Encode(), &pg); err != nil {
		c.fail(w, r, v, err)
		return
	}
	v.Title = "Run " + id
	v.Data = logsData{Run: id, Lines: pg.Items, Pager: pagerOf(r, pg.NextCursor)}
	c.render(w, http.StatusOK, "logs", v)
}

// --- bundle ---

type bundleData struct {
	Scope access.Scope
}

func (c *Console) bundleForm(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "Bundle"
	v.Data = bundleData{Scope: auth.FromContext(r.Context()).Scope}
	c.render(w, http.StatusOK, "bundle", v)
}

// bundleDownload streams the bundle the form asks for through the API's
// handler: the same export, the same receipt in the access log.
func (c *Console) bundleDownload(w http.ResponseWriter, r *http.Request, v *view) {
	q := url.Values{}
	for field, key := range map[string]string{"controls": "control", "connectors": "connector"} {
		for _, s := range strings.FieldsFunc(r.PostFormValue(field), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
			q.Add(key, s)
		}
	}
	for _, k := range []string{"since", "until"} {
		if s := strings.TrimSpace(r.PostFormValue(k)); s != "" {
			q.Set(k, s)
		}
	}
	c.stream(w, r, v, http.MethodGet, "/api/v1/bundle"+encodeQuery(q))
}

// --- access log ---

type accessData struct {
	Entries []*access.Entry
	Head    access.Head
	Pager   pager
}

func (c *Console) accessLog(w http.ResponseWriter, r *http.Request, v *view) {
	q := url.Values{"limit": {strconv.Itoa(pageLimit)}}
	if s := r.URL.Query().Get("cursor"); s != "" {
		q.Set("cursor", s)
	}
	var pg struct {
		listPage[*access.Entry]
		Head access.Head `json:"head"`
	}
	if err := c.call(r, http.MethodGet, "/api/v1/audit-log?"+q.Encode(), &pg); err != nil {
		c.fail(w, r, v, err)
		return
	}
	v.Title = "Access log"
	v.Data = accessData{Entries: pg.Items, Head: pg.Head, Pager: pagerOf(r, pg.NextCursor)}
	c.render(w, http.StatusOK, "accesslog", v)
}
