package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aimsvault/aimsvault/server/access"
)

// TestTokenCreate_PrintsOnlyTheToken: stdout is the secret and a newline,
// nothing else, so TOKEN=$(aimsvault token create ...) works; the secret
// authenticates with the role and scope asked for, and is never stored.
func TestTokenCreate_PrintsOnlyTheToken(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "aimsvault.yaml")
	if err := os.WriteFile(cfg, []byte("vault:\n  dir: data\n  name: test.example/aims\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runOK := func(args ...string) (string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(append([]string{"--config", cfg}, args...), &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		return out.String(), errb.String()
	}
	runOK("init")
	out, _ := runOK("token", "create", "--role", "auditor", "--name", "ext-audit", "--expires", "30d",
		"--period", "2026-01-01..2026-06-30", "--control", "A.6")
	if !regexp.MustCompile(`^avt_[A-Za-z0-9_-]{43}\n$`).MatchString(out) {
		t.Fatalf("stdout %q: want the token alone on one line", out)
	}
	secret := strings.TrimSpace(out)

	acc, err := access.Open(t.Context(), filepath.Join(dir, "data", access.FileName), access.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := acc.Authenticate(t.Context(), secret)
	acc.Close()
	if err != nil || tok.Role != access.Auditor || tok.Name != "ext-audit" || tok.Scope.From == nil || len(tok.Scope.Controls) < 2 || tok.ExpiresAt == nil {
		t.Fatalf("token %+v, %v", tok, err)
	}
	for _, f := range []string{access.FileName, access.FileName + "-wal"} {
		b, _ := os.ReadFile(filepath.Join(dir, "data", f))
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the secret", f)
		}
	}

	list, _ := runOK("token", "list")
	if !strings.Contains(list, "ext-audit") || strings.Contains(list, secret) {
		t.Errorf("token list:\n%s", list)
	}
	runOK("token", "revoke", "ext-audit")
	list, _ = runOK("token", "list", "--format", "json")
	if !strings.Contains(list, `"state": "revoked"`) {
		t.Errorf("after revoke:\n%s", list)
	}
	out, _ = runOK("access-log", "verify")
	if !strings.Contains(out, "access log intact: 2 entries") {
		t.Errorf("access-log verify: %s", out)
	}

	var errb bytes.Buffer
	if code := run([]string{"--config", cfg, "token", "create", "--role", "security", "--name", "s", "--control", "A.2.2"}, &bytes.Buffer{}, &errb); code != 1 ||
		!strings.Contains(errb.String(), "only auditor tokens take a scope") {
		t.Errorf("scoped security token: exit %d, %s", code, errb.String())
	}
}
