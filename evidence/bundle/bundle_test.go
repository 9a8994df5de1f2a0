package bundle

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/evidence/tsatest"
	"github.com/aimsvault/aimsvault/mapping"
)

// testVault holds a few records over two checkpoints, one record logged after
// the last checkpoint, and one content over 64 KiB.
func testVault(t testing.TB, name string) *evidence.Vault {
	t.Helper()
	ctx := context.Background()
	v, err := evidence.Init(ctx, evidence.Options{Dir: filepath.Join(t.TempDir(), "vault"), Name: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	big := make([]byte, 100<<10)
	rand.Read(big)
	inputs := []evidence.Input{
		{Kind: "file.ai_policy", Subject: "policies/ai-policy.md", MediaType: "text/markdown", Controls: []string{"5.2", "A.2.2"}, Content: strings.NewReader("# AI policy\n")},
		{Kind: "file.risk_register", Subject: "risk/register.md", MediaType: "text/markdown", Controls: []string{"6.1.2", "8.2"}, Content: strings.NewReader("| risk | owner |\n")},
		{Kind: "file.document", Subject: "scans/minutes 2026/10.pdf", MediaType: "application/pdf", Controls: []string{"9.3.1"}, Content: bytes.NewReader(big)},
		{Kind: "file.ai_policy", Subject: "policies/ai-policy.md", MediaType: "text/markdown", Controls: []string{"5.2", "A.2.2"}, Content: strings.NewReader("# AI policy\n")},
	}
	for i, in := range inputs {
		in.Run, in.Connector, in.Type = "run", "policies", "files"
		in.Provenance = json.RawMessage(`{"method":"read","complete":true}`)
		if _, _, err := v.Append(ctx, in); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			if _, err := v.SignCheckpoint(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := v.SignCheckpoint(ctx); err != nil {
		t.Fatal(err)
	}
	late := evidence.Input{Run: "run2", Connector: "policies", Type: "files", Kind: "file.document", Subject: "late.md", Content: strings.NewReader("late")}
	if _, _, err := v.Append(ctx, late); err != nil {
		t.Fatal(err)
	}
	if err := v.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return v
}

func export(t testing.TB, v *evidence.Vault, f evidence.Filter) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Export(context.Background(), v, &buf, Options{Filter: f}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func verifyBytes(b []byte, key string) *VerifyReport {
	return Verify(bytes.NewReader(b), int64(len(b)), key)
}

func problemsText(r *VerifyReport) string {
	var s []string
	for _, p := range r.Problems {
		s = append(s, p.String())
	}
	return strings.Join(s, "\n")
}

func TestExport_VerifiesAndIsDeterministic(t *testing.T) {
	t.Parallel()
	v := testVault(t, "test.example/aims")
	a := export(t, v, evidence.Filter{})
	b := export(t, v, evidence.Filter{})
	if !bytes.Equal(a, b) {
		t.Fatal("two exports of the same vault and filter differ")
	}
	rep := verifyBytes(a, v.VerifierKey())
	if !rep.OK || rep.Artifacts != 4 || rep.Checkpoint != 4 || !rep.KeyPinned {
		t.Fatalf("report %+v\n%s", rep, problemsText(rep))
	}
	if rep.Excluded != 1 {
		t.Errorf("the record after the checkpoint should be listed as excluded, got %d", rep.Excluded)
	}

	zr, _ := zip.NewReader(bytes.NewReader(a), int64(len(a)))
	var names []string
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		names = append(names, f.Name)
		files[f.Name] = f
	}
	for _, want := range []string{"bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt", "data/manifest.json",
		"data/checkpoint", "data/vault.pub", "data/controls.csv", "data/index.html",
		"data/artifacts/policies/scans/minutes_2026/10-" /* prefix */} {
		found := false
		for _, n := range names {
			if strings.HasPrefix(n, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("bundle lacks %s; has %v", want, names)
		}
	}
	// Identical content is stored once.
	policies := 0
	for _, n := range names {
		if strings.HasPrefix(n, "data/artifacts/policies/policies/ai-policy-") {
			policies++
		}
	}
	if policies != 1 {
		t.Errorf("the policy content appears %d times, want once", policies)
	}
	manifest := readEntry(t, files["data/manifest.json"])
	var m Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		t.Fatal(err)
	}
	if m.Completeness.Selected != 5 || m.Completeness.Included != 4 || len(m.Completeness.Excluded) != 1 ||
		!strings.Contains(m.Completeness.Excluded[0].Reason, "after the latest checkpoint") {
		t.Errorf("completeness %+v", m.Completeness)
	}
	csv := string(readEntry(t, files["data/controls.csv"]))
	if !strings.Contains(csv, "A.2.2,AI policy,control,covered,2,") || !strings.Contains(csv, "4.1,Understanding the organization and its context,clause,manual,0,") {
		t.Errorf("controls.csv:\n%s", csv)
	}
	index := string(readEntry(t, files["data/index.html"]))
	if !strings.Contains(index, `href="artifacts/policies/policies/ai-policy-`) || strings.Contains(index, "http://") || strings.Contains(index, "https://") {
		t.Errorf("index.html lacks relative links or has external ones")
	}
}

func readEntry(t testing.TB, f *zip.File) []byte {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestExport_Filter(t *testing.T) {
	t.Parallel()
	v := testVault(t, "test.example/aims")
	ids, err := mapping.Expand("6.1")
	if err != nil {
		t.Fatal(err)
	}
	b := export(t, v, evidence.Filter{Controls: ids})
	rep := verifyBytes(b, v.VerifierKey())
	if !rep.OK || rep.Artifacts != 1 || rep.Excluded != 0 {
		t.Fatalf("filtered bundle: %+v\n%s", rep, problemsText(rep))
	}
}

// rewrite builds a new zip from b, letting edit change, drop (nil) or add
// entries; names lists the entries to write, in order.
func rewrite(t testing.TB, b []byte, edit func(name string, data []byte) []byte, extra ...[2]string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		data := edit(f.Name, readEntry(t, f))
		if data == nil {
			continue
		}
		w, _ := zw.Create(f.Name)
		w.Write(data)
	}
	for _, e := range extra {
		w, _ := zw.Create(e[0])
		w.Write([]byte(e[1]))
	}
	zw.Close()
	return out.Bytes()
}

func TestVerify_CatchesTampering(t *testing.T) {
	t.Parallel()
	v := testVault(t, "test.example/aims")
	good := export(t, v, evidence.Filter{})
	other := testVault(t, "test.example/aims")
	otherBundle := export(t, other, evidence.Filter{})
	otherCheckpoint := func() []byte {
		zr, _ := zip.NewReader(bytes.NewReader(otherBundle), int64(len(otherBundle)))
		for _, f := range zr.File {
			if f.Name == "data/checkpoint" {
				return readEntry(t, f)
			}
		}
		return nil
	}()
	artifactName := func() string {
		zr, _ := zip.NewReader(bytes.NewReader(good), int64(len(good)))
		for _, f := range zr.File {
			if strings.HasPrefix(f.Name, "data/artifacts/policies/risk/") {
				return f.Name
			}
		}
		t.Fatal("no risk register artifact")
		return ""
	}()

	cases := []struct {
		name   string
		bundle []byte
		key    string
		want   string
	}{
		{"flipped byte in an artifact", rewrite(t, good, func(n string, d []byte) []byte {
			if n == artifactName {
				d[0] ^= 1
			}
			return d
		}), v.VerifierKey(), artifactName + ": sha256"},
		{"deleted artifact", rewrite(t, good, func(n string, d []byte) []byte {
			if n == artifactName {
				return nil
			}
			return d
		}), v.VerifierKey(), artifactName + ": listed in manifest-sha256.txt but missing"},
		{"swapped checkpoint", rewrite(t, good, func(n string, d []byte) []byte {
			if n == "data/checkpoint" {
				return otherCheckpoint
			}
			return d
		}), v.VerifierKey(), "data/checkpoint: checkpoint signature"},
		{"wrong key", good, other.VerifierKey(), "data/checkpoint: checkpoint signature"},
		{"extra file", rewrite(t, good, func(_ string, d []byte) []byte { return d }, [2]string{"data/artifacts/x.txt", "smuggled"}),
			v.VerifierKey(), "data/artifacts/x.txt: not listed"},
		{"path escape", rewrite(t, good, func(_ string, d []byte) []byte { return d }, [2]string{"../../etc/cron.d/x", "evil"}),
			v.VerifierKey(), "../../etc/cron.d/x: unsafe file name"},
		{"absolute path", rewrite(t, good, func(_ string, d []byte) []byte { return d }, [2]string{"/tmp/x", "evil"}),
			v.VerifierKey(), "/tmp/x: unsafe file name"},
		{"duplicate entry", rewrite(t, good, func(_ string, d []byte) []byte { return d }, [2]string{"data/checkpoint", "again"}),
			v.VerifierKey(), "data/checkpoint: appears twice"},
		{"truncated archive", good[:len(good)/2], v.VerifierKey(), "not a readable zip archive"},
		{"manifest lies about size", rewrite(t, good, func(n string, d []byte) []byte {
			if n == "bag-info.txt" {
				return bytes.Replace(d, []byte("Payload-Oxum: "), []byte("Payload-Oxum: 9"), 1)
			}
			return d
		}), v.VerifierKey(), "bag-info.txt: sha256"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rep := verifyBytes(c.bundle, c.key)
			if rep.OK || !strings.Contains(problemsText(rep), c.want) {
				t.Fatalf("ok=%v problems:\n%s\nwant one containing %q", rep.OK, problemsText(rep), c.want)
			}
		})
	}
}

// A bundle re-hashed consistently after tampering (manifests rewritten) must
// still fail on the signed record or the proof.
func TestVerify_ConsistentForgeryFailsOnProof(t *testing.T) {
	t.Parallel()
	v := testVault(t, "test.example/aims")
	good := export(t, v, evidence.Filter{})
	zr, _ := zip.NewReader(bytes.NewReader(good), int64(len(good)))
	var m Manifest
	for _, f := range zr.File {
		if f.Name == "data/manifest.json" {
			json.Unmarshal(readEntry(t, f), &m)
		}
	}
	target := m.Artifacts[1]
	forged := func(name string, data []byte) []byte {
		switch name {
		case target.Record:
			return bytes.Replace(data, []byte(`"subject":"risk/register.md"`), []byte(`"subject":"risk/regist3r.md"`), 1)
		case target.Proof:
			return bytes.Replace(data, []byte(fmt.Sprintf("index %d\n", target.LeafIndex)), []byte("index 0\n"), 1)
		}
		return data
	}
	b := rehash(t, rewrite(t, good, forged))
	rep := verifyBytes(b, v.VerifierKey())
	text := problemsText(rep)
	if rep.OK || !strings.Contains(text, target.Record+": not included in the signed tree") || !strings.Contains(text, target.Proof+": proves leaf 0") {
		t.Fatalf("forged record accepted or misreported:\n%s", text)
	}
}

// rehash recomputes the BagIt manifests, as a forger would.
func rehash(t testing.TB, b []byte) []byte {
	zr, _ := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	sums := map[string]string{}
	var payload, names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if strings.HasPrefix(f.Name, "data/") {
			sums[f.Name] = sha256hex(readEntry(t, f))
			payload = append(payload, sums[f.Name]+"  "+f.Name+"\n")
		}
	}
	man := strings.Join(payload, "")
	var tag []string
	b = rewrite(t, b, func(n string, d []byte) []byte {
		if n == "manifest-sha256.txt" {
			d = []byte(man)
		}
		if n != "tagmanifest-sha256.txt" && !strings.HasPrefix(n, "data/") {
			tag = append(tag, sha256hex(d)+"  "+n+"\n")
		}
		return d
	})
	return rewrite(t, b, func(n string, d []byte) []byte {
		if n == "tagmanifest-sha256.txt" {
			return []byte(strings.Join(tag, ""))
		}
		return d
	})
}

func TestVerifyFile_ReadsFromDisk(t *testing.T) {
	t.Parallel()
	v := testVault(t, "test.example/aims")
	path := filepath.Join(t.TempDir(), "b.zip")
	os.WriteFile(path, export(t, v, evidence.Filter{}), 0o644)
	rep, err := VerifyFile(path, "")
	if err != nil || !rep.OK || rep.KeyPinned || len(rep.Warnings) == 0 || !strings.Contains(rep.Warnings[0], "pin the vault's key") {
		t.Fatalf("VerifyFile without key: %v %+v", err, rep)
	}
}

func TestVerify_ZipBombRefused(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("data/artifacts/zeros.bin")
	zero := make([]byte, 1<<20)
	for range 64 { // 64 MiB of zeros compress to ~64 KiB
		w.Write(zero)
	}
	zw.Close()
	rep := verifyBytes(buf.Bytes(), "")
	if rep.OK || !strings.Contains(problemsText(rep), "zip bomb") {
		t.Fatalf("zip bomb: %s", problemsText(rep))
	}
}

func TestSafeNameAndArtifactPath(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"data/records/x.json": true, "../x": false, "/abs": false, "data/../x": false, "data//x": false,
		"data/x y": false, `data\x`: false, "data/ü": false, "": false, "./data": false,
	} {
		if got := safeName(name); got != want {
			t.Errorf("safeName(%q) = %v", name, got)
		}
	}
	sha := strings.Repeat("ab", 32)
	for _, c := range []struct{ subject, mt, want string }{
		{"policies/ai-policy.md", "text/markdown", "data/artifacts/conn/policies/ai-policy-abababababab.md"},
		{"example-org/model#12", "application/json", "data/artifacts/conn/example-org/model_12-abababababab.json"},
		{"../../etc/passwd", "", "data/artifacts/conn/_/_/etc/passwd-abababababab.bin"},
		{"", "", "data/artifacts/conn/artifact-abababababab.bin"},
	} {
		got := artifactPath("conn", c.subject, c.mt, sha)
		if got != c.want || !safeName(got) {
			t.Errorf("artifactPath(%q) = %q, want %q", c.subject, got, c.want)
		}
	}
}

func sha256hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestExport_TimestampTokenTravels(t *testing.T) {
	t.Parallel()
	tsa := tsatest.New(t)
	ctx := context.Background()
	v, err := evidence.Init(ctx, evidence.Options{Dir: filepath.Join(t.TempDir(), "v"), Name: "tsa.example/aims", TSA: &evidence.TSA{URL: tsa.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	v.Append(ctx, evidence.Input{Run: "r", Connector: "c", Type: "t", Kind: "file.document", Subject: "a.md", Content: strings.NewReader("a")})
	if _, err := v.SignCheckpoint(ctx); err != nil {
		t.Fatal(err)
	}
	b := export(t, v, evidence.Filter{})
	rep := verifyBytes(b, v.VerifierKey())
	if !rep.OK || rep.Timestamp == nil {
		t.Fatalf("bundle with token: %+v\n%s", rep, problemsText(rep))
	}
	// A token for other data is caught even when the bag's hashes are redone.
	forged := rehash(t, rewrite(t, b, func(n string, d []byte) []byte {
		if n == "data/checkpoint.tsr" {
			cp, _ := v.LatestCheckpoint(ctx)
			tok, _, err := (&evidence.TSA{URL: tsa.URL}).Stamp(ctx, append([]byte("other "), cp.Note...))
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		return d
	}))
	if rep := verifyBytes(forged, v.VerifierKey()); rep.OK || !strings.Contains(problemsText(rep), "data/checkpoint.tsr: timestamp token is for other data") {
		t.Fatalf("forged token: %s", problemsText(rep))
	}
}
