package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

type fakeStats struct {
	records, bytes int64
	err            error
}

func (f fakeStats) Stats(context.Context) (int64, int64, error) { return f.records, f.bytes, f.err }

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	var notReady error = errors.New("starting")
	s := New(Options{Ready: func() error { return notReady }})

	if code, body := get(t, s, "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q, want 200 ok", code, body)
	}
	if code, body := get(t, s, "/readyz"); code != http.StatusServiceUnavailable || body != "not ready: starting\n" {
		t.Errorf("/readyz while starting = %d %q, want 503 saying why", code, body)
	}
	notReady = nil
	if code, body := get(t, s, "/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Errorf("/readyz when ready = %d %q, want 200", code, body)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/healthz", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d, want 405", rec.Code)
	}
	if code, _ := get(t, s, "/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics without a gatherer = %d, want 404", code)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewVaultCollector(fakeStats{records: 1234, bytes: 56789}))
	runs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aimsvault_runs_total", Help: "Runs."}, []string{"connector", "status"})
	reg.MustRegister(runs)
	runs.WithLabelValues("policies", "ok").Add(3)
	s := New(Options{Gatherer: reg})

	code, body := get(t, s, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics = %d:\n%s", code, body)
	}
	for _, want := range []string{
		"# TYPE aimsvault_vault_records gauge\naimsvault_vault_records 1234\n",
		"# TYPE aimsvault_vault_bytes gauge\naimsvault_vault_bytes 56789\n",
		`aimsvault_runs_total{connector="policies",status="ok"} 3` + "\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
}

func TestMetrics_VaultUnreadable(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewVaultCollector(fakeStats{err: errors.New("database is locked")}))
	other := prometheus.NewGauge(prometheus.GaugeOpts{Name: "aimsvault_runs_in_progress", Help: "Runs."})
	reg.MustRegister(other)
	code, body := get(t, New(Options{Gatherer: reg}), "/metrics")
	// The other metrics are still served; the vault's are absent rather
	// than zero.
	if code != http.StatusOK || !strings.Contains(body, "aimsvault_runs_in_progress 0") || strings.Contains(body, "aimsvault_vault_records") {
		t.Errorf("/metrics with an unreadable vault = %d:\n%s", code, body)
	}
}

func TestServeAndShutdown(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{})
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
		t.Errorf("GET /healthz = %d %q", resp.StatusCode, body)
	}
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve after Shutdown = %v, want nil", err)
	}
}
