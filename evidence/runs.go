package evidence

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Run statuses.
const (
	RunRunning  = "running"
	RunOK       = "ok"
	RunFailed   = "failed"
	RunCanceled = "canceled"
)

// Run is the record of one connector run. Unlike evidence records, a run's
// row changes as the run goes; it is not part of the Merkle log.
type Run struct {
	ID         string     `json:"id"`
	Connector  string     `json:"connector"`
	Type       string     `json:"type"`
	Trigger    string     `json:"trigger"` // "collect", "schedule", "startup", "api"
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Status     string     `json:"status"`
	Artifacts  int64      `json:"artifacts"`
	NewBlobs   int64      `json:"new_blobs"`
	Error      string     `json:"error"`
	ErrorClass string     `json:"error_class,omitempty"`
}

// LogLine is one log line of a run.
type LogLine struct {
	Time  time.Time       `json:"time"`
	Level string          `json:"level"`
	Msg   string          `json:"msg"`
	Attrs json.RawMessage `json:"attrs"`
}

// StartRun records r as running. The process then holds the runners lock
// (shared) until the vault is closed, so that no other process marks its
// runs interrupted.
func (v *Vault) StartRun(ctx context.Context, r Run) error {
	if _, err := v.holdRunLock(false); err != nil {
		return fmt.Errorf("record run start: %w", err)
	}
	err := v.exec(ctx, `INSERT INTO runs (id, connector, type, trigger, started_at, status) VALUES (?, ?, ?, ?, ?, ?)`,
		r.ID, r.Connector, r.Type, r.Trigger, FormatTime(r.StartedAt), RunRunning)
	if err != nil {
		return fmt.Errorf("record run start: %w", err)
	}
	return v.Flush(ctx)
}

// FinishRun records the outcome of run r (its ID, Status, Artifacts,
// NewBlobs, Error, ErrorClass and FinishedAt).
func (v *Vault) FinishRun(ctx context.Context, r Run) error {
	fin := v.opts.Now()
	if r.FinishedAt != nil {
		fin = *r.FinishedAt
	}
	err := v.exec(ctx, `UPDATE runs SET finished_at = ?, status = ?, artifacts = ?, new_blobs = ?, error = ?, error_class = ? WHERE id = ?`,
		FormatTime(fin), r.Status, r.Artifacts, r.NewBlobs, r.Error, r.ErrorClass, r.ID)
	if err != nil {
		return fmt.Errorf("record run end: %w", err)
	}
	return v.Flush(ctx)
}

// MarkInterrupted marks every run still `running` as failed (error
// "interrupted"): such a run was cut short by a crash or kill. Call it at
// start-up, before any run starts. It changes nothing while another process
// runs connectors on the vault (it holds the runners lock): that process's
// runs may be live, so marking waits for a start with no other runner. A
// start with no other runner also removes the object temp files a killed
// process left.
func (v *Vault) MarkInterrupted(ctx context.Context) error {
	alone, err := v.holdRunLock(true)
	if err != nil {
		return fmt.Errorf("mark interrupted runs: %w", err)
	}
	if !alone {
		return nil
	}
	// No other process writes objects now: temp files in objects/tmp are
	// what killed writers left half-written. No record names them.
	if err := v.obj.sweepTemp(); err != nil {
		v.opts.Logger.Warn("remove leftover object temp files", "err", err)
	}
	var n int64
	if err := v.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM runs WHERE status = ?`, RunRunning).Scan(&n); err != nil || n == 0 {
		return err
	}
	err = v.exec(ctx, `UPDATE runs SET status = ?, error = 'interrupted', finished_at = COALESCE(finished_at, ?) WHERE status = ?`,
		RunFailed, FormatTime(v.opts.Now()), RunRunning)
	if err != nil {
		return fmt.Errorf("mark interrupted runs: %w", err)
	}
	return v.Flush(ctx)
}

// Runs returns runs, newest first; connector "" means all.
func (v *Vault) Runs(ctx context.Context, connector string, limit int) ([]Run, error) {
	q := `SELECT id, connector, type, trigger, started_at, finished_at, status, artifacts, new_blobs, error, error_class FROM runs`
	var args []any
	if connector != "" {
		q += ` WHERE connector = ?`
		args = append(args, connector)
	}
	q += ` ORDER BY started_at DESC, id DESC`
	if limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, limit)
	}
	rows, err := v.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// GetRun returns one run.
func (v *Vault) GetRun(ctx context.Context, id string) (*Run, error) {
	row := v.r.QueryRowContext(ctx, `SELECT id, connector, type, trigger, started_at, finished_at, status, artifacts, new_blobs, error, error_class FROM runs WHERE id = ?`, id)
	r, err := scanRun(row.Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	return r, err
}

func scanRun(scan func(...any) error) (*Run, error) {
	var (
		r        Run
		start    string
		finished sql.NullString
	)
	if err := scan(&r.ID, &r.Connector, &r.Type, &r.Trigger, &start, &finished, &r.Status, &r.Artifacts, &r.NewBlobs, &r.Error, &r.ErrorClass); err != nil {
		return nil, err
	}
	r.StartedAt, _ = ParseTime(start)
	if finished.Valid {
		t, _ := ParseTime(finished.String)
		r.FinishedAt = &t
	}
	return &r, nil
}

// AppendRunLogs stores log lines of a run after those already stored.
func (v *Vault) AppendRunLogs(ctx context.Context, run string, lines []LogLine) error {
	if len(lines) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx) // see Append: the batch is shared
	v.writeMu.Lock()
	defer v.writeMu.Unlock()
	b, err := v.batchLocked(ctx)
	if err != nil {
		return err
	}
	var seq int64
	if err := b.tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq)+1, 0) FROM run_logs WHERE run = ?`, run).Scan(&seq); err != nil {
		return fmt.Errorf("store run logs: %w", v.batchErrLocked(b, err))
	}
	for i, l := range lines {
		attrs := l.Attrs
		if len(attrs) == 0 {
			attrs = json.RawMessage("{}")
		}
		if _, err := b.tx.ExecContext(ctx, `INSERT INTO run_logs (run, seq, time, level, msg, attrs) VALUES (?, ?, ?, ?, ?, ?)`,
			run, seq+int64(i), FormatTime(l.Time), l.Level, l.Msg, string(attrs)); err != nil {
			return fmt.Errorf("store run logs: %w", v.batchErrLocked(b, err))
		}
	}
	return nil
}

// RunLogs returns a run's log lines in order.
func (v *Vault) RunLogs(ctx context.Context, run string) ([]LogLine, error) {
	rows, err := v.r.QueryContext(ctx, `SELECT time, level, msg, attrs FROM run_logs WHERE run = ? ORDER BY seq`, run)
	if err != nil {
		return nil, fmt.Errorf("read run logs: %w", err)
	}
	defer rows.Close()
	var out []LogLine
	for rows.Next() {
		var (
			l     LogLine
			when  string
			attrs string
		)
		if err := rows.Scan(&when, &l.Level, &l.Msg, &attrs); err != nil {
			return nil, err
		}
		l.Time, _ = ParseTime(when)
		l.Attrs = json.RawMessage(attrs)
		out = append(out, l)
	}
	return out, rows.Err()
}

// LastRun returns the connector's most recent run (by start time) with the
// given status, or of any status when status is "". It returns an error
// matching ErrNotFound when there is none.
func (v *Vault) LastRun(ctx context.Context, connector, status string) (*Run, error) {
	q := `SELECT id, connector, type, trigger, started_at, finished_at, status, artifacts, new_blobs, error, error_class
		FROM runs WHERE connector = ? AND (? = '' OR status = ?) ORDER BY started_at DESC, id DESC LIMIT 1`
	r, err := scanRun(v.r.QueryRowContext(ctx, q, connector, status, status).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("no run of %s: %w", connector, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	return r, nil
}
