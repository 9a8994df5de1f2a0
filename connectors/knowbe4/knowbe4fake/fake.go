// Package knowbe4fake is a local KnowBe4 Reporting API for tests of the
// knowbe4 connector. It is an http.ServeMux mounted under a path prefix
// (/knowbe4/ by default), so a client that drops base_url's path fails,
// serving /v1/account, /v1/users, /v1/groups, /v1/training/campaigns and
// /v1/training/enrollments from fixtures in testdata shaped like KnowBe4's
// documented responses (plain JSON arrays for listings).
//
// Listings page with page (from 1) and per_page (default 100; more than 500
// is refused with 400); /v1/users filters on status, and
// /v1/training/enrollments honours exclude_archived_users. It checks the
// bearer token on every request, can answer 403 everywhere as an account
// without the Reporting API does, and can be told to fail the next calls of
// a route (429 with Retry-After, 5xx...).
package knowbe4fake

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aimsvault/aimsvault/connectors/internal/fakeserver"
)

//go:embed testdata/*.json
var fixtures embed.FS

// Routes that Fail can target.
const (
	RouteAccount     = "account"
	RouteUsers       = "users"
	RouteGroups      = "groups"
	RouteCampaigns   = "campaigns"
	RouteEnrollments = "enrollments"
)

// Options configure a fake; zero values take the defaults.
type Options struct {
	// Prefix is the path the regional API root is mounted under (default
	// /knowbe4/).
	Prefix string
	// Token is the Reporting API token the fake accepts (default
	// "fake-knowbe4-reporting-token").
	Token string
	// NoReportingAPI makes every request answer 403, as for a subscription
	// without the Reporting API.
	NoReportingAPI bool
}

// Server is a running fake KnowBe4 Reporting API.
type Server struct {
	// URL is the regional API root to use as base_url, ending in the prefix.
	URL string

	opts        Options
	close       func()
	account     []byte
	users       []map[string]any
	groups      []map[string]any
	campaigns   []map[string]any
	enrollments []map[string]any

	mu       sync.Mutex
	requests []Request
	fails    map[string][]failure
}

// Request is one request the fake received.
type Request struct {
	Method string
	Path   string // prefix included
	Query  url.Values
	Header http.Header
	Route  string
}

type failure struct {
	status int
	header http.Header
}

// TB is the part of testing.TB that New uses (*testing.T satisfies it):
// this package does not import testing, as the aimsvault binary links it.
type TB = fakeserver.TB

// New starts a fake that is closed when t ends.
func New(t TB, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("knowbe4fake: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a fake on a loopback port; Close stops it.
func Start(opts Options) (*Server, error) {
	if opts.Prefix == "" {
		opts.Prefix = "/knowbe4/"
	}
	if !strings.HasSuffix(opts.Prefix, "/") {
		opts.Prefix += "/"
	}
	if opts.Token == "" {
		opts.Token = "fake-knowbe4-reporting-token"
	}
	s := &Server{opts: opts, fails: map[string][]failure{}}
	load := func(name string, v any) error {
		b, err := fixtures.ReadFile("testdata/" + name)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	var acct json.RawMessage
	for _, f := range []struct {
		name string
		v    any
	}{
		{"account.json", &acct}, {"users.json", &s.users}, {"groups.json", &s.groups},
		{"campaigns.json", &s.campaigns}, {"enrollments.json", &s.enrollments},
	} {
		if err := load(f.name, f.v); err != nil {
			return nil, err
		}
	}
	s.account = acct
	srv, err := fakeserver.Start(s.handler())
	if err != nil {
		return nil, err
	}
	s.close = srv.Close
	s.URL = srv.URL + opts.Prefix
	return s, nil
}

// Close stops the fake.
func (s *Server) Close() { s.close() }

// Token is the token the fake accepts.
func (s *Server) Token() string { return s.opts.Token }

// Fail makes the next n requests served by route answer status with header.
// Status 0 lets a request through, so Fail(r, 1, 0, nil) then Fail(r, 1, 500,
// nil) fails the second request.
func (s *Server) Fail(route string, n, status int, header http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fails[route] = append(s.fails[route], failure{status, header})
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

func (s *Server) handler() http.Handler {
	p := s.opts.Prefix + "v1/"
	mux := http.NewServeMux()
	route := func(path, name string, h func(http.ResponseWriter, *http.Request)) {
		mux.HandleFunc("GET "+p+path, func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Route: name})
			var f *failure
			if q := s.fails[name]; len(q) > 0 {
				f, s.fails[name] = &q[0], q[1:]
			}
			s.mu.Unlock()
			if r.Header.Get("Authorization") != "Bearer "+s.opts.Token {
				writeError(w, http.StatusUnauthorized, "Unauthorized")
				return
			}
			if s.opts.NoReportingAPI {
				writeError(w, http.StatusForbidden, "Forbidden")
				return
			}
			if f != nil && f.status != 0 {
				for k, v := range f.header {
					w.Header()[k] = v
				}
				writeError(w, f.status, http.StatusText(f.status))
				return
			}
			h(w, r)
		})
	}
	route("account", RouteAccount, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.account) })
	route("users", RouteUsers, func(w http.ResponseWriter, r *http.Request) {
		status := r.URL.Query().Get("status")
		s.page(w, r, filter(s.users, func(u map[string]any) bool { return status == "" || u["status"] == status }))
	})
	route("groups", RouteGroups, func(w http.ResponseWriter, r *http.Request) { s.page(w, r, s.groups) })
	route("training/campaigns", RouteCampaigns, func(w http.ResponseWriter, r *http.Request) { s.page(w, r, s.campaigns) })
	route("training/enrollments", RouteEnrollments, func(w http.ResponseWriter, r *http.Request) {
		exclude := r.URL.Query().Get("exclude_archived_users") == "true"
		s.page(w, r, filter(s.enrollments, func(e map[string]any) bool {
			return !exclude || !s.archived(e["user"].(map[string]any)["id"])
		}))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone()})
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "Not Found")
	})
	return mux
}

func (s *Server) archived(id any) bool {
	for _, u := range s.users {
		if u["id"] == id {
			return u["status"] == "archived"
		}
	}
	return false
}

func filter(items []map[string]any, keep func(map[string]any) bool) []map[string]any {
	out := []map[string]any{}
	for _, it := range items {
		if keep(it) {
			out = append(out, it)
		}
	}
	return out
}

// page answers one page of items as a JSON array.
func (s *Server) page(w http.ResponseWriter, r *http.Request, items []map[string]any) {
	q := r.URL.Query()
	page, perPage := 1, 100
	var err error
	if v := q.Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			writeError(w, http.StatusBadRequest, "page must be a positive integer")
			return
		}
	}
	if v := q.Get("per_page"); v != "" {
		if perPage, err = strconv.Atoi(v); err != nil || perPage < 1 || perPage > 500 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("per_page must be between 1 and 500, got %q", v))
			return
		}
	}
	start := min((page-1)*perPage, len(items))
	end := min(start+perPage, len(items))
	b, _ := json.Marshal(items[start:end])
	writeJSON(w, b)
}

func writeJSON(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(b)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}
