package bundle

import (
	"archive/zip"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aimsvault/aimsvault/evidence"
)

// benchVault appends n records of the given content size, signs a
// checkpoint, and returns the vault.
func benchVault(b *testing.B, n, size int) *evidence.Vault {
	b.Helper()
	ctx := context.Background()
	v, err := evidence.Init(ctx, evidence.Options{Dir: filepath.Join(b.TempDir(), "vault"), Name: "bench.example/aims"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { v.Close() })
	content := make([]byte, size)
	for i := range n {
		rand.Read(content)
		if _, _, err := v.Append(ctx, evidence.Input{Run: "run", Connector: "github-ml", Type: "github",
			Kind: "github.pull_request", Subject: fmt.Sprintf("example-org/model-training#%d", i), MediaType: "application/json",
			Provenance: json.RawMessage(`{"method":"GET","complete":true}`), Controls: []string{"A.6.1.3", "8.1"},
			Content: strings.NewReader(string(content))}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := v.SignCheckpoint(ctx); err != nil {
		b.Fatal(err)
	}
	return v
}

// BenchmarkExport10k exports a bundle of 10,000 artifacts of 1 KiB.
func BenchmarkExport10k(b *testing.B) {
	v := benchVault(b, 10000, 1024)
	out := filepath.Join(b.TempDir(), "bundle.zip")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := os.Create(out)
		if err != nil {
			b.Fatal(err)
		}
		sum, err := Export(context.Background(), v, f, Options{})
		if err != nil || sum.Included != 10000 {
			b.Fatalf("export: %v %+v", err, sum)
		}
		f.Close()
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/export")
}

// BenchmarkBundleVerify verifies a bundle of 10,000 artifacts (2 GiB by
// default; AIMSVAULT_BENCH_BUNDLE_BYTES sets the total) and, on the same
// files unpacked, times `sha256sum -c manifest-sha256.txt` side by side.
// It reports the verifier's peak RSS, which must not grow with the bundle.
func BenchmarkBundleVerify(b *testing.B) {
	total := int64(2 << 30)
	if s := os.Getenv("AIMSVAULT_BENCH_BUNDLE_BYTES"); s != "" {
		total, _ = strconv.ParseInt(s, 10, 64)
	}
	const files = 10000
	v := benchVault(b, files, int(total/files))
	dir := b.TempDir()
	path := filepath.Join(dir, "bundle.zip")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := Export(context.Background(), v, f, Options{}); err != nil {
		b.Fatal(err)
	}
	f.Close()
	unpacked := filepath.Join(dir, "unpacked")
	unzipTo(b, path, unpacked)
	key := v.VerifierKey()

	// The verifier runs in a child process (this test binary, re-executed):
	// its peak RSS is then its own, not the vault builder's.
	var ours, theirs time.Duration
	var maxRSS int64
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestVerifyHelperProcess$")
		cmd.Env = append(os.Environ(), "AIMSVAULT_VERIFY_HELPER="+path, "AIMSVAULT_VERIFY_KEY="+key)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("verify: %v %s", err, out)
		}
		ours += time.Since(start)
		// Not rusage: Linux carries the parent's peak across fork+exec.
		var kb int64
		if _, err := fmt.Sscanf(string(out), "peak-rss-kb %d", &kb); err != nil {
			b.Fatalf("helper output %q: %v", out, err)
		}
		maxRSS = max(maxRSS, kb)
		if _, err := exec.LookPath("sha256sum"); err == nil {
			cmd := exec.Command("sha256sum", "-c", "--quiet", "manifest-sha256.txt")
			cmd.Dir = unpacked
			start = time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("sha256sum: %v %s", err, out)
			}
			theirs += time.Since(start)
		}
	}
	b.ReportMetric(ours.Seconds()/float64(b.N), "s/verify")
	if theirs > 0 {
		b.ReportMetric(theirs.Seconds()/float64(b.N), "s/sha256sum")
	}
	b.ReportMetric(float64(maxRSS)/1024, "peak-RSS-MiB")
	b.ReportMetric(0, "ns/op")
}

// TestVerifyHelperProcess is BenchmarkBundleVerify's child: it verifies
// one bundle and exits. It does nothing in a normal test run.
func TestVerifyHelperProcess(t *testing.T) {
	path := os.Getenv("AIMSVAULT_VERIFY_HELPER")
	if path == "" {
		t.Skip("helper process for BenchmarkBundleVerify")
	}
	rep, err := VerifyFile(path, os.Getenv("AIMSVAULT_VERIFY_KEY"))
	if err != nil || !rep.OK {
		fmt.Fprintf(os.Stderr, "verify: %v %+v\n", err, rep)
		os.Exit(1)
	}
	status, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			fmt.Printf("peak-rss-kb %s\n", f[1])
		}
	}
	os.Exit(0)
}

func unzipTo(b *testing.B, zipPath, dir string) {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		b.Fatal(err)
	}
	defer zr.Close()
	for _, zf := range zr.File {
		dst := filepath.Join(dir, filepath.FromSlash(zf.Name))
		os.MkdirAll(filepath.Dir(dst), 0o755)
		rc, err := zf.Open()
		if err != nil {
			b.Fatal(err)
		}
		w, err := os.Create(dst)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(w, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
		w.Close()
	}
}
