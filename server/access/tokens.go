package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aimsvault/aimsvault/evidence"
)

// Role is what a token may do; see DESIGN.md's HTTP API table.
type Role string

const (
	// Compliance configures: triggers runs, uploads evidence, reads coverage and evidence.
	Compliance Role = "compliance"
	// Auditor reads coverage and evidence and downloads bundles, within its scope.
	Auditor Role = "auditor"
	// Security reviews runs, logs, the access log and vault verification.
	Security Role = "security"
	// Admin manages tokens and may do what compliance does.
	Admin Role = "admin"
)

// Roles lists every role.
var Roles = []Role{Compliance, Auditor, Security, Admin}

// ParseRole checks s names a role.
func ParseRole(s string) (Role, error) {
	if slices.Contains(Roles, Role(s)) {
		return Role(s), nil
	}
	return "", fmt.Errorf("%w: role %q: use one of compliance, auditor, security, admin", ErrInvalid, s)
}

// Scope limits what an auditor token sees: records collected in [From, To)
// that evidence at least one of Controls. Zero fields do not limit.
type Scope struct {
	From     *time.Time `json:"from,omitempty"`
	To       *time.Time `json:"to,omitempty"`
	Controls []string   `json:"controls,omitempty"` // requirement IDs, expanded
}

// Empty reports whether s limits nothing.
func (s Scope) Empty() bool { return s.From == nil && s.To == nil && len(s.Controls) == 0 }

// Allows reports whether record r is inside the scope.
func (s Scope) Allows(r *evidence.Record) bool {
	if s.From != nil && r.CollectedAt.Before(*s.From) {
		return false
	}
	if s.To != nil && !r.CollectedAt.Before(*s.To) {
		return false
	}
	if len(s.Controls) == 0 {
		return true
	}
	for _, c := range r.Controls {
		if slices.Contains(s.Controls, c) {
			return true
		}
	}
	return false
}

// AllowsControl reports whether control id is inside the scope.
func (s Scope) AllowsControl(id string) bool {
	return len(s.Controls) == 0 || slices.Contains(s.Controls, id)
}

// Token is a stored API token; the secret is never part of it.
type Token struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Role      Role       `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by"`
	ExpiresAt *time.Time `json:"expires_at"`
	Scope     Scope      `json:"scope"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// State is "active", "expired" or "revoked" at time now.
func (t *Token) State(now time.Time) string {
	switch {
	case t.RevokedAt != nil:
		return "revoked"
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return "expired"
	}
	return "active"
}

// NewToken is a request to create a token.
type NewToken struct {
	Name      string
	Role      Role
	ExpiresIn time.Duration // 0: never expires
	Scope     Scope         // auditors only
	CreatedBy string        // who asked: "token:<name>" or "local:<user>"
}

// SecretPrefix starts every token secret, so a leaked one is recognisable
// (secret scanners, log redaction).
const SecretPrefix = "avt_"

var tokenName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// CreateToken stores a new token and returns it with its secret, which is
// shown once and never stored: only its SHA-256 is.
func (db *DB) CreateToken(ctx context.Context, nt NewToken) (*Token, string, error) {
	if !tokenName.MatchString(nt.Name) {
		return nil, "", fmt.Errorf("%w: name %q: use 1-64 letters, digits, '.', '_', '@' or '-'", ErrInvalid, nt.Name)
	}
	if _, err := ParseRole(string(nt.Role)); err != nil {
		return nil, "", err
	}
	if nt.Role != Auditor && !nt.Scope.Empty() {
		return nil, "", fmt.Errorf("%w: only auditor tokens take a scope (period or controls)", ErrInvalid)
	}
	if nt.ExpiresIn < 0 {
		return nil, "", fmt.Errorf("%w: expiry must not be negative", ErrInvalid)
	}
	if s := nt.Scope; s.From != nil && s.To != nil && !s.From.Before(*s.To) {
		return nil, "", fmt.Errorf("%w: scope period: FROM is not before TO", ErrInvalid)
	}
	raw := make([]byte, 32)
	rand.Read(raw) // never fails (crypto/rand)
	secret := SecretPrefix + base64.RawURLEncoding.EncodeToString(raw)
	idb := make([]byte, 8)
	rand.Read(idb)
	now := db.now().UTC().Truncate(time.Microsecond)
	t := &Token{ID: "tok_" + hex.EncodeToString(idb), Name: nt.Name, Role: nt.Role, CreatedAt: now, CreatedBy: nt.CreatedBy, Scope: nt.Scope}
	var exp any
	if nt.ExpiresIn > 0 {
		e := now.Add(nt.ExpiresIn)
		t.ExpiresAt = &e
		exp = evidence.FormatTime(e)
	}
	scope, err := json.Marshal(nt.Scope)
	if err != nil {
		return nil, "", err
	}
	h := sha256.Sum256([]byte(secret))
	_, err = db.w.ExecContext(ctx, `INSERT INTO tokens (id, name, hash, role, created_at, created_by, expires_at, scope) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Name, h[:], string(t.Role), evidence.FormatTime(now), t.CreatedBy, exp, string(scope))
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE constraint failed: tokens.name") {
			return nil, "", fmt.Errorf("%w: a live token is already named %q: revoke it first or pick another name", ErrInvalid, nt.Name)
		}
		return nil, "", fmt.Errorf("store token: %w", err)
	}
	return t, secret, nil
}

const tokenCols = `id, name, role, created_at, created_by, expires_at, scope, revoked_at`

func scanToken(scan func(...any) error) (*Token, error) {
	var (
		t                  Token
		created, scope     string
		expires, revokedAt sql.NullString
	)
	if err := scan(&t.ID, &t.Name, &t.Role, &created, &t.CreatedBy, &expires, &scope, &revokedAt); err != nil {
		return nil, err
	}
	t.CreatedAt, _ = evidence.ParseTime(created)
	if expires.Valid {
		e, _ := evidence.ParseTime(expires.String)
		t.ExpiresAt = &e
	}
	if revokedAt.Valid {
		r, _ := evidence.ParseTime(revokedAt.String)
		t.RevokedAt = &r
	}
	if err := json.Unmarshal([]byte(scope), &t.Scope); err != nil {
		return nil, fmt.Errorf("token %s: scope: %w", t.ID, err)
	}
	return &t, nil
}

// Authenticate returns the live token whose secret this is, or an error
// matching ErrInvalidToken when it is unknown, expired or revoked.
func (db *DB) Authenticate(ctx context.Context, secret string) (*Token, error) {
	if !strings.HasPrefix(secret, SecretPrefix) || len(secret) > 128 {
		return nil, ErrInvalidToken
	}
	h := sha256.Sum256([]byte(secret))
	t, err := scanToken(db.r.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ?`, h[:]).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("look up token: %w", err)
	}
	if t.State(db.now()) != "active" {
		return nil, ErrInvalidToken
	}
	return t, nil
}

// Tokens returns every token, revoked and expired ones too, oldest first.
func (db *DB) Tokens(ctx context.Context) ([]*Token, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	out := []*Token{}
	for rows.Next() {
		t, err := scanToken(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes the token with id ref, or else the live token named
// ref. Revoking a revoked token (by id) is not an error.
func (db *DB) RevokeToken(ctx context.Context, ref string) (*Token, error) {
	t, err := scanToken(db.w.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE id = ?
		UNION ALL SELECT `+tokenCols+` FROM tokens WHERE name = ? AND revoked_at IS NULL LIMIT 1`, ref, ref).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("token %q: %w", ref, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("look up token: %w", err)
	}
	if t.RevokedAt != nil {
		return t, nil
	}
	now := db.now().UTC().Truncate(time.Microsecond)
	if _, err := db.w.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, evidence.FormatTime(now), t.ID); err != nil {
		return nil, fmt.Errorf("revoke token: %w", err)
	}
	t.RevokedAt = &now
	return t, nil
}
