package e2e

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/mapping"
)

// TestScale_MillionRecords builds a vault of AIMSVAULT_SCALE_RECORDS records
// (make soak sets 1,000,000) through the real binary, then measures what
// users wait for: coverage, evidence-list pages (the first one and deep
// cursor pages, as the API serves them), single-record lookups, full and
// incremental verify, and the vault's bytes per record. It reports figures
// and asserts only correctness: speed is for people to read, not to gate.
func TestScale_MillionRecords(t *testing.T) {
	n := envInt(t, "AIMSVAULT_SCALE_RECORDS", 0)
	if n == 0 {
		t.Skip("set AIMSVAULT_SCALE_RECORDS (make soak) to build and measure a large vault")
	}
	dir := t.TempDir()
	if keep := os.Getenv("AIMSVAULT_SCALE_DIR"); keep != "" {
		dir = keep // reuse a vault built before: measuring again is quick
	}
	config := filepath.Join(dir, "aimsvault.yaml")
	cfg := fmt.Sprintf(`vault:
  dir: data
  name: scale.example/aims
connectors:
  - name: flood
    type: e2e_flood
    artifacts: %d
    big_every: 0
    pad: 1024
  - name: small
    type: e2e_flood
    artifacts: 1000
    big_every: 0
    pad: 1024
`, n)
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	vaultDir := filepath.Join(dir, "data")
	if _, err := os.Stat(filepath.Join(vaultDir, "vault.db")); err != nil {
		mustRun(t, config, "init")
		start := time.Now()
		mustRun(t, config, "collect", "flood")
		el := time.Since(start)
		t.Logf("ingest: %d records (about 1 KiB of content each) in %v: %.0f records/s", n, el.Round(time.Millisecond), float64(n)/el.Seconds())
	}

	var bytes int64
	filepath.WalkDir(vaultDir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				bytes += fi.Size()
			}
		}
		return nil
	})
	v, err := evidence.Open(t.Context(), evidence.Options{Dir: vaultDir})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	size, err := v.Size(t.Context())
	if err != nil || size < int64(n) {
		t.Fatalf("vault size %d, %v", size, err)
	}
	t.Logf("vault: %d records, %d bytes on disk: %.0f bytes per record (content about 1 KiB of it)", size, bytes, float64(bytes)/float64(size))

	rng := rand.New(rand.NewPCG(1, 2))
	measure := func(what string, runs int, f func() error) {
		t.Helper()
		d := make([]time.Duration, runs)
		for i := range runs {
			start := time.Now()
			if err := f(); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			d[i] = time.Since(start)
		}
		slices.Sort(d)
		t.Logf("%-44s p50 %10v  p99 %10v  (%d runs)", what, d[runs/2].Round(time.Microsecond), d[(runs*99)/100].Round(time.Microsecond), runs)
	}
	page := func(f evidence.Filter) error {
		got := 0
		f.Limit = 100
		err := v.Records(t.Context(), f, func(*evidence.Record) error { got++; return nil })
		if err == nil && got != 100 {
			err = fmt.Errorf("page of %d records", got)
		}
		return err
	}
	measure("evidence list: first page (100)", 200, func() error { return page(evidence.Filter{}) })
	measure("evidence list: deep cursor page (100)", 200, func() error {
		return page(evidence.Filter{From: rng.Int64N(size - 200)})
	})
	measure("evidence list: connector+kind, deep cursor (100)", 200, func() error {
		return page(evidence.Filter{Connectors: []string{"flood"}, Kinds: []string{"file.document"}, From: rng.Int64N(size / 2)})
	})
	var ids []string
	for range 1000 {
		v.Records(t.Context(), evidence.Filter{From: rng.Int64N(size), Limit: 1}, func(r *evidence.Record) error { ids = append(ids, r.ID); return nil })
	}
	i := 0
	measure("single-record lookup by id", 1000, func() error {
		i++
		_, err := v.Record(t.Context(), ids[i-1])
		return err
	})
	measure("`aimsvault evidence show ID` (a process)", 20, func() error {
		r := aimsvault(t, config, "evidence", "show", ids[rng.IntN(len(ids))])
		if r.code != 0 {
			return fmt.Errorf("exit %d: %s", r.code, r.stderr)
		}
		return nil
	})
	measure("`aimsvault coverage --format json` (a process)", 10, func() error {
		r := aimsvault(t, config, "coverage", "--format", "json")
		if r.code != 0 || !strings.Contains(r.stdout, `"control"`) {
			return fmt.Errorf("exit %d: %s", r.code, r.stderr)
		}
		return nil
	})
	measure("coverage as /api/v1/coverage computes it", 10, func() error {
		cov := mapping.NewCoverage(nil, []string{"files"}, time.Now())
		return v.Groups(t.Context(), (*mapping.Mapper)(nil).AttributeKeys(), time.Now(), func(g evidence.Group) error {
			cov.AddGroup(mapping.Evidence{Kind: g.Kind, Attributes: g.Attributes, Controls: g.Controls}, g.Count, g.Newest, g.NewestAsOf)
			return nil
		})
	})
	measure("`aimsvault coverage --period` (streams every record)", 1, func() error {
		r := aimsvault(t, config, "coverage", "--period", "2026-01-01..2026-06-30", "--format", "json")
		if r.code != 0 || !strings.Contains(r.stdout, `"control"`) {
			return fmt.Errorf("exit %d: %s", r.code, r.stderr)
		}
		return nil
	})
	measure("`aimsvault verify` (full)", 1, func() error {
		rep, code := verify(t, config)
		if code != 0 || !rep.OK {
			return fmt.Errorf("exit %d %+v", code, rep)
		}
		return nil
	})
	mustRun(t, config, "collect", "small")
	measure("`aimsvault verify --since-checkpoint` (+1,000)", 1, func() error {
		r := aimsvault(t, config, "verify", "--since-checkpoint")
		if r.code != 0 || !strings.Contains(r.stdout, "from the last verified checkpoint") {
			return fmt.Errorf("exit %d: %s %s", r.code, r.stdout, r.stderr)
		}
		return nil
	})
}
