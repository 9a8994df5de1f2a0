package github_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors"
	"github.com/aimsvault/aimsvault/connectors/connectortest"
	"github.com/aimsvault/aimsvault/connectors/github"
	"github.com/aimsvault/aimsvault/connectors/github/githubfake"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.Run(t, github.Type, func(t *testing.T) any {
		f := githubfake.New(t)
		f.PageSize = 2
		cfg := github.Type.NewConfig().(*github.Config)
		cfg.BaseURL = f.URL
		cfg.Token = githubfake.Token
		cfg.Owner = githubfake.Owner
		cfg.CacheDir = config.Path(t.TempDir())
		return cfg
	})
}

type got struct {
	connectors.Artifact
	Body []byte
}

type harness struct {
	fake *githubfake.Fake
	cfg  github.Config
	logs *syncBuf
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuf) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func newHarness(t *testing.T, prefix string) *harness {
	t.Helper()
	f := githubfake.NewAt(t, prefix)
	f.PageSize = 2
	cfg := *github.Type.NewConfig().(*github.Config)
	cfg.BaseURL = f.URL
	cfg.Token = githubfake.Token
	cfg.Owner = githubfake.Owner
	cfg.CacheDir = config.Path(t.TempDir())
	return &harness{fake: f, cfg: cfg, logs: &syncBuf{}}
}

func (h *harness) run(t *testing.T, ctx context.Context) ([]got, error) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	client := connectors.NewHTTPClient(connectors.HTTPOptions{
		RetryWaitMin: time.Millisecond, RetryWaitMax: 3 * time.Second, Logger: log,
		Secrets: config.SecretsOf(&h.cfg),
	})
	c, err := github.New(h.cfg, connectors.Deps{Name: "gh", HTTP: client, Logger: log, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var out []got
	err = c.Collect(ctx, func(a connectors.Artifact) error {
		b, err := io.ReadAll(a.Content)
		if err != nil {
			t.Errorf("%s: read: %v", a.Subject, err)
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

func find(gs []got, kind, subject string) *got {
	for i := range gs {
		if gs[i].Kind == kind && gs[i].Subject == subject {
			return &gs[i]
		}
	}
	return nil
}

func mustFind(t *testing.T, gs []got, kind, subject string) *got {
	t.Helper()
	g := find(gs, kind, subject)
	if g == nil {
		var have []string
		for _, x := range gs {
			have = append(have, x.Kind+" "+x.Subject)
		}
		t.Fatalf("no %s %s among:\n%s", kind, subject, strings.Join(have, "\n"))
	}
	return g
}

func checkAttrs(t *testing.T, g *got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if g.Attributes[k] != v {
			t.Errorf("%s %s: attribute %s = %q, want %q (all: %v)", g.Kind, g.Subject, k, g.Attributes[k], v, g.Attributes)
		}
	}
}

func TestCollect_Evidence(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"/", "/api/v3/"} {
		t.Run(prefix, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, prefix)
			gs, err := h.run(t, t.Context())
			if err != nil {
				t.Fatalf("Collect: %v", err)
			}
			counts := map[string]int{}
			for _, g := range gs {
				counts[g.Kind]++
				if g.Provenance.Identity != githubfake.Login {
					t.Errorf("%s %s: identity %q, want %q", g.Kind, g.Subject, g.Provenance.Identity, githubfake.Login)
				}
				if g.MediaType == "application/json" && !json.Valid(g.Body) {
					t.Errorf("%s %s: invalid JSON", g.Kind, g.Subject)
				}
				if strings.Contains(string(g.Body), githubfake.Token) {
					t.Errorf("%s %s: token in content", g.Kind, g.Subject)
				}
			}
			want := map[string]int{
				"github.organization": 1, "github.repository": 3, "github.branch_protection": 2,
				"github.pull_request": 2, "github.workflow_run": 3, "github.code_scanning_alert": 2,
				"github.dependabot_alert": 3, "github.secret_scanning_alert": 1, "github.alert_summary": 9,
				"github.release": 1, "github.codeowners": 1, "github.model_card": 1, "github.security_policy": 1,
			}
			if diff := cmp.Diff(want, counts); diff != "" {
				t.Errorf("artifact counts (-want +got):\n%s", diff)
			}

			org := mustFind(t, gs, "github.organization", githubfake.Owner)
			checkAttrs(t, org, map[string]string{"two_factor_requirement": "true", "members": "3"})

			repo := mustFind(t, gs, "github.repository", "example-org/model-training")
			checkAttrs(t, repo, map[string]string{"visibility": "public", "default_branch": "main", "secret_scanning": "enabled", "head_sha": githubfake.HeadSHA})
			if find(gs, "github.repository", "example-org/old-model") != nil {
				t.Error("archived repository collected without include_archived")
			}
			checkAttrs(t, mustFind(t, gs, "github.repository", "example-org/empty-repo"), map[string]string{"empty": "true"})

			bp := mustFind(t, gs, "github.branch_protection", "example-org/model-training:main")
			checkAttrs(t, bp, map[string]string{"protected": "true", "source": "classic", "required_reviews": "true",
				"code_owner_reviews": "true", "status_checks": "true", "signed_commits": "true", "enforce_admins": "true",
				"force_push_blocked": "true", "deletion_blocked": "true"})
			// Not protected classically, but governed by an active org ruleset;
			// the evaluate-mode ruleset enforces nothing.
			bp2 := mustFind(t, gs, "github.branch_protection", "example-org/inference-api:develop")
			checkAttrs(t, bp2, map[string]string{"protected": "true", "source": "rulesets", "protection_status": "404",
				"required_reviews": "true", "required_approvals": "2", "signed_commits": "false", "enforce_admins": "false",
				"force_push_blocked": "true", "deletion_blocked": "true", "evaluate_rulesets": "1"})
			if !strings.Contains(string(bp2.Body), "Branch not protected") {
				t.Errorf("GitHub's 404 answer is not kept in the content: %s", bp2.Body)
			}

			p42 := mustFind(t, gs, "github.pull_request", "example-org/model-training#42")
			checkAttrs(t, p42, map[string]string{"approved": "true", "approved_by": "bob-sec", "author": "alice-ml"})
			if !p42.EffectiveAt.Equal(time.Date(2025, 12, 10, 15, 30, 0, 0, time.UTC)) {
				t.Errorf("PR 42 effective_at %v, want its merged_at", p42.EffectiveAt)
			}
			// Approved only by its author before the merge; bob approved after.
			p41 := mustFind(t, gs, "github.pull_request", "example-org/model-training#41")
			checkAttrs(t, p41, map[string]string{"approved": "false"})
			if find(gs, "github.pull_request", "example-org/model-training#40") != nil {
				t.Error("closed, unmerged PR #40 collected")
			}
			if find(gs, "github.pull_request", "example-org/model-training#39") != nil {
				t.Error("PR #39 merged before the lookback window collected")
			}

			run := mustFind(t, gs, "github.workflow_run", "example-org/model-training/actions/runs/30433643")
			checkAttrs(t, run, map[string]string{"conclusion": "failure", "workflow": "model-eval", "head_sha": githubfake.HeadSHA})

			sec := mustFind(t, gs, "github.secret_scanning_alert", "example-org/model-training/secret-scanning/2")
			if strings.Contains(string(sec.Body), "AKIAFAKELEAKED0SECRET") || !strings.Contains(string(sec.Body), `"secret":"REDACTED"`) {
				t.Errorf("secret not redacted: %s", sec.Body)
			}
			if !slices.Equal(sec.Provenance.Redacted, []string{"secret"}) {
				t.Errorf("provenance redacted = %v, want [secret]", sec.Provenance.Redacted)
			}

			dsum := mustFind(t, gs, "github.alert_summary", "example-org/model-training/dependabot")
			checkAttrs(t, dsum, map[string]string{"enabled": "true", "total": "3", "open": "2", "open_critical": "1"})
			if !dsum.Provenance.Complete {
				t.Error("dependabot summary not complete although every cursor page was read")
			}
			for _, feat := range []string{"code_scanning", "dependabot", "secret_scanning"} {
				g := mustFind(t, gs, "github.alert_summary", "example-org/inference-api/"+feat)
				checkAttrs(t, g, map[string]string{"enabled": "false"})
			}
			if s := mustFind(t, gs, "github.alert_summary", "example-org/inference-api/code_scanning"); !strings.Contains(string(s.Body), "Advanced Security must be enabled") {
				t.Errorf("GitHub's message missing from the not-enabled summary: %s", s.Body)
			}

			rel := mustFind(t, gs, "github.release", "example-org/model-training@v1.2.0")
			if !rel.EffectiveAt.Equal(time.Date(2025, 12, 11, 12, 0, 0, 0, time.UTC)) {
				t.Errorf("release effective_at %v", rel.EffectiveAt)
			}
			co := mustFind(t, gs, "github.codeowners", "example-org/model-training:CODEOWNERS")
			checkAttrs(t, co, map[string]string{"commit_sha": githubfake.HeadSHA})
			if !strings.Contains(string(co.Body), "@example-org/ml-team") {
				t.Errorf("CODEOWNERS content: %q", co.Body)
			}

			// Dependabot paged by cursor; pull requests through /repositories/{id}/.
			var sawCursor, sawRepoID bool
			for _, r := range h.fake.Requests() {
				sawCursor = sawCursor || r.Query.Get("after") != "" && strings.HasSuffix(r.Path, "/dependabot/alerts")
				sawRepoID = sawRepoID || strings.HasPrefix(r.Path, "/repositories/1296269/pulls")
				if strings.HasSuffix(r.Path, "/pulls") && !strings.HasPrefix(r.Path, "/repositories/") && r.Query.Get("state") != "closed" {
					t.Errorf("pull requests listed without state=closed: %v", r.Query)
				}
			}
			if !sawCursor || !sawRepoID {
				t.Errorf("pagination: followed a dependabot cursor %v, a /repositories/{id}/ link %v; want both", sawCursor, sawRepoID)
			}
		})
	}
}

func TestCollect_SecondRunIsConditional(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "/api/v3/")
	// A repository with every feature on: a feature that is off answers
	// 403/404 each time, which no ETag can spare.
	h.cfg.Repos = []string{"model-training"}
	first, err := h.run(t, t.Context())
	if err != nil {
		t.Fatal(err)
	}
	n1 := h.fake.Count(0)
	second, err := h.run(t, t.Context())
	if err != nil {
		t.Fatal(err)
	}
	calls := h.fake.Count(0) - n1
	var notMod int
	for _, r := range h.fake.Requests()[n1:] {
		if r.Status == http.StatusNotModified {
			notMod++
		}
	}
	if notMod*10 < calls*9 {
		t.Errorf("second run: %d of %d calls answered 304, want at least 90%%", notMod, calls)
	}
	for _, r := range h.fake.Requests()[n1:] {
		if r.Status == http.StatusOK {
			t.Errorf("second run: %s answered 200 although nothing changed", r.Path)
		}
		if strings.Contains(r.Path, "/contents/") && r.Status == http.StatusNotFound {
			t.Errorf("second run asked again for %s, absent at the same commit", r.Path)
		}
	}
	digest := func(gs []got) []string {
		var out []string
		for _, g := range gs {
			out = append(out, fmt.Sprintf("%s %s %x", g.Kind, g.Subject, sha256.Sum256(g.Body)))
		}
		return out
	}
	if diff := cmp.Diff(digest(first), digest(second)); diff != "" {
		t.Errorf("a 304 must give the previous content (-first +second):\n%s", diff)
	}
	// The cache keeps no leaked secret.
	filepath.WalkDir(string(h.cfg.CacheDir), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			if strings.Contains(string(b), "AKIAFAKELEAKED0SECRET") {
				t.Errorf("cache file %s holds the leaked secret", p)
			}
		}
		return nil
	})
}

func TestCollect_BadTokenIsAuthAndEmitsNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "/api/v3/")
	h.cfg.Token = "ghp_wrongWRONGwrong0123456789abcdefABCDEF"
	gs, err := h.run(t, t.Context())
	if len(gs) != 0 {
		t.Errorf("%d artifacts emitted with a bad token", len(gs))
	}
	var he *connectors.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusUnauthorized || connectors.Classify(err) != connectors.ClassAuth {
		t.Fatalf("error = %v, want a 401 classed auth", err)
	}
	if !strings.Contains(err.Error(), "Bad credentials") {
		t.Errorf("error %q lacks GitHub's message", err)
	}
	for _, s := range []string{err.Error(), h.logs.String()} {
		if strings.Contains(s, h.cfg.Token.Reveal()) {
			t.Errorf("token leaked: %s", s)
		}
	}
}

func TestCollect_SecondaryLimitAnd429BackOff(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "/api/v3/")
	h.fake.Fail(githubfake.Path("repos", githubfake.Owner, "model-training", "releases"), githubfake.SecondaryLimit(1, 1))
	h.fake.Fail(githubfake.Path("repos", githubfake.Owner, "inference-api"), githubfake.Failure{Status: http.StatusTooManyRequests, Times: 1, Header: map[string]string{"Retry-After": "1"}, Body: `{"message":"too many"}`})
	h.fake.Fail(githubfake.Path("repos", githubfake.Owner, "model-training", "code-scanning", "alerts"), githubfake.Failure{Status: http.StatusBadGateway, Times: 1})
	gs, err := h.run(t, t.Context())
	if err != nil {
		t.Fatalf("Collect after transient limits: %v", err)
	}
	mustFind(t, gs, "github.release", "example-org/model-training@v1.2.0")
	mustFind(t, gs, "github.repository", "example-org/inference-api")
	if !strings.Contains(h.logs.String(), "retrying http request") {
		t.Error("no retry logged")
	}
}

func TestCollect_RateLimitOutlastingRunStops(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "/api/v3/")
	h.fake.Fail(githubfake.Path("repos", githubfake.Owner, "model-training", "pulls"), githubfake.SecondaryLimit(3600, 0))
	_, err := h.run(t, t.Context())
	if connectors.Classify(err) != connectors.ClassRateLimited {
		t.Fatalf("error %v: class %q, want rate_limited", err, connectors.Classify(err))
	}
	for _, r := range h.fake.Requests() {
		if strings.Contains(r.Path, "inference-api") {
			t.Fatalf("the run went on to %s after a long rate limit", r.Path)
		}
	}
}

func TestCollect_PrimaryLimitLowWaitsOrFails(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "/api/v3/")
	h.fake.RateRemaining = 3
	h.fake.RateReset = time.Now().Add(time.Hour)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err := h.run(t, ctx)
	if connectors.Classify(err) != connectors.ClassRateLimited {
		t.Fatalf("error %v, want rate_limited (the reset is past the deadline)", err)
	}
	if n := h.fake.Count(0); n > 2 {
		t.Errorf("%d requests sent with the limit nearly spent, want the run to stop", n)
	}
}

func TestCollect_FeatureForbiddenByPermissionIsAnError(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "/api/v3/")
	h.fake.Fail(githubfake.Path("repos", githubfake.Owner, "model-training", "dependabot", "alerts"),
		githubfake.Failure{Status: http.StatusForbidden, Body: `{"message":"Resource not accessible by personal access token","documentation_url":"https://docs.github.com/rest"}`})
	gs, err := h.run(t, t.Context())
	if err == nil || !strings.Contains(err.Error(), "dependabot") {
		t.Fatalf("error = %v, want the dependabot listing reported", err)
	}
	if g := find(gs, "github.alert_summary", "example-org/model-training/dependabot"); g != nil {
		t.Errorf("a refused read became evidence: %s", g.Body)
	}
	mustFind(t, gs, "github.release", "example-org/model-training@v1.2.0") // the rest went on
}

func TestCollect_ReposGlobsTopicsAndMissing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "/")
	h.cfg.Repos = []string{"model-*", "nothing-*"}
	h.cfg.Workflows = []string{"ci.yml"}
	gs, err := h.run(t, t.Context())
	if !errors.Is(err, connectors.ErrConfig) || !strings.Contains(err.Error(), "nothing-*") {
		t.Errorf("error = %v, want a config error naming nothing-*", err)
	}
	mustFind(t, gs, "github.repository", "example-org/model-training")
	if find(gs, "github.repository", "example-org/inference-api") != nil {
		t.Error("inference-api collected although no glob matches it")
	}
	for _, g := range gs {
		if g.Kind == "github.workflow_run" && g.Attributes["workflow"] != "CI" {
			t.Errorf("run of workflow %q collected, want only CI", g.Attributes["workflow"])
		}
	}

	h2 := newHarness(t, "/")
	h2.cfg.Topics = []string{"ML"}
	h2.cfg.IncludeArchived = true
	gs, err = h2.run(t, t.Context())
	if err != nil {
		t.Fatal(err)
	}
	mustFind(t, gs, "github.repository", "example-org/old-model")
	if find(gs, "github.repository", "example-org/empty-repo") != nil {
		t.Error("empty-repo has no ml topic but was collected")
	}
}

func TestCollect_AppAuth(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemFile := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, "/api/v3/")
	h.fake.AppKey = &key.PublicKey
	h.cfg.Token = ""
	h.cfg.AppID, h.cfg.InstallationID, h.cfg.PrivateKeyFile = githubfake.AppID, githubfake.InstallationID, config.Path(pemFile)
	gs, err := h.run(t, t.Context())
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	repo := mustFind(t, gs, "github.repository", "example-org/inference-api")
	if want := "aimsvault-collector[bot] (app 424242, installation 777)"; repo.Provenance.Identity != want {
		t.Errorf("identity %q, want %q", repo.Provenance.Identity, want)
	}
	if find(gs, "github.repository", "example-org/empty-repo") != nil {
		t.Error("repository outside the installation collected")
	}

	// A key GitHub does not know is an auth failure, before anything lands.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	h.fake.AppKey = &other.PublicKey
	gs, err = h.run(t, t.Context())
	if len(gs) != 0 || connectors.Classify(err) != connectors.ClassAuth {
		t.Errorf("wrong key: %d artifacts, error %v (class %q), want none and auth", len(gs), err, connectors.Classify(err))
	}
}

func TestCollect_CanceledStops(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "/api/v3/")
	ctx, cancel := context.WithCancel(t.Context())
	n := 0
	c, _ := github.New(h.cfg, connectors.Deps{HTTP: connectors.NewHTTPClient(connectors.HTTPOptions{}), Now: func() time.Time { return now }})
	err := c.Collect(ctx, func(a connectors.Artifact) error {
		n++
		if n == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 3 {
		t.Errorf("after cancel: err %v, %d emitted; want context.Canceled and 3", err, n)
	}
}

func TestConfig_Validate(t *testing.T) {
	t.Parallel()
	base := func() github.Config {
		c := *github.Type.NewConfig().(*github.Config)
		c.Token, c.Owner = "t0ken-value", "example-org"
		return c
	}
	for _, tc := range []struct {
		name string
		mod  func(*github.Config)
		want string
	}{
		{"ok", func(*github.Config) {}, ""},
		{"no auth", func(c *github.Config) { c.Token = "" }, "no credentials"},
		{"both auth", func(c *github.Config) { c.AppID = 1 }, "not both"},
		{"partial app", func(c *github.Config) { c.Token = ""; c.AppID = 1 }, "installation_id is required"},
		{"no owner", func(c *github.Config) { c.Owner = "" }, "owner is required"},
		{"bad glob", func(c *github.Config) { c.Repos = []string{"[x"} }, "repos[0]"},
		{"owner in repo", func(c *github.Config) { c.Repos = []string{"o/r"} }, "without the owner"},
		{"bad url", func(c *github.Config) { c.BaseURL = "ftp://x" }, "base_url"},
		{"lookback", func(c *github.Config) { c.Lookback = 0 }, "lookback"},
		{"file path", func(c *github.Config) { c.Files = []string{"../x"} }, "files[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.mod(&c)
			err := c.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}
