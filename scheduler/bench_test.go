package scheduler

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors"
	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/mapping"
)

// benchRunner returns a runner over a new vault whose registry holds the
// probe type.
func benchRunner(b *testing.B) *Runner {
	b.Helper()
	v, err := evidence.Init(b.Context(), evidence.Options{Dir: filepath.Join(b.TempDir(), "vault"), Name: "bench.example/aims"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { v.Close() })
	m, err := mapping.NewMapper(nil)
	if err != nil {
		b.Fatal(err)
	}
	reg := connectors.NewRegistry()
	reg.Register(probeType)
	return &Runner{Vault: v, Mapper: m, Registry: reg, Logger: slog.New(slog.DiscardHandler)}
}

func noop(context.Context, func(connectors.Artifact) error) error { return nil }

// BenchmarkRunner_EmptyRun is the fixed cost of one run whatever its
// connector does: the run record (two durable writes), its log lines and a
// checkpoint.
func BenchmarkRunner_EmptyRun(b *testing.B) {
	r := benchRunner(b)
	cc := probe("noop", "@every 1h", noop)
	for b.Loop() {
		if _, err := r.Run(b.Context(), cc, TriggerCollect); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScheduler_EmptyRun is the same run dispatched by the scheduler:
// overlap check, jitter, a slot, a goroutine, metrics. The difference from
// BenchmarkRunner_EmptyRun is the scheduling overhead per run.
func BenchmarkScheduler_EmptyRun(b *testing.B) {
	r := benchRunner(b)
	s, err := New(Plan{Runner: r, Connectors: []config.Connector{probe("noop", "@every 1h", noop)}},
		Options{MaxParallel: 1, Metrics: NewMetrics(nopRegisterer{})})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown(b.Context())
	s.runs.Wait() // the start-up run
	for b.Loop() {
		s.mu.Lock()
		s.dispatchLocked(s.entries[0], TriggerSchedule, "")
		s.mu.Unlock()
		s.runs.Wait()
	}
}

type nopRegisterer struct{}

func (nopRegisterer) Register(prometheus.Collector) error  { return nil }
func (nopRegisterer) MustRegister(...prometheus.Collector) {}
func (nopRegisterer) Unregister(prometheus.Collector) bool { return true }
