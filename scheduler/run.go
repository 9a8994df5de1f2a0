// Package scheduler runs connectors: once now (`collect`) or on their
// schedules (`serve`). A run pipes the connector's artifacts through mapping
// into the vault, records what happened (a run record and its log lines), and
// signs a checkpoint at the end.
//
// Data flows one way: connector -> mapping -> evidence vault. The scheduler
// is the one place that logs a failed run.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors"
	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/mapping"
)

// Triggers: why a run started.
const (
	TriggerCollect  = "collect"
	TriggerSchedule = "schedule"
	TriggerStartup  = "startup"
	TriggerAPI      = "api"
	TriggerUpload   = "upload"
)

// ClassInternal marks a failure of aimsvault itself (the vault refused a
// write, a connector panicked), as opposed to the source.
const ClassInternal connectors.ErrorClass = "internal"

// DefaultStopGrace is Runner.StopGrace when it is zero.
const DefaultStopGrace = 10 * time.Second

// Runner runs connectors into a vault.
type Runner struct {
	Vault    *evidence.Vault
	Mapper   *mapping.Mapper
	Registry *connectors.Registry
	// Logger is the base logger (stderr); each run's lines are also stored
	// with the run.
	Logger *slog.Logger
	// HTTP holds the shared client's options (User-Agent, retries); the
	// runner adds the logger and the connector's secrets.
	HTTP connectors.HTTPOptions
	// Now is the clock (default time.Now).
	Now func() time.Time
	// StopGrace is how long a connector gets to return once its run is
	// canceled or times out (default DefaultStopGrace). One that has not
	// returned by then is abandoned: the run is recorded as it stands,
	// whatever the connector emits later is refused, and its goroutine is
	// left to end on its own. A connector blocked where ctx cannot reach (a
	// read on a hung mount) thus never holds up the daemon.
	StopGrace time.Duration
}

// maxStoredLogLines bounds the log lines kept per run; later ones are
// counted and the count is logged.
const maxStoredLogLines = 10000

// Run runs one configured connector now and returns its run record. The
// error is the run's own failure, already redacted; the record says the same.
// A nil record means the run could not even be recorded (the vault refused).
//
// Canceling ctx cancels the run, which is then recorded as canceled; the
// record is written whatever the state of ctx. A connector with Err set (an
// unset ${VAR}) is not built: its run fails with that error, class config.
// A panic in the connector fails the run, class internal. Run is safe for
// concurrent use, for different connectors.
func (r *Runner) Run(ctx context.Context, cc config.Connector, trigger string) (*evidence.Run, error) {
	return r.RunWithID(ctx, cc, trigger, "")
}

// RunWithID is Run with the run's id chosen by the caller (a UUID, unique),
// so that it can be handed out before the run starts; "" makes a new one.
func (r *Runner) RunWithID(ctx context.Context, cc config.Connector, trigger, id string) (*evidence.Run, error) {
	now := r.clock()
	if id == "" {
		u, err := uuid.NewV7()
		if err != nil {
			return nil, err
		}
		id = u.String()
	}
	run := evidence.Run{ID: id, Connector: cc.Name, Type: cc.Type, Trigger: trigger, StartedAt: now().UTC(), Status: evidence.RunRunning}
	redactor := connectors.NewRedactor(config.SecretsOf(cc.Settings)...)
	capture := newCaptureHandler(r.Logger.Handler(), redactor, maxStoredLogLines)
	log := slog.New(capture).With("connector", cc.Name, "type", cc.Type, "run", run.ID)

	// Vault writes never take a ctx that can be canceled mid-statement: an
	// interrupted SQLite statement rolls back the shared batch it is in.
	bg := context.WithoutCancel(ctx)
	if err := r.Vault.StartRun(bg, run); err != nil {
		return nil, err
	}
	log.Info("run started", "trigger", trigger)

	res := r.collect(ctx, cc, &run, log, redactor)
	run.Status = evidence.RunOK
	if res.err != nil {
		run.Status = evidence.RunFailed
		if errors.Is(res.err, context.Canceled) && ctx.Err() != nil {
			run.Status = evidence.RunCanceled
		}
		run.Error = redactor.String(res.err.Error())
		run.ErrorClass = string(res.class)
	}
	fin := now().UTC()
	run.FinishedAt = &fin
	attrs := []any{"status", run.Status, "artifacts", run.Artifacts, "new_blobs", run.NewBlobs, "duration", fin.Sub(run.StartedAt).Round(time.Millisecond).String()}
	if run.Error != "" {
		log.Error("run finished", append(attrs, "err", run.Error, "class", run.ErrorClass)...)
	} else {
		log.Info("run finished", attrs...)
	}
	if n := capture.dropped(); n > 0 {
		log.Warn("log lines not stored", "dropped", n)
	}
	// Record the outcome even if ctx is done: a canceled run must say so.
	if err := r.Vault.AppendRunLogs(bg, run.ID, capture.lines()); err != nil {
		r.Logger.Error("store run logs", "run", run.ID, "err", err)
	}
	if err := r.Vault.FinishRun(bg, run); err != nil {
		return &run, err
	}
	if res.err != nil {
		return &run, errors.New(run.Error)
	}
	return &run, nil
}

// clock returns r.Now, or time.Now when it is nil: connectors get a clock
// they can call.
func (r *Runner) clock() func() time.Time {
	if r.Now == nil {
		return time.Now
	}
	return r.Now
}

type collectResult struct {
	err   error
	class connectors.ErrorClass
}

// collect builds the connector and pipes its artifacts into the vault, then
// signs a checkpoint over whatever landed.
func (r *Runner) collect(ctx context.Context, cc config.Connector, run *evidence.Run, log *slog.Logger, redactor *connectors.Redactor) collectResult {
	if cc.Err != nil {
		return collectResult{cc.Err, connectors.ClassConfig}
	}
	typ, ok := r.Registry.Lookup(cc.Type)
	if !ok {
		return collectResult{fmt.Errorf("unknown connector type %q", cc.Type), connectors.ClassConfig}
	}
	httpOpts := r.HTTP
	httpOpts.Logger = log
	httpOpts.Secrets = append(httpOpts.Secrets, config.SecretsOf(cc.Settings)...)
	var conn connectors.Connector
	err := recovered(func() (err error) {
		conn, err = typ.New(cc.Settings, connectors.Deps{
			Name:   cc.Name,
			HTTP:   connectors.NewHTTPClient(httpOpts),
			Logger: log,
			Now:    r.clock(),
		})
		return err
	})
	if err != nil {
		if pe := (*panicError)(nil); errors.As(err, &pe) {
			pe.log(log)
			return collectResult{redactor.Error(err), ClassInternal}
		}
		return collectResult{fmt.Errorf("configure: %w", err), connectors.ClassConfig}
	}
	if cc.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(cc.Timeout))
		defer cancel()
	}

	// st is what emit shares with this function. Once st.closed (the
	// connector was abandoned) emit refuses everything and changes nothing.
	var st struct {
		sync.Mutex
		closed   bool
		mapErrs  []error
		vaultErr error
	}
	emit := func(a connectors.Artifact) error {
		if c, ok := a.Content.(io.Closer); ok {
			defer c.Close()
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		controls, mapErr := r.Mapper.Map(a.Kind, a.Attributes)
		prov, err := connectors.CanonicalJSON(a.Provenance)
		if err != nil {
			return err
		}
		content := &gatedReader{r: a.Content, closed: func() bool { st.Lock(); defer st.Unlock(); return st.closed }}
		if a.Content == nil {
			content.r = eofReader{}
		}
		_, newBlob, err := r.Vault.Append(context.WithoutCancel(ctx), evidence.Input{
			Run: run.ID, Connector: cc.Name, Type: cc.Type,
			Kind: a.Kind, Subject: a.Subject, MediaType: a.MediaType, SourceURL: a.SourceURL,
			EffectiveAt: a.EffectiveAt, Provenance: prov, Attributes: a.Attributes, Controls: controls,
			Content: content,
		})
		st.Lock()
		defer st.Unlock()
		if st.closed {
			return errAbandoned
		}
		if mapErr != nil {
			// The artifact still lands with the controls that are valid;
			// the run fails so that someone fixes the source.
			st.mapErrs = append(st.mapErrs, fmt.Errorf("%s: %w", a.Subject, mapErr))
			log.Warn("artifact has invalid controls", "subject", a.Subject, "err", mapErr)
		}
		if err != nil {
			if ctx.Err() == nil {
				st.vaultErr = err
			}
			return err
		}
		run.Artifacts++
		if newBlob {
			run.NewBlobs++
		}
		log.Debug("artifact stored", "kind", a.Kind, "subject", a.Subject)
		return nil
	}

	// A batch the vault gives up (a full or read-only disk) may hold this
	// run's records even if every Append succeeded: count losses across it.
	lostBefore, _ := r.Vault.LostBatches()
	done := make(chan error, 1)
	go func() { done <- recovered(func() error { return conn.Collect(ctx, emit) }) }()
	var cerr error
	select {
	case cerr = <-done:
	case <-ctx.Done():
		grace := r.StopGrace
		if grace <= 0 {
			grace = DefaultStopGrace
		}
		t := time.NewTimer(grace)
		select {
		case cerr = <-done:
		case <-t.C:
			st.Lock()
			st.closed = true
			st.Unlock()
			cerr = fmt.Errorf("connector did not return within %s of being stopped, left behind: %w", grace, ctx.Err())
			log.Error("connector abandoned", "grace", grace.String())
		}
		t.Stop()
	}
	st.Lock()
	st.closed = true // from here on, emit changes nothing
	mapErrs, vaultErr := st.mapErrs, st.vaultErr
	st.Unlock()

	// Whatever landed is committed and signed, even if the run failed
	// part-way: those records are true observations.
	bg := context.WithoutCancel(ctx)
	var sealErr error
	if err := r.Vault.Flush(bg); err != nil {
		sealErr = err
	} else if _, err := r.Vault.SignCheckpoint(bg); err != nil {
		sealErr = fmt.Errorf("sign checkpoint: %w", err)
	}
	if lost, lostErr := r.Vault.LostBatches(); lost != lostBefore && vaultErr == nil && sealErr == nil {
		vaultErr = lostErr
	}

	var pe *panicError
	switch {
	case vaultErr != nil:
		return collectResult{fmt.Errorf("vault: %w", vaultErr), ClassInternal}
	case errors.Is(sealErr, evidence.ErrTimestamp):
		// The records are in and signed; only the trusted time is missing.
		return collectResult{fmt.Errorf("checkpoint signed, but not time-stamped: %w", sealErr), connectors.ClassUpstream}
	case sealErr != nil:
		return collectResult{sealErr, ClassInternal}
	case errors.As(cerr, &pe):
		pe.log(log)
		return collectResult{redactor.Error(cerr), ClassInternal}
	case cerr != nil:
		class := connectors.Classify(cerr)
		if errors.Is(cerr, context.DeadlineExceeded) && ctx.Err() != nil {
			if cc.Timeout > 0 {
				cerr = fmt.Errorf("timed out after %s: %w", time.Duration(cc.Timeout), cerr)
			}
			class = connectors.ClassTimeout
		}
		return collectResult{redactor.Error(cerr), class}
	case len(mapErrs) > 0:
		return collectResult{fmt.Errorf("mapping: %w", errors.Join(mapErrs...)), connectors.ClassConfig}
	}
	return collectResult{}
}

// errAbandoned is what emit and content reads return once the runner has
// given up waiting for a connector.
var errAbandoned = errors.New("run is over: the connector did not stop in time")

// gatedReader fails every read once closed reports true, so content still
// streaming from an abandoned connector never becomes a record.
type gatedReader struct {
	r      io.Reader
	closed func() bool
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if g.closed() {
		return 0, errAbandoned
	}
	n, err := g.r.Read(p)
	if g.closed() {
		return 0, errAbandoned
	}
	return n, err
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// panicError is a connector's panic, recovered so that it fails one run
// rather than the daemon.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("connector panicked: %v", e.value) }

// log records the panic's stack with the run: it is a bug to report.
func (e *panicError) log(log *slog.Logger) {
	log.Error("connector panicked", "panic", fmt.Sprint(e.value), "stack", string(e.stack))
}

// recovered calls f, turning a panic into a *panicError.
func recovered(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{value: p, stack: debug.Stack()}
		}
	}()
	return f()
}
