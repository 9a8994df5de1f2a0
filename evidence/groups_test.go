package evidence

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestGroups_CountsNewestAndAttributeValues checks Groups against records
// whose groups are known: keys absent, present, or the whole attributes
// object when a key cannot be a JSON path; newest times with one record in
// the future of asOf.
func TestGroups_CountsNewestAndAttributeValues(t *testing.T) {
	t.Parallel()
	v := newVault(t)
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	add := func(kind string, attrs map[string]string, eff time.Time, controls ...string) {
		t.Helper()
		if _, _, err := v.Append(t.Context(), Input{Run: "r", Connector: "c", Type: "files", Kind: kind, Subject: kind,
			Attributes: attrs, Controls: controls, EffectiveAt: eff, Content: bytes.NewReader(nil)}); err != nil {
			t.Fatal(err)
		}
	}
	add("k.a", map[string]string{"x": "1", "title": "one"}, t0.Add(-48*time.Hour), "A.2.2")
	add("k.a", map[string]string{"x": "1", "title": "two"}, t0.Add(-24*time.Hour), "A.2.2")
	add("k.a", map[string]string{"x": "1", "title": "three"}, t0.Add(24*time.Hour), "A.2.2") // after asOf
	add("k.a", map[string]string{"title": "four"}, t0.Add(-72*time.Hour), "A.2.2")
	add("k.b", map[string]string{"x": "2", "y": "q\"uote"}, t0.Add(-time.Hour), "5.2", "A.2.2")
	if _, err := v.SignCheckpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	collect := func(keys ...string) []Group {
		t.Helper()
		var out []Group
		if err := v.Groups(t.Context(), keys, t0, func(g Group) error { out = append(out, g); return nil }); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(out, func(a, b Group) int {
			ka, _ := json.Marshal(a.Attributes)
			kb, _ := json.Marshal(b.Attributes)
			return strings.Compare(a.Kind+string(ka), b.Kind+string(kb))
		})
		return out
	}
	day := func(d int) time.Time { return t0.Add(time.Duration(d) * 24 * time.Hour) }
	for _, keys := range [][]string{{"x"}, {"x", "y"}} {
		want := []Group{
			{Kind: "k.a", Controls: []string{"A.2.2"}, Attributes: map[string]string{"x": "1"}, Count: 3, Newest: day(1), NewestAsOf: day(-1)},
			{Kind: "k.a", Controls: []string{"A.2.2"}, Attributes: map[string]string{}, Count: 1, Newest: day(-3), NewestAsOf: day(-3)},
			{Kind: "k.b", Controls: []string{"5.2", "A.2.2"}, Attributes: map[string]string{"x": "2"}, Count: 1, Newest: t0.Add(-time.Hour), NewestAsOf: t0.Add(-time.Hour)},
		}
		if len(keys) == 2 {
			want[2].Attributes["y"] = "q\"uote"
		}
		if diff := cmp.Diff(want, collect(keys...)); diff != "" {
			t.Errorf("keys %v (-want +got):\n%s", keys, diff)
		}
	}
	// A key a JSON path cannot name: grouped by the whole object, so
	// every record with its own title is its own group.
	if got := collect("x", `we"ird`); len(got) != 5 {
		t.Errorf("grouped by whole attributes: %d groups, want 5: %+v", len(got), got)
	}
}
