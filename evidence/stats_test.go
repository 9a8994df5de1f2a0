package evidence

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestStats_CountsRecordsAndDistinctContent(t *testing.T) {
	t.Parallel()
	v := newVault(t)
	if n, b, err := v.Stats(t.Context()); err != nil || n != 0 || b != 0 {
		t.Fatalf("empty vault: Stats = %d, %d, %v; want 0, 0, nil", n, b, err)
	}
	appendText(t, v, "a.md", "alpha")
	appendText(t, v, "b.md", "bravo!")
	appendText(t, v, "a.md", "alpha") // a new observation of the same content
	big := strings.Repeat("x", InlineMax+10)
	appendText(t, v, "big.md", big)
	if err := v.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	n, b, err := v.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(len("alpha") + len("bravo!") + len(big)); n != 4 || b != want {
		t.Errorf("Stats = %d records, %d bytes; want 4, %d", n, b, want)
	}
}

func TestLastRun(t *testing.T) {
	t.Parallel()
	v := newVault(t)
	ctx := t.Context()
	if _, err := v.LastRun(ctx, "policies", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no runs: err = %v, want ErrNotFound", err)
	}
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, st := range []string{RunOK, RunFailed, RunOK, RunCanceled} {
		r := Run{ID: string(rune('a' + i)), Connector: "policies", Type: "files", Trigger: "collect", StartedAt: start.Add(time.Duration(i) * time.Minute)}
		if err := v.StartRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		r.Status = st
		if err := v.FinishRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	other := Run{ID: "z", Connector: "other", Type: "files", Trigger: "collect", StartedAt: start.Add(time.Hour)}
	if err := v.StartRun(ctx, other); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ status, want string }{{"", "d"}, {RunOK, "c"}, {RunFailed, "b"}} {
		r, err := v.LastRun(ctx, "policies", c.status)
		if err != nil {
			t.Fatal(err)
		}
		if r.ID != c.want {
			t.Errorf("LastRun(policies, %q) = run %s, want %s", c.status, r.ID, c.want)
		}
	}
	if _, err := v.LastRun(ctx, "other", RunOK); !errors.Is(err, ErrNotFound) {
		t.Errorf("other has no ok run: err = %v", err)
	}
}
