package evidence

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"
)

// Filter selects records. Zero fields select everything.
type Filter struct {
	Controls   []string // any of these control IDs
	Connectors []string // any of these connector names
	Kinds      []string // any of these kinds
	Since      time.Time
	Until      time.Time // exclusive
	Limit      int       // 0: no limit
	// Below, when > 0, selects only records with a leaf index below it:
	// those a checkpoint of that size covers.
	Below int64
	// From selects only records with a leaf index of at least From.
	From int64
	// Match, when set, is a further test each record must pass, applied
	// after the fields above and before Limit (an AI system's membership,
	// computed at read time from the config). Count then streams.
	Match func(*Record) bool
}

// Records calls fn for each record matching f, in log order, streaming: memory
// does not grow with the number of records. Records are decoded from their
// signed leaf bytes, so what is shown is what was signed.
func (v *Vault) Records(ctx context.Context, f Filter, fn func(*Record) error) error {
	return v.Leaves(ctx, f, func(r *Record, _ []byte) error { return fn(r) })
}

// Leaves is Records, also passing each record's leaf bytes as stored (valid
// only during the call).
func (v *Vault) Leaves(ctx context.Context, f Filter, fn func(*Record, []byte) error) error {
	where, args := f.where()
	q := "SELECT idx, leaf FROM records" + where + " ORDER BY idx"
	if f.Limit > 0 && f.Match == nil {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := v.r.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("list records: %w", err)
	}
	defer rows.Close()
	matched := 0
	for rows.Next() {
		var (
			idx  int64
			leaf []byte
		)
		if err := rows.Scan(&idx, &leaf); err != nil {
			return fmt.Errorf("list records: %w", err)
		}
		rec, err := ParseLeafFast(leaf)
		if err != nil {
			return fmt.Errorf("record at index %d: %w: run `aimsvault verify`", idx, err)
		}
		rec.Index = idx
		if f.Match != nil {
			if !f.Match(rec) {
				continue
			}
			if matched++; f.Limit > 0 && matched > f.Limit {
				break
			}
		}
		if err := fn(rec, leaf); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Count returns how many records match f (Limit aside).
func (v *Vault) Count(ctx context.Context, f Filter) (int64, error) {
	if f.Match != nil {
		f.Limit = 0
		var n int64
		err := v.Records(ctx, f, func(*Record) error { n++; return nil })
		return n, err
	}
	where, args := f.where()
	var n int64
	if err := v.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM records"+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count records: %w", err)
	}
	return n, nil
}

// where renders f as an SQL WHERE clause over records.
func (f Filter) where() (string, []any) {
	var (
		where []string
		args  []any
	)
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		where = append(where, col+" IN ("+strings.TrimSuffix(strings.Repeat("?,", len(vals)), ",")+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in("connector", f.Connectors)
	in("kind", f.Kinds)
	if len(f.Controls) > 0 {
		var anyOf []string
		for _, c := range f.Controls {
			anyOf = append(anyOf, "instr(controls, ?) > 0")
			args = append(args, string(appendString(nil, c)))
		}
		where = append(where, "("+strings.Join(anyOf, " OR ")+")")
	}
	if !f.Since.IsZero() {
		where = append(where, "collected_at >= ?")
		args = append(args, FormatTime(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "collected_at < ?")
		args = append(args, FormatTime(f.Until))
	}
	if f.Below > 0 {
		where = append(where, "idx < ?")
		args = append(args, f.Below)
	}
	if f.From > 0 {
		where = append(where, "idx >= ?")
		args = append(args, f.From)
	}
	if len(where) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(where, " AND "), args
}

// Record returns the record with the given id (a full UUID, or a unique
// prefix of at least 8 characters).
func (v *Vault) Record(ctx context.Context, id string) (*Record, error) {
	id = strings.ToLower(strings.TrimSpace(id))
	var rows *sql.Rows
	var err error
	if len(id) == 36 {
		rows, err = v.r.QueryContext(ctx, `SELECT idx, leaf FROM records WHERE id = ?`, id)
	} else if len(id) >= 8 {
		rows, err = v.r.QueryContext(ctx, `SELECT idx, leaf FROM records WHERE id >= ? AND id < ? LIMIT 2`, id, id+"\xff")
	} else {
		return nil, fmt.Errorf("record id %q: give the full id or at least 8 characters", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read record %s: %w", id, err)
	}
	defer rows.Close()
	var found *Record
	for rows.Next() {
		if found != nil {
			return nil, fmt.Errorf("record id prefix %q matches several records: give more characters", id)
		}
		var (
			idx  int64
			leaf []byte
		)
		if err := rows.Scan(&idx, &leaf); err != nil {
			return nil, err
		}
		if found, err = ParseLeafFast(leaf); err != nil {
			return nil, fmt.Errorf("record %s: %w", id, err)
		}
		found.Index = idx
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("record %s: %w", id, ErrNotFound)
	}
	return found, nil
}

// OpenContent returns a reader of the content with digest d. The reader
// hashes as it streams and returns ErrDigestMismatch at EOF (instead of
// io.EOF) if the bytes are not what was recorded, so a tampered object can
// never be read as good.
func (v *Vault) OpenContent(ctx context.Context, d Digest) (io.ReadCloser, int64, error) {
	var (
		size int64
		data []byte
	)
	err := v.r.QueryRowContext(ctx, `SELECT size, data FROM content WHERE sha256 = ?`, d[:]).Scan(&size, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, fmt.Errorf("content %s: %w", d, ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read content %s: %w", d, err)
	}
	if data != nil || size == 0 {
		return &checkedReader{r: strings.NewReader(string(data)), h: sha256.New(), want: d, size: size}, size, nil
	}
	f, err := v.obj.open(d)
	if err != nil {
		return nil, 0, err
	}
	return &checkedReader{r: f, c: f, h: sha256.New(), want: d, size: size}, size, nil
}

type checkedReader struct {
	r    io.Reader
	c    io.Closer
	h    hash.Hash
	n    int64
	size int64
	want Digest
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if err == io.EOF {
		var got Digest
		c.h.Sum(got[:0])
		if got != c.want || c.n != c.size {
			return n, fmt.Errorf("content %s: %w (read %d bytes hashing to %s)", c.want, ErrDigestMismatch, c.n, got)
		}
	}
	return n, err
}

func (c *checkedReader) Close() error {
	if c.c != nil {
		return c.c.Close()
	}
	return nil
}
