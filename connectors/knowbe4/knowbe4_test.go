package knowbe4_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors"
	"github.com/aimsvault/aimsvault/connectors/internal/hrtraining"
	"github.com/aimsvault/aimsvault/connectors/knowbe4"
	"github.com/aimsvault/aimsvault/connectors/knowbe4/knowbe4fake"
	"github.com/aimsvault/aimsvault/mapping"
)

// now is the fixed clock of these tests.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type got struct {
	connectors.Artifact
	Body []byte
}

func newConfig(fake *knowbe4fake.Server) knowbe4.Config {
	cfg := *knowbe4.Type.NewConfig().(*knowbe4.Config)
	cfg.BaseURL = fake.URL
	cfg.Token = config.Secret(fake.Token())
	cfg.PerPage = 2
	cfg.RequestInterval = 0
	cfg.RequiredTrainings = []knowbe4.RequiredTraining{
		{Training: "Responsible AI", DueDays: 30, Scope: hrtraining.Scope{Groups: []string{"ML Team", "data team"}}},
		{Training: "acceptable use policy"},
	}
	return cfg
}

func collect(t *testing.T, cfg knowbe4.Config, hc *http.Client) ([]got, error) {
	t.Helper()
	if hc == nil {
		hc = connectors.NewHTTPClient(connectors.HTTPOptions{RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Second, RetryMax: 2})
	}
	c, err := knowbe4.New(cfg, connectors.Deps{HTTP: hc, Now: func() time.Time { return now }})
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

func TestCollect_PagesAndEmitsRawAndDerived(t *testing.T) {
	t.Parallel()
	fake := knowbe4fake.New(t, knowbe4fake.Options{})
	arts, err := collect(t, newConfig(fake), nil)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	count := map[string]int{}
	for _, a := range arts {
		count[a.Kind]++
	}
	// 5 active users (1006 is archived), 3 campaigns, 7 enrollments (9008
	// belongs to the archived user), 2 rosters and summaries.
	if diff := cmp.Diff(map[string]int{
		knowbe4.KindUser: 5, knowbe4.KindCampaign: 3, knowbe4.KindEnrollment: 7,
		knowbe4.KindTrainingRoster: 2, knowbe4.KindTrainingSummary: 2,
	}, count); diff != "" {
		t.Errorf("artifacts per kind (-want +got):\n%s", diff)
	}

	// Paging: page=1.. with per_page=2 until a short page.
	var pages []string
	for _, r := range fake.RequestsTo(knowbe4fake.RouteEnrollments) {
		pages = append(pages, r.Query.Get("page")+"/"+r.Query.Get("per_page")+"/"+r.Query.Get("exclude_archived_users"))
	}
	if diff := cmp.Diff([]string{"1/2/true", "2/2/true", "3/2/true", "4/2/true"}, pages); diff != "" {
		t.Errorf("enrollment pages (-want +got):\n%s", diff)
	}
	var userPages []string
	for _, r := range fake.RequestsTo(knowbe4fake.RouteUsers) {
		userPages = append(userPages, r.Query.Get("page")+"/"+r.Query.Get("status"))
	}
	if diff := cmp.Diff([]string{"1/active", "2/active", "3/active"}, userPages); diff != "" {
		t.Errorf("user pages (-want +got):\n%s", diff)
	}
	for _, r := range fake.Requests() {
		if r.Header.Get("Authorization") != "Bearer "+fake.Token() || r.Header.Get("Accept") != "application/json" {
			t.Errorf("%s: Authorization/Accept = %q/%q", r.Path, r.Header.Get("Authorization"), r.Header.Get("Accept"))
		}
	}

	e := find(t, arts, knowbe4.KindEnrollment, "enrollment/9001")
	if !e.EffectiveAt.Equal(time.Date(2026, 1, 20, 14, 31, 0, 0, time.UTC)) {
		t.Errorf("enrollment effective_at = %v, want the completion date", e.EffectiveAt)
	}
	if e.Provenance.Identity != "Example Corp" || e.Provenance.Endpoint != "/knowbe4/v1/training/enrollments" || e.Provenance.Complete {
		t.Errorf("enrollment 9001 (page 1 of 4) provenance = %+v", e.Provenance)
	}
	if last := find(t, arts, knowbe4.KindEnrollment, "enrollment/9007"); !last.Provenance.Complete {
		t.Errorf("enrollment on the last page: complete = false")
	}
	if e.Attributes["knowbe4.completed"] != "true" || e.Attributes["knowbe4.module"] != "Responsible AI" {
		t.Errorf("enrollment attributes = %v", e.Attributes)
	}
	open := find(t, arts, knowbe4.KindEnrollment, "enrollment/9002")
	if open.Attributes["knowbe4.completed"] != "false" || !open.EffectiveAt.Equal(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("open enrollment: attributes %v, effective_at %v", open.Attributes, open.EffectiveAt)
	}
	// Only a completed enrollment maps to competence and awareness; an
	// acknowledged policy maps to 5.2 too.
	for _, tc := range []struct {
		subject string
		want    []string
	}{
		{"enrollment/9001", []string{"7.2", "7.3", "A.4.6"}},
		{"enrollment/9002", []string{}},
		{"enrollment/9004", []string{"5.2", "7.2", "7.3", "A.4.6"}},
	} {
		a := find(t, arts, knowbe4.KindEnrollment, tc.subject)
		ids, err := (*mapping.Mapper)(nil).Map(a.Kind, a.Attributes)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, ids); diff != "" {
			t.Errorf("%s controls (-want +got):\n%s", tc.subject, diff)
		}
	}

	var roster hrtraining.Roster
	if err := json.Unmarshal(find(t, arts, knowbe4.KindTrainingRoster, "training/Responsible AI").Body, &roster); err != nil {
		t.Fatal(err)
	}
	want := []hrtraining.Entry{
		{EmployeeID: "1001", Department: "Machine Learning", JobTitle: "ML Engineer", DueFrom: "2026-01-05", CompletedOn: "2026-01-20", Status: "completed"},
		// Passed the 2025 campaign, but the 2026 enrollment is open and past due.
		{EmployeeID: "1002", Department: "Data", JobTitle: "Data Scientist", DueFrom: "2026-01-05", DueOn: "2026-02-04", Status: "overdue"},
		{EmployeeID: "1003", Department: "Machine Learning", JobTitle: "Research Scientist", DueFrom: "2026-02-20", DueOn: "2026-03-22", Status: "pending"},
		{EmployeeID: "1005", Department: "Data", JobTitle: "Head of Data", Status: "not_enrolled"},
	}
	if diff := cmp.Diff(want, roster.Employees); diff != "" {
		t.Errorf("Responsible AI roster (-want +got):\n%s", diff)
	}
	var sum hrtraining.Summary
	if err := json.Unmarshal(find(t, arts, knowbe4.KindTrainingSummary, "training/Responsible AI").Body, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.InScope != 4 || sum.Completed != 1 || sum.Overdue != 1 || sum.Pending != 1 || sum.NotEnrolled != 1 || *sum.CompletionRate != 0.25 {
		t.Errorf("summary = %+v", sum)
	}
	if err := json.Unmarshal(find(t, arts, knowbe4.KindTrainingSummary, "training/acceptable use policy").Body, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.InScope != 5 || sum.Completed != 2 || sum.Pending != 1 || sum.NotEnrolled != 2 {
		t.Errorf("policy summary = %+v", sum)
	}
}

func TestCollect_PIIMinimalDropsNamesAndEmails(t *testing.T) {
	t.Parallel()
	fake := knowbe4fake.New(t, knowbe4fake.Options{})
	arts, err := collect(t, newConfig(fake), nil)
	if err != nil {
		t.Fatal(err)
	}
	personal := []string{"Ada", "Lovelace", "Hopper", "Turing", "Somerville", "Katherine", "Sam Admin", "@example.com",
		"@example.org", "555-55", "prefers e-mail", "1986-11-14", "first_name", "last_name", `"email"`}
	for _, a := range arts {
		for _, p := range personal {
			if strings.Contains(string(a.Body), p) {
				t.Errorf("%s %s stores %q under pii: minimal: %s", a.Kind, a.Subject, p, a.Body)
			}
		}
	}
	u := find(t, arts, knowbe4.KindUser, "user/1001")
	for _, keep := range []string{`"id":1001`, `"department":"Machine Learning"`, `"job_title":"ML Engineer"`, `"groups":[501]`} {
		if !strings.Contains(string(u.Body), keep) {
			t.Errorf("user 1001 lacks %s: %s", keep, u.Body)
		}
	}
	if !cmpContains(u.Provenance.Redacted, "first_name", "last_name", "email", "manager_email", "aliases") {
		t.Errorf("user provenance redacted = %v", u.Provenance.Redacted)
	}
	e := find(t, arts, knowbe4.KindEnrollment, "enrollment/9001")
	if diff := cmp.Diff([]string{"user.email", "user.first_name", "user.last_name"}, e.Provenance.Redacted); diff != "" {
		t.Errorf("enrollment provenance redacted (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(e.Body), `"user":{"id":1001}`) {
		t.Errorf("enrollment lost the user id: %s", e.Body)
	}
}

func cmpContains(list []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, l := range list {
			found = found || l == w
		}
		if !found {
			return false
		}
	}
	return true
}

func TestCollect_PIIFullKeepsNamesAndEmails(t *testing.T) {
	t.Parallel()
	fake := knowbe4fake.New(t, knowbe4fake.Options{})
	cfg := newConfig(fake)
	cfg.PII = hrtraining.PIIFull
	arts, err := collect(t, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	u := find(t, arts, knowbe4.KindUser, "user/1001")
	for _, keep := range []string{`"first_name":"Ada"`, `"last_name":"Lovelace"`, `"email":"ada.lovelace@example.com"`} {
		if !strings.Contains(string(u.Body), keep) {
			t.Errorf("user 1001 under pii: full lacks %s: %s", keep, u.Body)
		}
	}
	if len(u.Provenance.Redacted) != 0 {
		t.Errorf("provenance redacted = %v under pii: full", u.Provenance.Redacted)
	}
	e := find(t, arts, knowbe4.KindEnrollment, "enrollment/9001")
	if !strings.Contains(string(e.Body), `"email":"ada.lovelace@example.com"`) {
		t.Errorf("enrollment under pii: full lacks the e-mail: %s", e.Body)
	}
	r := find(t, arts, knowbe4.KindTrainingRoster, "training/Responsible AI")
	if strings.Contains(string(r.Body), "Ada") || strings.Contains(string(r.Body), "@example.com") {
		t.Errorf("roster holds a name or e-mail: %s", r.Body)
	}
}

func TestCollect_RateLimited429ThenSuccess(t *testing.T) {
	t.Parallel()
	fake := knowbe4fake.New(t, knowbe4fake.Options{})
	// The second enrollment page is refused once, asking for a 1-second wait.
	fake.Fail(knowbe4fake.RouteEnrollments, 1, 0, nil)
	fake.Fail(knowbe4fake.RouteEnrollments, 1, http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}})
	arts, err := collect(t, newConfig(fake), nil)
	if err != nil {
		t.Fatalf("Collect after a 429: %v", err)
	}
	var pages []string
	for _, r := range fake.RequestsTo(knowbe4fake.RouteEnrollments) {
		pages = append(pages, r.Query.Get("page"))
	}
	if diff := cmp.Diff([]string{"1", "2", "2", "3", "4"}, pages); diff != "" {
		t.Errorf("enrollment pages (-want +got):\n%s", diff)
	}
	if len(arts) != 19 {
		t.Errorf("emitted %d artifacts, want 19", len(arts))
	}
}

func TestCollect_RateLimitThatOutlastsTheClientIsRateLimited(t *testing.T) {
	t.Parallel()
	fake := knowbe4fake.New(t, knowbe4fake.Options{})
	// The daily limit: a wait of hours.
	fake.Fail(knowbe4fake.RouteUsers, 1, http.StatusTooManyRequests, http.Header{"Retry-After": {"36000"}})
	_, err := collect(t, newConfig(fake), nil)
	if connectors.Classify(err) != connectors.ClassRateLimited {
		t.Errorf("Classify(%v) = %q, want rate_limited", err, connectors.Classify(err))
	}
	var he *connectors.HTTPError
	if !errors.As(err, &he) || he.RetryAfter != 10*time.Hour {
		t.Errorf("error %v: want an *HTTPError with RetryAfter 10h", err)
	}
}

func TestCollect_ServerErrorFailsWithoutRosters(t *testing.T) {
	t.Parallel()
	fake := knowbe4fake.New(t, knowbe4fake.Options{})
	fake.Fail(knowbe4fake.RouteEnrollments, 1, 0, nil)
	fake.Fail(knowbe4fake.RouteEnrollments, 3, http.StatusBadGateway, nil)
	arts, err := collect(t, newConfig(fake), nil)
	if connectors.Classify(err) != connectors.ClassUpstream || !strings.Contains(err.Error(), "page 2") {
		t.Errorf("error = %v, want an upstream error naming page 2", err)
	}
	for _, a := range arts {
		if a.Kind == knowbe4.KindTrainingRoster || a.Kind == knowbe4.KindTrainingSummary {
			t.Errorf("emitted %s %s from a listing that broke off", a.Kind, a.Subject)
		}
	}
	if e := find(t, arts, knowbe4.KindEnrollment, "enrollment/9001"); e.Provenance.Complete {
		t.Errorf("enrollment from a broken listing says complete")
	}
}

func TestCollect_BadTokenIsAuthFailure(t *testing.T) {
	t.Parallel()
	fake := knowbe4fake.New(t, knowbe4fake.Options{})
	cfg := newConfig(fake)
	cfg.Token = "not-the-right-token"
	arts, err := collect(t, cfg, nil)
	if connectors.Classify(err) != connectors.ClassAuth || !strings.Contains(err.Error(), "region") {
		t.Errorf("error = %v, want auth naming token and region", err)
	}
	if strings.Contains(err.Error(), "not-the-right-token") {
		t.Errorf("error shows the token: %v", err)
	}
	if len(arts) != 0 {
		t.Errorf("emitted %d artifacts with a bad token", len(arts))
	}
}

func TestCollect_SubscriptionWithoutReportingAPIIsAuthFailure(t *testing.T) {
	t.Parallel()
	fake := knowbe4fake.New(t, knowbe4fake.Options{NoReportingAPI: true})
	_, err := collect(t, newConfig(fake), nil)
	var he *connectors.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusForbidden || connectors.Classify(err) != connectors.ClassAuth {
		t.Fatalf("error = %v, want a 403 auth failure", err)
	}
	if !strings.Contains(err.Error(), "Platinum and Diamond") {
		t.Errorf("error %q does not say the Reporting API needs a subscription tier", err)
	}
}

func TestCollect_UnknownTrainingOrGroupIsConfigError(t *testing.T) {
	t.Parallel()
	fake := knowbe4fake.New(t, knowbe4fake.Options{})
	cfg := newConfig(fake)
	cfg.RequiredTrainings = append(cfg.RequiredTrainings,
		knowbe4.RequiredTraining{Training: "Responsible A.I."},
		knowbe4.RequiredTraining{Training: "Responsible AI 2026", Scope: hrtraining.Scope{Groups: []string{"No Such Team"}}})
	arts, err := collect(t, cfg, nil)
	if !errors.Is(err, connectors.ErrConfig) || !strings.Contains(err.Error(), `"Responsible A.I."`) || !strings.Contains(err.Error(), "No Such Team") {
		t.Errorf("error = %v, want config errors naming the training and the group", err)
	}
	if len(arts) != 19 {
		t.Errorf("emitted %d artifacts, want the other 19", len(arts))
	}
}

// regionTransport answers every request 401 and records its URL: no
// network is reached.
type regionTransport struct{ urls []string }

func (rt *regionTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.urls = append(rt.urls, r.URL.String())
	return &http.Response{StatusCode: http.StatusUnauthorized, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
}

func TestNew_RegionSelectsTheAPIRoot(t *testing.T) {
	t.Parallel()
	for _, region := range knowbe4.Regions {
		t.Run(region, func(t *testing.T) {
			t.Parallel()
			rt := &regionTransport{}
			cfg := *knowbe4.Type.NewConfig().(*knowbe4.Config)
			cfg.Region = region
			cfg.Token = "tok-12345"
			_, err := collect(t, cfg, &http.Client{Transport: rt})
			if err == nil {
				t.Fatal("want the 401")
			}
			want := "https://" + region + ".api.knowbe4.com/v1/account"
			if len(rt.urls) != 1 || rt.urls[0] != want {
				t.Errorf("requests = %v, want %s", rt.urls, want)
			}
		})
	}
}

func TestConfig_Validate(t *testing.T) {
	t.Parallel()
	ok := *knowbe4.Type.NewConfig().(*knowbe4.Config)
	ok.Region, ok.Token = "eu", "tok"
	for _, tc := range []struct {
		name string
		edit func(*knowbe4.Config)
		want string
	}{
		{"valid", func(*knowbe4.Config) {}, ""},
		{"no region", func(c *knowbe4.Config) { c.Region = "" }, "region is required"},
		{"bad region", func(c *knowbe4.Config) { c.Region = "au" }, `region "au"`},
		{"both", func(c *knowbe4.Config) { c.BaseURL = "https://eu.api.knowbe4.com/" }, "not both"},
		{"base_url with v1", func(c *knowbe4.Config) { c.Region = ""; c.BaseURL = "https://eu.api.knowbe4.com/v1/" }, "appends v1/"},
		{"no token", func(c *knowbe4.Config) { c.Token = "" }, "token is required"},
		{"per_page too big", func(c *knowbe4.Config) { c.PerPage = 1000 }, "per_page 1000"},
		{"bad pii", func(c *knowbe4.Config) { c.PII = "some" }, `pii "some"`},
		{"empty scope entry", func(c *knowbe4.Config) {
			c.RequiredTrainings = []knowbe4.RequiredTraining{{Training: "x", Scope: hrtraining.Scope{Groups: []string{" "}}}}
		}, "scope.groups[0] is empty"},
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
