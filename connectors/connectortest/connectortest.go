// Package connectortest is the conformance suite every connector runs in its
// own tests, after restic's backend Suite and sumdb's TestStorage:
//
//	func TestConformance(t *testing.T) {
//		connectortest.Run(t, github.Type, func(t *testing.T) any {
//			cfg := github.Type.NewConfig().(*github.Config)
//			cfg.BaseURL = githubfake.New(t).URL
//			cfg.Token = "test-token"
//			return cfg
//		})
//	}
//
// It checks what the hub relies on and no connector's own tests can be
// trusted to check: the sample config decodes strictly, Collect emits
// artifacts whose kinds mapping knows and whose provenance names the call,
// unchanged fixtures give identical content, an emit error stops the run, a
// canceled context ends it, and no secret from the config reaches a log
// line or an error. It never reaches the network: Deps.HTTP refuses any
// host that is not loopback.
package connectortest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors"
	"github.com/aimsvault/aimsvault/mapping"
)

// unknownKey is added to the sample to check that strict decoding rejects it.
const unknownKey = "connectortest_unknown_key"

// hangGuard bounds a wait for Collect to return: a guard against a
// connector that ignores ctx, not a timing assertion.
const hangGuard = 30 * time.Second

// now is the clock connectors get, fixed so that two runs see the same time.
var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Run runs the conformance suite for typ as subtests of t.
//
// setup returns a ready config for one run: the pointer typ.NewConfig
// returns, filled in to point at a local fake or a temporary folder, as the
// config loader would leave it. Run calls setup once per subtest, with that
// subtest's t, so a fake started there is cleaned up with it.
func Run(t *testing.T, typ connectors.Type, setup func(t *testing.T) (settings any)) {
	t.Helper()
	if typ.Name == "" || typ.NewConfig == nil || typ.New == nil {
		t.Fatalf("connector type %q is incomplete: build it with connectors.Define", typ.Name)
	}
	t.Run("sample", func(t *testing.T) { testSample(t, typ) })
	t.Run("collect", func(t *testing.T) { testCollect(t, newHarness(t, typ, setup)) })
	t.Run("deterministic", func(t *testing.T) { testDeterministic(t, newHarness(t, typ, setup)) })
	t.Run("emit error stops", func(t *testing.T) { testEmitError(t, newHarness(t, typ, setup)) })
	t.Run("canceled", func(t *testing.T) { testCanceled(t, newHarness(t, typ, setup)) })
}

// testSample checks that the sample decodes strictly into the type's config
// and that a key the config does not have is rejected. Samples may hold
// placeholders for required values, so only decoding is checked.
func testSample(t *testing.T, typ connectors.Type) {
	if strings.TrimSpace(typ.Sample) == "" {
		t.Fatal("the type has no sample config")
	}
	cfg := typ.NewConfig()
	if v := reflect.ValueOf(cfg); v.Kind() != reflect.Pointer || v.IsNil() {
		t.Fatalf("NewConfig returned %T, want a non-nil pointer the loader can decode into", cfg)
	}
	if err := yaml.UnmarshalWithOptions([]byte(typ.Sample), cfg, yaml.Strict()); err != nil {
		t.Errorf("sample does not decode strictly into %T: %v", cfg, err)
	}
	bad := typ.NewConfig()
	err := yaml.UnmarshalWithOptions([]byte(typ.Sample+"\n"+unknownKey+": 1\n"), bad, yaml.Strict())
	if err == nil || !strings.Contains(err.Error(), unknownKey) {
		t.Errorf("sample with an unknown key: error = %v, want a strict decode error naming %s", err, unknownKey)
	}
}

func testCollect(t *testing.T, h *harness) {
	got, err := h.collect(t, t.Context())
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if len(got) == 0 {
		t.Fatal("Collect emitted nothing: the setup should give the connector something to collect")
	}
	m, err := mapping.NewMapper(nil)
	if err != nil {
		t.Fatal(err)
	}
	kindRE := kindPattern(h.typ)
	for _, a := range got {
		if !kindRE.MatchString(a.Kind) {
			t.Errorf("%s: kind %q does not match %s", a.Subject, a.Kind, kindRE)
		}
		if !m.Handles(a.Kind) {
			t.Errorf("%s: kind %q has no mapping rule: add one to mapping's built-in rules", a.Subject, a.Kind)
		}
		if a.Provenance.Method == "" || a.Provenance.Endpoint == "" {
			t.Errorf("%s: provenance %+v lacks the method or endpoint that produced it", a.Subject, a.Provenance)
		}
	}
	h.checkNoSecrets(t)
}

// kindPattern is what every kind of typ must match: <type>.<snake_noun>,
// with "file." for the files type.
func kindPattern(typ connectors.Type) *regexp.Regexp {
	prefix := typ.Name
	if typ.Name == "files" {
		prefix = "file"
	}
	return regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `\.[a-z0-9_.]+$`)
}

// testDeterministic runs two connectors built from the same config: on
// unchanged fixtures they must emit the same content in the same order, or
// every run would store new blobs.
func testDeterministic(t *testing.T, h *harness) {
	type digest struct{ Kind, Subject, SHA256 string }
	var runs [2][]digest
	for i := range runs {
		got, err := h.collect(t, t.Context())
		if err != nil {
			t.Fatalf("Collect run %d: %v", i+1, err)
		}
		for _, a := range got {
			runs[i] = append(runs[i], digest{a.Kind, a.Subject, a.SHA256})
		}
	}
	if diff := cmp.Diff(runs[0], runs[1]); diff != "" {
		t.Errorf("two runs over unchanged fixtures differ (-first +second):\n%s", diff)
	}
	h.checkNoSecrets(t)
}

// errStop is what emit returns to stop a run; the hub returns such an error
// when the vault refuses a write.
var errStop = errors.New("connectortest: emit refused the artifact")

func testEmitError(t *testing.T, h *harness) {
	c := h.connector(t)
	calls := 0
	err := c.Collect(t.Context(), func(a connectors.Artifact) error {
		calls++
		if cl, ok := a.Content.(io.Closer); ok {
			cl.Close()
		}
		return errStop
	})
	if !errors.Is(err, errStop) {
		t.Errorf("Collect error = %v, want the error emit returned (errors.Is)", err)
	}
	if calls != 1 {
		t.Errorf("emit called %d times, want 1: Collect must stop at the first error emit returns", calls)
	}
	h.checkNoSecrets(t, err)
}

func testCanceled(t *testing.T, h *harness) {
	c := h.connector(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	emitted := 0
	done := make(chan error, 1)
	go func() {
		done <- c.Collect(ctx, func(a connectors.Artifact) error {
			emitted++
			if cl, ok := a.Content.(io.Closer); ok {
				cl.Close()
			}
			return nil
		})
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(hangGuard):
		t.Fatal("Collect did not return with its context canceled")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Collect error = %v, want one matching context.Canceled", err)
	}
	if emitted != 0 {
		t.Errorf("Collect emitted %d artifacts with its context canceled, want none", emitted)
	}
	h.checkNoSecrets(t, err)
}

// harness builds connectors from one setup config and keeps what they log.
type harness struct {
	typ      connectors.Type
	settings any
	secrets  []string
	logs     *syncBuffer
	http     *http.Client
}

func newHarness(t *testing.T, typ connectors.Type, setup func(t *testing.T) any) *harness {
	t.Helper()
	settings := setup(t)
	if want := reflect.TypeOf(typ.NewConfig()); reflect.TypeOf(settings) != want {
		t.Fatalf("setup returned %T, want %v as NewConfig returns", settings, want)
	}
	if v, ok := settings.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			t.Fatalf("setup's config does not validate: %v", err)
		}
	}
	h := &harness{typ: typ, settings: settings, logs: &syncBuffer{}}
	for _, s := range config.SecretsOf(settings) {
		if len(s) >= 4 { // the hub's redactor skips shorter values too
			h.secrets = append(h.secrets, s)
		}
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(base.CloseIdleConnections)
	// Retries stay on, with short waits: a refused host or a flaky fake
	// fails the test at once rather than after a minute of backoff.
	h.http = connectors.NewHTTPClient(connectors.HTTPOptions{
		RetryWaitMin: time.Millisecond,
		RetryWaitMax: 20 * time.Millisecond,
		Logger:       h.logger(),
		Secrets:      h.secrets,
		Transport:    loopbackOnly{base},
	})
	return h
}

func (h *harness) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// connector builds a connector as the hub does for each run.
func (h *harness) connector(t *testing.T) connectors.Connector {
	t.Helper()
	c, err := h.typ.New(h.settings, connectors.Deps{
		Name:   "conformance",
		HTTP:   h.http,
		Logger: h.logger().With("connector", "conformance", "type", h.typ.Name),
		Now:    func() time.Time { return now },
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if c == nil {
		t.Fatal("New returned a nil connector and no error")
	}
	return c
}

// artifact is an emitted artifact with its content digested, as the hub
// would store it.
type artifact struct {
	connectors.Artifact
	SHA256 string
}

// collect builds a connector and runs it, reading each content to EOF and
// closing it as the hub does.
func (h *harness) collect(t *testing.T, ctx context.Context) ([]artifact, error) {
	t.Helper()
	var out []artifact
	err := h.connector(t).Collect(ctx, func(a connectors.Artifact) error {
		sum := sha256.New()
		if a.Content != nil {
			if _, err := io.Copy(sum, a.Content); err != nil {
				t.Errorf("%s: read content: %v", a.Subject, err)
			}
			if c, ok := a.Content.(io.Closer); ok {
				c.Close()
			}
		}
		a.Content = nil
		out = append(out, artifact{a, fmt.Sprintf("%x", sum.Sum(nil))})
		return nil
	})
	return out, err
}

// checkNoSecrets fails t if a secret from the config shows up in anything
// the connector logged or in errs.
func (h *harness) checkNoSecrets(t *testing.T, errs ...error) {
	t.Helper()
	logs := h.logs.String()
	for _, s := range h.secrets {
		if strings.Contains(logs, s) {
			t.Errorf("a secret from the config shows up in the connector's logs:\n%s", logs)
		}
		for _, err := range errs {
			if err != nil && strings.Contains(err.Error(), s) {
				t.Errorf("a secret from the config shows up in an error: %v", err)
			}
		}
	}
}

// loopbackOnly refuses requests to any host that is not loopback: tests do
// not reach the network.
type loopbackOnly struct{ base http.RoundTripper }

func (l loopbackOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	host := req.URL.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("connectortest: request to %s refused: tests do not reach the network, point the config at a local fake", host)
	}
	return l.base.RoundTrip(req)
}

// syncBuffer collects log output from any goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
