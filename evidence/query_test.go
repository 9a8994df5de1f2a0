package evidence

import (
	"strings"
	"testing"
)

// Filter.Match is applied before Limit, and Count counts what it selects.
func TestRecords_MatchBeforeLimit(t *testing.T) {
	t.Parallel()
	v := newVault(t)
	for _, s := range []string{"a/1", "b/1", "a/2", "b/2", "a/3"} {
		appendText(t, v, s, "content of "+s)
	}
	if err := v.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	isA := func(r *Record) bool { return strings.HasPrefix(r.Subject, "a/") }
	var got []string
	err := v.Records(t.Context(), Filter{Match: isA, Limit: 2}, func(r *Record) error {
		got = append(got, r.Subject)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "a/1 a/2" {
		t.Errorf("records %v, want a/1 a/2", got)
	}
	if n, err := v.Count(t.Context(), Filter{Match: isA}); err != nil || n != 3 {
		t.Errorf("Count = %d, %v; want 3", n, err)
	}
}
