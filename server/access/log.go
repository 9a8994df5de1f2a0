package access

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gowebpki/jcs"

	"github.com/aimsvault/aimsvault/evidence"
)

// Actions recorded in the access log.
const (
	ActionList     = "evidence.list"
	ActionRead     = "evidence.read"
	ActionContent  = "evidence.content"
	ActionProof    = "evidence.proof"
	ActionUpload   = "evidence.upload"
	ActionBundle   = "bundle.download"
	ActionTokenNew = "token.create"
	ActionTokenDel = "token.revoke"
)

// Outcomes of an entry.
const (
	OutcomeOK = "ok"
	// OutcomeIncomplete: the response did not reach its end (the client
	// went away, or the content failed its hash check mid-stream).
	OutcomeIncomplete = "incomplete"
	OutcomeError      = "error"
)

// Entry is one access log entry. Its canonical bytes (v1, RFC 8785 JSON of
// this struct without "hash") are what the chain hashes:
//
//	hash = SHA-256("aimsvault-access-log/v1\n" || canonical bytes)
//
// and each entry's "prev" is the hash of the entry before it (64 zeros for
// the first), so changing, inserting or removing an entry breaks every hash
// after it. Never change the meaning of a field; add new ones.
type Entry struct {
	V         int             `json:"v"`
	Seq       int64           `json:"seq"`
	Time      time.Time       `json:"time"`
	TokenID   string          `json:"token_id"`   // "" for local (CLI) actions
	TokenName string          `json:"token_name"` // or "local:<user>"
	Role      string          `json:"role"`
	Remote    string          `json:"remote"` // client IP address
	Method    string          `json:"method"`
	Path      string          `json:"path"` // path and query as requested
	Action    string          `json:"action"`
	Outcome   string          `json:"outcome"`
	Records   []string        `json:"records"`          // record ids read or written
	Filter    json.RawMessage `json:"filter,omitempty"` // what a listing or bundle selected
	SHA256    string          `json:"sha256,omitempty"` // of the bytes sent (a bundle's receipt) or stored
	Size      int64           `json:"size"`             // bytes sent or stored
	Detail    string          `json:"detail,omitempty"`
	Prev      string          `json:"prev"`
	Hash      string          `json:"hash,omitempty"`
}

const (
	entryVersion = 1
	chainDomain  = "aimsvault-access-log/v1\n"
)

var zeroHash = make([]byte, sha256.Size)

// canonical returns e's canonical bytes (without Hash).
func (e Entry) canonical() ([]byte, error) {
	e.Hash = ""
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	if e.Records == nil {
		e.Records = []string{}
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	return jcs.Transform(b)
}

func chainHash(body []byte) []byte {
	h := sha256.New()
	h.Write([]byte(chainDomain))
	h.Write(body)
	return h.Sum(nil)
}

// Append adds e to the log (its V, Seq, Time, Prev and Hash are set here)
// and returns it as stored. It returns once the entry is durable.
func (db *DB) Append(ctx context.Context, e Entry) (*Entry, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	// The entry must land even when the client has gone: its ctx may be
	// done by the time a download ends.
	ctx = context.WithoutCancel(ctx)
	tx, err := db.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE: other processes wait
	if err != nil {
		return nil, fmt.Errorf("access log: %w", err)
	}
	defer tx.Rollback()
	var (
		seq  int64
		prev []byte
	)
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM access_log ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
	if errors.Is(err, sql.ErrNoRows) {
		prev, err = zeroHash, nil
	}
	if err != nil {
		return nil, fmt.Errorf("access log head: %w", err)
	}
	e.V, e.Seq, e.Prev, e.Hash = entryVersion, seq+1, hex.EncodeToString(prev), ""
	e.Time = db.now().UTC().Truncate(time.Microsecond)
	body, err := e.canonical()
	if err != nil {
		return nil, fmt.Errorf("access log entry: %w", err)
	}
	h := chainHash(body)
	if _, err := tx.ExecContext(ctx, `INSERT INTO access_log (seq, time, token_id, action, body, hash) VALUES (?, ?, ?, ?, ?, ?)`,
		e.Seq, evidence.FormatTime(e.Time), e.TokenID, e.Action, body, h); err != nil {
		return nil, fmt.Errorf("access log append: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("access log commit: %w", err)
	}
	e.Hash = hex.EncodeToString(h)
	if e.Records == nil {
		e.Records = []string{}
	}
	return &e, nil
}

func decodeEntry(body, hash []byte) (*Entry, error) {
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, err
	}
	e.Hash = hex.EncodeToString(hash)
	return &e, nil
}

// Entries returns up to limit entries, newest first, with seq below before
// (0: from the newest).
func (db *DB) Entries(ctx context.Context, before int64, limit int) ([]*Entry, error) {
	if before <= 0 {
		before = 1 << 62
	}
	rows, err := db.r.QueryContext(ctx, `SELECT body, hash FROM access_log WHERE seq < ? ORDER BY seq DESC LIMIT ?`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("read access log: %w", err)
	}
	defer rows.Close()
	out := []*Entry{}
	for rows.Next() {
		var body, hash []byte
		if err := rows.Scan(&body, &hash); err != nil {
			return nil, err
		}
		e, err := decodeEntry(body, hash)
		if err != nil {
			return nil, fmt.Errorf("access log entry: %w: run `aimsvault access-log verify`", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Head is the newest entry's seq and hash: keep a copy (or publish it) and
// a later Verify shows the log still extends it.
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// Head returns the chain's head; Seq 0 with the zero hash when empty.
func (db *DB) Head(ctx context.Context) (Head, error) {
	var (
		h    Head
		hash []byte
	)
	err := db.r.QueryRowContext(ctx, `SELECT seq, hash FROM access_log ORDER BY seq DESC LIMIT 1`).Scan(&h.Seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return Head{Hash: hex.EncodeToString(zeroHash)}, nil
	}
	if err != nil {
		return h, fmt.Errorf("access log head: %w", err)
	}
	h.Hash = hex.EncodeToString(hash)
	return h, nil
}

// Problem is one thing Verify found wrong, at entry Seq.
type Problem struct {
	Seq     int64  `json:"seq"`
	Message string `json:"message"`
}

// Report is the outcome of Verify.
type Report struct {
	OK       bool      `json:"ok"`
	Entries  int64     `json:"entries"`
	Head     Head      `json:"head"`
	Problems []Problem `json:"problems"`
}

const maxProblems = 1000

// Verify recomputes the whole chain: each entry's hash from its bytes, each
// link to the entry before, the sequence (a removed entry leaves a gap) and
// the columns that mirror the bytes. With want set (a head kept earlier), it
// also checks the log still holds that head: a log cut back to before it,
// or rewritten from before it, fails. Verify reads only.
func (db *DB) Verify(ctx context.Context, want *Head) (*Report, error) {
	rep := &Report{Problems: []Problem{}}
	add := func(seq int64, format string, args ...any) {
		if len(rep.Problems) < maxProblems {
			rep.Problems = append(rep.Problems, Problem{Seq: seq, Message: fmt.Sprintf(format, args...)})
		}
	}
	rows, err := db.r.QueryContext(ctx, `SELECT seq, time, token_id, action, body, hash FROM access_log ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("read access log: %w", err)
	}
	defer rows.Close()
	prev, last := zeroHash, int64(0)
	sawWant := want == nil || want.Seq == 0
	for rows.Next() {
		var (
			seq                int64
			when, tokenID, act string
			body, hash         []byte
		)
		if err := rows.Scan(&seq, &when, &tokenID, &act, &body, &hash); err != nil {
			return nil, err
		}
		rep.Entries++
		if seq != last+1 {
			add(seq, "entries %d to %d are missing", last+1, seq-1)
		}
		if got := chainHash(body); !bytes.Equal(got, hash) {
			add(seq, "hash does not match the entry's bytes: the entry was altered")
		}
		e, err := decodeEntry(body, hash)
		switch {
		case err != nil:
			add(seq, "unreadable entry: %v", err)
		default:
			if canon, err := e.canonical(); err != nil || !bytes.Equal(canon, body) {
				add(seq, "entry bytes are not canonical")
			}
			if e.Seq != seq {
				add(seq, "entry says seq %d", e.Seq)
			}
			if e.Prev != hex.EncodeToString(prev) {
				add(seq, "does not link to the entry before it: an entry was removed, inserted or altered")
			}
			if evidence.FormatTime(e.Time) != when || e.TokenID != tokenID || e.Action != act {
				add(seq, "columns time, token_id or action disagree with the entry's bytes")
			}
		}
		if want != nil && seq == want.Seq {
			sawWant = true
			if hex.EncodeToString(hash) != want.Hash {
				add(seq, "hash is not the kept head's %s: the log was rewritten", want.Hash)
			}
		}
		prev, last = hash, seq
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !sawWant {
		add(want.Seq, "the kept head is gone: the log was cut back to %d entries", last)
	}
	rep.Head = Head{Seq: last, Hash: hex.EncodeToString(prev)}
	rep.OK = len(rep.Problems) == 0
	return rep, nil
}
