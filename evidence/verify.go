package evidence

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// Problem is one thing Verify found wrong. Exactly one of Record, Object and
// Checkpoint names what is at fault (none for vault-wide problems).
type Problem struct {
	Record     string `json:"record,omitempty"`     // record id, as `evidence list` shows it
	Index      *int64 `json:"index,omitempty"`      // leaf index, when the id itself is unreadable
	Object     string `json:"object,omitempty"`     // content sha256
	Checkpoint *int64 `json:"checkpoint,omitempty"` // checkpoint tree size
	Message    string `json:"message"`
}

func (p Problem) String() string {
	switch {
	case p.Record != "":
		return "record " + p.Record + ": " + p.Message
	case p.Index != nil:
		return fmt.Sprintf("record at index %d: %s", *p.Index, p.Message)
	case p.Object != "":
		return "object " + p.Object + ": " + p.Message
	case p.Checkpoint != nil:
		return fmt.Sprintf("checkpoint %d: %s", *p.Checkpoint, p.Message)
	}
	return p.Message
}

// Report is the outcome of Verify; its JSON form is `verify --format json`.
type Report struct {
	OK          bool      `json:"ok"`
	Records     int64     `json:"records"`
	Checkpoints int64     `json:"checkpoints"`
	Objects     int64     `json:"objects"`
	Problems    []Problem `json:"problems"`
	Truncated   int64     `json:"problems_not_shown,omitempty"`
	// Incremental is set when only what follows the last fully verified
	// checkpoint was recomputed (VerifyIncremental); From is that
	// checkpoint's size, the first record index checked.
	Incremental bool  `json:"incremental,omitempty"`
	From        int64 `json:"from,omitempty"`
}

// maxProblems bounds the report's memory on a badly damaged vault.
const maxProblems = 1000

// problems collects Problems from several goroutines, in a stable order at
// the end.
type problems struct {
	mu        sync.Mutex
	list      []sortedProblem
	truncated int64
}

type sortedProblem struct {
	order [2]int64 // (phase, index): vault-wide, records, checkpoints, objects
	p     Problem
}

const (
	phaseVault = iota
	phaseRecord
	phaseCheckpoint
	phaseObject
)

func (ps *problems) add(phase int, index int64, p Problem) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if len(ps.list) >= maxProblems {
		ps.truncated++
		return
	}
	ps.list = append(ps.list, sortedProblem{[2]int64{int64(phase), index}, p})
}

// Verify recomputes everything the vault claims: each record's leaf bytes and
// the columns that mirror them, every content hash and size (inline and in
// objects/), every stored tree hash, and every checkpoint's signature and
// root. It names each record, object or checkpoint that does not match, and
// keeps going after the first. The error is for failures to read at all.
//
// Checkpoints are checked with the verifier key recorded at init; the signing
// key file, when readable, must be that key's private half. pinnedKey, when
// not empty, must equal the recorded key too.
//
// The log and the content are checked side by side, and record decoding is
// spread over the CPUs: a 100,000-record vault verifies in a few seconds.
func (v *Vault) Verify(ctx context.Context, pinnedKey string) (*Report, error) {
	return v.verify(ctx, pinnedKey, nil)
}

func (v *Vault) verify(ctx context.Context, pinnedKey string, mark *verifiedMark) (*Report, error) {
	var ps problems
	vkey := v.vkey
	if pinnedKey != "" && strings.TrimSpace(pinnedKey) != vkey {
		ps.add(phaseVault, 0, Problem{Message: "the vault's verifier key is not the pinned key: checkpoints may have been re-signed"})
	}
	if b, err := os.ReadFile(v.opts.KeyFile); err == nil {
		if k, err := verifierFromSigner(strings.TrimSpace(string(b))); err != nil || k != vkey {
			ps.add(phaseVault, 0, Problem{Message: "the signing key " + v.opts.KeyFile + " is not the key recorded at init"})
		}
	}
	if b, err := os.ReadFile(filepath.Join(v.opts.Dir, pubFile)); err == nil && strings.TrimSpace(string(b)) != vkey {
		ps.add(phaseVault, 0, Problem{Message: pubFile + " differs from the verifier key recorded at init"})
	}

	rep := &Report{Problems: []Problem{}}
	var (
		wg               sync.WaitGroup
		logErr, contErr  error
		objects, lastID  int64
		records, cpCount int64
		from             int64
		edge             = map[int64]tlog.Hash{}
		cpOK             = true
	)
	if mark != nil {
		from, lastID = mark.Size, mark.ContentID
		rep.Incremental, rep.From = true, from
		var err error
		if edge, cpCount, cpOK, err = v.verifyUpTo(ctx, &ps, vkey, mark); err != nil {
			return nil, err
		}
		if !cpOK {
			// The bookmark cannot be trusted: check everything (the
			// problem found stays in the report).
			from, lastID, cpCount, edge = 0, 0, 0, map[int64]tlog.Hash{}
			rep.Incremental, rep.From = false, 0
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		objects, lastID, contErr = v.verifyContent(ctx, &ps, lastID, from)
	}()
	var (
		n      int64
		lastCP *Checkpoint
	)
	n, records, lastCP, logErr = v.verifyLog(ctx, &ps, vkey, from, edge)
	cpCount += n
	wg.Wait()
	if err := errors.Join(logErr, contErr); err != nil {
		return nil, err
	}
	slices.SortStableFunc(ps.list, func(a, b sortedProblem) int {
		if c := cmp.Compare(a.order[0], b.order[0]); c != 0 {
			return c
		}
		return cmp.Compare(a.order[1], b.order[1])
	})
	for _, p := range ps.list {
		rep.Problems = append(rep.Problems, p.p)
	}
	rep.Records, rep.Checkpoints, rep.Objects, rep.Truncated = records, cpCount, objects, ps.truncated
	rep.OK = len(rep.Problems) == 0 && rep.Truncated == 0 && cpOK
	if rep.OK && lastCP != nil {
		v.saveVerifiedMark(lastCP, lastID)
	}
	return rep, nil
}

// recordRow is one row of records, as verify reads it.
type recordRow struct {
	idx                                  int64
	id, run, conn, typ, kind, subj, coll string
	ctl, attrs                           string
	eff                                  sql.NullString
	sum, leaf                            []byte
	size                                 int64
}

// verifyLog streams the records in log order, rebuilding the tree from the
// leaves with only its right edge in memory and checking each checkpoint's
// root when the rebuilt tree reaches its size. Decoding each leaf and
// comparing the mirror columns runs on worker goroutines.
//
// With from > 0 it starts at leaf from, with edge holding the right edge of
// the tree of the first from leaves (see verifyUpTo), and checks only the
// checkpoints above from.
func (v *Vault) verifyLog(ctx context.Context, ps *problems, vkey string, from int64, edge map[int64]tlog.Hash) (checkpoints, records int64, last *Checkpoint, err error) {
	rows, err := v.r.QueryContext(ctx, `SELECT idx, id, run, connector, type, kind, subject, collected_at, effective_at,
		sha256, size, controls, attributes, leaf, hashes FROM records WHERE idx >= ? ORDER BY idx`, from)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("verify: read records: %w", err)
	}
	defer rows.Close()

	var cps []*Checkpoint
	if err := v.Checkpoints(ctx, func(cp *Checkpoint) error {
		if cp.Size > from || from == 0 {
			cps = append(cps, cp)
		}
		return nil
	}); err != nil {
		return 0, 0, nil, err
	}
	reader := tlog.HashReaderFunc(func(ids []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(ids))
		for i, id := range ids {
			h, ok := edge[id]
			if !ok {
				return nil, fmt.Errorf("tree hash %d not recomputed", id)
			}
			out[i] = h
		}
		return out, nil
	})
	cpi := 0
	checkRootsAt := func(n int64) {
		for cpi < len(cps) && cps[cpi].Size == n {
			v.verifyCheckpoint(ps, cps[cpi], n, reader, vkey)
			last = cps[cpi]
			checkpoints++
			cpi++
		}
	}

	work := make(chan []recordRow, 4)
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range work {
				for i := range batch {
					checkRecord(ps, &batch[i])
				}
			}
		}()
	}
	defer func() {
		close(work)
		wg.Wait()
	}()

	const batchSize = 256
	batch := make([]recordRow, 0, batchSize)
	n := from
	for rows.Next() {
		var (
			r      recordRow
			stored []byte
		)
		if err := rows.Scan(&r.idx, &r.id, &r.run, &r.conn, &r.typ, &r.kind, &r.subj, &r.coll, &r.eff, &r.sum, &r.size, &r.ctl, &r.attrs, &r.leaf, &stored); err != nil {
			return 0, 0, nil, fmt.Errorf("verify: read record: %w", err)
		}
		checkRootsAt(n)
		if r.idx != n {
			i := n
			ps.add(phaseRecord, n, Problem{Index: &i, Message: fmt.Sprintf("log has a gap: next record has index %d", r.idx)})
			break // the tree cannot be rebuilt past a gap
		}
		// Rebuild the tree from the leaf bytes and compare the stored hashes.
		computed, err := tlog.StoredHashes(n, r.leaf, reader)
		if err != nil {
			return 0, 0, nil, fmt.Errorf("verify: rebuild tree at %d: %w", n, err)
		}
		base := tlog.StoredHashIndex(0, n)
		for i, h := range computed {
			edge[base+int64(i)] = h
		}
		if want := joinHashes(computed); !bytes.Equal(stored, want) {
			msg := "stored tree hashes do not match the tree rebuilt from the records"
			if len(stored) < tlog.HashSize || !bytes.Equal(stored[:tlog.HashSize], want[:tlog.HashSize]) {
				msg = "leaf hash does not match the record's bytes: the record was altered after it was logged"
			}
			ps.add(phaseRecord, n, Problem{Record: r.id, Message: msg})
		}
		n++
		if n%4096 == 0 {
			pruneEdge(edge, n)
		}
		batch = append(batch, r)
		if len(batch) == batchSize {
			work <- batch
			batch = make([]recordRow, 0, batchSize)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, 0, nil, fmt.Errorf("verify: read records: %w", err)
	}
	if len(batch) > 0 {
		work <- batch
	}
	checkRootsAt(n)
	for ; cpi < len(cps); cpi++ {
		size := cps[cpi].Size
		ps.add(phaseCheckpoint, size, Problem{Checkpoint: &size, Message: fmt.Sprintf("signs a tree of %d records but the log holds %d: records were removed", size, n)})
		checkpoints++
	}
	return checkpoints, n, last, nil
}

// checkRecord decodes a record's signed leaf strictly and compares every
// mirror column with it: what `evidence list` shows is what was signed.
func checkRecord(ps *problems, r *recordRow) {
	name := r.id
	bad := func(format string, args ...any) {
		ps.add(phaseRecord, r.idx, Problem{Record: name, Message: fmt.Sprintf(format, args...)})
	}
	rec, err := ParseLeaf(r.leaf)
	if err != nil {
		bad("signed leaf bytes unreadable: %v", err)
		return
	}
	if rec.ID != r.id {
		bad("id column differs from the signed record (%s)", rec.ID)
		name = rec.ID
	}
	mirror := []struct{ col, got, want string }{
		{"run", r.run, rec.Run}, {"connector", r.conn, rec.Connector}, {"type", r.typ, rec.Type},
		{"kind", r.kind, rec.Kind}, {"subject", r.subj, rec.Subject},
		{"collected_at", r.coll, FormatTime(rec.CollectedAt)},
		{"sha256", hex.EncodeToString(r.sum), rec.SHA256.String()},
		{"size", strconv.FormatInt(r.size, 10), strconv.FormatInt(rec.Size, 10)},
		{"effective_at", r.eff.String, optTime(rec.EffectiveAt)},
		{"controls", r.ctl, string(appendStrings(nil, rec.Controls))},
		{"attributes", r.attrs, string(appendStringMap(nil, rec.Attributes))},
	}
	for _, m := range mirror {
		if m.got != m.want {
			bad("%s is %s in the database but %s in the signed record", m.col, m.got, m.want)
		}
	}
	if r.eff.Valid != (rec.EffectiveAt != nil) {
		bad("effective_at presence differs from the signed record")
	}
}

func (v *Vault) verifyCheckpoint(ps *problems, cp *Checkpoint, n int64, reader tlog.HashReader, vkey string) {
	size := cp.Size
	bad := func(format string, args ...any) {
		ps.add(phaseCheckpoint, size, Problem{Checkpoint: &size, Message: fmt.Sprintf(format, args...)})
	}
	origin, sz, root, err := ParseCheckpoint(cp.Note, vkey)
	if err != nil {
		bad("%v", err)
		return
	}
	if origin != v.origin {
		bad("origin %q, want %q", origin, v.origin)
	}
	if sz != cp.Size || root != cp.Root {
		bad("signed note differs from the checkpoint's size or root columns")
	}
	want, err := tlog.TreeHash(n, reader)
	if err != nil {
		bad("recompute root: %v", err)
		return
	}
	if root != want {
		bad("signed root does not match the tree rebuilt from the records: history was rewritten")
	}
	if cp.TSR != nil {
		if _, err := CheckTimestamp(cp.TSR, cp.Note); err != nil {
			bad("%v", err)
		}
	}
}

// verifyContent re-hashes every distinct content, inline or in objects/, and
// checks every record names content that exists with its size.
//
// With afterID > 0 only content rows above that id are re-hashed, and only
// records from leaf fromIdx on are checked against their content.
func (v *Vault) verifyContent(ctx context.Context, ps *problems, afterID, fromIdx int64) (objects, lastID int64, err error) {
	lastID = afterID
	rows, err := v.r.QueryContext(ctx, `SELECT id, sha256, size, data FROM content WHERE id > ? ORDER BY id`, afterID)
	if err != nil {
		return 0, 0, fmt.Errorf("verify: read content: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id        int64
			sum, data []byte
			size      int64
		)
		if err := rows.Scan(&id, &sum, &size, &data); err != nil {
			return 0, 0, fmt.Errorf("verify: read content: %w", err)
		}
		lastID = id
		var d Digest
		copy(d[:], sum)
		objects++
		if err := v.checkContent(d, size, data); err != nil {
			ps.add(phaseObject, id, Problem{Object: d.String(), Message: err.Error()})
		}
	}
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("verify: read content: %w", err)
	}
	orphans, err := v.r.QueryContext(ctx, `SELECT r.idx, r.id, r.size, c.size FROM records r LEFT JOIN content c ON c.sha256 = r.sha256
		WHERE r.idx >= ? AND (c.sha256 IS NULL OR c.size != r.size)`, fromIdx)
	if err != nil {
		return 0, 0, fmt.Errorf("verify: join content: %w", err)
	}
	defer orphans.Close()
	for orphans.Next() {
		var (
			idx, rsize int64
			id         string
			csize      sql.NullInt64
		)
		if err := orphans.Scan(&idx, &id, &rsize, &csize); err != nil {
			return 0, 0, err
		}
		if !csize.Valid {
			ps.add(phaseRecord, idx, Problem{Record: id, Message: "its content is not in the vault"})
		} else {
			ps.add(phaseRecord, idx, Problem{Record: id, Message: fmt.Sprintf("size %d, but its content has %d bytes", rsize, csize.Int64)})
		}
	}
	return objects, lastID, orphans.Err()
}

// checkContent hashes inline data, or the object file when data is nil and
// the content is not empty.
func (v *Vault) checkContent(d Digest, size int64, data []byte) error {
	where := "inline content"
	h := sha256.New()
	var n int64
	if data == nil && size > 0 {
		where = "object file " + v.obj.path(d)
		f, err := v.obj.open(d)
		if err != nil {
			return err
		}
		defer f.Close()
		if n, err = io.Copy(h, f); err != nil {
			return fmt.Errorf("read %s: %v", where, err)
		}
	} else {
		h.Write(data)
		n = int64(len(data))
	}
	var got Digest
	h.Sum(got[:0])
	if got != d {
		return fmt.Errorf("%s hashes to %s: its bytes were altered", where, got)
	}
	if n != size {
		return fmt.Errorf("%s has %d bytes, recorded %d", where, n, size)
	}
	return nil
}

func pruneEdge(edge map[int64]tlog.Hash, n int64) {
	keep := map[int64]bool{}
	for l := 0; n>>l > 0; l++ {
		if (n>>l)&1 == 1 {
			keep[tlog.StoredHashIndex(l, (n>>l)-1)] = true
		}
	}
	for id := range edge {
		if !keep[id] {
			delete(edge, id)
		}
	}
}

func optTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return FormatTime(*t)
}
