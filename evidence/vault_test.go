package evidence

import (
	"bytes"
	"context"

	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

const origin = "test.example/aims"

func newVault(t testing.TB) *Vault {
	t.Helper()
	v, err := Init(t.Context(), Options{Dir: filepath.Join(t.TempDir(), "vault"), Name: origin})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func appendText(t testing.TB, v *Vault, subject, content string, controls ...string) *Record {
	t.Helper()
	rec, _, err := v.Append(t.Context(), Input{
		Run: "run-1", Connector: "policies", Type: "files", Kind: "file.ai_policy", Subject: subject,
		MediaType: "text/markdown", Provenance: json.RawMessage(`{"method":"read","endpoint":"` + subject + `","complete":true}`),
		Attributes: map[string]string{"title": "AI policy"}, Controls: controls, Content: strings.NewReader(content),
	})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestInit_CreatesKeyAndRefusesToOverwrite(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "vault")
	v, err := Init(t.Context(), Options{Dir: dir, Name: origin})
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
	fi, err := os.Stat(filepath.Join(dir, "vault.key"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("vault.key mode %v, want 0600", fi.Mode().Perm())
	}
	key1, _ := os.ReadFile(filepath.Join(dir, "vault.key"))

	_, err = Init(t.Context(), Options{Dir: dir, Name: origin})
	if !errors.Is(err, ErrExists) {
		t.Fatalf("second Init: %v, want ErrExists", err)
	}
	key2, _ := os.ReadFile(filepath.Join(dir, "vault.key"))
	if !bytes.Equal(key1, key2) {
		t.Fatal("second Init changed the signing key")
	}
}

func TestInit_KeepsExistingKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "keys", "signing.key")
	v, err := Init(t.Context(), Options{Dir: filepath.Join(dir, "a"), Name: origin, KeyFile: keyPath})
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
	key1, _ := os.ReadFile(keyPath)
	// A second vault using the same key file must reuse, not replace, it.
	v2, err := Init(t.Context(), Options{Dir: filepath.Join(dir, "b"), Name: origin, KeyFile: keyPath})
	if err != nil {
		t.Fatal(err)
	}
	v2.Close()
	key2, _ := os.ReadFile(keyPath)
	if !bytes.Equal(key1, key2) {
		t.Fatal("Init overwrote an existing signing key")
	}
}

func TestOpen_RefusesWhatIsNotAVault(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Open(t.Context(), Options{Dir: dir}); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("Open of empty dir: %v, want ErrNotInitialized", err)
	}
	junk := []byte("this is somebody's spreadsheet, not a vault\n")
	if err := os.WriteFile(filepath.Join(dir, "vault.db"), junk, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), Options{Dir: dir}); !errors.Is(err, ErrNotVault) {
		t.Fatalf("Open of junk: %v, want ErrNotVault", err)
	}
	if _, err := Init(t.Context(), Options{Dir: dir, Name: origin}); !errors.Is(err, ErrNotVault) {
		t.Fatalf("Init over junk: %v, want ErrNotVault", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "vault.db")); !bytes.Equal(got, junk) {
		t.Fatal("the foreign file was modified")
	}

	// A real SQLite database that aimsvault did not make.
	other := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(other, "vault.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE invoices (id INTEGER)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(t.Context(), Options{Dir: other}); !errors.Is(err, ErrNotVault) {
		t.Fatalf("Open of foreign sqlite: %v, want ErrNotVault", err)
	}
}

func TestAppend_InlineAndObjectRoundTrip(t *testing.T) {
	t.Parallel()
	v := newVault(t)
	small := "# AI policy\n"
	big := bytes.Repeat([]byte("0123456789abcdef"), (InlineMax/16)*3+7) // > 64 KiB, not block aligned
	r1 := appendText(t, v, "ai-policy.md", small, "A.2.2", "5.2")
	r2, newBlob, err := v.Append(t.Context(), Input{Run: "run-1", Connector: "c", Type: "files", Kind: "file.document",
		Subject: "big.bin", Content: bytes.NewReader(big)})
	if err != nil {
		t.Fatal(err)
	}
	if !newBlob {
		t.Error("first big content not reported as a new blob")
	}
	if err := v.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256(big); r2.SHA256 != Digest(want) || r2.Size != int64(len(big)) {
		t.Errorf("big record sha256 %s size %d", r2.SHA256, r2.Size)
	}
	if _, err := os.Stat(v.obj.path(r2.SHA256)); err != nil {
		t.Errorf("big content not in objects/: %v", err)
	}
	for _, c := range []struct {
		rec  *Record
		want []byte
	}{{r1, []byte(small)}, {r2, big}} {
		rc, _, err := v.OpenContent(t.Context(), c.rec.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("content of %s: %d bytes, err %v", c.rec.Subject, len(got), err)
		}
	}
	got, err := v.Record(t.Context(), r1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "ai-policy.md" || strings.Join(got.Controls, ",") != "5.2,A.2.2" || got.Index != 0 {
		t.Errorf("record read back: %+v", got)
	}
	if _, err := v.Record(t.Context(), r1.ID[:13]); err != nil {
		t.Errorf("lookup by prefix: %v", err)
	}
}

func TestAppend_SameContentIsNewObservation(t *testing.T) {
	t.Parallel()
	v := newVault(t)
	a := appendText(t, v, "p.md", "same")
	b, newBlob, err := v.Append(t.Context(), Input{Run: "run-2", Connector: "policies", Type: "files", Kind: "file.ai_policy", Subject: "p.md", Content: strings.NewReader("same")})
	if err != nil {
		t.Fatal(err)
	}
	if newBlob {
		t.Error("identical content reported as a new blob")
	}
	if a.ID == b.ID || a.SHA256 != b.SHA256 || b.Index != 1 {
		t.Errorf("want two records on one content, got %+v and %+v", a, b)
	}
}

func TestAppend_FailedContentLeavesNothing(t *testing.T) {
	t.Parallel()
	v := newVault(t)
	appendText(t, v, "ok.md", "fine")
	boom := errors.New("connection reset")
	_, _, err := v.Append(t.Context(), Input{Run: "r", Connector: "c", Type: "t", Kind: "k", Subject: "broken",
		Content: io.MultiReader(bytes.NewReader(make([]byte, InlineMax*2)), errReader{boom})})
	if !errors.Is(err, boom) {
		t.Fatalf("Append: %v, want the reader's error", err)
	}
	appendText(t, v, "after.md", "still works")
	if err := v.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	var subjects []string
	v.Records(t.Context(), Filter{}, func(r *Record) error { subjects = append(subjects, fmt.Sprint(r.Index, r.Subject)); return nil })
	if strings.Join(subjects, ",") != "0ok.md,1after.md" {
		t.Errorf("records %v", subjects)
	}
	if tmp, _ := os.ReadDir(filepath.Join(v.Dir(), "objects", "tmp")); len(tmp) != 0 {
		t.Errorf("temp files left behind: %d", len(tmp))
	}
	rep, err := v.Verify(t.Context(), "")
	if err != nil || !rep.OK {
		t.Fatalf("verify after failed append: %v %+v", err, rep)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestLedgerIsAppendOnly(t *testing.T) {
	t.Parallel()
	v := newVault(t)
	appendText(t, v, "p.md", "x", "5.2")
	if _, err := v.SignCheckpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE records SET subject = 'other'`, `DELETE FROM records`,
		`UPDATE content SET data = x'00'`, `DELETE FROM content`,
		`DELETE FROM checkpoints`, `DELETE FROM meta`,
	} {
		if _, err := v.w.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err %v, want append-only refusal", q, err)
		}
	}
}

func TestLeafBytes_KnownAnswer(t *testing.T) {
	t.Parallel()
	eff := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	r := &Record{
		ID: "019a0000-0000-7000-8000-000000000001", Run: "run", Connector: "policies", Type: "files",
		Kind: "file.ai_policy", Subject: "ai-policy.md", CollectedAt: time.Date(2026, 11, 29, 5, 0, 0, 123456789, time.UTC),
		EffectiveAt: &eff, SHA256: sha256.Sum256([]byte("x")), Size: 1, MediaType: "text/markdown",
		Provenance: json.RawMessage(`{ "method": "read", "complete": true }`), Attributes: map[string]string{"title": "é<", "a": "1"},
		Controls: []string{"5.2", "A.2.2"},
	}
	got, err := r.LeafBytes()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"attributes":{"a":"1","title":"é<"},"collected_at":"2026-11-29T05:00:00.123456Z","connector":"policies",` +
		`"controls":["5.2","A.2.2"],"effective_at":"2026-11-01T00:00:00.000000Z","id":"019a0000-0000-7000-8000-000000000001",` +
		`"kind":"file.ai_policy","media_type":"text/markdown","provenance":{"complete":true,"method":"read"},"run":"run",` +
		`"sha256":"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881","size":1,"source_url":"",` +
		`"subject":"ai-policy.md","type":"files","v":1}`
	if string(got) != want {
		t.Fatalf("leaf bytes\n got %s\nwant %s", got, want)
	}
	back, err := ParseLeaf(got)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := back.LeafBytes(); !bytes.Equal(again, got) {
		t.Fatal("leaf does not round-trip")
	}
	if _, err := ParseLeaf([]byte(strings.Replace(want, `{"attributes"`, `{ "attributes"`, 1))); err == nil {
		t.Fatal("non-canonical leaf accepted")
	}
}

// TestProofs_IndependentVerifier checks inclusion and consistency proofs and
// checkpoint roots with transparency-dev/merkle, an RFC 6962 implementation
// independent of x/mod's tlog.
func TestProofs_IndependentVerifier(t *testing.T) {
	t.Parallel()
	v := newVault(t)
	var leaves [][]byte
	for i := range 7 {
		appendText(t, v, fmt.Sprintf("doc-%d.md", i), fmt.Sprintf("content %d", i))
		if i == 2 {
			if _, err := v.SignCheckpoint(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
	}
	cp, err := v.SignCheckpoint(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != 7 {
		t.Fatalf("checkpoint size %d", cp.Size)
	}
	v.Records(t.Context(), Filter{}, func(r *Record) error {
		b, err := r.LeafBytes()
		leaves = append(leaves, b)
		return err
	})
	hasher := rfc6962.DefaultHasher
	origin2, size, root, err := ParseCheckpoint(cp.Note, v.VerifierKey())
	if err != nil || origin2 != origin || size != 7 {
		t.Fatalf("ParseCheckpoint: %v %q %d", err, origin2, size)
	}
	if !strings.HasPrefix(string(cp.Note), fmt.Sprintf("%s\n7\n%s\n\n— %s ", origin, base64.StdEncoding.EncodeToString(root[:]), origin)) {
		t.Errorf("checkpoint note not in C2SP form:\n%s", cp.Note)
	}
	for i, leaf := range leaves {
		p, err := v.ProveRecord(t.Context(), int64(i), 7)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyInclusion(hasher, uint64(i), 7, hasher.HashLeaf(leaf), hashes(p), root[:]); err != nil {
			t.Errorf("leaf %d: independent inclusion check: %v", i, err)
		}
	}
	var old *Checkpoint
	v.Checkpoints(t.Context(), func(c *Checkpoint) error {
		if old == nil {
			old = c
		}
		return nil
	})
	tp, err := v.ProveTree(t.Context(), 7, old.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyConsistency(hasher, uint64(old.Size), 7, hashes(tp), old.Root[:], root[:]); err != nil {
		t.Errorf("independent consistency check: %v", err)
	}
}

func hashes[H ~[]tlog.Hash](p H) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = p[i][:]
	}
	return out
}

func TestSignCheckpoint_RefusesInconsistentTree(t *testing.T) {
	t.Parallel()
	v := newVault(t)
	appendText(t, v, "a", "a")
	appendText(t, v, "b", "b")
	if _, err := v.SignCheckpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	appendText(t, v, "c", "c")
	if err := v.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Rewrite history below the last checkpoint.
	tamper(t, v, `UPDATE records SET hashes = randomblob(64) WHERE idx = 1`)
	if _, err := v.SignCheckpoint(t.Context()); err == nil || !strings.Contains(err.Error(), "not consistent") {
		t.Fatalf("SignCheckpoint over rewritten history: %v", err)
	}
}

// tamper changes the database as an attacker with file access would: the
// triggers go first.
func tamper(t testing.TB, v *Vault, q string) {
	t.Helper()
	for _, tbl := range []string{"records", "content", "checkpoints"} {
		for _, op := range []string{"update", "delete"} {
			if _, err := v.w.Exec(fmt.Sprintf(`DROP TRIGGER IF EXISTS %s_no_%s`, tbl, op)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := v.w.Exec(q); err != nil {
		t.Fatal(err)
	}
}

func TestVerify_NamesWhatWasAltered(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		alter  func(t *testing.T, v *Vault, recs []*Record)
		expect func(recs []*Record) string
	}{
		{"record time", func(t *testing.T, v *Vault, r []*Record) {
			tamper(t, v, fmt.Sprintf(`UPDATE records SET collected_at = '2020-01-01T00:00:00.000000Z' WHERE id = '%s'`, r[1].ID))
		}, func(r []*Record) string { return "record " + r[1].ID + ": collected_at" }},
		{"attributes mirror", func(t *testing.T, v *Vault, r []*Record) {
			tamper(t, v, fmt.Sprintf(`UPDATE records SET attributes = '{"title":"forged"}' WHERE id = '%s'`, r[1].ID))
		}, func(r []*Record) string { return "record " + r[1].ID + ": attributes is" }},
		{"leaf bytes", func(t *testing.T, v *Vault, r []*Record) {
			tamper(t, v, fmt.Sprintf(`UPDATE records SET leaf = CAST(replace(CAST(leaf AS TEXT), 'doc-0', 'doc-X') AS BLOB), subject = 'doc-X.md' WHERE id = '%s'`, r[0].ID))
		}, func(r []*Record) string { return "record " + r[0].ID + ": leaf hash does not match" }},
		{"inline content", func(t *testing.T, v *Vault, r []*Record) {
			tamper(t, v, fmt.Sprintf(`UPDATE content SET data = CAST('forged' AS BLOB) WHERE sha256 = x'%s'`, r[0].SHA256))
		}, func(r []*Record) string { return "object " + r[0].SHA256.String() + ": inline content hashes to" }},
		{"object bytes", func(t *testing.T, v *Vault, r []*Record) {
			p := v.obj.path(r[2].SHA256)
			b, _ := os.ReadFile(p)
			b[100] ^= 1
			os.Chmod(p, 0o644)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}, func(r []*Record) string { return "object " + r[2].SHA256.String() + ": object file" }},
		{"object removed", func(t *testing.T, v *Vault, r []*Record) {
			os.Remove(v.obj.path(r[2].SHA256))
		}, func(r []*Record) string { return "object " + r[2].SHA256.String() + ": object " }},
		{"record deleted", func(t *testing.T, v *Vault, r []*Record) {
			tamper(t, v, fmt.Sprintf(`DELETE FROM records WHERE idx = 2`))
		}, func(r []*Record) string { return "checkpoint 3: signs a tree of 3 records but the log holds 2" }},
		{"checkpoint signature", func(t *testing.T, v *Vault, r []*Record) {
			tamper(t, v, `UPDATE checkpoints SET note = replace(note, char(10)||'3'||char(10), char(10)||'2'||char(10))`)
		}, func(r []*Record) string { return "checkpoint 3: checkpoint signature" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			v := newVault(t)
			recs := []*Record{appendText(t, v, "doc-0.md", "zero", "5.2"), appendText(t, v, "doc-1.md", "one")}
			big, _, err := v.Append(t.Context(), Input{Run: "r", Connector: "c", Type: "t", Kind: "k", Subject: "big",
				Content: bytes.NewReader(bytes.Repeat([]byte{7}, InlineMax+1000))})
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, big)
			if _, err := v.SignCheckpoint(t.Context()); err != nil {
				t.Fatal(err)
			}
			rep, err := v.Verify(t.Context(), "")
			if err != nil || !rep.OK || rep.Records != 3 || rep.Checkpoints != 1 {
				t.Fatalf("intact vault: err %v report %+v", err, rep)
			}
			c.alter(t, v, recs)
			rep, err = v.Verify(t.Context(), "")
			if err != nil {
				t.Fatal(err)
			}
			want := c.expect(recs)
			var all []string
			for _, p := range rep.Problems {
				all = append(all, p.String())
			}
			if rep.OK || !strings.Contains(strings.Join(all, "\n"), want) {
				t.Fatalf("problems:\n%s\nwant one containing %q", strings.Join(all, "\n"), want)
			}
		})
	}
}

func TestRuns_RecordAndInterrupt(t *testing.T) {
	t.Parallel()
	v := newVault(t)
	start := time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC)
	for i, id := range []string{"run-a", "run-b"} {
		if err := v.StartRun(t.Context(), Run{ID: id, Connector: "policies", Type: "files", Trigger: "collect", StartedAt: start.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.FinishRun(t.Context(), Run{ID: "run-a", Status: RunOK, Artifacts: 5, NewBlobs: 2}); err != nil {
		t.Fatal(err)
	}
	if err := v.AppendRunLogs(t.Context(), "run-a", []LogLine{{Time: start, Level: "INFO", Msg: "run started"}, {Time: start, Level: "INFO", Msg: "run finished", Attrs: json.RawMessage(`{"artifacts":5}`)}}); err != nil {
		t.Fatal(err)
	}
	if err := v.MarkInterrupted(t.Context()); err != nil {
		t.Fatal(err)
	}
	runs, err := v.Runs(t.Context(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].ID != "run-b" || runs[0].Status != RunFailed || runs[0].Error != "interrupted" ||
		runs[1].Status != RunOK || runs[1].Artifacts != 5 || runs[1].NewBlobs != 2 {
		t.Fatalf("runs: %+v", runs)
	}
	logs, err := v.RunLogs(t.Context(), "run-a")
	if err != nil || len(logs) != 2 || logs[1].Msg != "run finished" {
		t.Fatalf("logs: %v %+v", err, logs)
	}
}

// One caller's cancellation must not take other callers' records in the
// shared batch with it.
func TestAppend_CanceledCallerKeepsOthersRecords(t *testing.T) {
	t.Parallel()
	v := newVault(t)
	kept := appendText(t, v, "kept.md", "kept")
	for range 20 {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, _, err := v.Append(ctx, Input{Run: "r", Connector: "c", Type: "t", Kind: "k", Subject: "canceled", Content: strings.NewReader("x")}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Append with a canceled ctx: %v", err)
		}
	}
	if err := v.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Record(t.Context(), kept.ID); err != nil {
		t.Fatalf("record appended before the canceled call was lost: %v", err)
	}
	rep, err := v.Verify(t.Context(), "")
	if err != nil || !rep.OK || rep.Records != 1 {
		t.Fatalf("verify: %v %+v", err, rep)
	}
}
