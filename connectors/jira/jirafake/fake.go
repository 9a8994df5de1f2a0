// Package jirafake is a local Jira that answers as Jira Cloud or Jira Data
// Center do, for tests of the jira connector and the end-to-end test. It is
// an http.ServeMux mounted under a context path (/jira/ by default), so a
// client that drops base_url's path fails, and it answers from fixtures in
// testdata shaped like Atlassian's documented responses.
//
// As Cloud it serves POST /rest/api/3/search/jql with nextPageToken
// pagination (no total; only ids unless fields are asked for; 400 for an
// unbounded query), answers 410 Gone on the removed /rest/api/2/search and
// /rest/api/3/search, pages GET /rest/api/3/issue/{key}/changelog, and
// checks HTTP basic auth (email and API token). As Data Center it serves GET
// /rest/api/2/search with startAt/maxResults/total, capping maxResults
// silently as Jira does, GET /rest/api/2/issue/{key}?expand=changelog, and
// checks a bearer personal access token. Both serve /rest/api/2/myself and
// /rest/api/2/field, check every request's auth, and can be told to fail the
// next calls of a route (429 with Retry-After, 5xx...).
package jirafake

import (
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aimsvault/aimsvault/connectors/internal/fakeserver"
)

//go:embed testdata/*.json
var fixtures embed.FS

// Deployments.
const (
	Cloud      = "cloud"
	DataCenter = "datacenter"
)

// Routes that Fail can target.
const (
	RouteSearch     = "search"
	RouteMyself     = "myself"
	RouteField      = "field"
	RouteChangelog  = "changelog"
	RouteIssue      = "issue"
	RouteAttachment = "attachment"
)

// Options configure a fake; zero values take the defaults.
type Options struct {
	// Deployment is Cloud (default) or DataCenter.
	Deployment string
	// Prefix is the context path the API is mounted under (default /jira/).
	Prefix string
	// Email and Token are the credentials the fake accepts: basic auth
	// Email:Token on Cloud, bearer Token on Data Center. Defaults
	// bot@example.com and fake-jira-token.
	Email, Token string
	// PageCap is the most issues a search page holds whatever maxResults
	// asks (default 50): Data Center's silent cap.
	PageCap int
	// InlineChangelogCap is the most histories search returns inline; the
	// rest must be fetched (default 0: all).
	InlineChangelogCap int
	// ChangelogPageCap is the most histories one page of the Cloud
	// changelog endpoint holds (default 100).
	ChangelogPageCap int
}

// Server is a running fake Jira.
type Server struct {
	// URL is the site root to use as base_url, ending in the prefix.
	URL string

	opts   Options
	srv    *httptest.Server
	issues []map[string]any
	myself []byte
	fields []byte

	mu       sync.Mutex
	requests []Request
	fails    map[string][]failure
	tokens   map[string]int // nextPageToken -> offset
}

// Request is one request the fake received.
type Request struct {
	Method string
	// Path is the URL path, prefix included.
	Path  string
	Query url.Values
	Body  []byte
	// Route is the Route* constant it was served by ("" for none).
	Route string
}

type failure struct {
	status int
	header http.Header
	body   string
}

// TB is the part of testing.TB that New uses (*testing.T satisfies it):
// this package does not import testing, as the aimsvault binary links it.
type TB = fakeserver.TB

// New starts a fake that is closed when t ends.
func New(t TB, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("jirafake: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a fake on a loopback port; Close stops it.
func Start(opts Options) (*Server, error) {
	if opts.Deployment == "" {
		opts.Deployment = Cloud
	}
	if opts.Prefix == "" {
		opts.Prefix = "/jira/"
	}
	if !strings.HasSuffix(opts.Prefix, "/") {
		opts.Prefix += "/"
	}
	if opts.Email == "" {
		opts.Email = "bot@example.com"
	}
	if opts.Token == "" {
		opts.Token = "fake-jira-token"
	}
	if opts.PageCap <= 0 {
		opts.PageCap = 50
	}
	if opts.ChangelogPageCap <= 0 {
		opts.ChangelogPageCap = 100
	}
	s := &Server{opts: opts, fails: map[string][]failure{}, tokens: map[string]int{}}
	srv, err := fakeserver.Start(s.handler())
	if err != nil {
		return nil, err
	}
	s.srv = srv
	s.URL = s.srv.URL + opts.Prefix

	load := func(name string) ([]byte, error) {
		b, err := fixtures.ReadFile("testdata/" + name)
		return []byte(strings.ReplaceAll(string(b), "{{BASE}}", s.URL)), err
	}
	issues, err := load("issues_" + opts.Deployment + ".json")
	if err == nil {
		if err = json.Unmarshal(issues, &s.issues); err != nil {
			err = fmt.Errorf("issues: %w", err)
		}
	}
	if err == nil {
		s.myself, err = load("myself_" + opts.Deployment + ".json")
	}
	if err == nil {
		s.fields, err = load("fields.json")
	}
	if err != nil {
		s.srv.Close()
		return nil, err
	}
	return s, nil
}

// Close stops the fake.
func (s *Server) Close() { s.srv.Close() }

// Email and Token are the credentials the fake accepts.
func (s *Server) Email() string { return s.opts.Email }
func (s *Server) Token() string { return s.opts.Token }

// Fail makes the next n requests served by route answer status with header
// and body (a JSON errorMessages body when body is empty). Calls queue up;
// status 0 lets requests through, so Fail(r, 1, 0, nil, "") then Fail(r, 1,
// 500, nil, "") fails the second request.
func (s *Server) Fail(route string, n, status int, header http.Header, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fails[route] = append(s.fails[route], failure{status, header, body})
	}
}

// Requests returns what the fake received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// RequestsTo returns the requests served by route.
func (s *Server) RequestsTo(route string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Route == route {
			out = append(out, r)
		}
	}
	return out
}

// AttachmentContent is the body the fake serves for an attachment id.
func AttachmentContent(id string, size int) []byte {
	pat := "aimsvault fake attachment " + id + "\n"
	return []byte(strings.Repeat(pat, size/len(pat)+1)[:size])
}

func (s *Server) handler() http.Handler {
	p := s.opts.Prefix
	mux := http.NewServeMux()
	route := func(pattern, name string, h func(http.ResponseWriter, *http.Request)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			s.mu.Lock()
			s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: body, Route: name})
			var f *failure
			if q := s.fails[name]; len(q) > 0 {
				f, s.fails[name] = &q[0], q[1:]
			}
			s.mu.Unlock()
			if !s.authorized(r) {
				writeError(w, http.StatusUnauthorized, "You are not authenticated. Authentication required to perform this operation.")
				return
			}
			if f != nil && f.status != 0 {
				for k, v := range f.header {
					w.Header()[k] = v
				}
				if f.body == "" {
					writeError(w, f.status, http.StatusText(f.status))
				} else {
					w.WriteHeader(f.status)
					io.WriteString(w, f.body)
				}
				return
			}
			r.Body = io.NopCloser(strings.NewReader(string(body)))
			h(w, r)
		})
	}
	route("GET "+p+"rest/api/2/myself", RouteMyself, func(w http.ResponseWriter, r *http.Request) { writeRaw(w, s.myself) })
	route("GET "+p+"rest/api/2/field", RouteField, func(w http.ResponseWriter, r *http.Request) { writeRaw(w, s.fields) })
	if s.opts.Deployment == Cloud {
		route("POST "+p+"rest/api/3/search/jql", RouteSearch, s.cloudSearch)
		gone := func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusGone, "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046")
		}
		for _, v := range []string{"2", "3"} {
			route("GET "+p+"rest/api/"+v+"/search", RouteSearch, gone)
			route("POST "+p+"rest/api/"+v+"/search", RouteSearch, gone)
		}
		route("GET "+p+"rest/api/3/issue/{key}/changelog", RouteChangelog, s.cloudChangelog)
		route("GET "+p+"rest/api/3/attachment/content/{id}", RouteAttachment, s.attachment)
	} else {
		route("GET "+p+"rest/api/2/search", RouteSearch, s.dataCenterSearch)
		route("GET "+p+"rest/api/2/issue/{key}", RouteIssue, s.dataCenterIssue)
		route("GET "+p+"secure/attachment/{id}/{name}", RouteAttachment, s.attachment)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query()})
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "null for uri: "+r.URL.String())
	})
	return mux
}

func (s *Server) authorized(r *http.Request) bool {
	if s.opts.Deployment == Cloud {
		u, p, ok := r.BasicAuth()
		return ok && u == s.opts.Email && p == s.opts.Token
	}
	return r.Header.Get("Authorization") == "Bearer "+s.opts.Token
}

func writeRaw(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Write(b)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeRaw(w, b)
}

// writeError answers as Jira does: {"errorMessages": [...], "errors": {}}.
func writeError(w http.ResponseWriter, status int, msgs ...string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errorMessages": msgs, "errors": map[string]string{}})
}

// jqlRE is the JQL the fake understands: project = KEY, optionally AND
// issuetype = Name, optionally ORDER BY anything.
var jqlRE = regexp.MustCompile(`^\s*project\s*=\s*"?([A-Za-z][A-Za-z0-9_]*)"?(?:\s+AND\s+issuetype\s*=\s*"?([^"]+?)"?)?(?:\s+ORDER\s+BY\s+.+)?\s*$`)

// match returns the issues jql selects, or a status and Jira's message.
func (s *Server) match(jql string) ([]map[string]any, int, string) {
	if strings.TrimSpace(jql) == "" {
		if s.opts.Deployment == Cloud {
			return nil, http.StatusBadRequest, "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
		}
		return slices.Clone(s.issues), 0, ""
	}
	m := jqlRE.FindStringSubmatch(jql)
	if m == nil {
		return nil, http.StatusBadRequest, fmt.Sprintf("Error in the JQL Query: Expecting operator but got '%s'. (line 1, character 1)", firstWord(jql))
	}
	var out []map[string]any
	known := false
	for _, is := range s.issues {
		f := is["fields"].(map[string]any)
		if !strings.EqualFold(f["project"].(map[string]any)["key"].(string), m[1]) {
			continue
		}
		known = true
		if m[2] != "" && !strings.EqualFold(f["issuetype"].(map[string]any)["name"].(string), m[2]) {
			continue
		}
		out = append(out, is)
	}
	if !known {
		return nil, http.StatusBadRequest, fmt.Sprintf("The value '%s' does not exist for the field 'project'.", m[1])
	}
	return out, 0, ""
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// shape returns an issue as search answers it: only the fields asked for
// (Cloud: none means ids only), and the changelog only when expanded,
// newest first and cut to InlineChangelogCap.
func (s *Server) shape(is map[string]any, fields []string, expand string) map[string]any {
	out := map[string]any{"id": is["id"]}
	if len(fields) == 0 && s.opts.Deployment == Cloud {
		return out
	}
	for _, k := range []string{"expand", "self", "key"} {
		out[k] = is[k]
	}
	all := is["fields"].(map[string]any)
	f := map[string]any{}
	for k, v := range all {
		if len(fields) == 0 || slices.Contains(fields, "*all") || slices.Contains(fields, k) {
			f[k] = v
		}
	}
	out["fields"] = f
	if slices.Contains(strings.Split(expand, ","), "changelog") {
		cl := is["changelog"].(map[string]any)
		hs := slices.Clone(cl["histories"].([]any))
		slices.Reverse(hs)
		if c := s.opts.InlineChangelogCap; c > 0 && len(hs) > c {
			hs = hs[:c]
		}
		out["changelog"] = map[string]any{"startAt": 0, "maxResults": len(hs), "total": cl["total"], "histories": hs}
	}
	return out
}

func (s *Server) cloudSearch(w http.ResponseWriter, r *http.Request) {
	var req struct {
		JQL           string   `json:"jql"`
		MaxResults    *int     `json:"maxResults"`
		Fields        []string `json:"fields"`
		Expand        string   `json:"expand"`
		NextPageToken string   `json:"nextPageToken"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "Invalid request payload. Refer to the REST API documentation and try again.")
		return
	}
	issues, st, msg := s.match(req.JQL)
	if st != 0 {
		writeError(w, st, msg)
		return
	}
	offset := 0
	if req.NextPageToken != "" {
		s.mu.Lock()
		o, ok := s.tokens[req.NextPageToken]
		s.mu.Unlock()
		if !ok {
			writeError(w, http.StatusBadRequest, "The provided next page token is invalid or expired.")
			return
		}
		offset = o
	}
	size := 50
	if req.MaxResults != nil {
		size = *req.MaxResults
	}
	size = min(size, s.opts.PageCap, 5000)
	end := min(offset+size, len(issues))
	page := []any{}
	for _, is := range issues[offset:end] {
		page = append(page, s.shape(is, req.Fields, req.Expand))
	}
	resp := map[string]any{"issues": page, "isLast": end >= len(issues)}
	if end < len(issues) {
		tok := fmt.Sprintf("CAAaAggD%x", end*7919+len(req.JQL))
		s.mu.Lock()
		s.tokens[tok] = end
		s.mu.Unlock()
		resp["nextPageToken"] = tok
	}
	writeJSON(w, resp)
}

func (s *Server) dataCenterSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	issues, st, msg := s.match(q.Get("jql"))
	if st != 0 {
		writeError(w, st, msg)
		return
	}
	startAt, _ := strconv.Atoi(q.Get("startAt"))
	maxResults := 50
	if v := q.Get("maxResults"); v != "" {
		maxResults, _ = strconv.Atoi(v)
	}
	maxResults = min(maxResults, s.opts.PageCap)
	var fields []string
	if v := q.Get("fields"); v != "" {
		fields = strings.Split(v, ",")
	}
	startAt = min(max(startAt, 0), len(issues))
	end := min(startAt+maxResults, len(issues))
	page := []any{}
	for _, is := range issues[startAt:end] {
		page = append(page, s.shape(is, fields, q.Get("expand")))
	}
	writeJSON(w, map[string]any{"expand": "schema,names", "startAt": startAt, "maxResults": maxResults, "total": len(issues), "issues": page})
}

func (s *Server) issue(key string) map[string]any {
	for _, is := range s.issues {
		if is["key"] == key || is["id"] == key {
			return is
		}
	}
	return nil
}

func (s *Server) cloudChangelog(w http.ResponseWriter, r *http.Request) {
	is := s.issue(r.PathValue("key"))
	if is == nil {
		writeError(w, http.StatusNotFound, "Issue does not exist or you do not have permission to see it.")
		return
	}
	hs := is["changelog"].(map[string]any)["histories"].([]any)
	q := r.URL.Query()
	startAt, _ := strconv.Atoi(q.Get("startAt"))
	maxResults := 100
	if v := q.Get("maxResults"); v != "" {
		maxResults, _ = strconv.Atoi(v)
	}
	maxResults = min(maxResults, s.opts.ChangelogPageCap)
	startAt = min(max(startAt, 0), len(hs))
	end := min(startAt+maxResults, len(hs))
	self := fmt.Sprintf("%srest/api/3/issue/%s/changelog?maxResults=%d&startAt=%d", s.URL, is["key"], maxResults, startAt)
	resp := map[string]any{"self": self, "maxResults": maxResults, "startAt": startAt, "total": len(hs), "isLast": end >= len(hs), "values": hs[startAt:end]}
	if end < len(hs) {
		resp["nextPage"] = fmt.Sprintf("%srest/api/3/issue/%s/changelog?maxResults=%d&startAt=%d", s.URL, is["key"], maxResults, end)
	}
	writeJSON(w, resp)
}

func (s *Server) dataCenterIssue(w http.ResponseWriter, r *http.Request) {
	is := s.issue(r.PathValue("key"))
	if is == nil {
		writeError(w, http.StatusNotFound, "Issue Does Not Exist")
		return
	}
	var fields []string
	if v := r.URL.Query().Get("fields"); v != "" {
		fields = strings.Split(v, ",")
	}
	out := s.shape(is, fields, "")
	if slices.Contains(strings.Split(r.URL.Query().Get("expand"), ","), "changelog") {
		out["changelog"] = is["changelog"] // the whole changelog, oldest first
	}
	writeJSON(w, out)
}

func (s *Server) attachment(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	for _, is := range s.issues {
		for _, a := range is["fields"].(map[string]any)["attachment"].([]any) {
			m := a.(map[string]any)
			if m["id"] == id {
				w.Header().Set("Content-Type", m["mimeType"].(string))
				w.Write(AttachmentContent(id, int(m["size"].(float64))))
				return
			}
		}
	}
	writeError(w, http.StatusNotFound, "The attachment with id '"+id+"' does not exist")
}
