package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/evidence"
)

// A Plan is what a Scheduler runs: each connector on its schedule, through
// Runner.
type Plan struct {
	// Runner runs the connectors; runs started after an Update use the new
	// plan's Runner, runs in progress keep theirs.
	Runner *Runner
	// Connectors are scheduled by their Schedule (config.ParseSchedule).
	// Names must be unique, as config.Load makes them.
	Connectors []config.Connector
	// Jitter delays each run by a random time in [0, Jitter), to spread
	// connectors that share a schedule.
	Jitter time.Duration
}

// Options tune a Scheduler for its whole life.
type Options struct {
	// MaxParallel bounds the runs in progress at once (default 1).
	MaxParallel int
	// Logger receives scheduling events: skipped runs, updates, shutdown.
	// Runs log through their Runner's logger. Default: discard.
	Logger *slog.Logger
	// Metrics, when set, is updated as runs start, end and are skipped.
	Metrics *Metrics
}

// Scheduler runs connectors on their schedules, as `aimsvault serve` does:
//
//   - a connector never runs twice at once: a run due while the previous
//     one is still running (or waiting for a slot) is skipped and logged;
//   - at most Options.MaxParallel runs are in progress at once; the others
//     wait for a slot;
//   - each run is bounded by its connector's timeout (see Runner), and a
//     failing, hanging or panicking connector fails its own run only;
//   - Start runs once, with trigger "startup", each connector whose last run
//     is older than the last time its schedule fired (or that never ran);
//   - Shutdown stops scheduling, lets runs in progress finish within a
//     grace period, then cancels them (they are recorded as canceled).
//
// Its methods are safe for concurrent use.
type Scheduler struct {
	log     *slog.Logger
	metrics *Metrics
	slots   chan struct{} // one token per run in progress

	mu      sync.Mutex
	plan    Plan
	entries []*entry        // in config order, so simultaneous runs queue in that order
	busy    map[string]bool // connectors with a run in progress or waiting to start
	started bool

	wake     chan struct{} // pokes the loop after Update
	stopping chan struct{} // closed by Shutdown: start nothing more
	stopOnce sync.Once
	loopDone chan struct{}
	runs     sync.WaitGroup
	runCtx   context.Context
	cancel   context.CancelFunc
}

type entry struct {
	cc    config.Connector
	sched cron.Schedule
	next  time.Time
}

// New returns a scheduler for p. Nothing runs before Start.
func New(p Plan, opts Options) (*Scheduler, error) {
	if opts.MaxParallel < 1 {
		opts.MaxParallel = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Scheduler{
		log:      opts.Logger,
		metrics:  opts.Metrics,
		slots:    make(chan struct{}, opts.MaxParallel),
		busy:     map[string]bool{},
		wake:     make(chan struct{}, 1),
		stopping: make(chan struct{}),
		loopDone: make(chan struct{}),
	}
	if err := s.Update(p); err != nil {
		return nil, err
	}
	return s, nil
}

// Update replaces the plan: connectors that are new get scheduled, removed
// ones no longer run, and changed ones run with their new config from their
// next run on. A connector whose schedule is unchanged keeps its next run
// time. Runs in progress finish as they started. On an error (a schedule
// that does not parse) nothing changes.
func (s *Scheduler) Update(p Plan) error {
	now := time.Now()
	scheds := make([]cron.Schedule, len(p.Connectors))
	var errs []error
	for i, cc := range p.Connectors {
		sc, err := config.ParseSchedule(cc.Schedule)
		if err != nil {
			errs = append(errs, fmt.Errorf("connector %s: schedule: %w", cc.Name, err))
		}
		scheds[i] = sc
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	old := map[string]*entry{}
	for _, e := range s.entries {
		old[e.cc.Name] = e
	}
	var added, changed, removed []string
	entries := make([]*entry, len(p.Connectors))
	for i, cc := range p.Connectors {
		e := &entry{cc: cc, sched: scheds[i], next: scheds[i].Next(now)}
		if o, ok := old[cc.Name]; ok {
			delete(old, cc.Name)
			if o.cc.Schedule == cc.Schedule {
				e.next = o.next
			}
			if !sameConnector(o.cc, cc) {
				changed = append(changed, cc.Name)
			}
		} else {
			added = append(added, cc.Name)
		}
		entries[i] = e
	}
	for _, e := range s.entries {
		if _, ok := old[e.cc.Name]; ok {
			removed = append(removed, e.cc.Name)
		}
	}
	s.plan, s.entries = p, entries
	if s.metrics != nil {
		s.metrics.forget(removed)
		for _, cc := range p.Connectors {
			s.metrics.add(cc.Name)
		}
	}
	if s.started {
		s.log.Info("schedules updated", "connectors", len(entries), "added", added, "changed", changed, "removed", removed)
		s.poke()
	}
	return nil
}

// sameConnector reports whether a and b configure the same runs; where the
// block sits in the file does not matter.
func sameConnector(a, b config.Connector) bool {
	a.Line, b.Line = 0, 0
	return reflect.DeepEqual(a, b)
}

// Start runs the connectors that missed a run while the daemon was down,
// then schedules every connector. ctx is the parent of every run's context:
// canceling it cancels runs in progress at once (Shutdown is the graceful
// way). ctx also bounds the start-up reads of the vault.
func (s *Scheduler) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("scheduler already started")
	}
	entries, v := s.entries, s.plan.Runner.Vault
	s.mu.Unlock()

	// Read the vault before taking the lock: a missed run is one whose
	// schedule fired after the connector's last run started.
	now := time.Now()
	missed := map[string]bool{}
	for _, e := range entries {
		last, err := v.LastRun(ctx, e.cc.Name, "")
		switch {
		case errors.Is(err, evidence.ErrNotFound):
			missed[e.cc.Name] = true
		case err != nil:
			return err
		default:
			missed[e.cc.Name] = !e.sched.Next(last.StartedAt).After(now)
		}
		if s.metrics != nil {
			if ok, err := v.LastRun(ctx, e.cc.Name, evidence.RunOK); err == nil && ok.FinishedAt != nil {
				s.metrics.lastSuccess.WithLabelValues(e.cc.Name).Set(float64(ok.FinishedAt.UnixNano()) / 1e9)
			}
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.runCtx, s.cancel = context.WithCancel(ctx)
	s.started = true
	for _, e := range s.entries {
		if missed[e.cc.Name] {
			s.dispatchLocked(e, TriggerStartup, "")
		}
	}
	go s.loop()
	return nil
}

// maxSleep bounds how long the loop sleeps: timers run on the monotonic
// clock, so after a wall-clock change or a paused VM the loop looks again
// within this time.
const maxSleep = time.Minute

func (s *Scheduler) loop() {
	defer close(s.loopDone)
	timer := time.NewTimer(maxSleep)
	defer timer.Stop()
	for {
		s.mu.Lock()
		now := time.Now()
		sleep := maxSleep
		for _, e := range s.entries {
			if !e.next.After(now) {
				s.dispatchLocked(e, TriggerSchedule, "")
				// From now, not from e.next: after a long pause a
				// connector runs once, not once per missed time.
				e.next = e.sched.Next(now)
			}
			sleep = min(sleep, e.next.Sub(now))
		}
		s.mu.Unlock()
		timer.Reset(sleep)
		select {
		case <-timer.C:
		case <-s.wake:
		case <-s.stopping:
			return
		}
	}
}

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// dispatchLocked starts a run of e's connector unless one is in progress,
// with run id id ("" for a new one). It returns ErrBusy or ErrStopping when
// it starts nothing.
func (s *Scheduler) dispatchLocked(e *entry, trigger, id string) error {
	name := e.cc.Name
	if s.busy[name] {
		s.log.Warn("run skipped: the previous run is still in progress", "connector", name, "trigger", trigger)
		if s.metrics != nil {
			s.metrics.skipped.WithLabelValues(name).Inc()
		}
		return ErrBusy
	}
	select {
	case <-s.stopping:
		return ErrStopping
	default:
	}
	s.busy[name] = true
	s.runs.Add(1)
	var delay time.Duration
	if s.plan.Jitter > 0 && trigger != TriggerAPI {
		delay = rand.N(s.plan.Jitter)
	}
	go s.run(s.plan.Runner, e.cc, trigger, id, delay)
	return nil
}

// run waits for the jitter delay and a free slot, then runs cc. Shutdown
// ends the wait: a run that has not started by then does not start.
func (s *Scheduler) run(r *Runner, cc config.Connector, trigger, id string, delay time.Duration) {
	defer s.runs.Done()
	defer func() {
		s.mu.Lock()
		delete(s.busy, cc.Name)
		s.mu.Unlock()
	}()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-s.stopping:
			t.Stop()
			return
		}
	}
	select {
	case s.slots <- struct{}{}:
	case <-s.stopping:
		return
	}
	defer func() { <-s.slots }()
	select {
	case <-s.stopping: // both were ready and select chose the slot
		return
	default:
	}

	if s.metrics != nil {
		s.metrics.inProgress.Inc()
		defer s.metrics.inProgress.Dec()
	}
	run, err := r.RunWithID(s.runCtx, cc, trigger, id)
	if run == nil {
		// The Runner logs the outcome of every run it could record.
		s.log.Error("run not started", "connector", cc.Name, "trigger", trigger, "err", err)
		return
	}
	if s.metrics != nil {
		s.metrics.observe(run)
	}
}

// Shutdown stops scheduling and waits for the runs in progress to finish.
// When ctx is done first, it cancels them, waits until each is recorded as
// canceled (the Runner bounds that wait with its StopGrace), and returns
// ctx.Err(). Runs waiting for a slot or their jitter delay do not start.
// Calling Shutdown before Start, or twice, is harmless.
func (s *Scheduler) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stopping) })
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started {
		return nil
	}
	<-s.loopDone
	done := make(chan struct{})
	go func() {
		s.runs.Wait()
		close(done)
	}()
	defer s.cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.cancel()
		<-done
		return ctx.Err()
	}
}

// InProgress returns how many runs are in progress or waiting to start.
func (s *Scheduler) InProgress() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.busy)
}
