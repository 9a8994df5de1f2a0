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
// write), as opposed to the source.
const ClassInternal connectors.ErrorClass = "internal"

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
}

// maxStoredLogLines bounds the log lines kept per run; later ones are
// counted and the count is logged.
const maxStoredLogLines = 10000

// Run runs one configured connector now and returns its run record. The
// error is the run's own failure, already redacted; the record says the same.
func (r *Runner) Run(ctx context.Context, cc config.Connector, trigger string) (*evidence.Run, error) {
	now := r.clock()
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	run := evidence.Run{ID: id.String(), Connector: cc.Name, Type: cc.Type, Trigger: trigger, StartedAt: now().UTC(), Status: evidence.RunRunning}
	redactor := connectors.NewRedactor(config.SecretsOf(cc.Settings)...)
	capture := newCaptureHandler(r.Logger.Handler(), redactor, maxStoredLogLines)
	log := slog.New(capture).With("connector", cc.Name, "type", cc.Type, "run", run.ID)

	if err := r.Vault.StartRun(ctx, run); err != nil {
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
	bg := context.WithoutCancel(ctx)
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
	typ, ok := r.Registry.Lookup(cc.Type)
	if !ok {
		return collectResult{fmt.Errorf("unknown connector type %q", cc.Type), connectors.ClassConfig}
	}
	httpOpts := r.HTTP
	httpOpts.Logger = log
	httpOpts.Secrets = append(httpOpts.Secrets, config.SecretsOf(cc.Settings)...)
	conn, err := typ.New(cc.Settings, connectors.Deps{
		Name:   cc.Name,
		HTTP:   connectors.NewHTTPClient(httpOpts),
		Logger: log,
		Now:    r.clock(),
	})
	if err != nil {
		return collectResult{fmt.Errorf("configure: %w", err), connectors.ClassConfig}
	}
	if cc.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(cc.Timeout))
		defer cancel()
	}

	var mapErrs []error
	var vaultErr error
	emit := func(a connectors.Artifact) error {
		if c, ok := a.Content.(io.Closer); ok {
			defer c.Close()
		}
		controls, err := r.Mapper.Map(a.Kind, a.Attributes)
		if err != nil {
			// The artifact still lands with the controls that are valid;
			// the run fails so that someone fixes the source.
			mapErrs = append(mapErrs, fmt.Errorf("%s: %w", a.Subject, err))
			log.Warn("artifact has invalid controls", "subject", a.Subject, "err", err)
		}
		prov, err := connectors.CanonicalJSON(a.Provenance)
		if err != nil {
			return err
		}
		_, newBlob, err := r.Vault.Append(ctx, evidence.Input{
			Run: run.ID, Connector: cc.Name, Type: cc.Type,
			Kind: a.Kind, Subject: a.Subject, MediaType: a.MediaType, SourceURL: a.SourceURL,
			EffectiveAt: a.EffectiveAt, Provenance: prov, Attributes: a.Attributes, Controls: controls,
			Content: a.Content,
		})
		if err != nil {
			if ctx.Err() == nil {
				vaultErr = err
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
	cerr := conn.Collect(ctx, emit)

	// Whatever landed is committed and signed, even if the run failed
	// part-way: those records are true observations.
	bg := context.WithoutCancel(ctx)
	var sealErr error
	if err := r.Vault.Flush(bg); err != nil {
		sealErr = err
	} else if _, err := r.Vault.SignCheckpoint(bg); err != nil {
		sealErr = fmt.Errorf("sign checkpoint: %w", err)
	}

	switch {
	case vaultErr != nil:
		return collectResult{fmt.Errorf("vault: %w", vaultErr), ClassInternal}
	case errors.Is(sealErr, evidence.ErrTimestamp):
		// The records are in and signed; only the trusted time is missing.
		return collectResult{fmt.Errorf("checkpoint signed, but not time-stamped: %w", sealErr), connectors.ClassUpstream}
	case sealErr != nil:
		return collectResult{sealErr, ClassInternal}
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
