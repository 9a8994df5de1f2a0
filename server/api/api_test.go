package api

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/evidence/bundle"
	"github.com/aimsvault/aimsvault/mapping"
	"github.com/aimsvault/aimsvault/server/access"
)

type recordPage struct {
	Items      []*evidence.Record `json:"items"`
	NextCursor *string            `json:"next_cursor"`
}

func TestEvidenceList_CursorPagination(t *testing.T) {
	e := newEnv(t)
	var want []string // ids of records for A.6.2.8, in log order
	for i := range 250 {
		ctl := "A.2.2"
		if i%3 == 0 {
			ctl = "A.6.2.8"
		}
		r := e.add(t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("doc-%03d.md", i), []byte(fmt.Sprint(i)), ctl)
		if ctl == "A.6.2.8" {
			want = append(want, r.ID)
		}
	}
	e.sign() // commits the open batch: readers see committed records only
	tok := e.token(access.NewToken{Name: "c", Role: access.Compliance})

	for _, limit := range []int{1, 7, 84, 1000} {
		var got []string
		cursor, pages := "", 0
		for {
			q := url.Values{"control": {"A.6.2.8"}, "limit": {fmt.Sprint(limit)}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			var p recordPage
			e.get(tok, "/api/v1/evidence?"+q.Encode(), &p)
			pages++
			if len(p.Items) > limit {
				t.Fatalf("limit %d: page of %d", limit, len(p.Items))
			}
			for _, r := range p.Items {
				got = append(got, r.ID)
			}
			if p.NextCursor == nil {
				break
			}
			if len(p.Items) != limit {
				t.Fatalf("limit %d: short page of %d with a next cursor", limit, len(p.Items))
			}
			cursor = *p.NextCursor
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: paged %d ids, want the %d in log order", limit, len(got), len(want))
		}
		if wantPages := (len(want) + limit - 1) / limit; pages != wantPages {
			t.Errorf("limit %d: %d pages, want %d", limit, pages, wantPages)
		}
	}

	for _, bad := range []string{"limit=0", "limit=1001", "cursor=garbage", "cursor=" + *encodeCursor("a", "5"), "since=yesterday"} {
		resp := e.do(tok, "GET", "/api/v1/evidence?"+bad, nil, "")
		if resp.StatusCode != 400 {
			t.Errorf("?%s: %d, want 400", bad, resp.StatusCode)
		}
		errorBody(t, resp)
		resp.Body.Close()
	}
}

// scopeEnv has records in and out of an auditor's scope: period
// 2026-03-01..2026-03-31, controls A.6 (its requirement items).
func scopeEnv(t *testing.T) (e *testEnv, in, out []*evidence.Record, aud string) {
	e = newEnv(t)
	march := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	in = append(in, e.add(march, "in-1.md", []byte("in 1"), "A.6.2.8"))
	out = append(out, e.add(march, "wrong-control.md", []byte("out control"), "A.2.2"))
	out = append(out, e.add(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), "too-late.md", []byte("out late"), "A.6.2.8"))
	out = append(out, e.add(time.Date(2026, 2, 28, 23, 59, 0, 0, time.UTC), "too-early.md", []byte("out early"), "A.6.2.8"))
	in = append(in, e.add(march.Add(time.Hour), "in-2.md", []byte("in 2"), "A.2.2", "A.6.2.4"))
	e.sign()
	nt, err := ParseTokenRequest("aud", "auditor", "", "2026-03-01..2026-03-31", []string{"A.6"})
	if err != nil {
		t.Fatal(err)
	}
	return e, in, out, e.token(nt)
}

func TestAuditorScope(t *testing.T) {
	e, in, out, aud := scopeEnv(t)
	ids := func(rs []*evidence.Record) []string {
		var s []string
		for _, r := range rs {
			s = append(s, r.ID)
		}
		return s
	}

	t.Run("list", func(t *testing.T) {
		for _, q := range []string{"", "?control=A.2.2", "?since=2026-01-01&until=2026-12-31", "?control=A.6.2.8"} {
			var p recordPage
			e.get(aud, "/api/v1/evidence"+q, &p)
			got := ids(p.Items)
			want := ids(in)
			if q == "?control=A.2.2" {
				want = nil // A.2.2 lies outside the scope
			}
			if q == "?control=A.6.2.8" {
				want = ids(in[:1])
			}
			if !slices.Equal(got, want) {
				t.Errorf("list%s: %v, want %v", q, got, want)
			}
		}
	})
	t.Run("record, content, proof", func(t *testing.T) {
		for _, r := range out {
			for _, sfx := range []string{"", "/content", "/proof"} {
				resp := e.do(aud, "GET", "/api/v1/evidence/"+r.ID+sfx, nil, "")
				if resp.StatusCode != 404 {
					t.Errorf("%s%s (out of scope): %d, want 404", r.Subject, sfx, resp.StatusCode)
				}
				if msg := errorBody(t, resp); msg != "record not found" {
					t.Errorf("out of scope answers %q, want the plain not-found message", msg)
				}
				resp.Body.Close()
			}
		}
		for _, r := range in {
			for _, sfx := range []string{"", "/content", "/proof"} {
				resp := e.do(aud, "GET", "/api/v1/evidence/"+r.ID+sfx, nil, "")
				if resp.StatusCode != 200 {
					t.Errorf("%s%s (in scope): %d, want 200", r.Subject, sfx, resp.StatusCode)
				}
				resp.Body.Close()
			}
		}
	})
	t.Run("bundle", func(t *testing.T) {
		resp := e.do(aud, "GET", "/api/v1/bundle", nil, "")
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("bundle: %d %s", resp.StatusCode, b)
		}
		if got := bundleIDs(t, b); !slices.Equal(got, ids(in)) {
			t.Errorf("bundle holds %v, want %v", got, ids(in))
		}
		resp = e.do(aud, "GET", "/api/v1/bundle?control=A.2.2", nil, "")
		if resp.StatusCode != 400 {
			t.Errorf("bundle of controls outside the scope: %d, want 400", resp.StatusCode)
		}
		resp.Body.Close()
	})
	t.Run("coverage", func(t *testing.T) {
		var rows []mapping.ControlStatus
		e.get(aud, "/api/v1/coverage", &rows)
		a6, _ := mapping.Expand("A.6")
		var got []string
		for _, r := range rows {
			got = append(got, r.Control)
			if r.Control == "A.6.2.8" && r.EvidenceCount != 1 {
				t.Errorf("A.6.2.8 counts %d records, want the 1 in scope", r.EvidenceCount)
			}
		}
		if !slices.Equal(got, a6) {
			t.Errorf("coverage rows %v, want only the scope's %v", got, a6)
		}
		var prows []mapping.PeriodStatus
		e.get(aud, "/api/v1/coverage?period=2026-01-01..2026-06-30", &prows)
		if len(prows) != len(a6) {
			t.Errorf("period coverage: %d rows, want %d", len(prows), len(a6))
		}
		// An unscoped reader sees every item and every record.
		c := e.token(access.NewToken{Name: "c", Role: access.Compliance})
		e.get(c, "/api/v1/coverage", &rows)
		if len(rows) != len(mapping.Requirements()) {
			t.Errorf("unscoped coverage: %d rows, want %d", len(rows), len(mapping.Requirements()))
		}
	})
}

func bundleIDs(t *testing.T, zipBytes []byte) []string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(zipBytes), int64(len(zipBytes)))
	if err != nil {
		t.Fatalf("bundle is not a zip: %v", err)
	}
	f, err := zr.Open("data/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var m bundle.Manifest
	if err := json.NewDecoder(f).Decode(&m); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range m.Artifacts {
		ids = append(ids, a.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestUpload(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxUpload = 100 << 10 })
	tok := e.token(access.NewToken{Name: "ci", Role: access.Compliance})
	report := bytes.Repeat([]byte("accuracy 0.97\n"), 6000) // 84 KB: stored as an object

	body, ct := multipartBody(t, [][2]string{{"kind", "manual.upload"}, {"subject", "model-x eval"}, {"controls", "A.6.2.4, A.6.2.5"}, {"effective_at", "2026-05-30"}}, "eval.txt", report)
	resp := e.do(tok, "POST", "/api/v1/evidence", body, ct)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("upload: %d %s", resp.StatusCode, b)
	}
	var rec evidence.Record
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(report)
	if rec.Connector != "api" || rec.Kind != "manual.upload" || rec.Subject != "model-x eval" || rec.SHA256 != evidence.Digest(sum) ||
		!slices.Equal(rec.Controls, []string{"A.6.2.4", "A.6.2.5"}) || rec.EffectiveAt == nil || rec.MediaType != "text/plain; charset=utf-8" {
		t.Errorf("stored record %+v", rec)
	}
	if resp.Header.Get("Location") != "/api/v1/evidence/"+rec.ID {
		t.Errorf("Location %q", resp.Header.Get("Location"))
	}
	// Stored, mapped, signed, with a run record, and readable back.
	stored, err := e.vault.Record(t.Context(), rec.ID)
	if err != nil || stored.SHA256 != rec.SHA256 {
		t.Fatalf("vault record: %v %v", stored, err)
	}
	if cp, _ := e.vault.LatestCheckpoint(t.Context()); cp == nil || cp.Size <= stored.Index {
		t.Errorf("upload not covered by a checkpoint: %+v", cp)
	}
	run, err := e.vault.GetRun(t.Context(), rec.Run)
	if err != nil || run.Connector != "api" || run.Status != evidence.RunOK || run.Artifacts != 1 {
		t.Errorf("run record %+v, %v", run, err)
	}
	resp = e.do(tok, "GET", "/api/v1/evidence/"+rec.ID+"/content", nil, "")
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, report) {
		t.Errorf("content read back: %d bytes, want %d", len(got), len(report))
	}
	// A kind with its own rule maps by that rule.
	body, ct = multipartBody(t, [][2]string{{"kind", "file.ai_policy"}}, "policy.md", []byte("# policy"))
	resp = e.do(tok, "POST", "/api/v1/evidence", body, ct)
	json.NewDecoder(resp.Body).Decode(&rec)
	resp.Body.Close()
	if resp.StatusCode != 201 || !slices.Equal(rec.Controls, []string{"5.2", "A.2.2"}) || rec.Subject != "policy.md" {
		t.Errorf("file.ai_policy upload: %d, controls %v, subject %q", resp.StatusCode, rec.Controls, rec.Subject)
	}

	size, _ := e.vault.Size(t.Context())
	for name, c := range map[string]struct {
		fields [][2]string
		file   string
		data   []byte
		want   int
	}{
		"unknown kind":    {[][2]string{{"kind", "file.modle_evaluation"}}, "x.txt", []byte("x"), 400},
		"no kind":         {nil, "x.txt", []byte("x"), 400},
		"no file":         {[][2]string{{"kind", "manual.upload"}, {"controls", "A.2.2"}}, "", nil, 400},
		"unknown control": {[][2]string{{"kind", "manual.upload"}, {"controls", "A.99"}}, "x.txt", []byte("x"), 400},
		"too large":       {[][2]string{{"kind", "file.ai_policy"}}, "big.bin", make([]byte, 100<<10+1), 413},
	} {
		body, ct := multipartBody(t, c.fields, c.file, c.data)
		resp := e.do(tok, "POST", "/api/v1/evidence", body, ct)
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", name, resp.StatusCode, c.want)
		}
		errorBody(t, resp)
		resp.Body.Close()
	}
	resp = e.do(tok, "POST", "/api/v1/evidence", strings.NewReader("{}"), "application/json")
	if resp.StatusCode != 400 {
		t.Errorf("non-multipart: %d, want 400", resp.StatusCode)
	}
	resp.Body.Close()
	e.vault.Flush(t.Context())
	if after, _ := e.vault.Size(t.Context()); after != size {
		t.Errorf("refused uploads stored %d records", after-size)
	}
}

// objectPath is where the vault keeps content over 64 KiB.
func objectPath(e *testEnv, d evidence.Digest) string {
	h := d.String()
	return filepath.Join(e.vault.Dir(), "objects", "sha256", h[:2], h[2:])
}

func TestContent_HashMismatchIsAnError(t *testing.T) {
	e := newEnv(t)
	good := bytes.Repeat([]byte("genuine evidence\n"), 10000) // 170 KB object
	rec := e.add(t0, "big.txt", good, "A.2.2")
	e.sign()
	tok := e.token(access.NewToken{Name: "c", Role: access.Compliance})

	// The good content streams whole, with its media type and as an attachment.
	resp := e.do(tok, "GET", "/api/v1/evidence/"+rec.ID+"/content", nil, "")
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, good) {
		t.Fatalf("good content: %d bytes, %v", len(got), err)
	}
	if ct, cd := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"); ct != "text/markdown" || !strings.HasPrefix(cd, "attachment;") {
		t.Errorf("Content-Type %q, Content-Disposition %q", ct, cd)
	}

	// Same size, one byte changed.
	p := objectPath(e, rec.SHA256)
	bad := slices.Clone(good)
	bad[len(bad)-1] ^= 1
	os.Chmod(p, 0o644)
	if err := os.WriteFile(p, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	resp = e.do(tok, "GET", "/api/v1/evidence/"+rec.ID+"/content", nil, "")
	got, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Fatalf("tampered content read without error: status %d, %d bytes", resp.StatusCode, len(got))
	}
	if len(got) >= len(bad) {
		t.Errorf("client received %d bytes of %d: the whole tampered body", len(got), len(bad))
	}
	es := entries(t, e.access)
	if es[0].Action != access.ActionContent || es[0].Outcome != access.OutcomeIncomplete || !strings.Contains(es[0].Detail, "sha256") {
		t.Errorf("last access log entry %+v, want the failed content read", es[0])
	}
}

func TestContent_SmallHashMismatchIs500(t *testing.T) {
	e := newEnv(t)
	rec := e.add(t0, "small.txt", []byte("small genuine evidence"), "A.2.2")
	e.sign()
	e.vault.Close()
	// Tamper inline content underneath the append-only triggers.
	tamper(t, filepath.Join(e.vault.Dir(), "vault.db"), `DROP TRIGGER content_no_update; UPDATE content SET data = CAST('small genuine evidencf' AS BLOB)`)
	v, err := evidence.Open(t.Context(), evidence.Options{Dir: e.vault.Dir()})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	e.api.opts.Vault = v
	tok := e.token(access.NewToken{Name: "c", Role: access.Compliance})
	resp := e.do(tok, "GET", "/api/v1/evidence/"+rec.ID+"/content", nil, "")
	defer resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Fatalf("tampered inline content: %d, want 500", resp.StatusCode)
	}
	if msg := errorBody(t, resp); !strings.Contains(msg, "sha256") {
		t.Errorf("error %q does not say the hash failed", msg)
	}
}

func TestAccessLog_RecordsReadsAndBundleReceipt(t *testing.T) {
	e := newEnv(t)
	rec := e.add(t0, "policy.md", []byte("# policy"), "A.2.2")
	e.add(t0, "other.md", []byte("# other"), "A.6.2.8")
	e.sign()
	aud := e.token(access.NewToken{Name: "ext-auditor", Role: access.Auditor})
	before := len(entries(t, e.access))

	paths := []string{
		"/api/v1/evidence/" + rec.ID,
		"/api/v1/evidence/" + rec.ID + "/content",
		"/api/v1/evidence/" + rec.ID + "/proof",
		"/api/v1/evidence?control=A.2.2",
		"/api/v1/bundle?control=A.2.2",
	}
	var bundleBytes []byte
	for _, p := range paths {
		resp := e.do(aud, "GET", p, nil, "")
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %v", p, resp.StatusCode, err)
		}
		bundleBytes = b
	}
	// Reads that are not evidence (coverage, controls) are not logged.
	var rows []mapping.ControlStatus
	e.get(aud, "/api/v1/coverage", &rows)

	es := entries(t, e.access)[:len(paths)]
	if n := len(entries(t, e.access)) - before; n != len(paths) {
		t.Fatalf("%d new entries, want %d", n, len(paths))
	}
	slices.Reverse(es)
	wantActions := []string{access.ActionRead, access.ActionContent, access.ActionProof, access.ActionList, access.ActionBundle}
	for i, en := range es {
		if en.Action != wantActions[i] || en.TokenName != "ext-auditor" || en.Role != "auditor" || en.TokenID == "" ||
			en.Remote != "127.0.0.1" || en.Path != paths[i] || en.Method != "GET" || en.Outcome != access.OutcomeOK || en.Time.IsZero() {
			t.Errorf("entry %d: %+v", i, en)
		}
		if i < 4 && !slices.Equal(en.Records, []string{rec.ID}) {
			t.Errorf("entry %d (%s) records %v, want [%s]", i, en.Action, en.Records, rec.ID)
		}
	}
	if !strings.Contains(string(es[3].Filter), `"A.2.2"`) || !strings.Contains(string(es[4].Filter), `"A.2.2"`) {
		t.Errorf("list and bundle entries do not record the filter: %s, %s", es[3].Filter, es[4].Filter)
	}
	sum := sha256.Sum256(bundleBytes)
	if es[4].SHA256 != hex.EncodeToString(sum[:]) || es[4].Size != int64(len(bundleBytes)) {
		t.Errorf("bundle receipt %s (%d bytes), client received %x (%d bytes)", es[4].SHA256, es[4].Size, sum, len(bundleBytes))
	}
	if got := bundleIDs(t, bundleBytes); !slices.Equal(got, []string{rec.ID}) {
		t.Errorf("bundle holds %v", got)
	}
	// The API's audit log shows the same chain, newest first, paged.
	sec := e.token(access.NewToken{Name: "sec", Role: access.Security})
	var page struct {
		Items      []*access.Entry `json:"items"`
		NextCursor *string         `json:"next_cursor"`
		Head       access.Head     `json:"head"`
	}
	e.get(sec, "/api/v1/audit-log?limit=2", &page)
	if len(page.Items) != 2 || page.Items[0].SHA256 != es[4].SHA256 || page.NextCursor == nil || page.Head.Hash != page.Items[0].Hash {
		t.Fatalf("audit-log page: %+v", page)
	}
	e.get(sec, "/api/v1/audit-log?limit=2&cursor="+*page.NextCursor, &page)
	if len(page.Items) != 2 || page.Items[0].Action != access.ActionProof {
		t.Errorf("audit-log page 2: %+v", page.Items)
	}
	rep, err := e.access.Verify(t.Context(), nil)
	if err != nil || !rep.OK {
		t.Errorf("access log verify: %+v %v", rep, err)
	}
}

func TestClientIP_TrustedProxies(t *testing.T) {
	e := newEnv(t)
	tok := e.token(access.NewToken{Name: "c", Role: access.Compliance})
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/evidence", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := entries(t, e.access)[0].Remote; got != "127.0.0.1" {
		t.Errorf("untrusted X-Forwarded-For believed: remote %q", got)
	}
}
