package api

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aimsvault/aimsvault/server/access"
)

// TestAuthorization_Matrix calls every endpoint as every role, with no
// token, an unknown one, an expired one and a revoked one, and checks the
// status of each. The allowed roles are written here from DESIGN.md's HTTP
// API table, not read from the code under test.
func TestAuthorization_Matrix(t *testing.T) {
	e := newEnv(t)
	rec := e.add(t0.Add(-time.Hour), "policy.md", []byte("# AI policy\n"), "A.2.2")
	e.sign()

	tokens := map[string]string{}
	for _, r := range access.Roles {
		tokens[string(r)] = e.token(access.NewToken{Name: "matrix-" + string(r), Role: r})
	}
	// Expired: created two hours ago with a one-hour life.
	e.clock.Set(t0.Add(-2 * time.Hour))
	tokens["expired"] = e.token(access.NewToken{Name: "matrix-expired", Role: access.Admin, ExpiresIn: time.Hour})
	e.clock.Set(t0)
	tokens["revoked"] = e.token(access.NewToken{Name: "matrix-revoked", Role: access.Admin})
	if _, err := e.access.RevokeToken(t.Context(), "matrix-revoked"); err != nil {
		t.Fatal(err)
	}
	tokens["none"] = ""
	tokens["unknown"] = "avt_" + strings.Repeat("A", 43)
	tokens["malformed"] = "not-a-token"

	const (
		C  = "compliance"
		A  = "auditor"
		S  = "security"
		AD = "admin"
	)
	type endpoint struct {
		method, path string
		roles        []string
		ok           int
		body         func() (io.Reader, string)
	}
	upload := func() (io.Reader, string) {
		b, ct := multipartBody(t, [][2]string{{"kind", "file.ai_policy"}}, "policy.md", []byte("v2"))
		return b, ct
	}
	newToken := func() (io.Reader, string) {
		return strings.NewReader(`{"name":"made-` + time.Now().Format("150405.000000000") + `","role":"security"}`), "application/json"
	}
	table := []endpoint{
		{"GET", "/api/v1/coverage", []string{C, A, S, AD}, 200, nil},
		{"GET", "/api/v1/coverage?period=2026-01-01..2026-06-30", []string{C, A, S, AD}, 200, nil},
		{"GET", "/api/v1/controls", []string{C, A, S, AD}, 200, nil},
		{"GET", "/api/v1/evidence", []string{C, A, AD}, 200, nil},
		{"POST", "/api/v1/evidence", []string{C, AD}, 201, upload},
		{"GET", "/api/v1/evidence/" + rec.ID, []string{C, A, AD}, 200, nil},
		{"GET", "/api/v1/evidence/" + rec.ID + "/content", []string{C, A, AD}, 200, nil},
		{"GET", "/api/v1/evidence/" + rec.ID + "/proof", []string{C, A, AD}, 200, nil},
		{"GET", "/api/v1/bundle", []string{C, A, AD}, 200, nil},
		{"GET", "/api/v1/connectors", []string{C, S, AD}, 200, nil},
		{"POST", "/api/v1/connectors/docs/run", []string{C, AD}, 202, nil},
		{"GET", "/api/v1/runs", []string{C, S, AD}, 200, nil},
		{"GET", "/api/v1/runs/" + e.run + "/logs", []string{C, S, AD}, 200, nil},
		{"GET", "/api/v1/verify", []string{C, S, AD}, 200, nil},
		{"GET", "/api/v1/audit-log", []string{S, AD}, 200, nil},
		{"GET", "/api/v1/tokens", []string{AD}, 200, nil},
		{"POST", "/api/v1/tokens", []string{AD}, 201, newToken},
		{"DELETE", "/api/v1/tokens/{fresh}", []string{AD}, 200, nil},
	}

	// Every route the API serves is in the table.
	for _, rt := range e.api.Routes() {
		method, pattern, _ := strings.Cut(rt.Pattern, " ")
		if !slices.ContainsFunc(table, func(ep endpoint) bool {
			return ep.method == method && matches(pattern, strings.SplitN(ep.path, "?", 2)[0])
		}) {
			t.Errorf("route %s is not in the authorisation matrix", rt.Pattern)
		}
	}

	callers := []string{C, A, S, AD, "none", "unknown", "malformed", "expired", "revoked"}
	n := 0
	for _, ep := range table {
		for _, who := range callers {
			want := ep.ok
			switch {
			case !slices.Contains(access.Roles, access.Role(who)):
				want = http.StatusUnauthorized
			case !slices.Contains(ep.roles, who):
				want = http.StatusForbidden
			}
			path := ep.path
			if strings.Contains(path, "{fresh}") {
				id, _, err := e.access.CreateToken(t.Context(), access.NewToken{Name: "victim-" + who, Role: access.Security})
				if err != nil {
					t.Fatal(err)
				}
				path = strings.Replace(path, "{fresh}", id.ID, 1)
			}
			var body io.Reader = http.NoBody
			ct := ""
			if ep.body != nil {
				body, ct = ep.body()
			}
			resp := e.do(tokens[who], ep.method, path, body, ct)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			n++
			if resp.StatusCode != want {
				t.Errorf("%s %s as %s: status %d, want %d (%s)", ep.method, path, who, resp.StatusCode, want, bytes.TrimSpace(b))
				continue
			}
			if want == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s as %s: 401 without WWW-Authenticate", ep.method, path, who)
			}
			if want >= 400 && !bytes.HasPrefix(b, []byte(`{"error":`)) {
				t.Errorf("%s %s as %s: error body %q is not JSON {error}", ep.method, path, who, b)
			}
		}
	}
	t.Logf("%d requests checked", n)
}

// matches reports whether a ServeMux pattern path matches a concrete path.
func matches(pattern, path string) bool {
	pp, cp := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(pp) != len(cp) {
		return false
	}
	for i := range pp {
		if !strings.HasPrefix(pp[i], "{") && pp[i] != cp[i] {
			return false
		}
	}
	return true
}

// TestAuthorization_NotFoundOnlyAfterAuthorisation: a record that does not
// exist is 401 to nobody, 403 to a role that may not read records, and 404
// only to one that may.
func TestAuthorization_NotFoundOnlyAfterAuthorisation(t *testing.T) {
	e := newEnv(t)
	sec := e.token(access.NewToken{Name: "sec", Role: access.Security})
	aud := e.token(access.NewToken{Name: "aud", Role: access.Auditor})
	const missing = "/api/v1/evidence/01900000-0000-7000-8000-000000000000"
	for _, c := range []struct {
		token, path string
		want        int
	}{
		{"", missing, 401}, {sec, missing, 403}, {aud, missing, 404},
		{"", missing + "/content", 401}, {sec, missing + "/content", 403}, {aud, missing + "/content", 404},
		{"", "/api/v1/nothing-here", 401}, {aud, "/api/v1/nothing-here", 404},
		{"", "/api/v1/runs/nope/logs", 401}, {aud, "/api/v1/runs/nope/logs", 403}, {sec, "/api/v1/runs/nope/logs", 404},
	} {
		resp := e.do(c.token, "GET", c.path, nil, "")
		if resp.StatusCode != c.want {
			t.Errorf("GET %s (token %t): %d, want %d", c.path, c.token != "", resp.StatusCode, c.want)
		}
		errorBody(t, resp)
		resp.Body.Close()
	}
}
