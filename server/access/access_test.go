package access

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openTest(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), FileName)
	db, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func appendN(t *testing.T, db *DB, n int) {
	t.Helper()
	for i := range n {
		if _, err := db.Append(t.Context(), Entry{TokenID: "tok_1", TokenName: "aud", Role: "auditor", Method: "GET",
			Path: "/api/v1/evidence", Action: ActionList, Outcome: OutcomeOK, Records: []string{"r" + string(rune('a'+i))}}); err != nil {
			t.Fatal(err)
		}
	}
}

// raw runs SQL on the file directly, as someone with the file could.
func raw(t *testing.T, path, q string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
}

func verify(t *testing.T, db *DB, want *Head) *Report {
	t.Helper()
	rep, err := db.Verify(t.Context(), want)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestLog_ChainLinksEntries(t *testing.T) {
	db, _ := openTest(t)
	appendN(t, db, 3)
	es, err := db.Entries(t.Context(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 3 || es[0].Seq != 3 || es[2].Prev != strings.Repeat("0", 64) || es[0].Prev != es[1].Hash || es[1].Prev != es[2].Hash {
		t.Fatalf("entries do not chain: %+v", es)
	}
	// The hash is computed independently here: SHA-256 over the domain line
	// and the stored body.
	var body []byte
	db.r.QueryRow(`SELECT body FROM access_log WHERE seq = 1`).Scan(&body)
	sum := sha256.Sum256(append([]byte("aimsvault-access-log/v1\n"), body...))
	if es[2].Hash != strings.ToLower(hexString(sum[:])) {
		t.Errorf("entry 1 hash %s, want %x", es[2].Hash, sum)
	}
	if rep := verify(t, db, nil); !rep.OK || rep.Entries != 3 || rep.Head.Seq != 3 || rep.Head.Hash != es[0].Hash {
		t.Errorf("intact log: %+v", rep)
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	var s strings.Builder
	for _, c := range b {
		s.WriteByte(digits[c>>4])
		s.WriteByte(digits[c&15])
	}
	return s.String()
}

func TestLog_AppendOnlyInTheDatabase(t *testing.T) {
	db, path := openTest(t)
	appendN(t, db, 1)
	w, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, q := range []string{`UPDATE access_log SET action = 'x'`, `DELETE FROM access_log`} {
		if _, err := w.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want the trigger's refusal", q, err)
		}
	}
}

func TestVerify_DetectsTampering(t *testing.T) {
	for name, c := range map[string]struct {
		sql      string
		seq      int64
		contains string
	}{
		"altered body": {`DROP TRIGGER access_log_no_update; UPDATE access_log SET body = CAST(REPLACE(CAST(body AS TEXT), '"aud"', '"someone-else"') AS BLOB) WHERE seq = 2`,
			2, "altered"},
		"altered body and hash": {`DROP TRIGGER access_log_no_update; UPDATE access_log SET body = CAST(REPLACE(CAST(body AS TEXT), '"ra"', '"rz"') AS BLOB), hash = x'00' WHERE seq = 1`,
			1, "altered"},
		"deleted entry":   {`DROP TRIGGER access_log_no_delete; DELETE FROM access_log WHERE seq = 3`, 4, "missing"},
		"mirror column":   {`DROP TRIGGER access_log_no_update; UPDATE access_log SET action = 'evidence.read' WHERE seq = 4`, 4, "disagree"},
		"renumbered tail": {`DROP TRIGGER access_log_no_delete; DROP TRIGGER access_log_no_update; DELETE FROM access_log WHERE seq = 3; UPDATE access_log SET seq = seq - 1 WHERE seq > 3`, 3, "link"},
	} {
		t.Run(name, func(t *testing.T) {
			db, path := openTest(t)
			appendN(t, db, 5)
			raw(t, path, c.sql)
			rep := verify(t, db, nil)
			if rep.OK {
				t.Fatal("tampered log verifies")
			}
			found := false
			for _, p := range rep.Problems {
				if p.Seq == c.seq && strings.Contains(p.Message, c.contains) {
					found = true
				}
			}
			if !found {
				t.Errorf("no problem at entry %d mentioning %q: %+v", c.seq, c.contains, rep.Problems)
			}
		})
	}
}

func TestVerify_KeptHeadCatchesTruncation(t *testing.T) {
	db, path := openTest(t)
	appendN(t, db, 4)
	head, err := db.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, db, 1)
	if rep := verify(t, db, &head); !rep.OK {
		t.Fatalf("grown log fails against an older head: %+v", rep.Problems)
	}
	// Cut the last two entries: the chain that is left is self-consistent,
	// but the kept head is gone.
	raw(t, path, `DROP TRIGGER access_log_no_delete; DELETE FROM access_log WHERE seq >= 4`)
	if rep := verify(t, db, nil); !rep.OK {
		t.Fatalf("a cut log's own chain should still link: %+v", rep.Problems)
	}
	if rep := verify(t, db, &head); rep.OK || !strings.Contains(rep.Problems[0].Message, "cut back") {
		t.Errorf("truncation past the kept head not caught: %+v", rep)
	}
}

func TestTokens_Lifecycle(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), FileName)
	db, err := Open(t.Context(), path, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	from, to := now.AddDate(0, -3, 0), now
	tok, secret, err := db.CreateToken(ctx, NewToken{Name: "aud", Role: Auditor, ExpiresIn: time.Hour, Scope: Scope{From: &from, To: &to, Controls: []string{"A.6.2.8"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, SecretPrefix) || len(secret) != len(SecretPrefix)+43 {
		t.Errorf("secret %q: want avt_ and 256 bits in base64url", secret)
	}
	got, err := db.Authenticate(ctx, secret)
	if err != nil || got.ID != tok.ID || got.Role != Auditor || len(got.Scope.Controls) != 1 || !got.Scope.From.Equal(from) {
		t.Fatalf("Authenticate: %+v %v", got, err)
	}
	db.Close()
	file, _ := os.ReadFile(path)
	wal, _ := os.ReadFile(path + "-wal")
	if bytes.Contains(append(file, wal...), []byte(secret)) || bytes.Contains(append(file, wal...), []byte(secret[len(SecretPrefix):])) {
		t.Error("the secret is stored in access.db")
	}
	db, _ = Open(ctx, path, Options{Now: func() time.Time { return now }})
	defer db.Close()

	for name, nt := range map[string]NewToken{
		"bad role":        {Name: "x", Role: "root"},
		"scoped admin":    {Name: "x", Role: Admin, Scope: Scope{Controls: []string{"A.2.2"}}},
		"bad name":        {Name: "has space", Role: Admin},
		"name taken":      {Name: "aud", Role: Security},
		"negative expiry": {Name: "x", Role: Admin, ExpiresIn: -time.Hour},
	} {
		if _, _, err := db.CreateToken(ctx, nt); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	now = now.Add(time.Hour)
	if _, err := db.Authenticate(ctx, secret); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("expired token: %v", err)
	}
	_, s2, _ := db.CreateToken(ctx, NewToken{Name: "ci", Role: Compliance})
	if _, err := db.RevokeToken(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Authenticate(ctx, s2); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("revoked token: %v", err)
	}
	if _, err := db.RevokeToken(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoke unknown: %v", err)
	}
	// A revoked name is free again.
	if _, _, err := db.CreateToken(ctx, NewToken{Name: "ci", Role: Compliance}); err != nil {
		t.Errorf("reuse revoked name: %v", err)
	}
	for _, q := range []string{`DELETE FROM tokens`, `UPDATE tokens SET role = 'admin' WHERE name = 'aud'`, `UPDATE tokens SET revoked_at = NULL`} {
		if _, err := db.w.Exec(q); err == nil {
			t.Errorf("%s: allowed", q)
		}
	}
	ts, _ := db.Tokens(ctx)
	states := map[string]int{}
	for _, tk := range ts {
		states[tk.Name+" "+tk.State(now)]++
	}
	if len(ts) != 3 || states["aud expired"] != 1 || states["ci revoked"] != 1 || states["ci active"] != 1 {
		t.Errorf("token states: %v", states)
	}
}
