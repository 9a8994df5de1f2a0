package evidence

import (
	"errors"
	"strings"
	"syscall"

	"modernc.org/sqlite"
)

var (
	// ErrNoSpace means a vault write failed because its file system is full.
	ErrNoSpace = errors.New("no space left on device")
	// ErrReadOnly means a vault write failed because its file system is
	// mounted read-only (or the vault's files cannot be written).
	ErrReadOnly = errors.New("read-only file system")
)

// SQLite primary result codes (the low byte of an extended code).
const (
	sqliteBusy     = 5
	sqliteLocked   = 6
	sqliteNoMem    = 7
	sqliteReadOnly = 8
	sqliteIOErr    = 10
	sqliteCorrupt  = 11
	sqliteFull     = 13
	sqliteCantOpen = 14
	sqliteNotADB   = 26
)

func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() & 0xff
	}
	return 0
}

// txLost reports whether err, from a statement inside the batch, may have
// made SQLite roll the whole transaction back (it does so on its own for
// these codes), so that the batch must be given up rather than continued.
func txLost(err error) bool {
	switch sqliteCode(err) {
	case sqliteBusy, sqliteLocked, sqliteNoMem, sqliteReadOnly, sqliteIOErr, sqliteCorrupt, sqliteFull, sqliteCantOpen, sqliteNotADB:
		return true
	}
	return false
}

// diskError is a write failure the vault's file system caused: it names the
// vault folder and says what is wrong with the disk, whatever layer (SQLite
// or the object store) met it. errors.Is matches ErrNoSpace or ErrReadOnly.
type diskError struct {
	dir  string
	kind error
	err  error
}

func (e *diskError) Error() string {
	msg := e.err.Error()
	if !strings.Contains(msg, e.kind.Error()) {
		msg = e.kind.Error() + ": " + msg
	}
	return "vault " + e.dir + ": " + msg
}

func (e *diskError) Unwrap() []error { return []error{e.kind, e.err} }

// diskErr classifies a failed write. SQLite reports a full disk as
// SQLITE_FULL but a read-only one mostly as a plain I/O error, so for those
// the vault folder itself is asked (access(2) answers EROFS even to root).
// Errors that are not the disk's come back unchanged.
func (v *Vault) diskErr(err error) error { return diskErr(v.opts.Dir, err) }

func diskErr(dir string, err error) error {
	if err == nil {
		return nil
	}
	var de *diskError
	if errors.As(err, &de) {
		return err
	}
	var kind error
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT), sqliteCode(err) == sqliteFull:
		kind = ErrNoSpace
	case errors.Is(err, syscall.EROFS), sqliteCode(err) == sqliteReadOnly:
		kind = ErrReadOnly
	case sqliteCode(err) == sqliteIOErr, sqliteCode(err) == sqliteCantOpen, errors.Is(err, syscall.EIO):
		kind = probeDisk(dir)
	}
	if kind == nil {
		return err
	}
	return &diskError{dir: dir, kind: kind, err: err}
}
