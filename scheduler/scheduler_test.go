package scheduler

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors"
	"github.com/aimsvault/aimsvault/evidence"
)

// The probe connector type runs whatever its config's Collect says, so each
// test states its connector's behaviour next to its assertions.
type probeConfig struct {
	Collect func(ctx context.Context, emit func(connectors.Artifact) error) error `yaml:"-"`
}

type probeConnector func(ctx context.Context, emit func(connectors.Artifact) error) error

func (p probeConnector) Collect(ctx context.Context, emit func(connectors.Artifact) error) error {
	return p(ctx, emit)
}

var probeType = connectors.Define("probe", "files", "", func() probeConfig { return probeConfig{} },
	func(c probeConfig, _ connectors.Deps) (connectors.Connector, error) {
		return probeConnector(c.Collect), nil
	})

func probe(name, schedule string, collect func(ctx context.Context, emit func(connectors.Artifact) error) error) config.Connector {
	return config.Connector{Name: name, Type: "probe", Schedule: schedule, Settings: &probeConfig{Collect: collect}}
}

// emitDoc emits one small document.
func emitDoc(emit func(connectors.Artifact) error, subject string) error {
	return emit(connectors.Artifact{
		Kind: "file.ai_policy", Subject: subject, MediaType: "text/markdown",
		Provenance: connectors.Provenance{Method: "read", Endpoint: subject, Complete: true},
		Content:    strings.NewReader("policy " + subject),
	})
}

func okCollect(ctx context.Context, emit func(connectors.Artifact) error) error {
	return emitDoc(emit, "doc.md")
}

// blocker is a connector behaviour that blocks until released or canceled,
// and counts how many of its runs are in progress.
type blocker struct {
	release chan struct{}
	started chan string // receives the connector's name as each run starts
	active  atomic.Int64
	max     atomic.Int64
}

func newBlocker() *blocker {
	return &blocker{release: make(chan struct{}), started: make(chan string, 100)}
}

func (b *blocker) collect(name string) func(context.Context, func(connectors.Artifact) error) error {
	return func(ctx context.Context, emit func(connectors.Artifact) error) error {
		n := b.active.Add(1)
		defer b.active.Add(-1)
		for m := b.max.Load(); n > m && !b.max.CompareAndSwap(m, n); m = b.max.Load() {
		}
		if err := emitDoc(emit, name+".md"); err != nil {
			return err
		}
		b.started <- name
		select {
		case <-b.release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

type schedEnv struct {
	*env
	metrics *Metrics
}

func newSchedEnv(t *testing.T) *schedEnv {
	t.Helper()
	e := newEnv(t)
	e.runner.Registry.Register(probeType)
	return &schedEnv{env: e, metrics: NewMetrics(prometheus.NewRegistry())}
}

// start starts a scheduler of conns and shuts it down, canceling its runs,
// when the test ends.
func (e *schedEnv) start(t *testing.T, maxParallel int, conns ...config.Connector) *Scheduler {
	t.Helper()
	s, err := New(Plan{Runner: e.runner, Connectors: conns}, Options{MaxParallel: maxParallel, Logger: e.runner.Logger, Metrics: e.metrics})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		s.Shutdown(ctx)
	})
	return s
}

// runs returns the connector's runs, oldest first.
func (e *schedEnv) runs(t *testing.T, name string) []evidence.Run {
	t.Helper()
	rs, err := e.vault.Runs(context.Background(), name, 0)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(rs)
	return rs
}

func finished(rs []evidence.Run) []evidence.Run {
	return slices.DeleteFunc(slices.Clone(rs), func(r evidence.Run) bool { return r.Status == evidence.RunRunning })
}

// waitFor polls cond until it holds. The deadline only guards against a
// hang; it is far above what any condition here needs.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func recv(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(30 * time.Second):
		t.Fatal("timed out waiting for a run to start")
		return ""
	}
}

func TestScheduler_RunsOnSchedule(t *testing.T) {
	t.Parallel()
	e := newSchedEnv(t)
	s := e.start(t, 2, probe("tick", "@every 1s", okCollect))

	waitFor(t, "tick ran three times", func() bool { return len(finished(e.runs(t, "tick"))) >= 3 })
	rs := finished(e.runs(t, "tick"))
	// Never run before: it runs at start-up, then on its schedule.
	if rs[0].Trigger != TriggerStartup {
		t.Errorf("first run trigger %q, want startup", rs[0].Trigger)
	}
	for _, r := range rs[1:] {
		if r.Trigger != TriggerSchedule {
			t.Errorf("later run trigger %q, want schedule", r.Trigger)
		}
	}
	for _, r := range rs {
		if r.Status != evidence.RunOK || r.Artifacts != 1 {
			t.Errorf("run %s: status %s, %d artifacts; want ok, 1", r.ID, r.Status, r.Artifacts)
		}
	}
	if err := s.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown with no run in progress: %v", err)
	}
	n := len(e.runs(t, "tick"))
	e.verify(t, int64(n))
	if got := testutil.ToFloat64(e.metrics.runs.WithLabelValues("tick", "ok")); int(got) != n {
		t.Errorf("runs_total{tick,ok} = %v, want %d", got, n)
	}
	if got := testutil.ToFloat64(e.metrics.artifacts.WithLabelValues("tick")); int(got) != n {
		t.Errorf("artifacts_collected_total{tick} = %v, want %d", got, n)
	}
	if got := testutil.ToFloat64(e.metrics.lastSuccess.WithLabelValues("tick")); got < float64(rs[0].StartedAt.Unix()) {
		t.Errorf("last_success_timestamp_seconds{tick} = %v, before the first run", got)
	}
	if got := testutil.CollectAndCount(e.metrics.duration); got != 1 {
		t.Errorf("run_duration_seconds has %d series, want 1", got)
	}
}

func TestScheduler_SkipsOverlap(t *testing.T) {
	t.Parallel()
	e := newSchedEnv(t)
	b := newBlocker()
	e.start(t, 4, probe("slow", "@every 1s", b.collect("slow")))

	recv(t, b.started)
	skipped := func() float64 { return testutil.ToFloat64(e.metrics.skipped.WithLabelValues("slow")) }
	waitFor(t, "two runs were skipped", func() bool { return skipped() >= 2 })
	if rs := e.runs(t, "slow"); len(rs) != 1 || rs[0].Status != evidence.RunRunning {
		t.Fatalf("runs while the first one blocks: %+v; want only it, running", rs)
	}
	if !strings.Contains(e.stderr.String(), "run skipped") {
		t.Errorf("no log line about the skipped run:\n%s", e.stderr)
	}
	close(b.release)
	waitFor(t, "a second run finished", func() bool { return len(finished(e.runs(t, "slow"))) >= 2 })
	if m := b.max.Load(); m != 1 {
		t.Errorf("%d runs of one connector were in progress at once, want 1", m)
	}
}

func TestScheduler_MaxParallel(t *testing.T) {
	t.Parallel()
	e := newSchedEnv(t)
	b := newBlocker()
	var conns []config.Connector
	for _, n := range []string{"a", "b", "c", "d"} {
		conns = append(conns, probe(n, "@every 1h", b.collect(n)))
	}
	e.start(t, 2, conns...)
	recv(t, b.started)
	recv(t, b.started)
	close(b.release)
	for _, n := range []string{"a", "b", "c", "d"} {
		waitFor(t, n+" ran", func() bool { return len(finished(e.runs(t, n))) == 1 })
	}
	if m := b.max.Load(); m != 2 {
		t.Errorf("at most %d runs were in progress at once, want 2 (max_parallel)", m)
	}
}

func TestScheduler_HangingConnectorTimedOutWhileOtherCompletes(t *testing.T) {
	t.Parallel()
	e := newSchedEnv(t)
	e.runner.StopGrace = 100 * time.Millisecond
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	started := make(chan string, 1)
	// This connector ignores ctx altogether, as one blocked in a read
	// on a hung mount would.
	hang := probe("hang", "@every 1h", func(ctx context.Context, emit func(connectors.Artifact) error) error {
		started <- "hang"
		<-stuck
		return emitDoc(emit, "late.md")
	})
	hang.Timeout = config.Duration(500 * time.Millisecond)
	// One slot: the hanging run holds it until it is timed out.
	s := e.start(t, 1, hang)
	recv(t, started)
	if err := s.Update(Plan{Runner: e.runner, Connectors: []config.Connector{hang, probe("quick", "@every 1s", okCollect)}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "quick ran", func() bool { return len(finished(e.runs(t, "quick"))) >= 1 })

	h := e.runs(t, "hang")
	if len(h) != 1 || h[0].Status != evidence.RunFailed || h[0].ErrorClass != string(connectors.ClassTimeout) {
		t.Fatalf("hang runs: %+v; want one, failed with class timeout", h)
	}
	if !strings.Contains(h[0].Error, "timed out after 500ms") || !strings.Contains(h[0].Error, "did not return") {
		t.Errorf("hang error %q, want it to say it timed out and was left behind", h[0].Error)
	}
	if q := finished(e.runs(t, "quick")); q[0].Status != evidence.RunOK {
		t.Errorf("quick run: %+v, want ok", q[0])
	}
}

func TestScheduler_PanicFailsOnlyThatRun(t *testing.T) {
	t.Parallel()
	e := newSchedEnv(t)
	e.start(t, 2,
		probe("boom", "@every 1s", func(context.Context, func(connectors.Artifact) error) error { panic("kaboom") }),
		probe("fine", "@every 1s", okCollect),
	)
	// The daemon survives: boom keeps being scheduled, fine keeps running.
	waitFor(t, "boom failed twice", func() bool { return len(finished(e.runs(t, "boom"))) >= 2 })
	waitFor(t, "fine ran twice", func() bool { return len(finished(e.runs(t, "fine"))) >= 2 })
	for _, r := range finished(e.runs(t, "boom")) {
		if r.Status != evidence.RunFailed || r.ErrorClass != string(ClassInternal) || r.Error != "connector panicked: kaboom" {
			t.Errorf("boom run: status %s class %q error %q; want failed, internal, the panic", r.Status, r.ErrorClass, r.Error)
		}
	}
	for _, r := range finished(e.runs(t, "fine")) {
		if r.Status != evidence.RunOK {
			t.Errorf("fine run: %+v", r)
		}
	}
	lines, err := e.vault.RunLogs(t.Context(), e.runs(t, "boom")[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(lines, func(l evidence.LogLine) bool {
		return l.Msg == "connector panicked" && strings.Contains(string(l.Attrs), "scheduler_test.go")
	}) {
		t.Errorf("stored logs of the panicked run have no line with its stack: %+v", lines)
	}
}

func TestScheduler_StartupRunsMissedOnly(t *testing.T) {
	t.Parallel()
	e := newSchedEnv(t)
	b := newBlocker()
	names := []string{"fresh", "missed", "missed-cron", "never"}
	conns := map[string]config.Connector{
		"fresh":       probe("fresh", "@every 1h", b.collect("fresh")),
		"missed":      probe("missed", "@every 1h", b.collect("missed")),
		"missed-cron": probe("missed-cron", "* * * * *", b.collect("missed-cron")),
		"never":       probe("never", "@every 1h", b.collect("never")),
	}
	// History: fresh ran just now; the others two hours ago.
	past := &Runner{Vault: e.vault, Mapper: e.runner.Mapper, Registry: e.runner.Registry, Logger: e.runner.Logger,
		Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }}
	for _, n := range []string{"missed", "missed-cron"} {
		if _, err := past.Run(t.Context(), probe(n, "@every 1h", okCollect), TriggerCollect); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.runner.Run(t.Context(), probe("fresh", "@every 1h", okCollect), TriggerCollect); err != nil {
		t.Fatal(err)
	}

	var list []config.Connector
	for _, n := range names {
		list = append(list, conns[n])
	}
	s := e.start(t, 4, list...)
	// Start dispatches start-up runs before it returns; they block, so
	// the set of busy connectors is exactly the set it started.
	s.mu.Lock()
	var busy []string
	for n := range s.busy {
		busy = append(busy, n)
	}
	s.mu.Unlock()
	slices.Sort(busy)
	if want := []string{"missed", "missed-cron", "never"}; !slices.Equal(busy, want) {
		t.Errorf("start-up runs for %v, want %v", busy, want)
	}
	close(b.release)
	for _, n := range []string{"missed", "missed-cron", "never"} {
		waitFor(t, n+" ran at start-up", func() bool {
			rs := finished(e.runs(t, n))
			return len(rs) > 0 && rs[len(rs)-1].Trigger == TriggerStartup && rs[len(rs)-1].Status == evidence.RunOK
		})
	}
	if rs := e.runs(t, "fresh"); len(rs) != 1 {
		t.Errorf("fresh has %d runs, want only its earlier one", len(rs))
	}
}

func TestScheduler_Update(t *testing.T) {
	t.Parallel()
	e := newSchedEnv(t)
	s := e.start(t, 2, probe("a", "@every 1s", okCollect), probe("keep", "@every 1h", okCollect))
	waitFor(t, "a ran on its schedule", func() bool {
		rs := finished(e.runs(t, "a"))
		return len(rs) >= 2
	})
	if err := s.Update(Plan{Runner: e.runner, Connectors: []config.Connector{probe("keep", "@every 1h", okCollect), probe("b", "@every 1s", okCollect)}}); err != nil {
		t.Fatal(err)
	}
	// a may have had a run under way; wait for it, then for b to run
	// twice more: a must not have run meanwhile.
	waitFor(t, "a idle", func() bool { return len(finished(e.runs(t, "a"))) == len(e.runs(t, "a")) })
	before := len(e.runs(t, "a"))
	waitFor(t, "b ran twice", func() bool { return len(finished(e.runs(t, "b"))) >= 2 })
	if after := len(e.runs(t, "a")); after != before {
		t.Errorf("a ran %d times after it was removed", after-before)
	}
	if n := testutil.CollectAndCount(e.metrics.runs, "aimsvault_runs_total"); n != 2*len(runStatuses) {
		t.Errorf("runs_total has %d series, want %d (keep and b; a's were dropped)", n, 2*len(runStatuses))
	}
	if !strings.Contains(e.stderr.String(), "schedules updated") {
		t.Errorf("no log line about the update:\n%s", e.stderr)
	}

	bad := probe("c", "every day", okCollect)
	if err := s.Update(Plan{Runner: e.runner, Connectors: []config.Connector{bad}}); err == nil || !strings.Contains(err.Error(), "connector c") {
		t.Errorf("Update with a bad schedule: err = %v, want one naming connector c", err)
	}
	n := len(e.runs(t, "b"))
	waitFor(t, "b still runs after a refused update", func() bool { return len(finished(e.runs(t, "b"))) > n })
}

func TestScheduler_ShutdownGraceThenCancel(t *testing.T) {
	t.Parallel()
	e := newSchedEnv(t)
	started := make(chan string, 3)
	release := map[string]chan struct{}{}
	var conns []config.Connector
	for _, n := range []string{"x", "y", "z"} {
		release[n] = make(chan struct{})
		conns = append(conns, probe(n, "@every 1h", func(ctx context.Context, emit func(connectors.Artifact) error) error {
			started <- n
			select {
			case <-release[n]:
				return emitDoc(emit, n+".md")
			case <-ctx.Done():
				return ctx.Err()
			}
		}))
	}
	// Two slots for three connectors: one waits.
	s := e.start(t, 2, conns...)
	one, two := recv(t, started), recv(t, started)

	grace, endGrace := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(grace) }()
	waitFor(t, "scheduling stopped", func() bool {
		select {
		case <-s.loopDone:
			return true
		default:
			return false
		}
	})
	// Within the grace period, one run finishes on its own; the slot it
	// frees goes to nobody.
	close(release[one])
	waitFor(t, one+" finished", func() bool { return len(finished(e.runs(t, one))) == 1 })
	// The grace period ends: the other is canceled, and recorded so.
	endGrace()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Shutdown = %v, want the grace context's error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Shutdown did not return after the grace period")
	}
	if r := e.runs(t, one); r[0].Status != evidence.RunOK {
		t.Errorf("%s: %+v, want ok (it finished within the grace period)", one, r[0])
	}
	if r := e.runs(t, two); r[0].Status != evidence.RunCanceled {
		t.Errorf("%s: %+v, want canceled", two, r[0])
	}
	for n := range release {
		if n != one && n != two {
			if r := e.runs(t, n); len(r) != 0 {
				t.Errorf("%s was waiting for a slot at shutdown, yet ran: %+v", n, r)
			}
		}
	}
	e.verify(t, 1)
}

func TestRun_UnsetVariableFailsWithoutBuilding(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	built := false
	cc := fakeConnectorConfig(&fakeConfig{OnBuild: func(connectors.Deps) { built = true }})
	cc.Err = &config.Errors{File: "aimsvault.yaml", List: []*config.Error{{File: "aimsvault.yaml", Line: 9, Key: "connectors[1] (fake-1).token", Msg: "${FAKE_TOKEN} is not set: export it or remove the key"}}}
	run, err := e.runWithin(t, t.Context(), cc)
	if err == nil || run == nil {
		t.Fatalf("Run = %v, %v; want a failed run", run, err)
	}
	if built {
		t.Error("the connector was built from an incomplete config")
	}
	want := "aimsvault.yaml:9: connectors[1] (fake-1).token: ${FAKE_TOKEN} is not set: export it or remove the key"
	if run.Status != evidence.RunFailed || run.ErrorClass != string(connectors.ClassConfig) || run.Error != want {
		t.Errorf("run: status %s class %q error %q; want failed, config, %q", run.Status, run.ErrorClass, run.Error, want)
	}
	e.stored(t, run)
}
