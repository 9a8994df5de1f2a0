// Package evidence implements the aimsvault evidence vault: an append-only,
// tamper-evident log of evidence records in one folder.
//
// The folder holds vault.db (SQLite in WAL mode, synchronous=FULL), objects/
// with content over 64 KiB stored by SHA-256 (objects/sha256/ab/cdef…), and the
// Ed25519 signing key vault.key (mode 0600) with its public half vault.pub.
//
// Every record's canonical bytes (see Record.LeafBytes) are a leaf of an RFC
// 6962 Merkle tree kept with golang.org/x/mod/sumdb/tlog; the record and the
// tree hashes it adds commit in one transaction. After each run the vault
// signs a C2SP tlog-checkpoint as a signed note (golang.org/x/mod/sumdb/note),
// checked consistent with the previous checkpoint first. Verify recomputes it
// all.
//
// The vault knows nothing of sources or of ISO 42001: it stores what it is
// given, exactly.
package evidence

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"modernc.org/sqlite"
)

//go:embed schema.sql
var schemaSQL string

const (
	schemaVersion = 1
	formatName    = "aimsvault-vault"
	dbFile        = "vault.db"
	keyFile       = "vault.key"
	pubFile       = "vault.pub"
	objectsDir    = "objects"
	// InlineMax is the largest content stored inside vault.db; larger
	// content goes to objects/.
	InlineMax = 64 << 10
)

// Options locate a vault and say how to open it.
type Options struct {
	// Dir is the vault folder.
	Dir string
	// Name is the log's origin line in checkpoints ("example.com/aims") and
	// the signing key's name. Init requires it; Open checks it when set.
	Name string
	// KeyFile is the signing key (default Dir/vault.key).
	KeyFile string
	// Logger receives the vault's own few log lines (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// TSA, when set, time-stamps every checkpoint (RFC 3161).
	TSA *TSA
}

func (o *Options) fill() {
	if o.KeyFile == "" {
		o.KeyFile = filepath.Join(o.Dir, keyFile)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Vault is an open evidence vault. It is safe for concurrent use: appends
// from several goroutines share group-committed batches.
type Vault struct {
	opts   Options
	origin string
	vkey   string  // note verifier key recorded at Init
	w      *sql.DB // the one writer connection
	r      *sql.DB // readers
	obj    *objectStore

	writeMu sync.Mutex // serialises writes to w and guards ws
	ws      writeState
	signer  note.Signer
	keyErr  error
	keyOnce sync.Once

	lockMu sync.Mutex
	lockF  *os.File // runners.lock, once this process runs connectors
}

// Init creates a vault in opts.Dir: the folder, vault.db with its schema, and
// a signing key unless one already exists at opts.KeyFile (a key is never
// overwritten). It refuses a folder that already holds a vault.db, whether a
// vault (errors.Is ErrExists) or not (ErrNotVault).
func Init(ctx context.Context, opts Options) (*Vault, error) {
	opts.fill()
	if err := checkName(opts.Name); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(opts.Dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("vault dir %s is a file, not a folder: %w", opts.Dir, ErrNotVault)
	}
	dbPath := filepath.Join(opts.Dir, dbFile)
	if _, err := os.Lstat(dbPath); err == nil {
		if err := checkHeader(dbPath); err != nil {
			return nil, err
		}
		v, err := Open(ctx, opts)
		if err != nil {
			return nil, err
		}
		v.Close()
		return nil, fmt.Errorf("vault %s: %w", opts.Dir, ErrExists)
	}
	if err := os.MkdirAll(filepath.Join(opts.Dir, objectsDir), 0o750); err != nil {
		return nil, fmt.Errorf("create vault dir: %w", err)
	}
	signer, vkey, err := loadOrCreateKey(opts.KeyFile, opts.Name)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(opts.Dir, pubFile), []byte(vkey+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("write %s: %w", pubFile, err)
	}
	db, err := openDB(dbPath, true, false)
	if err != nil {
		return nil, err
	}
	err = func() error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, schemaSQL); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
		now := FormatTime(opts.Now())
		for k, val := range map[string]string{"format": formatName, "origin": opts.Name, "verifier_key": vkey, "created_at": now} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)`, k, val); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
			return err
		}
		return tx.Commit()
	}()
	db.Close()
	if err != nil {
		os.Remove(dbPath)
		return nil, fmt.Errorf("init vault %s: %w", opts.Dir, err)
	}
	if err := syncDir(opts.Dir); err != nil {
		return nil, err
	}
	v, err := Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	v.signer = signer
	v.keyOnce.Do(func() {})
	return v, nil
}

// ErrExists means Init found a vault already there.
var ErrExists = errors.New("vault already exists")

// Open opens the vault in opts.Dir. It returns an error wrapping
// ErrNotInitialized when there is none, and ErrNotVault when the folder holds
// a vault.db that aimsvault did not make.
func Open(ctx context.Context, opts Options) (*Vault, error) {
	opts.fill()
	dbPath := filepath.Join(opts.Dir, dbFile)
	if _, err := os.Stat(dbPath); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no vault in %s: %w", opts.Dir, ErrNotInitialized)
	} else if err != nil {
		return nil, fmt.Errorf("open vault: %w", err)
	}
	if err := checkHeader(dbPath); err != nil {
		return nil, err
	}
	// On a read-only file system (a snapshot, backup media, a mount the
	// kernel turned read-only) SQLite cannot create the WAL's shared-memory
	// file: open the database as immutable instead, so that reading and
	// verify work, and every write fails naming the vault and "read-only".
	ro := probeDisk(opts.Dir) == ErrReadOnly
	w, err := openDB(dbPath, true, ro)
	if err != nil {
		return nil, diskErr(opts.Dir, err)
	}
	r, err := openDB(dbPath, false, ro)
	if err != nil {
		w.Close()
		return nil, diskErr(opts.Dir, err)
	}
	v := &Vault{opts: opts, w: w, r: r, obj: &objectStore{dir: filepath.Join(opts.Dir, objectsDir)}}
	meta, err := v.meta(ctx)
	if err != nil {
		v.Close()
		return nil, err
	}
	if meta["format"] != formatName {
		v.Close()
		return nil, fmt.Errorf("%s: %w", dbPath, ErrNotVault)
	}
	v.origin, v.vkey = meta["origin"], meta["verifier_key"]
	if opts.Name != "" && opts.Name != v.origin {
		v.Close()
		return nil, fmt.Errorf("vault.name %q does not match the vault's origin %q: the origin is fixed at init; set vault.name back", opts.Name, v.origin)
	}
	return v, nil
}

func (v *Vault) meta(ctx context.Context) (map[string]string, error) {
	rows, err := v.r.QueryContext(ctx, `SELECT key, value FROM meta`)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return nil, fmt.Errorf("%s: %w", filepath.Join(v.opts.Dir, dbFile), ErrNotVault)
		}
		return nil, fmt.Errorf("read vault meta: %w", err)
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var k, val string
		if err := rows.Scan(&k, &val); err != nil {
			return nil, err
		}
		m[k] = val
	}
	return m, rows.Err()
}

// Close commits any open batch and releases the database.
func (v *Vault) Close() error {
	ferr := v.Flush(context.Background())
	return errors.Join(ferr, v.w.Close(), v.r.Close(), v.releaseRunLock())
}

// Origin is the log's origin line, fixed at Init.
func (v *Vault) Origin() string { return v.origin }

// VerifierKey is the note verifier key recorded at Init (the vault.pub text).
func (v *Vault) VerifierKey() string { return v.vkey }

// Dir is the vault folder.
func (v *Vault) Dir() string { return v.opts.Dir }

// checkHeader refuses a file that is not SQLite, before SQLite touches it.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open vault: %w", err)
	}
	defer f.Close()
	hdr := make([]byte, 16)
	if _, err := io.ReadFull(f, hdr); err != nil || !bytes.Equal(hdr, []byte("SQLite format 3\x00")) {
		return fmt.Errorf("%s: %w (left untouched)", path, ErrNotVault)
	}
	return nil
}

func init() {
	// A _pragma value must be one pragma, never arbitrary SQL.
	sqlite.StrictPragmas(true)
}

func openDB(path string, writer, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	if readOnly {
		q.Set("mode", "ro")
		q.Set("immutable", "1")
	} else {
		q.Add("_pragma", "journal_mode(wal)")
		q.Add("_pragma", "synchronous(full)")
	}
	q.Add("_pragma", "foreign_keys(1)")
	// Savepoints journal into temp storage: keep it in memory.
	q.Add("_pragma", "temp_store(memory)")
	if writer {
		q.Set("_txlock", "immediate")
		// A batch of dirty pages must fit in the cache, or SQLite spills
		// to the WAL mid-transaction. Readers keep the small default.
		q.Add("_pragma", "cache_size(-65536)")
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
	if mode != "wal" && !readOnly {
		db.Close()
		return nil, fmt.Errorf("open %s: journal_mode is %q, want wal", path, mode)
	}
	return db, nil
}

// checkName enforces the signed-note key name rules: the origin doubles as
// the key name.
func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("vault.name is empty: set it to your log's origin, e.g. example.com/aims")
	}
	for _, r := range name {
		if r <= ' ' || r > '~' || r == '+' {
			return fmt.Errorf("vault.name %q: use printable ASCII without spaces or '+'", name)
		}
	}
	return nil
}

// loadOrCreateKey reads the signer key at path, or creates it (0600) if
// there is none. An existing key is never overwritten.
func loadOrCreateKey(path, name string) (note.Signer, string, error) {
	if b, err := os.ReadFile(path); err == nil {
		s, err := note.NewSigner(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, "", fmt.Errorf("signing key %s: %w", path, err)
		}
		if s.Name() != name {
			return nil, "", fmt.Errorf("signing key %s is named %q, vault.name is %q: %w", path, s.Name(), name, ErrKeyMismatch)
		}
		vkey, err := verifierFromSigner(strings.TrimSpace(string(b)))
		return s, vkey, err
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("read signing key: %w", err)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return nil, "", fmt.Errorf("generate signing key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, "", fmt.Errorf("create key dir: %w", err)
	}
	// O_EXCL: if a key appeared meanwhile, fail rather than overwrite it.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("create signing key: %w", err)
	}
	if _, err := f.WriteString(skey + "\n"); err != nil {
		f.Close()
		return nil, "", fmt.Errorf("write signing key: %w", err)
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return nil, "", fmt.Errorf("write signing key: %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return nil, "", err
	}
	s, err := note.NewSigner(skey)
	return s, vkey, err
}

// signing returns the vault's signer, loading the key on first use, and
// checks it is the key the vault was created with.
func (v *Vault) signing() (note.Signer, error) {
	v.keyOnce.Do(func() {
		b, err := os.ReadFile(v.opts.KeyFile)
		if err != nil {
			v.keyErr = fmt.Errorf("read signing key: %w", err)
			return
		}
		skey := strings.TrimSpace(string(b))
		s, err := note.NewSigner(skey)
		if err != nil {
			v.keyErr = fmt.Errorf("signing key %s: %w", v.opts.KeyFile, err)
			return
		}
		vkey, err := verifierFromSigner(skey)
		if err != nil {
			v.keyErr = err
			return
		}
		if vkey != v.vkey {
			v.keyErr = fmt.Errorf("signing key %s is not the key this vault was created with: %w", v.opts.KeyFile, ErrKeyMismatch)
			return
		}
		v.signer = s
	})
	return v.signer, v.keyErr
}
