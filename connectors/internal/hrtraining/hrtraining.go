// Package hrtraining holds what the HR and training connectors (bamboohr,
// knowbe4) share: the pii setting and the removal of people's names and
// e-mail addresses from upstream JSON, the scope of a required training, and
// the roster and summary derived per required training.
package hrtraining

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aimsvault/aimsvault/connectors"
)

// PII settings.
const (
	// PIIMinimal (the default) keeps employee ids, departments and job
	// titles, and drops people's names, e-mail addresses (work ones too),
	// phone numbers and addresses before anything is stored.
	PIIMinimal = "minimal"
	// PIIFull keeps the upstream objects as they came.
	PIIFull = "full"
)

// ValidPII reports whether p is an allowed pii setting.
func ValidPII(p string) bool { return p == PIIMinimal || p == PIIFull }

// Strip removes every object key in drop, at any depth, from the JSON
// document raw and returns the canonical JSON of what is left, with the
// dotted paths of the keys it removed ("user.email"; array positions are not
// named), sorted and without repeats. Numbers keep their exact text.
func Strip(raw json.RawMessage, drop map[string]bool) ([]byte, []string, error) {
	if len(drop) == 0 {
		out, err := connectors.CanonicalJSON(raw)
		return out, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", connectors.ErrBadResponse, err)
	}
	removed := map[string]bool{}
	v = strip(v, "", drop, removed)
	out, err := connectors.CanonicalJSON(v)
	if err != nil {
		return nil, nil, err
	}
	paths := make([]string, 0, len(removed))
	for p := range removed {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return out, paths, nil
}

func strip(v any, prefix string, drop, removed map[string]bool) any {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			if drop[k] {
				delete(t, k)
				removed[p] = true
				continue
			}
			t[k] = strip(child, p, drop, removed)
		}
		return t
	case []any:
		for i, child := range t {
			t[i] = strip(child, prefix, drop, removed)
		}
		return t
	}
	return v
}

// MergeRedacted returns the sorted union of the lists, without repeats.
func MergeRedacted(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// Scope says who must complete a required training: an active person
// matching any of the lists is in scope; empty lists put every active person
// in scope. Matching ignores case and surrounding space.
type Scope struct {
	// Departments, e.g. ["Machine Learning", "Data"].
	Departments []string `yaml:"departments" json:"departments,omitempty"`
	// JobTitles, e.g. ["ML Engineer", "Data Scientist"].
	JobTitles []string `yaml:"job_titles" json:"job_titles,omitempty"`
	// Divisions, e.g. ["Research"].
	Divisions []string `yaml:"divisions" json:"divisions,omitempty"`
	// Groups are KnowBe4 group names; the bamboohr connector has none.
	Groups []string `yaml:"groups" json:"groups,omitempty"`
}

// Empty reports whether s puts everyone in scope.
func (s Scope) Empty() bool {
	return len(s.Departments) == 0 && len(s.JobTitles) == 0 && len(s.Divisions) == 0 && len(s.Groups) == 0
}

// Matches reports whether a person with these facts is in s. groups are the
// names of the person's groups.
func (s Scope) Matches(department, jobTitle, division string, groups []string) bool {
	if s.Empty() {
		return true
	}
	in := func(list []string, v string) bool {
		v = strings.TrimSpace(v)
		if v == "" {
			return false
		}
		for _, w := range list {
			if strings.EqualFold(strings.TrimSpace(w), v) {
				return true
			}
		}
		return false
	}
	if in(s.Departments, department) || in(s.JobTitles, jobTitle) || in(s.Divisions, division) {
		return true
	}
	for _, g := range groups {
		if in(s.Groups, g) {
			return true
		}
	}
	return false
}

// Validate reports empty entries.
func (s Scope) Validate(prefix string) error {
	var errs []error
	for name, list := range map[string][]string{"departments": s.Departments, "job_titles": s.JobTitles, "divisions": s.Divisions, "groups": s.Groups} {
		for i, v := range list {
			if strings.TrimSpace(v) == "" {
				errs = append(errs, fmt.Errorf("%s.scope.%s[%d] is empty", prefix, name, i))
			}
		}
	}
	sortErrs(errs)
	return errors.Join(errs...)
}

func sortErrs(errs []error) {
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
}

// Entry statuses in a roster.
const (
	// StatusCompleted: completed, and not yet due for renewal.
	StatusCompleted = "completed"
	// StatusExpired: completed once, but the renewal is past due.
	StatusExpired = "expired"
	// StatusOverdue: never completed (or not since the latest enrollment),
	// and past the due date; or no date to count from.
	StatusOverdue = "overdue"
	// StatusPending: not completed, not yet due.
	StatusPending = "pending"
	// StatusNotEnrolled: in scope, but never enrolled (KnowBe4).
	StatusNotEnrolled = "not_enrolled"
	// StatusUnknown: the person's records could not be read this run.
	StatusUnknown = "unknown"
)

// DateLayout is how dates appear in rosters.
const DateLayout = "2006-01-02"

// Entry is one person in scope of a required training. It carries ids and
// role facts only, never a name or an e-mail address, whatever the pii
// setting.
type Entry struct {
	EmployeeID  string `json:"employee_id"`
	Department  string `json:"department,omitempty"`
	JobTitle    string `json:"job_title,omitempty"`
	DueFrom     string `json:"due_from,omitempty"`
	DueOn       string `json:"due_on,omitempty"`
	CompletedOn string `json:"completed_on,omitempty"`
	ExpiresOn   string `json:"expires_on,omitempty"`
	Status      string `json:"status"`
}

// Evaluate sets e's dates and status as of now. A due date is the last day
// allowed: a person is overdue from the day after. dueFrom is when the clock
// starts for a person who has not completed (hire or enrollment date; zero
// when unknown), completed the latest completion (zero for none), dueDays the
// days allowed, renewalMonths how long a completion lasts (0: for ever).
func (e *Entry) Evaluate(now, dueFrom, completed time.Time, dueDays, renewalMonths int) {
	today := now.UTC().Truncate(24 * time.Hour)
	e.DueFrom = date(dueFrom)
	e.CompletedOn = date(completed)
	if !completed.IsZero() {
		if renewalMonths > 0 {
			exp := completed.AddDate(0, renewalMonths, 0)
			e.ExpiresOn = date(exp)
			e.DueOn = date(exp)
			if today.After(exp) {
				e.Status = StatusExpired
				return
			}
		}
		e.Status = StatusCompleted
		return
	}
	if dueFrom.IsZero() {
		e.Status = StatusOverdue // no date to count from: flag it rather than hide it
		return
	}
	due := dueFrom.AddDate(0, 0, dueDays)
	e.DueOn = date(due)
	if today.After(due) {
		e.Status = StatusOverdue
	} else {
		e.Status = StatusPending
	}
}

func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(DateLayout)
}

// Roster is the derived artifact per required training: who is in scope,
// when they completed, and who is overdue.
type Roster struct {
	Training      string  `json:"training"`
	TrainingID    string  `json:"training_id,omitempty"`
	AsOf          string  `json:"as_of"`
	DueDays       int     `json:"due_days"`
	RenewalMonths int     `json:"renewal_months,omitempty"`
	Scope         Scope   `json:"scope"`
	Complete      bool    `json:"complete"`
	Employees     []Entry `json:"employees"`
}

// Summary counts a roster.
type Summary struct {
	Training    string `json:"training"`
	TrainingID  string `json:"training_id,omitempty"`
	AsOf        string `json:"as_of"`
	InScope     int    `json:"in_scope"`
	Completed   int    `json:"completed"`
	Overdue     int    `json:"overdue"`
	Expired     int    `json:"expired"`
	Pending     int    `json:"pending"`
	NotEnrolled int    `json:"not_enrolled"`
	Unknown     int    `json:"unknown"`
	// CompletionRate is completed / in scope, rounded to 4 places; null
	// when nobody is in scope.
	CompletionRate *float64 `json:"completion_rate"`
	Complete       bool     `json:"complete"`
}

// NewRoster sorts the entries by employee id (numerically when they are
// numbers) and returns the roster and its summary as of now.
func NewRoster(training, trainingID string, now time.Time, dueDays, renewalMonths int, scope Scope, complete bool, entries []Entry) (Roster, Summary) {
	slices.SortFunc(entries, func(a, b Entry) int { return CompareIDs(a.EmployeeID, b.EmployeeID) })
	if entries == nil {
		entries = []Entry{}
	}
	r := Roster{
		Training: training, TrainingID: trainingID, AsOf: date(now), DueDays: dueDays,
		RenewalMonths: renewalMonths, Scope: scope, Complete: complete, Employees: entries,
	}
	s := Summary{Training: training, TrainingID: trainingID, AsOf: r.AsOf, InScope: len(entries), Complete: complete}
	for _, e := range entries {
		switch e.Status {
		case StatusCompleted:
			s.Completed++
		case StatusExpired:
			s.Expired++
			s.Overdue++
		case StatusOverdue:
			s.Overdue++
		case StatusPending:
			s.Pending++
		case StatusNotEnrolled:
			s.NotEnrolled++
		case StatusUnknown:
			s.Unknown++
		}
	}
	if s.InScope > 0 {
		rate := float64(int(float64(s.Completed)/float64(s.InScope)*10000+0.5)) / 10000
		s.CompletionRate = &rate
	}
	return r, s
}

// Attributes of a summary for mapping rules.
func (s Summary) Attributes(prefix string) map[string]string {
	a := map[string]string{
		prefix + ".training": s.Training,
		"in_scope":           fmt.Sprint(s.InScope),
		"completed":          fmt.Sprint(s.Completed),
		"overdue":            fmt.Sprint(s.Overdue),
	}
	if s.CompletionRate != nil {
		a["completion_rate"] = fmt.Sprintf("%.4f", *s.CompletionRate)
	}
	return a
}

// CompareIDs orders ids numerically when both are decimal numbers, else as
// strings.
func CompareIDs(a, b string) int {
	if isDigits(a) && isDigits(b) {
		a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		if len(a) != len(b) {
			return len(a) - len(b)
		}
	}
	return strings.Compare(a, b)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
