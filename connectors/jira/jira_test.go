package jira_test

import (
	"bytes"
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
	"github.com/aimsvault/aimsvault/connectors/jira"
	"github.com/aimsvault/aimsvault/connectors/jira/jirafake"
	"github.com/aimsvault/aimsvault/mapping"
)

// got is an emitted artifact with its content read.
type got struct {
	connectors.Artifact
	Body []byte
}

func newConfig(fake *jirafake.Server, dep string, queries ...jira.Query) *jira.Config {
	cfg := jira.Type.NewConfig().(*jira.Config)
	cfg.BaseURL = fake.URL
	cfg.Deployment = dep
	if dep == jirafake.Cloud {
		cfg.Email = fake.Email()
	}
	cfg.Token = config.Secret(fake.Token())
	cfg.Queries = queries
	return cfg
}

func collect(t *testing.T, cfg *jira.Config) ([]got, error) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	c, err := jira.Type.New(cfg, connectors.Deps{
		Name: "jira-test",
		HTTP: connectors.NewHTTPClient(connectors.HTTPOptions{
			RetryWaitMin: time.Millisecond,
			RetryWaitMax: 2 * time.Second,
			Secrets:      []string{cfg.Token.Reveal()},
		}),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var out []got
	err = c.Collect(t.Context(), func(a connectors.Artifact) error {
		b, err := io.ReadAll(a.Content)
		if err != nil {
			return err
		}
		if cl, ok := a.Content.(io.Closer); ok {
			cl.Close()
		}
		a.Content = nil
		out = append(out, got{a, b})
		return nil
	})
	return out, err
}

func byKind(gs []got, kind string) []got {
	var out []got
	for _, g := range gs {
		if g.Kind == kind {
			out = append(out, g)
		}
	}
	return out
}

func subjects(gs []got) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Subject)
	}
	return out
}

var risks = jira.Query{Name: "risks", JQL: "project = AIRISK ORDER BY key", Kind: "risk", Controls: []string{"6.1.3"}}

func TestCollect_CloudPaginatesWithTokensAndKeepsRawIssues(t *testing.T) {
	t.Parallel()
	fake := jirafake.New(t, jirafake.Options{PageCap: 2})
	cfg := newConfig(fake, jirafake.Cloud, risks)
	cfg.PageSize = 2
	cfg.Fields = []string{"Risk Rating"}
	gs, err := collect(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	issues := byKind(gs, "jira.risk")
	if diff := cmp.Diff([]string{"AIRISK-1", "AIRISK-2", "AIRISK-3"}, subjects(issues)); diff != "" {
		t.Errorf("risk subjects (-want +got):\n%s", diff)
	}

	// Two pages: the second asks with the first page's token.
	reqs := fake.RequestsTo(jirafake.RouteSearch)
	if len(reqs) != 2 {
		t.Fatalf("search requests = %d, want 2", len(reqs))
	}
	var first, second map[string]any
	json.Unmarshal(reqs[0].Body, &first)
	json.Unmarshal(reqs[1].Body, &second)
	if reqs[0].Method != http.MethodPost || reqs[0].Path != "/jira/rest/api/3/search/jql" {
		t.Errorf("search = %s %s, want POST /jira/rest/api/3/search/jql", reqs[0].Method, reqs[0].Path)
	}
	if _, ok := first["nextPageToken"]; ok {
		t.Errorf("first page sent a nextPageToken: %s", reqs[0].Body)
	}
	if tok, _ := second["nextPageToken"].(string); tok == "" {
		t.Errorf("second page sent no nextPageToken: %s", reqs[1].Body)
	}
	if first["jql"] != risks.JQL || first["expand"] != "changelog" || first["maxResults"] != float64(2) {
		t.Errorf("search body = %s", reqs[0].Body)
	}
	fields, _ := first["fields"].([]any)
	for _, want := range []string{"summary", "status", "resolutiondate", "customfield_10050"} {
		if !slices.Contains(fields, any(want)) {
			t.Errorf("search fields %v lack %s (Risk Rating resolves to customfield_10050)", fields, want)
		}
	}

	a := issues[0]
	want := map[string]string{
		"jira.query": "risks", "jira.project": "AIRISK", "jira.issuetype": "Risk", "jira.status": "Accepted",
		"jira.status_category": "done", "jira.priority": "High", "jira.resolution": "Done",
		"jira.labels": "credit-scoring,model-drift", "controls": "6.1.3",
	}
	if diff := cmp.Diff(want, a.Attributes); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	if wantAt := time.Date(2026, 5, 20, 14, 2, 11, 0, time.UTC); !a.EffectiveAt.Equal(wantAt) {
		t.Errorf("effective_at = %v, want the resolution date %v", a.EffectiveAt, wantAt)
	}
	if wantAt := time.Date(2026, 4, 20, 9, 0, 0, 0, time.UTC); !issues[1].EffectiveAt.Equal(wantAt) {
		t.Errorf("unresolved issue effective_at = %v, want updated %v", issues[1].EffectiveAt, wantAt)
	}
	wantProv := connectors.Provenance{Method: "POST", Endpoint: "/jira/rest/api/3/search/jql", Query: risks.JQL, APIVersion: "3", Identity: "5b10ac8d82e05b22cc7d4ef5", Complete: true}
	if diff := cmp.Diff(wantProv, a.Provenance); diff != "" {
		t.Errorf("provenance (-want +got):\n%s", diff)
	}
	if a.SourceURL != fake.URL+"browse/AIRISK-1" || a.MediaType != "application/json" {
		t.Errorf("source %q media %q", a.SourceURL, a.MediaType)
	}

	// The content is Jira's own issue, canonical: fields go-jira's structs
	// do not know are there, and nothing was added.
	canon, err := connectors.CanonicalJSON(json.RawMessage(a.Body))
	if err != nil || !bytes.Equal(canon, a.Body) {
		t.Errorf("content is not canonical JSON (err %v)", err)
	}
	var raw map[string]any
	json.Unmarshal(a.Body, &raw)
	f := raw["fields"].(map[string]any)
	if cf, _ := f["customfield_10050"].(map[string]any); cf["value"] != "High" {
		t.Errorf("custom field Risk Rating not kept: %v", f["customfield_10050"])
	}
	if raw["expand"] == nil || f["project"].(map[string]any)["projectTypeKey"] != "business" {
		t.Errorf("raw issue lost Jira's own fields: %s", a.Body)
	}
	if _, ok := f["attachment"]; ok {
		t.Error("attachment field asked for although attachments: none")
	}

	// Every artifact maps: risks to 6.1.2 and 8.2, a resolved one to 8.3,
	// and the query's declared control.
	ids, err := mapping.NewMapper(nil)
	if err != nil {
		t.Fatal(err)
	}
	controls, err := ids.Map(a.Kind, a.Attributes)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"6.1.2", "6.1.3", "8.2", "8.3"}, controls); diff != "" {
		t.Errorf("controls of a resolved risk (-want +got):\n%s", diff)
	}
	for _, g := range gs {
		if !ids.Handles(g.Kind) {
			t.Errorf("kind %s has no mapping rule", g.Kind)
		}
	}
}

func TestCollect_DataCenterPagesByIssuesReturned(t *testing.T) {
	t.Parallel()
	// Jira caps maxResults silently: asked for 50, it returns 2 a page.
	fake := jirafake.New(t, jirafake.Options{Deployment: jirafake.DataCenter, Prefix: "/ctx/jira/", PageCap: 2})
	cfg := newConfig(fake, jirafake.DataCenter, risks)
	gs, err := collect(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"AIRISK-1", "AIRISK-2", "AIRISK-3"}, subjects(byKind(gs, "jira.risk"))); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}
	var starts []string
	for _, r := range fake.RequestsTo(jirafake.RouteSearch) {
		if r.Method != http.MethodGet || r.Path != "/ctx/jira/rest/api/2/search" {
			t.Errorf("search = %s %s", r.Method, r.Path)
		}
		if r.Query.Get("maxResults") != "50" || r.Query.Get("jql") != risks.JQL || r.Query.Get("expand") != "changelog" {
			t.Errorf("search query = %v", r.Query)
		}
		starts = append(starts, r.Query.Get("startAt"))
	}
	if diff := cmp.Diff([]string{"0", "2"}, starts); diff != "" {
		t.Errorf("startAt per page (-want +got):\n%s", diff)
	}
	p := gs[0].Provenance
	if p.APIVersion != "2" || p.Endpoint != "/ctx/jira/rest/api/2/search" || p.Method != "GET" || p.Identity != "svc-aimsvault" || !p.Complete {
		t.Errorf("provenance = %+v", p)
	}
}

func TestCollect_FetchesFullChangelog(t *testing.T) {
	t.Parallel()
	for _, dep := range []string{jirafake.Cloud, jirafake.DataCenter} {
		t.Run(dep, func(t *testing.T) {
			t.Parallel()
			// Search returns 1 history of AIRISK-1's 4; the Cloud changelog
			// endpoint pages 2 at a time.
			fake := jirafake.New(t, jirafake.Options{Deployment: dep, InlineChangelogCap: 1, ChangelogPageCap: 2})
			gs, err := collect(t, newConfig(fake, dep, risks))
			if err != nil {
				t.Fatal(err)
			}
			var issue got
			for _, g := range byKind(gs, "jira.risk") {
				if g.Subject == "AIRISK-1" {
					issue = g
				}
			}
			var raw struct {
				Changelog struct {
					Total     int               `json:"total"`
					Histories []json.RawMessage `json:"histories"`
				} `json:"changelog"`
			}
			if err := json.Unmarshal(issue.Body, &raw); err != nil {
				t.Fatal(err)
			}
			if raw.Changelog.Total != 4 || len(raw.Changelog.Histories) != 4 {
				t.Errorf("stored changelog holds %d of %d histories, want 4 of 4", len(raw.Changelog.Histories), raw.Changelog.Total)
			}
			if dep == jirafake.Cloud {
				var starts []string
				for _, r := range fake.RequestsTo(jirafake.RouteChangelog) {
					if r.Path == "/jira/rest/api/3/issue/AIRISK-1/changelog" {
						starts = append(starts, r.Query.Get("startAt"))
					}
				}
				if diff := cmp.Diff([]string{"0", "2"}, starts); diff != "" {
					t.Errorf("changelog pages of AIRISK-1 (-want +got):\n%s", diff)
				}
			} else if n := len(fake.RequestsTo(jirafake.RouteIssue)); n != 1 {
				t.Errorf("issue requests = %d, want 1 (AIRISK-1 only)", n)
			}

			var hist struct {
				Issue       string `json:"issue"`
				Transitions []struct {
					At, By, ByName, From, To string
				} `json:"transitions"`
				ChangelogRead bool `json:"changelog_read"`
			}
			var h got
			for _, g := range byKind(gs, "jira.status_history") {
				if g.Subject == "AIRISK-1" {
					h = g
				}
			}
			if err := json.Unmarshal(h.Body, &hist); err != nil {
				t.Fatal(err)
			}
			var trail []string
			for _, tr := range hist.Transitions {
				trail = append(trail, tr.From+">"+tr.To+"@"+tr.At)
			}
			want := []string{
				"Open>Assessed@2026-03-05T10:00:00Z",
				"Assessed>In Treatment@2026-04-10T16:45:00Z",
				"In Treatment>Accepted@2026-05-20T14:02:11Z",
			}
			if diff := cmp.Diff(want, trail); diff != "" {
				t.Errorf("status transitions (-want +got):\n%s", diff)
			}
			wantBy := "5b10ac8d82e05b22cc710003"
			if dep == jirafake.DataCenter {
				wantBy = "lee"
			}
			if last := hist.Transitions[len(hist.Transitions)-1]; last.By != wantBy {
				t.Errorf("accepted by %q, want %q", last.By, wantBy)
			}
			if !hist.ChangelogRead || h.Attributes["jira.kind"] != "jira.risk" || h.Attributes["controls"] != "" {
				t.Errorf("status history: read %v, attributes %v", hist.ChangelogRead, h.Attributes)
			}
		})
	}
}

func TestCollect_RetriesRateLimitAndUnavailable(t *testing.T) {
	t.Parallel()
	fake := jirafake.New(t, jirafake.Options{})
	fake.Fail(jirafake.RouteSearch, 1, http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}, "")
	fake.Fail(jirafake.RouteSearch, 1, http.StatusServiceUnavailable, nil, "")
	gs, err := collect(t, newConfig(fake, jirafake.Cloud, risks))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(fake.RequestsTo(jirafake.RouteSearch)); n != 3 {
		t.Errorf("search requests = %d, want 3 (429, 503, then success)", n)
	}
	if n := len(byKind(gs, "jira.risk")); n != 3 || !gs[0].Provenance.Complete {
		t.Errorf("got %d risks, complete %v", n, gs[0].Provenance.Complete)
	}
}

func TestCollect_RateLimitedTooLongIsRateLimitedError(t *testing.T) {
	t.Parallel()
	fake := jirafake.New(t, jirafake.Options{})
	fake.Fail(jirafake.RouteSearch, 1, http.StatusTooManyRequests, http.Header{"Retry-After": {"3600"}}, "")
	_, err := collect(t, newConfig(fake, jirafake.Cloud, risks))
	if connectors.Classify(err) != connectors.ClassRateLimited {
		t.Errorf("error %v: class %q, want rate_limited", err, connectors.Classify(err))
	}
}

func TestCollect_BadJQLIsConfigErrorNamingTheQuery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, dep, jql, jiraSays string
	}{
		{"unknown project, cloud", jirafake.Cloud, "project = NOPE", "The value 'NOPE' does not exist for the field 'project'."},
		{"syntax, cloud", jirafake.Cloud, "projct ~ AIRISK", "Error in the JQL Query"},
		{"syntax, data center", jirafake.DataCenter, "projct ~ AIRISK", "Error in the JQL Query"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := jirafake.New(t, jirafake.Options{Deployment: tc.dep})
			// The good query still runs: one bad query does not hide the others.
			gs, err := collect(t, newConfig(fake, tc.dep, jira.Query{Name: "broken", JQL: tc.jql}, risks))
			if !errors.Is(err, connectors.ErrConfig) || connectors.Classify(err) != connectors.ClassConfig {
				t.Fatalf("error %v: want a config error", err)
			}
			for _, want := range []string{`query "broken"`, tc.jql, tc.jiraSays} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if n := len(byKind(gs, "jira.risk")); n != 3 {
				t.Errorf("the good query emitted %d risks, want 3", n)
			}
		})
	}
}

func TestCollect_BadCredentialsAreAuthErrors(t *testing.T) {
	t.Parallel()
	for _, dep := range []string{jirafake.Cloud, jirafake.DataCenter} {
		t.Run(dep, func(t *testing.T) {
			t.Parallel()
			fake := jirafake.New(t, jirafake.Options{Deployment: dep})
			cfg := newConfig(fake, dep, risks)
			cfg.Token = "wrong-token-value"
			gs, err := collect(t, cfg)
			if connectors.Classify(err) != connectors.ClassAuth {
				t.Fatalf("error %v: class %q, want auth", err, connectors.Classify(err))
			}
			if !strings.Contains(err.Error(), "You are not authenticated") || !strings.Contains(err.Error(), "/rest/api/2/myself") {
				t.Errorf("error %q should quote Jira and name the call", err)
			}
			if strings.Contains(err.Error(), "wrong-token-value") {
				t.Errorf("the token shows up in the error: %v", err)
			}
			if len(gs) != 0 {
				t.Errorf("emitted %d artifacts with bad credentials", len(gs))
			}
		})
	}
}

func TestCollect_SendsAuthAsConfigured(t *testing.T) {
	t.Parallel()
	// A Cloud fake accepts basic email:token only; a bearer token fails.
	fake := jirafake.New(t, jirafake.Options{})
	cfg := newConfig(fake, jirafake.DataCenter, risks)
	cfg.Email = ""
	if _, err := collect(t, cfg); connectors.Classify(err) != connectors.ClassAuth {
		t.Errorf("bearer against basic: error %v, want auth", err)
	}
}

func TestCollect_WrongDeploymentSaysSo(t *testing.T) {
	t.Parallel()
	fake := jirafake.New(t, jirafake.Options{Deployment: jirafake.Cloud})
	cfg := newConfig(fake, jirafake.DataCenter, risks)
	cfg.Email = fake.Email() // basic auth, as the Cloud fake wants
	_, err := collect(t, cfg)
	if !errors.Is(err, connectors.ErrConfig) || !strings.Contains(err.Error(), "410 Gone") || !strings.Contains(err.Error(), "deployment: cloud") {
		t.Errorf("error %v: want a config error about 410 Gone and deployment: cloud", err)
	}
}

func TestCollect_PageCapFailsAndMarksIncomplete(t *testing.T) {
	t.Parallel()
	for _, dep := range []string{jirafake.Cloud, jirafake.DataCenter} {
		t.Run(dep, func(t *testing.T) {
			t.Parallel()
			fake := jirafake.New(t, jirafake.Options{Deployment: dep, PageCap: 2})
			cfg := newConfig(fake, dep, risks)
			cfg.MaxPages = 1
			gs, err := collect(t, cfg)
			if !errors.Is(err, connectors.ErrConfig) || !strings.Contains(err.Error(), "max_pages") {
				t.Errorf("error %v: want a config error naming max_pages", err)
			}
			rs := byKind(gs, "jira.risk")
			if len(rs) != 2 {
				t.Fatalf("emitted %d risks, want the 2 of the page read", len(rs))
			}
			for _, g := range gs {
				if g.Provenance.Complete {
					t.Errorf("%s %s: Complete true although a page was not read", g.Kind, g.Subject)
				}
			}
		})
	}
}

func TestCollect_FailureMidListingKeepsWhatWasRead(t *testing.T) {
	t.Parallel()
	fake := jirafake.New(t, jirafake.Options{Deployment: jirafake.DataCenter, PageCap: 2})
	fake.Fail(jirafake.RouteSearch, 1, 0, nil, "") // page 1 answers
	fake.Fail(jirafake.RouteSearch, 1, http.StatusInternalServerError, nil, "")
	cfg := newConfig(fake, jirafake.DataCenter, risks, jira.Query{Name: "incidents", JQL: "project = AIINC", Kind: "incident"})
	c, err := jira.Type.New(cfg, connectors.Deps{HTTP: connectors.NewHTTPClient(connectors.HTTPOptions{RetryMax: -1})})
	if err != nil {
		t.Fatal(err)
	}
	var gs []connectors.Artifact
	err = c.Collect(t.Context(), func(a connectors.Artifact) error {
		gs = append(gs, a)
		return nil
	})
	if connectors.Classify(err) != connectors.ClassUpstream || !strings.Contains(err.Error(), `query "risks"`) {
		t.Errorf("error %v: want an upstream error naming the query", err)
	}
	var risksSeen, incidents int
	for _, a := range gs {
		switch a.Kind {
		case "jira.risk":
			risksSeen++
			if a.Provenance.Complete {
				t.Errorf("%s: Complete although page 2 failed", a.Subject)
			}
		case "jira.incident":
			incidents++
			if !a.Provenance.Complete {
				t.Errorf("%s: incomplete although its listing was read whole", a.Subject)
			}
		}
	}
	if risksSeen != 2 || incidents != 1 {
		t.Errorf("emitted %d risks and %d incidents, want 2 (page 1) and 1", risksSeen, incidents)
	}
}

func TestCollect_Attachments(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, dep, mode string
		max             int64
		want            string // jira.attachment_content
	}{
		{"metadata, cloud", jirafake.Cloud, jira.AttachmentsMetadata, 1 << 20, "metadata"},
		{"download, cloud", jirafake.Cloud, jira.AttachmentsDownload, 1 << 20, "file"},
		{"download, data center", jirafake.DataCenter, jira.AttachmentsDownload, 1 << 20, "file"},
		{"over the cap", jirafake.Cloud, jira.AttachmentsDownload, 10, "metadata"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := jirafake.New(t, jirafake.Options{Deployment: tc.dep})
			cfg := newConfig(fake, tc.dep, risks)
			cfg.Attachments = tc.mode
			cfg.MaxAttachmentBytes = tc.max
			gs, err := collect(t, cfg)
			if err != nil {
				t.Fatal(err)
			}
			as := byKind(gs, "jira.attachment")
			if len(as) != 1 {
				t.Fatalf("got %d attachments, want 1", len(as))
			}
			a := as[0]
			if a.Subject != "AIRISK-1/10001/risk-assessment.pdf" || a.Attributes["jira.issue"] != "AIRISK-1" || a.Attributes["jira.attachment_content"] != tc.want {
				t.Errorf("attachment %s %v", a.Subject, a.Attributes)
			}
			switch tc.want {
			case "file":
				if !bytes.Equal(a.Body, jirafake.AttachmentContent("10001", 34)) || a.MediaType != "application/pdf" {
					t.Errorf("downloaded %q (%s)", a.Body, a.MediaType)
				}
				if n := len(fake.RequestsTo(jirafake.RouteAttachment)); n != 1 {
					t.Errorf("attachment requests = %d, want 1", n)
				}
			case "metadata":
				var m map[string]any
				if err := json.Unmarshal(a.Body, &m); err != nil || m["filename"] != "risk-assessment.pdf" || a.MediaType != "application/json" {
					t.Errorf("metadata %s (%s): %v", a.Body, a.MediaType, err)
				}
				if n := len(fake.RequestsTo(jirafake.RouteAttachment)); n != 0 {
					t.Errorf("attachment downloaded %d times in metadata mode", n)
				}
			}
		})
	}
}

func TestCollect_FieldNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ field, want string }{
		{"Owner", "names 2 fields"},
		{"Risk Ratting", `no field is named "Risk Ratting"`},
	} {
		fake := jirafake.New(t, jirafake.Options{})
		cfg := newConfig(fake, jirafake.Cloud, risks)
		cfg.Fields = []string{tc.field}
		_, err := collect(t, cfg)
		if !errors.Is(err, connectors.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("field %q: error %v, want a config error with %q", tc.field, err, tc.want)
		}
	}
}

func TestCollect_CanceledContextStops(t *testing.T) {
	t.Parallel()
	fake := jirafake.New(t, jirafake.Options{})
	c, err := jira.Type.New(newConfig(fake, jirafake.Cloud, risks), connectors.Deps{HTTP: connectors.NewHTTPClient(connectors.HTTPOptions{})})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	n := 0
	err = c.Collect(ctx, func(a connectors.Artifact) error {
		n++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Errorf("error %v after %d emits, want context.Canceled after 1", err, n)
	}
}

func TestConfig_Validate(t *testing.T) {
	t.Parallel()
	ok := func() *jira.Config {
		c := jira.Type.NewConfig().(*jira.Config)
		c.BaseURL = "https://example.atlassian.net/"
		c.Email = "bot@example.com"
		c.Token = "t0ken-value"
		c.Queries = []jira.Query{risks}
		return c
	}
	if err := ok().Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*jira.Config)
		want string
	}{
		{"no base_url", func(c *jira.Config) { c.BaseURL = "" }, "base_url is required"},
		{"base_url without scheme", func(c *jira.Config) { c.BaseURL = "example.atlassian.net" }, "http(s) URL"},
		{"cloud guessed, no email", func(c *jira.Config) { c.Email = "" }, "email is required"},
		{"no token", func(c *jira.Config) { c.Token = "" }, "token is required"},
		{"bad deployment", func(c *jira.Config) { c.Deployment = "server" }, `deployment "server"`},
		{"no queries", func(c *jira.Config) { c.Queries = nil }, "queries is empty"},
		{"no jql", func(c *jira.Config) { c.Queries[0].JQL = " " }, "jql is required"},
		{"bad kind", func(c *jira.Config) { c.Queries[0].Kind = "risks" }, `kind "risks"`},
		{"dup name", func(c *jira.Config) { c.Queries = append(c.Queries, risks) }, "used twice"},
		{"bad attachments", func(c *jira.Config) { c.Attachments = "all" }, `attachments "all"`},
		{"page size", func(c *jira.Config) { c.PageSize = 500 }, "page_size 500"},
	} {
		c := ok()
		tc.edit(c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	// Data Center: a token alone is enough.
	c := ok()
	c.BaseURL, c.Email = "https://jira.example.com/jira/", ""
	if err := c.Validate(); err != nil {
		t.Errorf("data center with a bearer token: %v", err)
	}
}
