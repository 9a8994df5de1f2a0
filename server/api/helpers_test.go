package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/mapping"
	"github.com/aimsvault/aimsvault/scheduler"
	"github.com/aimsvault/aimsvault/server/access"
)

// clock is a settable clock shared by the vault and the access database.
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

// fakeScheduler stands in for *scheduler.Scheduler: one connector, "docs".
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

func (f *fakeScheduler) Status() []scheduler.ConnectorStatus {
	return []scheduler.ConnectorStatus{{
		Connector: config.Connector{Name: "docs", Type: "files", Schedule: "@daily"},
		Next:      time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC),
	}}
}

// testEnv is a vault, an access database and the API on an httptest server.
type testEnv struct {
	t      testing.TB
	clock  *clock
	vault  *evidence.Vault
	access *access.DB
	api    *API
	srv    *httptest.Server
	sched  *fakeScheduler
	run    string // a run with log lines
}

// t0 is the tests' "now" unless a test moves the clock.
var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func newEnv(t testing.TB, opts ...func(*Options)) *testEnv {
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
	e := &testEnv{t: t, clock: c, vault: v, access: acc, sched: &fakeScheduler{}}
	o := Options{Vault: v, Access: acc, Scheduler: e.sched, Live: func() Live { return Live{Mapper: m, Sources: []string{"files"}} }, Now: c.Now}
	for _, f := range opts {
		f(&o)
	}
	e.api = New(o)
	mux := http.NewServeMux()
	e.api.Register(mux)
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

// add appends a record collected at `at` with the given controls.
func (e *testEnv) add(at time.Time, subject string, content []byte, controls ...string) *evidence.Record {
	e.t.Helper()
	e.clock.Set(at)
	defer e.clock.Set(t0)
	rec, _, err := e.vault.Append(e.t.Context(), evidence.Input{
		Run: e.run, Connector: "docs", Type: "files", Kind: "file.document", Subject: subject,
		MediaType: "text/markdown", Controls: controls, Content: bytes.NewReader(content),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return rec
}

func (e *testEnv) sign() {
	e.t.Helper()
	if _, err := e.vault.SignCheckpoint(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
}

// token creates a token and returns its secret.
func (e *testEnv) token(nt access.NewToken) string {
	e.t.Helper()
	_, secret, err := e.access.CreateToken(e.t.Context(), nt)
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// do sends a request; body may be nil.
func (e *testEnv) do(token, method, path string, body io.Reader, contentType string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// get sends a GET and decodes a 200 JSON answer into out.
func (e *testEnv) get(token, path string, out any) {
	e.t.Helper()
	resp := e.do(token, "GET", path, nil, "")
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		e.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		e.t.Fatalf("GET %s: %v in %s", path, err, b)
	}
}

// multipartBody builds an upload: fields in order, then the file.
func multipartBody(t *testing.T, fields [][2]string, filename string, content []byte) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	if filename != "" {
		fw, err := mw.CreateFormFile("file", filename)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(content)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func entries(t *testing.T, acc *access.DB) []*access.Entry {
	t.Helper()
	es, err := acc.Entries(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func errorBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	var body struct {
		Error string `json:"error"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &body); err != nil || body.Error == "" {
		t.Errorf("error body %q is not {\"error\": ...}", b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type %q", ct)
	}
	return body.Error
}
