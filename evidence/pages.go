package evidence

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// RunsBefore returns up to limit runs, newest first (as Runs orders them);
// connector "" means all. With beforeID set, only runs ordered after the run
// (beforeStart, beforeID) are returned: the next page of a listing.
func (v *Vault) RunsBefore(ctx context.Context, connector string, beforeStart time.Time, beforeID string, limit int) ([]Run, error) {
	q := `SELECT id, connector, type, trigger, started_at, finished_at, status, artifacts, new_blobs, error, error_class FROM runs WHERE 1=1`
	var args []any
	if connector != "" {
		q += ` AND connector = ?`
		args = append(args, connector)
	}
	if beforeID != "" {
		q += ` AND (started_at < ? OR (started_at = ? AND id < ?))`
		s := FormatTime(beforeStart)
		args = append(args, s, s, beforeID)
	}
	q += ` ORDER BY started_at DESC, id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := v.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	defer rows.Close()
	out := []Run{}
	for rows.Next() {
		r, err := scanRun(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// RunLogsFrom returns up to limit log lines of run, from line number from
// (0-based) on, and the number of the line after the last one returned.
func (v *Vault) RunLogsFrom(ctx context.Context, run string, from int64, limit int) ([]LogLine, int64, error) {
	rows, err := v.r.QueryContext(ctx, `SELECT seq, time, level, msg, attrs FROM run_logs WHERE run = ? AND seq >= ? ORDER BY seq LIMIT ?`, run, from, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("read run logs: %w", err)
	}
	defer rows.Close()
	out := []LogLine{}
	next := from
	for rows.Next() {
		var (
			l           LogLine
			seq         int64
			when, attrs string
		)
		if err := rows.Scan(&seq, &when, &l.Level, &l.Msg, &attrs); err != nil {
			return nil, 0, err
		}
		l.Time, _ = ParseTime(when)
		l.Attrs = json.RawMessage(attrs)
		out = append(out, l)
		next = seq + 1
	}
	return out, next, rows.Err()
}
