// Package access stores who may use the HTTP API and what they did with it:
// API tokens (hashed, with a role, an expiry and, for auditors, a scope) and
// the access audit log, an append-only hash chain of every evidence read,
// listing, download and upload.
//
// Both live in access.db, an SQLite file beside vault.db and apart from it:
// tokens change (they are revoked) and the access log grows with every read,
// while vault.db is the evidence ledger, whose integrity `verify` and
// bundles speak for and which a read must never write to. Exporting a bundle
// changes nothing in the evidence log; its download is recorded here.
//
// A DB is safe for concurrent use, also by several processes (serve and
// `aimsvault token`): appends to the log take SQLite's write lock before
// reading the chain's head.
package access

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	_ "modernc.org/sqlite"
)

//go:embed schema.sql
var schemaSQL string

const schemaVersion = 1

// FileName is the access database's name inside the vault folder.
const FileName = "access.db"

// DB is an open access database.
type DB struct {
	w   *sql.DB // the writer: one connection, transactions take the write lock at BEGIN
	r   *sql.DB
	now func() time.Time
	mu  sync.Mutex // serialises appends within the process
}

// Options tune Open.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Open opens the access database at path, creating it (mode 0600) with its
// schema when it does not exist.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	w, err := openDB(path, true)
	if err != nil {
		return nil, err
	}
	db := &DB{w: w, now: opts.Now}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("access database %s: %w", path, err)
	}
	if db.r, err = openDB(path, false); err != nil {
		w.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) migrate(ctx context.Context) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return err
	}
	switch {
	case v == schemaVersion:
		return nil
	case v > schemaVersion:
		return fmt.Errorf("schema version %d is newer than this aimsvault (%d): upgrade aimsvault", v, schemaVersion)
	}
	if _, err := tx.ExecContext(ctx, schemaSQL); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

func openDB(path string, writer bool) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(wal)")
	q.Add("_pragma", "synchronous(full)")
	if writer {
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if writer {
		db.SetMaxOpenConns(1)
	} else {
		db.SetMaxOpenConns(4)
	}
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if mode != "wal" {
		db.Close()
		return nil, fmt.Errorf("open %s: journal_mode is %q, want wal", path, mode)
	}
	return db, nil
}

// Close releases the database.
func (db *DB) Close() error {
	return errors.Join(db.w.Close(), db.r.Close())
}
