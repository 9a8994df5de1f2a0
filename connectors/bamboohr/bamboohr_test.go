package bamboohr_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors"
	"github.com/aimsvault/aimsvault/connectors/bamboohr"
	"github.com/aimsvault/aimsvault/connectors/bamboohr/bamboohrfake"
	"github.com/aimsvault/aimsvault/connectors/internal/hrtraining"
)

// now is the fixed clock of these tests.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type got struct {
	connectors.Artifact
	Body []byte
}

func newConfig(fake *bamboohrfake.Server) bamboohr.Config {
	cfg := *bamboohr.Type.NewConfig().(*bamboohr.Config)
	cfg.BaseURL = fake.URL
	cfg.Company = fake.Company()
	cfg.APIKey = config.Secret(fake.APIKey())
	cfg.RequiredTrainings = []bamboohr.RequiredTraining{
		{Training: "Responsible AI", Scope: hrtraining.Scope{Departments: []string{"machine learning", "Data"}}},
		{Training: "12", DueDays: 90, Scope: hrtraining.Scope{JobTitles: []string{"ML Engineer", "Data Scientist", "Head of Data"}}},
	}
	return cfg
}

func collect(t *testing.T, cfg bamboohr.Config) ([]got, error) {
	t.Helper()
	c, err := bamboohr.New(cfg, connectors.Deps{
		HTTP: connectors.NewHTTPClient(connectors.HTTPOptions{RetryWaitMin: time.Millisecond, RetryWaitMax: 50 * time.Millisecond, RetryMax: 2}),
		Now:  func() time.Time { return now },
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var out []got
	err = c.Collect(t.Context(), func(a connectors.Artifact) error {
		b, err := io.ReadAll(a.Content)
		if err != nil {
			t.Fatal(err)
		}
		a.Content = nil
		out = append(out, got{a, b})
		return nil
	})
	return out, err
}

func find(t *testing.T, arts []got, kind, subject string) got {
	t.Helper()
	for _, a := range arts {
		if a.Kind == kind && a.Subject == subject {
			return a
		}
	}
	t.Fatalf("no %s artifact for %s", kind, subject)
	return got{}
}

func TestCollect_EmitsRawAndDerived(t *testing.T) {
	t.Parallel()
	fake := bamboohrfake.New(t, bamboohrfake.Options{})
	arts, err := collect(t, newConfig(fake))
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	var subjects []string
	for _, a := range arts {
		subjects = append(subjects, a.Kind+" "+a.Subject)
	}
	want := []string{
		"bamboohr.training_type training_type/11",
		"bamboohr.training_type training_type/12",
		"bamboohr.training_type training_type/13",
		"bamboohr.employee employee/101",
		"bamboohr.employee employee/102",
		"bamboohr.employee employee/103",
		"bamboohr.employee employee/104",
		"bamboohr.employee employee/105",
		"bamboohr.employee employee/106",
		"bamboohr.training_record employee/101/training_record/4",
		"bamboohr.training_record employee/101/training_record/9",
		"bamboohr.training_record employee/104/training_record/7",
		"bamboohr.training_record employee/104/training_record/8",
		"bamboohr.training_record employee/106/training_record/12",
		"bamboohr.training_roster training/Responsible AI",
		"bamboohr.training_summary training/Responsible AI",
		"bamboohr.training_roster training/AI Security",
		"bamboohr.training_summary training/AI Security",
	}
	if diff := cmp.Diff(want, subjects); diff != "" {
		t.Errorf("artifacts (-want +got):\n%s", diff)
	}

	// The terminated employee's records are not read: not in scope.
	for _, r := range fake.RequestsTo(bamboohrfake.RouteTrainingRecords) {
		if strings.HasSuffix(r.Path, "/105") {
			t.Errorf("records of terminated employee 105 were read")
		}
	}

	rec := find(t, arts, bamboohr.KindTrainingRecord, "employee/101/training_record/4")
	if !rec.EffectiveAt.Equal(time.Date(2025, 6, 10, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("record effective_at = %v, want the completion date", rec.EffectiveAt)
	}
	if rec.Provenance.Endpoint != "/bamboohr/api/gateway.php/example/v1/training/record/employee/101" || rec.Provenance.Method != "GET" || !rec.Provenance.Complete {
		t.Errorf("record provenance = %+v", rec.Provenance)
	}
	if rec.Attributes["bamboohr.training_type_id"] != "11" {
		t.Errorf("record attributes = %v", rec.Attributes)
	}
	emp := find(t, arts, bamboohr.KindEmployee, "employee/105")
	if emp.Attributes["current"] != "false" {
		t.Errorf("terminated employee attributes = %v, want current=false", emp.Attributes)
	}

	var roster hrtraining.Roster
	if err := json.Unmarshal(find(t, arts, bamboohr.KindTrainingRoster, "training/Responsible AI").Body, &roster); err != nil {
		t.Fatal(err)
	}
	wantRoster := []hrtraining.Entry{
		// Completed 2025-06-10; the type renews every 12 months.
		{EmployeeID: "101", Department: "Machine Learning", JobTitle: "ML Engineer", DueFrom: "2024-02-01", CompletedOn: "2025-06-10", ExpiresOn: "2026-06-10", DueOn: "2026-06-10", Status: "completed"},
		// Hired 2025-12-01, no record ([]): due 30 days after hire (the type's dueFromHireDate).
		{EmployeeID: "102", Department: "Data", JobTitle: "Data Scientist", DueFrom: "2025-12-01", DueOn: "2025-12-31", Status: "overdue"},
		// Hired 2026-02-15: not yet due.
		{EmployeeID: "103", Department: "Machine Learning", JobTitle: "Research Scientist", DueFrom: "2026-02-15", DueOn: "2026-03-17", Status: "pending"},
		// Completed 2024-11-20: renewal was due 2025-11-20.
		{EmployeeID: "104", Department: "Data", JobTitle: "Head of Data", DueFrom: "2020-01-06", CompletedOn: "2024-11-20", ExpiresOn: "2025-11-20", DueOn: "2025-11-20", Status: "expired"},
	}
	if diff := cmp.Diff(wantRoster, roster.Employees); diff != "" {
		t.Errorf("Responsible AI roster (-want +got):\n%s", diff)
	}
	if roster.AsOf != "2026-03-01" || roster.DueDays != 30 || roster.RenewalMonths != 12 || !roster.Complete {
		t.Errorf("roster header = %+v", roster)
	}
	var sum hrtraining.Summary
	s := find(t, arts, bamboohr.KindTrainingSummary, "training/Responsible AI")
	if err := json.Unmarshal(s.Body, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.InScope != 4 || sum.Completed != 1 || sum.Overdue != 2 || sum.Expired != 1 || sum.Pending != 1 || sum.CompletionRate == nil || *sum.CompletionRate != 0.25 {
		t.Errorf("summary = %+v", sum)
	}
	if s.Attributes["completion_rate"] != "0.2500" || s.Attributes["overdue"] != "2" || !s.EffectiveAt.Equal(now) {
		t.Errorf("summary attributes = %v, effective_at %v", s.Attributes, s.EffectiveAt)
	}

	// AI Security by id, due_days from the config (90); record 8's
	// 0000-00-00 is no completion.
	if err := json.Unmarshal(find(t, arts, bamboohr.KindTrainingRoster, "training/AI Security").Body, &roster); err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for _, e := range roster.Employees {
		statuses = append(statuses, e.EmployeeID+"="+e.Status)
	}
	if diff := cmp.Diff([]string{"101=completed", "102=pending", "104=overdue"}, statuses); diff != "" {
		t.Errorf("AI Security roster (-want +got):\n%s", diff)
	}
}

func TestCollect_SendsAuthAndAcceptHeaders(t *testing.T) {
	t.Parallel()
	fake := bamboohrfake.New(t, bamboohrfake.Options{})
	if _, err := collect(t, newConfig(fake)); err != nil {
		t.Fatal(err)
	}
	reqs := fake.Requests()
	if len(reqs) == 0 {
		t.Fatal("no requests")
	}
	for _, r := range reqs {
		req := &http.Request{Header: r.Header}
		user, pass, ok := req.BasicAuth()
		if !ok || user != fake.APIKey() || pass != "x" {
			t.Errorf("%s %s: basic auth = %q, %q, %v; want the API key and x", r.Method, r.Path, user, pass, ok)
		}
		if r.Header.Get("Accept") != "application/json" {
			t.Errorf("%s %s: Accept = %q", r.Method, r.Path, r.Header.Get("Accept"))
		}
	}
	rep := fake.RequestsTo(bamboohrfake.RouteReport)
	if len(rep) != 1 || rep[0].Query.Get("format") != "JSON" || rep[0].Header.Get("Content-Type") != "application/json" {
		t.Fatalf("report requests = %+v", rep)
	}
}

func TestCollect_PIIMinimalDropsNamesAndEmails(t *testing.T) {
	t.Parallel()
	fake := bamboohrfake.New(t, bamboohrfake.Options{})
	arts, err := collect(t, newConfig(fake))
	if err != nil {
		t.Fatal(err)
	}
	personal := []string{"Ada", "Lovelace", "Countess", "Grace Hopper", "Hopper", "Turing", "Katherine", "Babbage", "Somerville",
		"@example.com", "Barbara Liskov", "Dijkstra", "firstName", "lastName", "displayName", "workEmail", "instructor"}
	for _, a := range arts {
		for _, p := range personal {
			if strings.Contains(string(a.Body), p) {
				t.Errorf("%s %s stores %q under pii: minimal: %s", a.Kind, a.Subject, p, a.Body)
			}
		}
		for k, v := range a.Attributes {
			for _, p := range personal {
				if strings.Contains(v, p) {
					t.Errorf("%s %s: attribute %s=%q holds %q", a.Kind, a.Subject, k, v, p)
				}
			}
		}
	}
	// What is kept: ids, departments, job titles.
	emp := find(t, arts, bamboohr.KindEmployee, "employee/101")
	for _, keep := range []string{`"id":"101"`, `"department":"Machine Learning"`, `"jobTitle":"ML Engineer"`, `"hireDate":"2024-02-01"`} {
		if !strings.Contains(string(emp.Body), keep) {
			t.Errorf("employee 101 lacks %s: %s", keep, emp.Body)
		}
	}
	// Provenance says what was withheld or removed.
	if diff := cmp.Diff([]string{"displayName", "firstName", "lastName", "preferredName", "workEmail"}, emp.Provenance.Redacted); diff != "" {
		t.Errorf("employee provenance redacted (-want +got):\n%s", diff)
	}
	rec := find(t, arts, bamboohr.KindTrainingRecord, "employee/101/training_record/4")
	if diff := cmp.Diff([]string{"instructor"}, rec.Provenance.Redacted); diff != "" {
		t.Errorf("record provenance redacted (-want +got):\n%s", diff)
	}
	// Names are not even asked for.
	body := string(fake.RequestsTo(bamboohrfake.RouteReport)[0].Body)
	for _, f := range []string{"firstName", "lastName", "displayName", "workEmail"} {
		if strings.Contains(body, f) {
			t.Errorf("report request asks for %s under pii: minimal: %s", f, body)
		}
	}
}

func TestCollect_PIIFullKeepsNamesAndEmails(t *testing.T) {
	t.Parallel()
	fake := bamboohrfake.New(t, bamboohrfake.Options{})
	cfg := newConfig(fake)
	cfg.PII = hrtraining.PIIFull
	arts, err := collect(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	emp := find(t, arts, bamboohr.KindEmployee, "employee/101")
	for _, keep := range []string{`"firstName":"Ada"`, `"lastName":"Lovelace"`, `"workEmail":"ada.lovelace@example.com"`} {
		if !strings.Contains(string(emp.Body), keep) {
			t.Errorf("employee 101 under pii: full lacks %s: %s", keep, emp.Body)
		}
	}
	if len(emp.Provenance.Redacted) != 0 {
		t.Errorf("provenance redacted = %v under pii: full", emp.Provenance.Redacted)
	}
	rec := find(t, arts, bamboohr.KindTrainingRecord, "employee/101/training_record/4")
	if !strings.Contains(string(rec.Body), "Barbara Liskov") {
		t.Errorf("record under pii: full lacks the instructor: %s", rec.Body)
	}
	// Derived artifacts never carry names, whatever the setting.
	roster := find(t, arts, bamboohr.KindTrainingRoster, "training/Responsible AI")
	if strings.Contains(string(roster.Body), "Ada") || strings.Contains(string(roster.Body), "@example.com") {
		t.Errorf("roster holds a name or e-mail: %s", roster.Body)
	}
}

func TestCollect_BadKeyIsAuthFailure(t *testing.T) {
	t.Parallel()
	fake := bamboohrfake.New(t, bamboohrfake.Options{})
	cfg := newConfig(fake)
	cfg.APIKey = "wrong-api-key-value"
	arts, err := collect(t, cfg)
	if err == nil {
		t.Fatal("Collect with a bad key succeeded")
	}
	if got := connectors.Classify(err); got != connectors.ClassAuth {
		t.Errorf("Classify = %q, want auth (%v)", got, err)
	}
	var he *connectors.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusUnauthorized {
		t.Errorf("error %v is not a 401 *HTTPError", err)
	}
	if strings.Contains(err.Error(), "wrong-api-key-value") {
		t.Errorf("error shows the key: %v", err)
	}
	if !strings.Contains(err.Error(), "Invalid API key") || !strings.Contains(err.Error(), "api_key") {
		t.Errorf("error %q does not quote BambooHR or say what to fix", err)
	}
	if len(arts) != 0 {
		t.Errorf("emitted %d artifacts with a bad key", len(arts))
	}
}

func TestCollect_UnknownCompanyIsConfigFailure(t *testing.T) {
	t.Parallel()
	fake := bamboohrfake.New(t, bamboohrfake.Options{})
	cfg := newConfig(fake)
	cfg.Company = "other"
	_, err := collect(t, cfg)
	if !errors.Is(err, connectors.ErrConfig) || !strings.Contains(err.Error(), "company") {
		t.Errorf("error = %v, want a config error naming company", err)
	}
}

func TestCollect_RateLimited503ThenSuccess(t *testing.T) {
	t.Parallel()
	fake := bamboohrfake.New(t, bamboohrfake.Options{})
	fake.Fail(bamboohrfake.RouteReport, 1, http.StatusServiceUnavailable, http.Header{"Retry-After": {"0"}})
	fake.Fail(bamboohrfake.RouteTrainingRecords, 1, http.StatusServiceUnavailable, http.Header{"Retry-After": {"0"}})
	arts, err := collect(t, newConfig(fake))
	if err != nil {
		t.Fatalf("Collect after a rate-limited answer: %v", err)
	}
	if n := len(fake.RequestsTo(bamboohrfake.RouteReport)); n != 2 {
		t.Errorf("report requests = %d, want 2 (one refused, one retried)", n)
	}
	if len(arts) != 18 {
		t.Errorf("emitted %d artifacts, want 18", len(arts))
	}
}

func TestCollect_RecordsFailureIsUnknownNotIncomplete(t *testing.T) {
	t.Parallel()
	fake := bamboohrfake.New(t, bamboohrfake.Options{})
	// Employee 102's records (the second current employee) answer 500 on
	// every retry.
	fake.Fail(bamboohrfake.RouteTrainingRecords, 1, 0, nil)
	fake.Fail(bamboohrfake.RouteTrainingRecords, 3, http.StatusInternalServerError, nil)
	arts, err := collect(t, newConfig(fake))
	if err == nil || connectors.Classify(err) != connectors.ClassUpstream || !strings.Contains(err.Error(), "employee 102") {
		t.Fatalf("error = %v, want an upstream error naming employee 102", err)
	}
	var roster hrtraining.Roster
	r := find(t, arts, bamboohr.KindTrainingRoster, "training/Responsible AI")
	if err := json.Unmarshal(r.Body, &roster); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(roster.Employees, func(e hrtraining.Entry) bool { return e.EmployeeID == "102" })
	if i < 0 || roster.Employees[i].Status != hrtraining.StatusUnknown || roster.Complete || r.Provenance.Complete {
		t.Errorf("roster = %+v, want 102 unknown and the roster incomplete", roster)
	}
}

func TestCollect_UnknownRequiredTrainingIsConfigError(t *testing.T) {
	t.Parallel()
	fake := bamboohrfake.New(t, bamboohrfake.Options{})
	cfg := newConfig(fake)
	cfg.RequiredTrainings = append(cfg.RequiredTrainings, bamboohr.RequiredTraining{Training: "Responsible A.I."})
	arts, err := collect(t, cfg)
	if !errors.Is(err, connectors.ErrConfig) || !strings.Contains(err.Error(), `"Responsible A.I."`) {
		t.Errorf("error = %v, want a config error naming the training", err)
	}
	if len(arts) != 18 {
		t.Errorf("emitted %d artifacts, want the other 18 still", len(arts))
	}
}

func TestCollect_Canceled(t *testing.T) {
	t.Parallel()
	fake := bamboohrfake.New(t, bamboohrfake.Options{})
	c, err := bamboohr.New(newConfig(fake), connectors.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	n := 0
	err = c.Collect(ctx, func(connectors.Artifact) error {
		n++
		if n == 4 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}

func TestConfig_Validate(t *testing.T) {
	t.Parallel()
	ok := bamboohr.Config{Company: "example", APIKey: "k", PII: "minimal"}
	for _, tc := range []struct {
		name string
		edit func(*bamboohr.Config)
		want string // "" for valid
	}{
		{"valid", func(*bamboohr.Config) {}, ""},
		{"no company", func(c *bamboohr.Config) { c.Company = "" }, "company is required"},
		{"company is a URL", func(c *bamboohr.Config) { c.Company = "example.bamboohr.com" }, "not a subdomain"},
		{"no key", func(c *bamboohr.Config) { c.APIKey = "" }, "api_key is required"},
		{"bad pii", func(c *bamboohr.Config) { c.PII = "none" }, `pii "none"`},
		{"base_url with the gateway", func(c *bamboohr.Config) { c.BaseURL = "https://api.bamboohr.com/api/gateway.php/example/v1/" }, "API host root"},
		{"groups", func(c *bamboohr.Config) {
			c.RequiredTrainings = []bamboohr.RequiredTraining{{Training: "x", Scope: hrtraining.Scope{Groups: []string{"g"}}}}
		}, "no groups"},
		{"duplicate training", func(c *bamboohr.Config) {
			c.RequiredTrainings = []bamboohr.RequiredTraining{{Training: "X"}, {Training: "x"}}
		}, "listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want %q", err, tc.want)
			}
		})
	}
}
