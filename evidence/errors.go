package evidence

import "errors"

var (
	// ErrNotInitialized means the vault folder holds no vault yet: run `aimsvault init`.
	ErrNotInitialized = errors.New("vault not initialized")
	// ErrNotVault means a file is in the vault's place that aimsvault did not make.
	ErrNotVault = errors.New("not an aimsvault vault")
	// ErrNotFound means no record has the given id.
	ErrNotFound = errors.New("record not found")
	// ErrDigestMismatch means content read back does not hash to its recorded digest.
	ErrDigestMismatch = errors.New("content does not match its sha256")
	// ErrKeyMismatch means the signing key does not match the vault's checkpoints.
	ErrKeyMismatch = errors.New("signing key does not match the vault")
)
