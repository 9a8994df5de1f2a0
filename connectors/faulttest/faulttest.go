// Package faulttest is the upstream fault matrix every HTTP connector runs in
// its own tests: a proxy in front of the connector's fake answers one chosen
// call (the faulted listing) with a fault, and the connector runs through
// scheduler.Runner into a real temporary vault.
//
//	func TestFaults(t *testing.T) {
//		faulttest.Run(t, faulttest.Target{Type: github.Type, ...})
//	}
//
// For each fault (401, 403, 404, 429 with Retry-After, 500, 502, 503, a
// timeout, a connection reset, malformed JSON, a truncated body and, where the
// connector caps sizes, an oversized body) it checks that the run fails with
// the right error class, that the call was retried exactly where the shared
// client should retry (counted at the proxy), that no record of the faulted
// listing's kinds landed, that the vault still verifies, and that the next
// run, with the fault cleared, succeeds and stores what a clean run stores.
//
// The proxy, not each fake's Fail API, injects the faults so that every kind
// (hangs, resets, short bodies) is the same for every connector.
package faulttest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors"
	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/mapping"
	"github.com/aimsvault/aimsvault/scheduler"
)

// Retries is the RetryMax the runner's client gets: a retried fault reaches
// the proxy Retries+1 times.
const Retries = 2

// attemptTimeout is the client's per-attempt timeout; the timeout fault
// holds its answer until the client gives up. It is not a timing assertion.
const attemptTimeout = 2 * time.Second

// Kind names a fault.
type Kind string

// The faults of the matrix.
const (
	Status401 Kind = "401"
	Status403 Kind = "403"
	Status404 Kind = "404"
	Status429 Kind = "429 retry-after"
	Status500 Kind = "500"
	Status502 Kind = "502"
	Status503 Kind = "503"
	Timeout   Kind = "timeout"
	Reset     Kind = "connection reset"
	Malformed Kind = "malformed json"
	Truncated Kind = "truncated body"
	Oversized Kind = "oversized body"
)

// Expect is what a fault must lead to.
type Expect struct {
	// Class is the run's error class.
	Class connectors.ErrorClass
	// Retried says the faulted call is retried (Retries+1 requests) rather
	// than made once.
	Retried bool
}

// Defaults are the expectations for every connector; Target.Expect overrides
// them per fault.
var Defaults = map[Kind]Expect{
	Status401: {Class: connectors.ClassAuth},
	Status403: {Class: connectors.ClassAuth},
	// A 404 on a listing is neither the token nor the source's health: the
	// run fails without a class the scheduler could act on.
	Status404: {Class: ""},
	Status429: {Class: connectors.ClassRateLimited, Retried: true},
	Status500: {Class: connectors.ClassUpstream, Retried: true},
	Status502: {Class: connectors.ClassUpstream, Retried: true},
	Status503: {Class: connectors.ClassUpstream, Retried: true},
	Timeout:   {Class: connectors.ClassTimeout, Retried: true},
	Reset:     {Class: connectors.ClassUpstream, Retried: true},
	Malformed: {Class: connectors.ClassBadResponse},
	// The body breaks off after the status arrived: the client does not
	// replay a call whose answer it has begun to read.
	Truncated: {Class: connectors.ClassUpstream},
	Oversized: {Class: connectors.ClassBadResponse},
}

// Target is one connector type against its fake.
type Target struct {
	Type connectors.Type
	// Upstream is the fake's URL (with its path prefix).
	Upstream string
	// Settings returns the connector's config pointing at baseURL (the
	// proxy, with the fake's path prefix); called once per run.
	Settings func(baseURL string) any
	// Match picks the faulted call. In a clean run it must match exactly
	// one request, so that request counts are exact.
	Match func(r *http.Request) bool
	// Kinds are the kinds of records built from the faulted call's answer:
	// none may land in a faulted run.
	Kinds []string
	// MaxBody, when the connector caps response sizes, is the cap: the
	// oversized fault sends MaxBody+1 bytes. Zero skips that fault.
	MaxBody int
	// ErrorBody is the body of an injected error status (default a JSON
	// {"message": ...}); AWS targets send their protocol's error shape.
	ErrorBody func(status int) (contentType, body string)
	// Expect overrides Defaults.
	Expect map[Kind]Expect
}

// Run runs the fault matrix for target as subtests of t.
func Run(t *testing.T, target Target) {
	t.Helper()
	faults := []Kind{Status401, Status403, Status404, Status429, Status500, Status502, Status503,
		Timeout, Reset, Malformed, Truncated}
	if target.MaxBody > 0 {
		faults = append(faults, Oversized)
	}
	for _, k := range faults {
		t.Run(string(k), func(t *testing.T) {
			want := Defaults[k]
			if e, ok := target.Expect[k]; ok {
				want = e
			}
			runFault(t, target, k, want)
		})
	}
}

func runFault(t *testing.T, target Target, k Kind, want Expect) {
	p := newProxy(t, target.Upstream, target.Match)
	env := newEnv(t, target.Type)
	cc := config.Connector{Name: "faulted", Type: target.Type.Name, Timeout: config.Duration(2 * time.Minute)}

	// A clean run first: what a full collection stores, and that Match
	// picks one call.
	cc.Settings = target.Settings(p.URL)
	clean := env.run(t, cc)
	if clean.Status != evidence.RunOK {
		t.Fatalf("clean run: status %s, error %q", clean.Status, clean.Error)
	}
	cleanKinds := env.kinds(t, clean.ID)
	if n := p.hits(); n != 1 {
		t.Fatalf("clean run: Match picked %d requests, want 1; the requests were:\n%s\nand the kinds stored %v",
			n, strings.Join(p.requests(), "\n"), cleanKinds)
	}
	for _, kind := range target.Kinds {
		if cleanKinds[kind] == 0 {
			t.Fatalf("clean run stored no %s record: Kinds must name what the faulted call yields (stored %v)", kind, cleanKinds)
		}
	}

	p.inject(k, target)
	cc.Settings = target.Settings(p.URL)
	bad := env.run(t, cc)
	if bad.Status != evidence.RunFailed {
		t.Errorf("faulted run: status %s (error %q), want %s", bad.Status, bad.Error, evidence.RunFailed)
	}
	if got := connectors.ErrorClass(bad.ErrorClass); got != want.Class {
		t.Errorf("faulted run: error class %q, want %q (error %q)", got, want.Class, bad.Error)
	}
	lo, hi := 1, 1
	if want.Retried {
		lo, hi = Retries+1, Retries+1
	}
	if k == Reset && want.Retried {
		// net/http replays an idempotent request once by itself when a
		// kept-alive connection breaks before any answer; the shared
		// client's own attempts are still Retries+1.
		hi = 2 * (Retries + 1)
	}
	if n := p.hits(); n < lo || n > hi {
		t.Errorf("faulted call made %d times, want %d..%d (retried: %v)", n, lo, hi, want.Retried)
	}
	for kind, n := range env.kinds(t, bad.ID) {
		if slices.Contains(target.Kinds, kind) {
			t.Errorf("faulted run stored %d %s records built from the faulted call", n, kind)
		}
	}
	env.verify(t)

	p.clear()
	cc.Settings = target.Settings(p.URL)
	next := env.run(t, cc)
	if next.Status != evidence.RunOK {
		t.Fatalf("run after the fault cleared: status %s, error %q", next.Status, next.Error)
	}
	if next.Artifacts != clean.Artifacts {
		t.Errorf("run after the fault cleared stored %d artifacts, a clean run %d", next.Artifacts, clean.Artifacts)
	}
	env.verify(t)
}

// env is a runner over a fresh vault with only the target's type.
type env struct {
	runner *scheduler.Runner
	vault  *evidence.Vault
}

func newEnv(t *testing.T, typ connectors.Type) *env {
	t.Helper()
	v, err := evidence.Init(t.Context(), evidence.Options{Dir: filepath.Join(t.TempDir(), "vault"), Name: "faulttest.example/aims"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	m, err := mapping.NewMapper(nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := connectors.NewRegistry()
	reg.Register(typ)
	return &env{vault: v, runner: &scheduler.Runner{
		Vault: v, Mapper: m, Registry: reg,
		Logger: slog.New(slog.DiscardHandler),
		HTTP: connectors.HTTPOptions{
			Timeout:  attemptTimeout,
			RetryMax: Retries,
			// Short backoff; RetryWaitMax admits the 429's Retry-After: 1.
			RetryWaitMin: time.Millisecond, RetryWaitMax: 3 * time.Second,
		},
	}}
}

func (e *env) run(t *testing.T, cc config.Connector) *evidence.Run {
	t.Helper()
	run, _ := e.runner.Run(t.Context(), cc, scheduler.TriggerCollect)
	if run == nil {
		t.Fatal("the run was not recorded")
	}
	return run
}

// kinds counts the records run stored, by kind.
func (e *env) kinds(t *testing.T, run string) map[string]int {
	t.Helper()
	out := map[string]int{}
	err := e.vault.Records(t.Context(), evidence.Filter{}, func(r *evidence.Record) error {
		if r.Run == run {
			out[r.Kind]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *env) verify(t *testing.T) {
	t.Helper()
	rep, err := e.vault.Verify(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK {
		t.Fatalf("vault does not verify: %+v", rep.Problems)
	}
}

// proxy forwards to the fake and answers the matched call with the fault.
type proxy struct {
	URL   string
	match func(*http.Request) bool
	rp    *httputil.ReverseProxy

	mu     sync.Mutex
	fault  Kind
	target Target
	n      int
	seen   []string // "METHOD path target" of every request, for messages
}

func newProxy(t *testing.T, upstream string, match func(*http.Request) bool) *proxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	host := &url.URL{Scheme: u.Scheme, Host: u.Host}
	p := &proxy{match: match}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(host)
			r.Out.Host = r.In.Host // signed requests (SigV4) name the host they were sent to
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(srv.Close)
	p.URL = srv.URL + u.Path
	return p
}

func (p *proxy) inject(k Kind, target Target) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault, p.target, p.n = k, target, 0
}

func (p *proxy) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault, p.n = "", 0
}

func (p *proxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.seen)
}

func (p *proxy) hits() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

func (p *proxy) serve(w http.ResponseWriter, r *http.Request) {
	// Match may read the body (a Jira search's JQL sits in it): keep it
	// for forwarding.
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	matched := p.match(r)
	r.Body = io.NopCloser(bytes.NewReader(body))
	p.mu.Lock()
	p.seen = append(p.seen, strings.TrimSpace(r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("X-Amz-Target")))
	if matched {
		p.n++
	}
	k, target := p.fault, p.target
	p.mu.Unlock()
	if !matched || k == "" {
		p.rp.ServeHTTP(w, r)
		return
	}
	switch k {
	case Status401, Status403, Status404, Status429, Status500, Status502, Status503:
		status, _ := strconv.Atoi(strings.Fields(string(k))[0])
		ct, b := "application/json", fmt.Sprintf(`{"message":"injected %d"}`, status)
		if target.ErrorBody != nil {
			ct, b = target.ErrorBody(status)
		}
		w.Header().Set("Content-Type", ct)
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(status)
		io.WriteString(w, b)
	case Timeout:
		// Hold the answer until the client gives up on the attempt.
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
	case Reset:
		conn := hijack(w)
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0) // RST, not FIN
		}
		conn.Close()
	case Malformed:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"items": [{"id": 1, "name": "x"`+"\x00"+`]]`)
	case Truncated:
		// Ask for the whole answer: a 304 to a cached ETag has no body to cut.
		r.Header.Del("If-None-Match")
		r.Header.Del("If-Modified-Since")
		rec := httptest.NewRecorder()
		p.rp.ServeHTTP(rec, r.WithContext(context.WithoutCancel(r.Context())))
		if rec.Code != http.StatusOK || rec.Body.Len() < 2 {
			panic(fmt.Sprintf("faulttest: truncated fault: upstream answered %d with %d bytes", rec.Code, rec.Body.Len()))
		}
		full := rec.Body.Bytes()
		conn := hijack(w)
		defer conn.Close()
		fmt.Fprintf(conn, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
			rec.Code, http.StatusText(rec.Code), rec.Header().Get("Content-Type"), len(full))
		conn.Write(full[:len(full)/2])
	case Oversized:
		w.Header().Set("Content-Type", "application/json")
		pad := target.MaxBody + 1 - len(`{"pad":""}`)
		io.WriteString(w, `{"pad":"`+strings.Repeat("a", pad)+`"}`)
	}
}

func hijack(w http.ResponseWriter) net.Conn {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(fmt.Sprintf("faulttest: hijack: %v", err))
	}
	return conn
}

// AWSErrorBody is Target.ErrorBody for AWS's JSON protocols: the error code a
// service gives with each status.
func AWSErrorBody(status int) (contentType, body string) {
	code := map[int]string{
		http.StatusUnauthorized:        "UnrecognizedClientException",
		http.StatusForbidden:           "AccessDeniedException",
		http.StatusNotFound:            "ResourceNotFoundException",
		http.StatusTooManyRequests:     "ThrottlingException",
		http.StatusInternalServerError: "InternalFailure",
		http.StatusBadGateway:          "InternalFailure",
		http.StatusServiceUnavailable:  "ServiceUnavailable",
	}[status]
	return "application/x-amz-json-1.1", fmt.Sprintf(`{"__type":%q,"message":"injected %d"}`, code, status)
}
