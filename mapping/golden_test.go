package mapping

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files")

// TestCoverage_Golden pins the whole `coverage --period --format json` shape
// for a small vault: field names, the 70 rows in order, statuses, gaps.
// Rewrite with `go test ./mapping/ -run Golden -update` and review the diff.
func TestCoverage_Golden(t *testing.T) {
	t.Parallel()
	c := NewCoverage(nil, []string{"files", "github"}, now)
	m, _ := NewMapper(nil)
	for _, a := range []struct {
		kind  string
		attrs map[string]string
		at    int // days ago
	}{
		{"file.ai_policy", nil, 200},
		{"file.aims_scope", map[string]string{"controls": "A.4.4"}, 400},
		{"github.branch_protection", nil, 45},
		{"github.branch_protection", nil, 3},
		{"github.pull_request", nil, 10},
	} {
		ids, err := m.Map(a.kind, a.attrs)
		if err != nil {
			t.Fatal(err)
		}
		c.Add(Evidence{Kind: a.kind, Attributes: a.attrs, Controls: ids, CollectedAt: daysAgo(a.at)})
	}
	got, err := json.MarshalIndent(c.Period(daysAgo(90), now), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", "coverage_period.json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s (-want +got):\n%s", path, cmp.Diff(string(want), string(got)))
	}
}
