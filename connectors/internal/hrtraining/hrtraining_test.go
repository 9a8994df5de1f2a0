package hrtraining

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func d(s string) time.Time {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestEntry_Evaluate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 23, 59, 0, 0, time.UTC)
	for _, tc := range []struct {
		name               string
		dueFrom, completed time.Time
		dueDays, renewal   int
		want               Entry
	}{
		{"due today is not overdue", d("2026-01-30"), time.Time{}, 30, 0, Entry{DueFrom: "2026-01-30", DueOn: "2026-03-01", Status: StatusPending}},
		{"due yesterday is overdue", d("2026-01-29"), time.Time{}, 30, 0, Entry{DueFrom: "2026-01-29", DueOn: "2026-02-28", Status: StatusOverdue}},
		{"no date to count from", time.Time{}, time.Time{}, 30, 0, Entry{Status: StatusOverdue}},
		{"completed, no renewal", d("2020-01-01"), d("2020-02-01"), 30, 0, Entry{DueFrom: "2020-01-01", CompletedOn: "2020-02-01", Status: StatusCompleted}},
		{"renewal due today", d("2024-01-01"), d("2025-03-01"), 30, 12, Entry{DueFrom: "2024-01-01", CompletedOn: "2025-03-01", ExpiresOn: "2026-03-01", DueOn: "2026-03-01", Status: StatusCompleted}},
		{"renewal past", d("2024-01-01"), d("2025-02-28"), 30, 12, Entry{DueFrom: "2024-01-01", CompletedOn: "2025-02-28", ExpiresOn: "2026-02-28", DueOn: "2026-02-28", Status: StatusExpired}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e Entry
			e.Evaluate(now, tc.dueFrom, tc.completed, tc.dueDays, tc.renewal)
			if diff := cmp.Diff(tc.want, e); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestStrip_NestedKeysAndExactNumbers(t *testing.T) {
	t.Parallel()
	raw := json.RawMessage(`{"id": 12345678901234, "score": 14.235, "user": {"id": 1, "email": "a@b.c", "first_name": "A"}, "list": [{"email": "x"}], "name": "Module"}`)
	out, removed, err := Strip(raw, map[string]bool{"email": true, "first_name": true})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":12345678901234,"list":[{}],"name":"Module","score":14.235,"user":{"id":1}}`; string(out) != want {
		t.Errorf("Strip = %s, want %s", out, want)
	}
	if diff := cmp.Diff([]string{"list.email", "user.email", "user.first_name"}, removed); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
}

func TestNewRoster_CountsAndRate(t *testing.T) {
	t.Parallel()
	_, s := NewRoster("T", "", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 30, 0, Scope{}, true, []Entry{
		{EmployeeID: "10", Status: StatusCompleted}, {EmployeeID: "9", Status: StatusExpired},
		{EmployeeID: "2", Status: StatusNotEnrolled},
	})
	if s.InScope != 3 || s.Completed != 1 || s.Overdue != 1 || s.Expired != 1 || s.NotEnrolled != 1 || *s.CompletionRate != 0.3333 {
		t.Errorf("summary = %+v", s)
	}
	_, empty := NewRoster("T", "", time.Time{}, 30, 0, Scope{}, true, nil)
	if empty.CompletionRate != nil {
		t.Errorf("completion rate with nobody in scope = %v, want null", *empty.CompletionRate)
	}
}

func TestScope_Matches(t *testing.T) {
	t.Parallel()
	s := Scope{Departments: []string{" Data "}, Groups: []string{"ML Team"}}
	for _, tc := range []struct {
		dept, title string
		groups      []string
		want        bool
	}{
		{"data", "", nil, true},
		{"Finance", "", []string{"ml team"}, true},
		{"Finance", "Data", nil, false},
		{"", "", []string{""}, false},
	} {
		if got := s.Matches(tc.dept, tc.title, "", tc.groups); got != tc.want {
			t.Errorf("Matches(%q, %q, %v) = %v, want %v", tc.dept, tc.title, tc.groups, got, tc.want)
		}
	}
}
