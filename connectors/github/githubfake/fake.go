// Package githubfake is a fake GitHub REST API for tests: an http.ServeMux
// mounted under a path prefix (/api/v3/ by default, as GitHub Enterprise
// Server; "/" as api.github.com), answering from fixtures in testdata shaped
// as GitHub's REST documentation shows them.
//
// A fixture is found by the request's path: GET /repos/o/r/pulls answers
// testdata/repos/o/r/pulls.json; a file beside it named pulls.404.json or
// pulls.403.json makes the fake answer that status with that body instead
// (a feature turned off). File contents live under .../contents/<path> and
// are served raw.
//
// The fake checks what it receives, as go-github's tests do: a bearer
// credential it issued (401 "Bad credentials" otherwise), per_page=100 on
// every listing, and for App auth an RS256 JWT signed by the App's key. It
// pages listings itself with Link headers (page numbers; cursors for
// Dependabot alerts; /repositories/{id}/ links for pull requests), sets
// rate-limit headers and ETags, answers If-None-Match with 304, and can be
// told to fail a path with any status and headers (secondary limits with
// Retry-After, 429, 5xx).
//
// Tests start it with New or NewAt, which stop it when the test ends;
// `aimsvault demo` starts it with Start and closes it itself.
package githubfake

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aimsvault/aimsvault/connectors/internal/fakeserver"
)

//go:embed all:testdata
var fixtures embed.FS

// Owner is the organisation the fixtures describe; Login is the user the
// token belongs to.
const (
	Owner = "example-org"
	Login = "octo-auditor"
	// Token is the personal token the fake accepts.
	Token = "ghp_fakeFAKEfake0123456789abcdefABCDEF01"
	// InstallationToken is what the fake issues to an App installation.
	InstallationToken = "ghs_fakeINSTALLATION0123456789abcdefABCD"
	// AppID and InstallationID are the App the fake knows.
	AppID          = 424242
	InstallationID = 777
	// HeadSHA is the head commit of every fixture repository's default branch.
	HeadSHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
)

// Failure is an answer forced on a path.
type Failure struct {
	Status  int
	Header  map[string]string
	Body    string
	Times   int // how many requests fail; 0 means every one
	remains int
}

// Request is what the fake received.
type Request struct {
	Method, Path string // Path without the prefix
	Query        url.Values
	Status       int
}

// Fake is a running fake API.
type Fake struct {
	*httptest.Server
	// URL is the API root to configure as base_url (server URL + prefix).
	URL string
	// PageSize is the most items a page holds (default 100); set it lower
	// to make small fixtures span pages.
	PageSize int
	// Clones adds that many copies of model-training to the owner's
	// repositories (clone-0001...), for benchmarks.
	Clones int
	// AppKey verifies App JWTs; nil refuses App auth.
	AppKey *rsa.PublicKey
	// RateRemaining is the primary limit left (default 5000); each request
	// answered other than 304 spends one.
	RateRemaining int
	// RateReset is when the limit resets (default an hour from start).
	RateReset time.Time

	errorf   func(format string, args ...any)
	prefix   string
	token    string
	mu       sync.Mutex
	failures map[string]*Failure
	requests []Request
}

// Options configure Start.
type Options struct {
	// Prefix is the path the API is mounted under: "/api/v3/" (the
	// default, as GitHub Enterprise Server) or "/" (as api.github.com).
	Prefix string
	// Token is the personal token the fake accepts (default Token).
	Token string
	// Errorf reports what the fake finds wrong in a request beside
	// answering it (a listing without per_page=100, a file read at another
	// commit); tests pass t.Errorf. Nil ignores it.
	Errorf func(format string, args ...any)
}

// TB is the part of testing.TB that New uses (*testing.T satisfies it):
// this package does not import testing, as the aimsvault binary links it.
type TB = fakeserver.TB

// New starts a fake mounted under /api/v3/ and stops it when t ends.
func New(t TB) *Fake { return NewAt(t, "/api/v3/") }

// NewAt starts a fake mounted under prefix ("/" or "/api/v3/") and stops it
// when t ends.
func NewAt(t TB, prefix string) *Fake {
	t.Helper()
	f, err := Start(Options{Prefix: prefix, Errorf: t.Errorf})
	if err != nil {
		t.Fatalf("githubfake: %v", err)
	}
	t.Cleanup(f.Close)
	return f
}

// Start starts a fake on a loopback port; Close stops it.
func Start(opts Options) (*Fake, error) {
	prefix := opts.Prefix
	if prefix == "" {
		prefix = "/api/v3/"
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	errorf := opts.Errorf
	if errorf == nil {
		errorf = func(string, ...any) {}
	}
	token := opts.Token
	if token == "" {
		token = Token
	}
	f := &Fake{token: token, errorf: errorf, prefix: prefix, PageSize: 100, RateRemaining: 5000,
		RateReset: time.Now().Add(time.Hour), failures: map[string]*Failure{}}
	mux := http.NewServeMux()
	mux.Handle(prefix, http.StripPrefix(strings.TrimSuffix(prefix, "/"), http.HandlerFunc(f.serve)))
	srv, err := fakeserver.Start(mux)
	if err != nil {
		return nil, err
	}
	f.Server = srv
	f.URL = f.Server.URL + prefix
	return f, nil
}

// Fail makes requests to path (without the prefix, e.g.
// "/repos/example-org/model-training/pulls") answer as fl says.
func (f *Fake) Fail(path string, fl Failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl.remains = fl.Times
	f.failures[path] = &fl
}

// SecondaryLimit is GitHub's answer to a secondary rate limit.
func SecondaryLimit(retryAfter int, times int) Failure {
	return Failure{Status: http.StatusForbidden, Times: times,
		Header: map[string]string{"Retry-After": strconv.Itoa(retryAfter)},
		Body:   `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`}
}

// Requests returns what the fake has received so far.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// Count returns how many requests were answered with status (0: all).
func (f *Fake) Count(status int) int {
	n := 0
	for _, r := range f.Requests() {
		if status == 0 || r.Status == status {
			n++
		}
	}
	return n
}

func (f *Fake) record(r *http.Request, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Status: status})
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	a := f.answer(r)
	if a.status == 0 {
		a.status = http.StatusOK
	}
	h := w.Header()
	for k, vs := range a.header {
		h[k] = vs
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	if a.status == http.StatusOK && r.Method == http.MethodGet {
		sum := sha256.Sum256(append([]byte(h.Get("Link")+"\n"), a.body...))
		etag := `"` + hex.EncodeToString(sum[:16]) + `"`
		h.Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			a.status, a.body = http.StatusNotModified, nil
		}
	}
	f.mu.Lock()
	if a.status != http.StatusNotModified && f.RateRemaining > 0 && h.Get("X-RateLimit-Remaining") == "" {
		f.RateRemaining--
	}
	if h.Get("X-RateLimit-Remaining") == "" {
		h.Set("X-RateLimit-Limit", "5000")
		h.Set("X-RateLimit-Remaining", strconv.Itoa(f.RateRemaining))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(f.RateReset.Unix(), 10))
		h.Set("X-RateLimit-Resource", "core")
	}
	f.mu.Unlock()
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	f.record(r, a.status)
	w.WriteHeader(a.status)
	w.Write(a.body)
}

func jsonErr(status int, msg string) answer {
	b, _ := json.Marshal(map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
	return answer{status: status, body: b}
}

var cloneRE = regexp.MustCompile(`^/repos/` + Owner + `/clone-\d{4}(/|$)`)

func (f *Fake) answer(r *http.Request) answer {
	p := r.URL.Path
	f.mu.Lock()
	if fl, ok := f.failures[p]; ok && (fl.Times == 0 || fl.remains > 0) {
		fl.remains--
		hdr := http.Header{}
		for k, v := range fl.Header {
			hdr.Set(k, v)
		}
		f.mu.Unlock()
		return answer{status: fl.Status, header: hdr, body: []byte(fl.Body)}
	}
	f.mu.Unlock()

	if p == "/app" || strings.HasPrefix(p, "/app/") {
		return f.app(r)
	}
	auth := r.Header.Get("Authorization")
	if auth != "Bearer "+f.token && auth != "Bearer "+InstallationToken {
		return jsonErr(http.StatusUnauthorized, "Bad credentials")
	}
	if r.Method != http.MethodGet {
		return jsonErr(http.StatusNotFound, "Not Found")
	}
	switch {
	case p == "/user":
		if auth != "Bearer "+f.token {
			return jsonErr(http.StatusForbidden, "Resource not accessible by integration")
		}
	case strings.HasPrefix(p, "/repositories/"):
		// Link headers may name a repository by id.
		parts := strings.SplitN(strings.TrimPrefix(p, "/repositories/"), "/", 2)
		if parts[0] == "1296269" && len(parts) == 2 {
			p = "/repos/" + Owner + "/model-training/" + parts[1]
		}
	}
	p = cloneRE.ReplaceAllString(p, "/repos/"+Owner+"/model-training$1")
	if strings.Contains(p, "/contents/") {
		return f.contents(r, p)
	}
	base := strings.TrimPrefix(p, "/")
	for _, st := range []int{http.StatusForbidden, http.StatusNotFound} {
		if b, err := fs.ReadFile(fixtures, "testdata/"+base+"."+strconv.Itoa(st)+".json"); err == nil {
			return answer{status: st, body: b}
		}
	}
	b, err := fs.ReadFile(fixtures, "testdata/"+base+".json")
	if err != nil {
		return jsonErr(http.StatusNotFound, "Not Found")
	}
	b = f.expand(p, b)
	return f.page(r, p, b)
}

// expand adds the benchmark clones to the owner's repository listing.
func (f *Fake) expand(p string, b []byte) []byte {
	if f.Clones == 0 || p != "/orgs/"+Owner+"/repos" {
		return b
	}
	var items []map[string]any
	if json.Unmarshal(b, &items) != nil || len(items) == 0 {
		return b
	}
	tmpl := items[0]
	for i := 1; i <= f.Clones; i++ {
		c := map[string]any{}
		for k, v := range tmpl {
			c[k] = v
		}
		name := fmt.Sprintf("clone-%04d", i)
		c["name"], c["full_name"], c["id"] = name, Owner+"/"+name, 900000+i
		items = append(items, c)
	}
	out, _ := json.Marshal(items)
	return out
}

// listFields are the array fields of GitHub's wrapped listings.
var listFields = []string{"workflow_runs", "workflows", "repositories"}

// page serves one page of a listing (a JSON array, or an object wrapping
// one), with Link headers; anything else is served whole.
func (f *Fake) page(r *http.Request, p string, b []byte) answer {
	var items []json.RawMessage
	var wrapper map[string]json.RawMessage
	field := ""
	if json.Unmarshal(b, &items) != nil {
		if json.Unmarshal(b, &wrapper) != nil {
			return answer{body: b}
		}
		for _, lf := range listFields {
			if raw, ok := wrapper[lf]; ok && json.Unmarshal(raw, &items) == nil {
				field = lf
				break
			}
		}
		if field == "" {
			return answer{body: b}
		}
	}
	q := r.URL.Query()
	if q.Get("per_page") != "100" {
		f.errorf("githubfake: GET %s without per_page=100 (query %q)", p, r.URL.RawQuery)
		return jsonErr(http.StatusUnprocessableEntity, "per_page=100 expected by the fake")
	}
	size := min(100, f.PageSize)
	cursor := strings.HasSuffix(p, "/dependabot/alerts")
	start := 0
	if cursor {
		if a := q.Get("after"); a != "" {
			d, err := base64.RawURLEncoding.DecodeString(a)
			if err != nil {
				return jsonErr(http.StatusBadRequest, "bad cursor")
			}
			start, _ = strconv.Atoi(string(d))
		}
		if q.Get("page") != "" {
			return jsonErr(http.StatusBadRequest, "Pagination using the `page` parameter is not supported.")
		}
	} else if pg := q.Get("page"); pg != "" {
		n, err := strconv.Atoi(pg)
		if err != nil || n < 1 {
			return jsonErr(http.StatusBadRequest, "bad page")
		}
		start = (n - 1) * size
	}
	start = min(start, len(items))
	end := min(start+size, len(items))
	hdr := http.Header{}
	linkPath := f.prefix + strings.TrimPrefix(p, "/")
	if strings.HasSuffix(p, "/pulls") && strings.Contains(p, "/model-training/") {
		linkPath = f.prefix + "repositories/1296269/pulls"
	}
	link := func(rel string, mod func(url.Values)) string {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		mod(nq)
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, f.Server.URL, linkPath, nq.Encode(), rel)
	}
	var links []string
	if end < len(items) {
		if cursor {
			next := base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
			links = append(links, link("next", func(v url.Values) { v.Set("after", next) }))
		} else {
			pageNo := end/size + 1
			last := (len(items) + size - 1) / size
			links = append(links,
				link("next", func(v url.Values) { v.Set("page", strconv.Itoa(pageNo)) }),
				link("last", func(v url.Values) { v.Set("page", strconv.Itoa(last)) }))
		}
	}
	if len(links) > 0 {
		hdr.Set("Link", strings.Join(links, ", "))
	}
	pageItems := items[start:end]
	if pageItems == nil {
		pageItems = []json.RawMessage{}
	}
	var out []byte
	if field != "" {
		wrapper[field], _ = json.Marshal(pageItems)
		out, _ = json.Marshal(wrapper)
	} else {
		out, _ = json.Marshal(pageItems)
	}
	return answer{header: hdr, body: out}
}

// contents serves a file of a fixture repository raw, at HeadSHA only.
func (f *Fake) contents(r *http.Request, p string) answer {
	if ref := r.URL.Query().Get("ref"); ref != HeadSHA {
		f.errorf("githubfake: GET %s at ref %q, want the head commit %s", p, ref, HeadSHA)
	}
	if !strings.Contains(r.Header.Get("Accept"), "raw") {
		f.errorf("githubfake: GET %s with Accept %q, want the raw media type", p, r.Header.Get("Accept"))
	}
	b, err := fs.ReadFile(fixtures, "testdata/"+strings.TrimPrefix(p, "/"))
	if err != nil {
		return jsonErr(http.StatusNotFound, "Not Found")
	}
	hdr := http.Header{}
	hdr.Set("Content-Type", "application/vnd.github.raw; charset=utf-8")
	return answer{header: hdr, body: b}
}

// app answers the App endpoints, which take the App's JWT.
func (f *Fake) app(r *http.Request) answer {
	if err := f.checkJWT(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")); err != nil {
		return jsonErr(http.StatusUnauthorized, "A JSON web token could not be decoded: "+err.Error())
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/app":
		b, _ := fs.ReadFile(fixtures, "testdata/app.json")
		return answer{body: b}
	case r.Method == http.MethodPost && r.URL.Path == fmt.Sprintf("/app/installations/%d/access_tokens", InstallationID):
		b, _ := json.Marshal(map[string]any{"token": InstallationToken, "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
			"permissions": map[string]string{"metadata": "read", "contents": "read"}, "repository_selection": "all"})
		return answer{status: http.StatusCreated, body: b}
	}
	return jsonErr(http.StatusNotFound, "Not Found")
}

// checkJWT verifies an App JWT independently of the connector's code.
func (f *Fake) checkJWT(tok string) error {
	if f.AppKey == nil {
		return fmt.Errorf("no app configured")
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return fmt.Errorf("not a JWT")
	}
	var hdr struct{ Alg, Typ string }
	if err := decodeSeg(parts[0], &hdr); err != nil || hdr.Alg != "RS256" {
		return fmt.Errorf("alg must be RS256")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(f.AppKey, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("bad signature")
	}
	var cl struct {
		Iat, Exp int64
		Iss      string
	}
	if err := decodeSeg(parts[1], &cl); err != nil {
		return err
	}
	now := time.Now().Unix()
	if cl.Iss != strconv.Itoa(AppID) || cl.Iat > now || cl.Exp <= now || cl.Exp-cl.Iat > 600 {
		return fmt.Errorf("'Issuer' claim ('iss') must be the App ID and the token valid for at most 10 minutes")
	}
	return nil
}

func decodeSeg(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// Path joins a fixture path for Fail: Path("repos", Owner, "model-training", "pulls").
func Path(elem ...string) string { return "/" + path.Join(elem...) }
