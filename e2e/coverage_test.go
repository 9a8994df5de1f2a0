package e2e

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCoverage_FastPathMatchesStreaming compares `coverage`, which
// aggregates in SQL and scans only the kinds findings read, with `coverage
// --period`, which streams every record: apart from the period's own
// columns, every row (status, count, newest, open findings) must agree.
func TestCoverage_FastPathMatchesStreaming(t *testing.T) {
	t.Parallel()
	_, config := systemsWorkspace(t)
	mustRun(t, config, "init")
	mustRun(t, config, "collect")
	type row struct {
		Control       string  `json:"control"`
		Status        string  `json:"status"`
		EvidenceCount int     `json:"evidence_count"`
		Newest        *string `json:"newest"`
		Sources       []string
		OpenFindings  int `json:"open_findings"`
	}
	var fast, stream []row
	if err := json.Unmarshal([]byte(mustRun(t, config, "coverage", "--format", "json").stdout), &fast); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, config, "coverage", "--period", "2026-01-01..2026-06-30", "--format", "json").stdout
	if err := json.Unmarshal([]byte(out), &stream); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(stream, fast); diff != "" {
		t.Errorf("coverage differs from the streaming path (-period +plain):\n%s", diff)
	}
	counted, findings := 0, 0
	for _, r := range fast {
		counted += r.EvidenceCount
		findings += r.OpenFindings
	}
	if counted == 0 || findings == 0 {
		t.Errorf("the workspace should give evidence (%d) and open findings (%d)", counted, findings)
	}
}
