// Package bedrockfake is a fake Amazon Bedrock control-plane API (and the
// STS it needs) for tests, spoken in Bedrock's own protocol, restJson1: GET
// requests on resource paths (/guardrails, /guardrails/{id}?guardrailVersion=,
// /logging/modelinvocations, /custom-models/{modelIdentifier},
// /model-customization-jobs/{jobIdentifier}, /evaluation-jobs/{jobIdentifier})
// with camelCase JSON answers (times as ISO 8601 strings), answered from
// fixtures in testdata. STS calls (query protocol: POST with a form body) are
// answered at the root.
//
// The fake is mounted under /aws/, so a client that drops the endpoint's
// path fails. Every request must carry a SigV4 Authorization header that the
// fake can reproduce with the test secret (see awsfake); the region in its
// credential scope picks the fixtures, testdata/<region>/...:
// guardrails.json (ListGuardrails without an identifier: the DRAFT of each
// guardrail), guardrails/<id>/versions.json (with one: every version),
// guardrails/<id>/<version>.json (GetGuardrail; without guardrailVersion
// the DRAFT, as Bedrock answers), logging.json (absent: Bedrock's {} for
// "no logging configured"), custom-models.json and custom-models/<name>.json,
// model-customization-jobs.json and .../<name>.json, evaluation-jobs.json and
// .../<id>.json; a Get by ARN uses the ARN's last path segment. Listings
// are paged with nextToken, at most PageCap items a page, and honour
// creationTimeAfter.
//
// Fail forces AWS errors on an operation (by its SDK name: "GetGuardrail"):
// AccessDeniedException (403), ThrottlingException (429), 5xx; the error
// code travels in X-Amzn-ErrorType, as Bedrock sends it.
package bedrockfake

import (
	"embed"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aimsvault/aimsvault/connectors/internal/awsfake"
	"github.com/aimsvault/aimsvault/connectors/internal/fakeserver"
)

//go:embed all:testdata
var fixtures embed.FS

// Prefix is the path the fake is mounted under.
const Prefix = "/aws/"

// Options tune the fake.
type Options struct {
	// PageCap is the most items a listing page holds (default 2).
	PageCap int
}

// Request is what the fake received.
type Request struct {
	Service   string // "bedrock" or "sts"
	Region    string
	Operation string
	Path      string // without Prefix
	Query     map[string][]string
	Assumed   bool
	Status    int
}

// Fake is a running fake.
type Fake struct {
	// URL is the endpoint to configure: the server root plus Prefix.
	URL      string
	close    func()
	failures awsfake.Failures
	pageCap  int
	mux      *http.ServeMux

	mu       sync.Mutex
	requests []Request
}

// The credentials the fake accepts: configure them as the connector's
// access_key_id and secret_access_key (test and demo only).
const (
	AccessKeyID     = awsfake.AccessKeyID
	SecretAccessKey = awsfake.SecretAccessKey
)

// TB is the part of testing.TB that New uses (*testing.T satisfies it):
// this package does not import testing, as the aimsvault binary links it.
type TB = fakeserver.TB

// New starts a fake, closed when t ends.
func New(t TB, opts Options) *Fake {
	t.Helper()
	f, err := Start(opts)
	if err != nil {
		t.Fatalf("bedrockfake: %v", err)
	}
	t.Cleanup(f.Close)
	return f
}

// Start starts a fake on a loopback port; Close stops it.
func Start(opts Options) (*Fake, error) {
	f := &Fake{pageCap: opts.PageCap, mux: http.NewServeMux()}
	if f.pageCap <= 0 {
		f.pageCap = 2
	}
	p := strings.TrimSuffix(Prefix, "/")
	f.route("GET "+p+"/guardrails", "ListGuardrails", f.listGuardrails)
	f.route("GET "+p+"/guardrails/{id}", "GetGuardrail", f.getGuardrail)
	f.route("GET "+p+"/logging/modelinvocations", "GetModelInvocationLoggingConfiguration", f.getLogging)
	f.route("GET "+p+"/custom-models", "ListCustomModels", f.lister("custom-models.json", "modelSummaries"))
	f.route("GET "+p+"/custom-models/{id}", "GetCustomModel", f.getter("custom-models"))
	f.route("GET "+p+"/model-customization-jobs", "ListModelCustomizationJobs", f.lister("model-customization-jobs.json", "modelCustomizationJobSummaries"))
	f.route("GET "+p+"/model-customization-jobs/{id}", "GetModelCustomizationJob", f.getter("model-customization-jobs"))
	f.route("GET "+p+"/evaluation-jobs", "ListEvaluationJobs", f.lister("evaluation-jobs.json", "jobSummaries"))
	f.route("GET "+p+"/evaluation-jobs/{id}", "GetEvaluationJob", f.getter("evaluation-jobs"))
	f.mux.HandleFunc("POST "+Prefix+"{$}", f.serveSTS)
	f.mux.HandleFunc("POST "+p, f.serveSTS)
	srv, err := fakeserver.Start(f.mux)
	if err != nil {
		return nil, err
	}
	f.close = srv.Close
	f.URL = srv.URL + Prefix
	return f, nil
}

// Close stops the fake.
func (f *Fake) Close() { f.close() }

// Fail forces fl on every call of op ("GetGuardrail", or an STS action)
// that matches its region, fl.Times times (0: always).
func (f *Fake) Fail(op string, fl awsfake.Failure) { f.failures.Add(op, fl) }

// Requests returns what the fake received so far, in order.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
	w.ResponseWriter.WriteHeader(s)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

type handler func(w http.ResponseWriter, r *http.Request, region string)

// route checks the signature and forced failures, then calls h.
func (f *Fake) route(pattern, op string, h handler) {
	f.mux.HandleFunc(pattern, func(rw http.ResponseWriter, r *http.Request) {
		w := &statusWriter{ResponseWriter: rw}
		caller, err := awsfake.VerifySigV4(r, nil, "bedrock")
		defer func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.requests = append(f.requests, Request{
				Service: "bedrock", Region: caller.Region, Operation: op, Path: strings.TrimPrefix(r.URL.Path, strings.TrimSuffix(Prefix, "/")),
				Query: r.URL.Query(), Assumed: caller.Assumed, Status: w.status,
			})
		}()
		if err != nil {
			awsfake.WriteError(w, awsfake.REST, 403, "InvalidSignatureException", err.Error())
			return
		}
		if fl, ok := f.failures.Take(op, caller.Region); ok {
			fl.Write(w, awsfake.REST)
			return
		}
		h(w, r, caller.Region)
	})
}

func (f *Fake) serveSTS(rw http.ResponseWriter, r *http.Request) {
	w := &statusWriter{ResponseWriter: rw}
	body, _ := io.ReadAll(r.Body)
	caller, err := awsfake.VerifySigV4(r, body, "sts")
	form, _ := awsfake.ParseForm(body)
	defer func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.requests = append(f.requests, Request{Service: "sts", Region: caller.Region, Operation: form.Get("Action"), Assumed: caller.Assumed, Status: w.status})
	}()
	if err != nil {
		awsfake.WriteError(w, awsfake.Query, 403, "SignatureDoesNotMatch", err.Error())
		return
	}
	awsfake.ServeSTS(w, form, caller, &f.failures)
}

func writeJSON(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func notFound(w http.ResponseWriter, what string) {
	awsfake.WriteError(w, awsfake.REST, 404, "ResourceNotFoundException", "The specified resource "+what+" could not be found.")
}

// page serves one page of the items under field in file.
func (f *Fake) page(w http.ResponseWriter, r *http.Request, region, file, field string) {
	var items []json.RawMessage
	if b, err := fs.ReadFile(fixtures, path.Join("testdata", region, file)); err == nil {
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(b, &doc); err != nil || json.Unmarshal(doc[field], &items) != nil {
			awsfake.WriteError(w, awsfake.REST, 500, "InternalServerException", "fixture "+file+" is broken")
			return
		}
	}
	q := r.URL.Query()
	if after := q.Get("creationTimeAfter"); after != "" {
		at, err := time.Parse(time.RFC3339Nano, after)
		if err != nil {
			awsfake.WriteError(w, awsfake.REST, 400, "ValidationException", "creationTimeAfter is not a date-time")
			return
		}
		kept := items[:0:0]
		for _, it := range items {
			var s struct{ CreationTime time.Time }
			if json.Unmarshal(it, &s) == nil && s.CreationTime.After(at) {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	max := 0
	if s := q.Get("maxResults"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			awsfake.WriteError(w, awsfake.REST, 400, "ValidationException", "maxResults must be between 1 and 1000")
			return
		}
		max = n
	}
	pg, next, err := awsfake.Page(items, region+"/"+file, q.Get("nextToken"), max, 100, f.pageCap)
	if err != nil {
		awsfake.WriteError(w, awsfake.REST, 400, "ValidationException", "invalid nextToken: "+err.Error())
		return
	}
	out := map[string]any{field: pg}
	if next != "" {
		out["nextToken"] = next
	}
	b, _ := json.Marshal(out)
	writeJSON(w, b)
}

func (f *Fake) lister(file, field string) handler {
	return func(w http.ResponseWriter, r *http.Request, region string) { f.page(w, r, region, file, field) }
}

// getter answers a Get by name or ARN from dir/<name>.json.
func (f *Fake) getter(dir string) handler {
	return func(w http.ResponseWriter, r *http.Request, region string) {
		id := r.PathValue("id")
		name := id
		if strings.HasPrefix(id, "arn:") {
			if parts := strings.SplitN(id, ":", 6); len(parts) != 6 || parts[3] != region {
				awsfake.WriteError(w, awsfake.REST, 400, "ValidationException", "ARN "+id+" is not of this region")
				return
			}
			name = id[strings.LastIndex(id, "/")+1:]
		}
		b, err := fs.ReadFile(fixtures, path.Join("testdata", region, dir, name+".json"))
		if err != nil || strings.Contains(name, "..") {
			notFound(w, id)
			return
		}
		writeJSON(w, b)
	}
}

func (f *Fake) listGuardrails(w http.ResponseWriter, r *http.Request, region string) {
	id := r.URL.Query().Get("guardrailIdentifier")
	if id == "" {
		f.page(w, r, region, "guardrails.json", "guardrails")
		return
	}
	id = guardrailID(id)
	if _, err := fs.Stat(fixtures, path.Join("testdata", region, "guardrails", id)); err != nil {
		notFound(w, id)
		return
	}
	f.page(w, r, region, path.Join("guardrails", id, "versions.json"), "guardrails")
}

func (f *Fake) getGuardrail(w http.ResponseWriter, r *http.Request, region string) {
	id := guardrailID(r.PathValue("id"))
	v := r.URL.Query().Get("guardrailVersion")
	if v == "" {
		v = "DRAFT"
	}
	b, err := fs.ReadFile(fixtures, path.Join("testdata", region, "guardrails", id, v+".json"))
	if err != nil || strings.Contains(id+v, "..") {
		notFound(w, id+" version "+v)
		return
	}
	writeJSON(w, b)
}

// guardrailID accepts a guardrail's id or ARN.
func guardrailID(s string) string {
	if i := strings.LastIndex(s, "guardrail/"); i >= 0 {
		return s[i+len("guardrail/"):]
	}
	return s
}

func (f *Fake) getLogging(w http.ResponseWriter, r *http.Request, region string) {
	b, err := fs.ReadFile(fixtures, path.Join("testdata", region, "logging.json"))
	if err != nil {
		writeJSON(w, []byte("{}"))
		return
	}
	writeJSON(w, b)
}

// AddKey makes the AWS fakes also accept requests signed with secret under
// accessKeyID, so a test can use credentials of its own.
func AddKey(accessKeyID, secret string) { awsfake.AddKey(accessKeyID, secret) }
