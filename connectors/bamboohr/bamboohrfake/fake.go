// Package bamboohrfake is a local BambooHR API for tests of the bamboohr
// connector. It is an http.ServeMux mounted under a path prefix (/bamboohr/
// by default), so a client that drops base_url's path fails, serving
// /api/gateway.php/{company}/v1/ routes from fixtures in testdata shaped like
// BambooHR's documented responses:
//
//   - GET training/type: an object keyed by training type id;
//   - POST reports/custom?format=JSON: the employees, with only the fields
//     the request body asks for (so what the connector does not ask for, it
//     cannot receive);
//   - GET training/record/employee/{id}: an object keyed by record id, or
//     [] for an employee with none.
//
// It checks the API key (basic-auth user name, any password), answers XML
// when Accept is not application/json and 400 when a JSON body is not sent
// as exactly application/json, as BambooHR does, and can be told to fail the
// next calls of a route (503 with Retry-After, 500, 403...).
package bamboohrfake

import (
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/aimsvault/aimsvault/connectors/internal/fakeserver"
)

//go:embed testdata
var fixtures embed.FS

// Routes that Fail can target.
const (
	RouteTrainingTypes   = "training_types"
	RouteReport          = "report"
	RouteTrainingRecords = "training_records"
)

// Options configure a fake; zero values take the defaults.
type Options struct {
	// Prefix is the path the API host root is mounted under (default
	// /bamboohr/).
	Prefix string
	// Company is the subdomain the fake serves (default "example").
	Company string
	// APIKey is the key it accepts (default "fake-bamboohr-api-key").
	APIKey string
}

// Server is a running fake BambooHR.
type Server struct {
	// URL is the API host root to use as base_url, ending in the prefix.
	URL string

	opts      Options
	close     func()
	types     []byte
	employees []map[string]any

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
	Body   []byte
	Route  string // the Route* constant that served it, "" for none
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
		t.Fatalf("bamboohrfake: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a fake on a loopback port; Close stops it.
func Start(opts Options) (*Server, error) {
	if opts.Prefix == "" {
		opts.Prefix = "/bamboohr/"
	}
	if !strings.HasSuffix(opts.Prefix, "/") {
		opts.Prefix += "/"
	}
	if opts.Company == "" {
		opts.Company = "example"
	}
	if opts.APIKey == "" {
		opts.APIKey = "fake-bamboohr-api-key"
	}
	s := &Server{opts: opts, fails: map[string][]failure{}}
	var err error
	if s.types, err = fixtures.ReadFile("testdata/training_types.json"); err != nil {
		return nil, err
	}
	b, err := fixtures.ReadFile("testdata/employees.json")
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &s.employees); err != nil {
		return nil, fmt.Errorf("employees: %w", err)
	}
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

// Company and APIKey are what the fake accepts.
func (s *Server) Company() string { return s.opts.Company }
func (s *Server) APIKey() string  { return s.opts.APIKey }

// Fail makes the next n requests served by route answer status with header
// (and BambooHR's X-BambooHR-Error-Message). Status 0 lets a request through,
// so Fail(r, 1, 0, nil) then Fail(r, 1, 500, nil) fails the second request.
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
	p := s.opts.Prefix + "api/gateway.php/{company}/v1/"
	mux := http.NewServeMux()
	route := func(pattern, name string, h func(http.ResponseWriter, *http.Request)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			s.mu.Lock()
			s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body, Route: name})
			var f *failure
			if q := s.fails[name]; len(q) > 0 {
				f, s.fails[name] = &q[0], q[1:]
			}
			s.mu.Unlock()
			if user, _, ok := r.BasicAuth(); !ok || user != s.opts.APIKey {
				w.Header().Set("WWW-Authenticate", `Basic realm="BambooHR API"`)
				writeError(w, http.StatusUnauthorized, "Invalid API key")
				return
			}
			if r.PathValue("company") != s.opts.Company {
				writeError(w, http.StatusNotFound, "Company not found")
				return
			}
			if f != nil && f.status != 0 {
				for k, v := range f.header {
					w.Header()[k] = v
				}
				writeError(w, f.status, http.StatusText(f.status))
				return
			}
			if r.Header.Get("Accept") != "application/json" {
				// BambooHR's default answer is XML.
				w.Header().Set("Content-Type", "text/xml")
				io.WriteString(w, `<?xml version="1.0"?><error>XML is the default; send Accept: application/json</error>`)
				return
			}
			r.Body = io.NopCloser(strings.NewReader(string(body)))
			h(w, r)
		})
	}
	route("GET "+p+"training/type", RouteTrainingTypes, func(w http.ResponseWriter, r *http.Request) { writeRaw(w, s.types) })
	route("POST "+p+"reports/custom", RouteReport, s.report)
	route("GET "+p+"training/record/employee/{id}", RouteTrainingRecords, s.records)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone()})
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "Not found")
	})
	return mux
}

func writeRaw(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(b)
}

// writeError answers as BambooHR does: the reason in a header, an empty body.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("X-BambooHR-Error-Message", msg)
	w.WriteHeader(status)
}

func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.URL.Query().Get("format"), "json") {
		writeError(w, http.StatusBadRequest, "format is required")
		return
	}
	if r.Header.Get("Content-Type") != "application/json" {
		writeError(w, http.StatusBadRequest, "Malformed XML")
		return
	}
	var req struct {
		Title  string   `json:"title"`
		Fields []string `json:"fields"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Fields) == 0 {
		writeError(w, http.StatusBadRequest, "Malformed JSON")
		return
	}
	fields := []map[string]string{}
	for _, f := range req.Fields {
		fields = append(fields, map[string]string{"id": f, "type": "text", "name": f})
	}
	emps := []map[string]any{}
	for _, e := range s.employees {
		out := map[string]any{"id": e["id"]}
		for _, f := range req.Fields {
			if v, ok := e[f]; ok {
				out[f] = v // unknown fields are silently left out, as BambooHR does
			}
		}
		emps = append(emps, out)
	}
	b, _ := json.Marshal(map[string]any{"title": req.Title, "fields": fields, "employees": emps})
	writeRaw(w, b)
}

func (s *Server) records(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if strings.ContainsAny(id, "/.") {
		writeError(w, http.StatusBadRequest, "bad employee id")
		return
	}
	b, err := fixtures.ReadFile("testdata/training/record/employee/" + id + ".json")
	if err != nil {
		writeError(w, http.StatusNotFound, "Employee not found")
		return
	}
	writeRaw(w, b)
}
