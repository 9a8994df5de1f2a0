package evidence

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/gowebpki/jcs"
	"golang.org/x/mod/sumdb/tlog"
)

// Input is one artifact to append, as the hub hands it to the vault.
type Input struct {
	Run         string
	Connector   string
	Type        string
	Kind        string
	Subject     string
	MediaType   string
	SourceURL   string
	EffectiveAt time.Time // zero when unknown
	Provenance  json.RawMessage
	Attributes  map[string]string
	Controls    []string
	// Content is read to EOF. Content of any size streams through bounded
	// memory. The caller closes it.
	Content io.Reader
}

// Group commit: a batch commits when it holds batchMax records or is
// batchAge old, whichever comes first. With synchronous=FULL one fsync then
// covers many records.
const (
	batchMax = 1000
	batchAge = 50 * time.Millisecond
)

// batch is the open write transaction shared by every Append until it
// commits. Guarded by Vault.writeMu.
type batch struct {
	tx        *sql.Tx
	n         int
	timer     *time.Timer
	content   *sql.Stmt
	record    *sql.Stmt
	savepoint *sql.Stmt
	release   *sql.Stmt
	readH     *sql.Stmt
}

// writeState is the appender's view of the log. Guarded by Vault.writeMu.
type writeState struct {
	loaded bool
	size   int64               // next leaf index
	cache  map[int64]tlog.Hash // recently written tree hashes (the right edge)
	cur    *batch
	// lost counts batches given up (a failed commit or a statement that
	// rolled the transaction back); lostErr says why the last one was.
	// After a loss the in-memory log is re-read from the database, so the
	// next batch starts from what really committed.
	lost    int64
	lostErr error
}

// Append stores in's content (objects over 64 KiB are durable before this
// returns) and adds a record, its controls and its tree hashes to the current
// batch, all or nothing. The record is durable once the batch commits: within
// batchAge, or at Flush. newBlob reports whether the content was new to the
// vault.
func (v *Vault) Append(ctx context.Context, in Input) (rec *Record, newBlob bool, err error) {
	if in.Content == nil {
		in.Content = eofReader{}
	}
	// Content first, outside the lock: large objects stream to disk while
	// other connectors append.
	buf := inlinePool.Get().(*[]byte)
	defer inlinePool.Put(buf)
	n, rerr := io.ReadFull(in.Content, *buf)
	var (
		digest Digest
		size   int64
		inline []byte
	)
	switch {
	case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
		inline = (*buf)[:n]
		digest = sha256.Sum256(inline)
		size = int64(n)
	case rerr != nil:
		return nil, false, fmt.Errorf("read content of %s: %w", in.Subject, rerr)
	default:
		if digest, size, err = v.obj.put(*buf, in.Content); err != nil {
			return nil, false, fmt.Errorf("store content of %s: %w", in.Subject, v.diskErr(err))
		}
	}

	id, err := uuid.NewV7()
	if err != nil {
		return nil, false, err
	}
	prov := json.RawMessage("{}")
	if len(in.Provenance) > 0 {
		// Keep the provenance in its canonical form, exactly as signed.
		if prov, err = jcs.Transform(in.Provenance); err != nil {
			return nil, false, fmt.Errorf("provenance of %s: %w", in.Subject, err)
		}
	}
	controls := slices.Clone(in.Controls)
	slices.Sort(controls)
	controls = slices.Compact(controls)
	if controls == nil {
		controls = []string{}
	}
	rec = &Record{
		ID:          id.String(),
		Run:         in.Run,
		Connector:   in.Connector,
		Type:        in.Type,
		Kind:        in.Kind,
		Subject:     in.Subject,
		CollectedAt: v.opts.Now().UTC().Truncate(time.Microsecond),
		SHA256:      digest,
		Size:        size,
		MediaType:   in.MediaType,
		SourceURL:   in.SourceURL,
		Provenance:  prov,
		Attributes:  in.Attributes,
		Controls:    controls,
	}
	if !in.EffectiveAt.IsZero() {
		t := in.EffectiveAt.UTC().Truncate(time.Microsecond)
		rec.EffectiveAt = &t
	}
	if rec.Attributes == nil {
		rec.Attributes = map[string]string{}
	}
	leaf := rec.leafBytes(prov)

	// The batch is shared: a statement interrupted by one caller's
	// cancellation would make SQLite roll back every caller's records. So
	// cancellation is honoured before the write, never during it.
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	wctx := context.WithoutCancel(ctx)
	v.writeMu.Lock()
	defer v.writeMu.Unlock()
	b, err := v.batchLocked(wctx)
	if err != nil {
		return nil, false, err
	}
	rec.Index = v.ws.size
	newBlob, err = v.insertLocked(wctx, b, rec, leaf, inline)
	if err != nil {
		return nil, false, fmt.Errorf("append record for %s: %w", in.Subject, v.diskErr(err))
	}
	b.n++
	if b.n >= batchMax {
		if err := v.commitLocked(); err != nil {
			return nil, false, err
		}
	}
	return rec, newBlob, nil
}

// inlinePool recycles the buffers content is first read into: one append
// reads at most InlineMax+1 bytes into memory, whatever the content's size.
var inlinePool = sync.Pool{New: func() any { b := make([]byte, InlineMax+1); return &b }}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// insertLocked writes one record and its tree hashes inside a savepoint, so that a failure
// leaves the batch's other records intact and no part of this one.
func (v *Vault) insertLocked(ctx context.Context, b *batch, rec *Record, leaf, inline []byte) (newBlob bool, err error) {
	if _, err := b.savepoint.ExecContext(ctx); err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			_, rbErr := b.tx.ExecContext(context.WithoutCancel(ctx), `ROLLBACK TO rec; RELEASE rec`)
			if rbErr != nil || txLost(err) {
				// SQLite may have rolled the whole transaction back (a
				// full or failing disk): give the batch up entirely.
				err = v.abortLocked(b, errors.Join(err, rbErr))
			}
		}
	}()
	var data any
	if rec.Size <= InlineMax {
		data = inline
	}
	res, err := b.content.ExecContext(ctx, rec.SHA256[:], rec.Size, data)
	if err != nil {
		return false, fmt.Errorf("insert content: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		newBlob = true
	}
	var eff any
	if rec.EffectiveAt != nil {
		eff = FormatTime(*rec.EffectiveAt)
	}
	hashes, err := tlog.StoredHashes(rec.Index, leaf, v.hashReaderLocked(ctx, b))
	if err != nil {
		return false, fmt.Errorf("tree hashes: %w", err)
	}
	if _, err := b.record.ExecContext(ctx, rec.Index, rec.ID, rec.Run, rec.Connector, rec.Type, rec.Kind, rec.Subject,
		FormatTime(rec.CollectedAt), eff, rec.SHA256[:], rec.Size, string(appendStrings(nil, rec.Controls)),
		string(appendStringMap(nil, rec.Attributes)), leaf,
		joinHashes(hashes)); err != nil {
		return false, fmt.Errorf("insert record: %w", err)
	}
	base := tlog.StoredHashIndex(0, rec.Index)
	if _, err := b.release.ExecContext(ctx); err != nil {
		return false, err
	}
	// Only now, with the record whole in the batch, advance the log.
	for i, h := range hashes {
		v.ws.cache[base+int64(i)] = h
	}
	v.ws.size++
	if len(v.ws.cache) > 4096 {
		v.pruneCacheLocked()
	}
	return newBlob, nil
}

// hashReaderLocked reads tree hashes from the cache, else from the open
// transaction (which sees this batch's uncommitted hashes).
func (v *Vault) hashReaderLocked(ctx context.Context, b *batch) tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, id := range idx {
			if h, ok := v.ws.cache[id]; ok {
				out[i] = h
				continue
			}
			h, err := readStoredHash(id, func(leaf int64) (raw []byte, err error) {
				return raw, b.readH.QueryRowContext(ctx, leaf).Scan(&raw)
			})
			if err != nil {
				return nil, err
			}
			out[i] = h
			v.ws.cache[id] = out[i]
		}
		return out, nil
	})
}

// pruneCacheLocked keeps only the hashes future appends read: the roots of
// the complete subtrees on the tree's right edge.
func (v *Vault) pruneCacheLocked() {
	keep := make(map[int64]tlog.Hash, 64)
	n := v.ws.size
	for l := 0; n>>l > 0; l++ {
		if (n>>l)&1 == 1 {
			id := tlog.StoredHashIndex(l, (n>>l)-1)
			if h, ok := v.ws.cache[id]; ok {
				keep[id] = h
			}
		}
	}
	v.ws.cache = keep
}

// batchLocked returns the open batch, beginning one if needed.
func (v *Vault) batchLocked(ctx context.Context) (*batch, error) {
	if v.ws.cur != nil {
		return v.ws.cur, nil
	}
	if !v.ws.loaded {
		var size int64
		if err := v.w.QueryRowContext(ctx, `SELECT COALESCE(MAX(idx)+1, 0) FROM records`).Scan(&size); err != nil {
			return nil, fmt.Errorf("read log size: %w", v.diskErr(err))
		}
		v.ws.size, v.ws.cache, v.ws.loaded = size, map[int64]tlog.Hash{}, true
	}
	// The batch outlives the caller's ctx: other appenders share it.
	tx, err := v.w.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return nil, fmt.Errorf("begin write: %w", v.diskErr(err))
	}
	b := &batch{tx: tx}
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		s, err = tx.Prepare(q)
		return s
	}
	b.content = prep(`INSERT OR IGNORE INTO content (sha256, size, data) VALUES (?, ?, ?)`)
	b.record = prep(`INSERT INTO records (idx, id, run, connector, type, kind, subject, collected_at, effective_at,
		sha256, size, controls, attributes, leaf, hashes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	b.savepoint = prep(`SAVEPOINT rec`)
	b.release = prep(`RELEASE rec`)
	b.readH = prep(`SELECT hashes FROM records WHERE idx = ?`)
	if err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("prepare write: %w", v.diskErr(err))
	}
	b.timer = time.AfterFunc(batchAge, func() {
		v.writeMu.Lock()
		defer v.writeMu.Unlock()
		if v.ws.cur == b {
			if err := v.commitLocked(); err != nil {
				v.opts.Logger.Error("vault commit failed", "err", err)
			}
		}
	})
	v.ws.cur = b
	return b, nil
}

// commitLocked commits the open batch. A failed commit loses the batch: it
// is rolled back whole, counted (see LostBatches), and the next batch starts
// from the log as the database holds it, so the vault keeps working once the
// disk does.
func (v *Vault) commitLocked() error {
	b := v.ws.cur
	if b == nil {
		return nil
	}
	v.ws.cur = nil
	b.timer.Stop()
	if err := b.tx.Commit(); err != nil {
		return v.abortLocked(b, err)
	}
	return nil
}

// abortLocked gives up batch b after err: it rolls it back, forgets the
// in-memory view of the log (re-read at the next batch) and counts the loss.
// It returns the error to report, naming the vault and what the disk did.
func (v *Vault) abortLocked(b *batch, err error) error {
	if v.ws.cur == b {
		v.ws.cur = nil
	}
	b.timer.Stop()
	b.tx.Rollback()
	// After a failed COMMIT database/sql considers the transaction done,
	// but SQLite may still hold it open on the connection: end it there
	// too (an error here only means none was open).
	v.w.ExecContext(context.Background(), `ROLLBACK`)
	v.ws.loaded, v.ws.cache = false, nil
	v.ws.lost++
	v.ws.lostErr = fmt.Errorf("vault write failed, %d records of the batch were not stored: %w", b.n, v.diskErr(err))
	return v.ws.lostErr
}

// LostBatches returns how many batches were given up since the vault was
// opened, and why the last one was. A run compares the count at its start
// and end: records Append accepted are durable only if no batch was lost
// in between.
func (v *Vault) LostBatches() (int64, error) {
	v.writeMu.Lock()
	defer v.writeMu.Unlock()
	return v.ws.lost, v.ws.lostErr
}

// Flush commits the open batch: every record Append returned since the last
// lost batch (see LostBatches) is then durable.
func (v *Vault) Flush(ctx context.Context) error {
	v.writeMu.Lock()
	defer v.writeMu.Unlock()
	return v.commitLocked()
}

// execLocked runs a write outside the Merkle log (run records, logs) in the
// current batch, or on its own when none is open.
func (v *Vault) exec(ctx context.Context, q string, args ...any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx) // see Append: the batch is shared
	v.writeMu.Lock()
	defer v.writeMu.Unlock()
	if b := v.ws.cur; b != nil {
		_, err := b.tx.ExecContext(ctx, q, args...)
		return v.batchErrLocked(b, err)
	}
	_, err := v.w.ExecContext(ctx, q, args...)
	return v.diskErr(err)
}

// batchErrLocked handles the error of a statement run in batch b: one that
// may have rolled the transaction back gives the whole batch up.
func (v *Vault) batchErrLocked(b *batch, err error) error {
	if err != nil && txLost(err) {
		return v.abortLocked(b, err)
	}
	return v.diskErr(err)
}

// joinHashes packs the hashes appending one leaf stored, for its row.
func joinHashes(hs []tlog.Hash) []byte {
	b := make([]byte, 0, len(hs)*tlog.HashSize)
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

// readStoredHash finds the tree hash at stored index id in the hashes
// column of the leaf that stored it; row reads that column for a leaf.
func readStoredHash(id int64, row func(leaf int64) ([]byte, error)) (tlog.Hash, error) {
	var h tlog.Hash
	level, n := tlog.SplitStoredHashIndex(id)
	leaf := ((n + 1) << level) - 1
	raw, err := row(leaf)
	if err != nil {
		return h, fmt.Errorf("read tree hash %d (record %d): %w", id, leaf, err)
	}
	if len(raw) < (level+1)*tlog.HashSize {
		return h, fmt.Errorf("tree hash %d: record %d holds only %d hashes", id, leaf, len(raw)/tlog.HashSize)
	}
	copy(h[:], raw[level*tlog.HashSize:])
	return h, nil
}
