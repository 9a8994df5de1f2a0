package evidence

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

var benchProvenance = json.RawMessage(`{"method":"GET","endpoint":"/repos/example-org/model-training/branches/main/protection","complete":true}`)

// BenchmarkIngest1KiB appends records of 1 KiB content, each with its
// content, record, leaf and tree hashes committed durably (synchronous=FULL,
// group commit), and in the same run inserts the same rows into a plain
// SQLite table with batched transactions and no log, reporting both rates
// and their ratio.
func BenchmarkIngest1KiB(b *testing.B) {
	const n = 20000
	contents := make([][]byte, n)
	for i := range contents {
		contents[i] = make([]byte, 1024)
		rand.Read(contents[i])
	}
	var vaultDur, plainDur time.Duration
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		v, err := Init(context.Background(), Options{Dir: filepath.Join(dir, "vault"), Name: origin})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for j, c := range contents {
			if _, _, err := v.Append(context.Background(), Input{
				Run: "run", Connector: "github-ml", Type: "github", Kind: "github.branch_protection",
				Subject: fmt.Sprintf("example-org/repo-%d", j), MediaType: "application/json",
				Provenance: benchProvenance, Attributes: map[string]string{"repo": "repo"},
				Controls: []string{"A.6.1.3", "8.1"}, Content: &sliceReader{b: c},
			}); err != nil {
				b.Fatal(err)
			}
		}
		if err := v.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
		vaultDur += time.Since(start)
		v.Close()

		plainDur += plainInsert(b, filepath.Join(dir, "plain.db"), contents)
	}
	vaultRate := float64(n*b.N) / vaultDur.Seconds()
	plainRate := float64(n*b.N) / plainDur.Seconds()
	b.ReportMetric(vaultRate, "records/s")
	b.ReportMetric(plainRate, "plain-records/s")
	b.ReportMetric(vaultRate/plainRate, "ratio")
	b.ReportMetric(0, "ns/op")
}

// sliceReader is a minimal reader, so the vault cannot take a shortcut on a
// known type.
type sliceReader struct{ b []byte }

func (s *sliceReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}

// plainInsert is the baseline: the same row values, batched 1,000 per
// transaction with the vault's pragmas, no hashing beyond what the row
// carries, no tree.
func plainInsert(b *testing.B, path string, contents [][]byte) time.Duration {
	db, err := openDB(path, true, false)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE rows (idx INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, run TEXT, connector TEXT,
		type TEXT, kind TEXT, subject TEXT, collected_at TEXT, sha256 BLOB, size INTEGER, media_type TEXT,
		provenance TEXT, attributes TEXT, controls TEXT, content BLOB)`); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	var tx *sql.Tx
	var stmt *sql.Stmt
	for i, c := range contents {
		if i%1000 == 0 {
			if tx != nil {
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			tx, _ = db.Begin()
			stmt, _ = tx.Prepare(`INSERT INTO rows VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
		}
		id, _ := uuid.NewV7()
		if _, err := stmt.Exec(i, id.String(), "run", "github-ml", "github", "github.branch_protection",
			fmt.Sprintf("example-org/repo-%d", i), FormatTime(time.Now()), c[:32], len(c), "application/json",
			string(benchProvenance), `{"repo":"repo"}`, `["8.1","A.6.1.3"]`, c); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// BenchmarkIngest1GiB stores one 1 GiB artifact durably and, on the same
// file, times `openssl dgst -sha256`. Set AIMSVAULT_BENCH_SIZE (bytes) to try
// another size.
func BenchmarkIngest1GiB(b *testing.B) {
	size := int64(1 << 30)
	if s := os.Getenv("AIMSVAULT_BENCH_SIZE"); s != "" {
		size, _ = strconv.ParseInt(s, 10, 64)
	}
	dir := b.TempDir()
	src := filepath.Join(dir, "artifact.bin")
	writeRandomFile(b, src, size)
	v, err := Init(context.Background(), Options{Dir: filepath.Join(dir, "vault"), Name: origin})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	resetPeakRSS()

	var opensslDur, vaultDur time.Duration
	for i := 0; i < b.N; i++ {
		if path, err := exec.LookPath("openssl"); err == nil {
			start := time.Now()
			if out, err := exec.Command(path, "dgst", "-sha256", src).CombinedOutput(); err != nil {
				b.Fatalf("openssl: %v: %s", err, out)
			}
			opensslDur += time.Since(start)
		}
		f, err := os.Open(src)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		// A distinct last byte per iteration keeps each object new.
		if _, _, err := v.Append(context.Background(), Input{Run: "run", Connector: "c", Type: "t", Kind: "k",
			Subject: "big", Content: io.MultiReader(f, strings.NewReader(strconv.Itoa(i)))}); err != nil {
			b.Fatal(err)
		}
		if err := v.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
		vaultDur += time.Since(start)
		f.Close()
	}
	mb := float64(size) * float64(b.N) / 1e6
	b.ReportMetric(mb/vaultDur.Seconds(), "vault-MB/s")
	if opensslDur > 0 {
		b.ReportMetric(mb/opensslDur.Seconds(), "openssl-MB/s")
		b.ReportMetric(opensslDur.Seconds()/vaultDur.Seconds(), "ratio")
	}
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
	b.ReportMetric(0, "ns/op")
}

func writeRandomFile(b *testing.B, path string, size int64) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := io.CopyN(w, rand.Reader, size); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// resetPeakRSS returns freed memory to the OS and restarts the kernel's
// peak-RSS count, so that what other benchmarks in this process held does
// not count against this one.
func resetPeakRSS() {
	debug.FreeOSMemory()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSSMiB is the process's peak resident set (VmHWM), in MiB.
func peakRSSMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkVerify100k verifies a vault of 100,000 records of 1 KiB.
func BenchmarkVerify100k(b *testing.B) {
	const n = 100000
	v, err := Init(context.Background(), Options{Dir: filepath.Join(b.TempDir(), "vault"), Name: origin})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	content := make([]byte, 1024)
	for i := range n {
		rand.Read(content)
		if _, _, err := v.Append(context.Background(), Input{Run: "run", Connector: "github-ml", Type: "github",
			Kind: "github.pull_request", Subject: fmt.Sprintf("example-org/repo#%d", i), MediaType: "application/json",
			Provenance: benchProvenance, Controls: []string{"A.6.1.3", "8.1"}, Content: &sliceReader{b: content}}); err != nil {
			b.Fatal(err)
		}
		if i%25000 == 24999 {
			if _, err := v.SignCheckpoint(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep, err := v.Verify(context.Background(), "")
		if err != nil || !rep.OK || rep.Records != n {
			b.Fatalf("verify: %v %+v", err, rep)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/verify")
}
