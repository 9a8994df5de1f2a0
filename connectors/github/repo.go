package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/aimsvault/aimsvault/connectors"
)

// repoCtx is what the per-repository collectors share.
type repoCtx struct {
	owner, name, full string
	ref               string // "repos/{owner}/{name}", escaped
	branch            string // default branch
	headSHA           string // its head commit; "" for an empty repository
}

// collectRepo collects every kind of evidence of one repository. Steps are
// independent: one that fails is reported and the next runs.
func (s *session) collectRepo(ctx context.Context, listed *gh.Repository) error {
	rc := &repoCtx{owner: listed.GetOwner().GetLogin(), name: listed.GetName()}
	rc.full = rc.owner + "/" + rc.name
	rc.ref = "repos/" + url.PathEscape(rc.owner) + "/" + url.PathEscape(rc.name)
	if err := s.collectRepository(ctx, rc); err != nil {
		return err // without the repository, nothing else can be placed
	}
	var errs []error
	steps := []func(context.Context, *repoCtx) error{
		s.collectProtection, s.collectPullRequests, s.collectWorkflowRuns,
		s.alerts(codeScanning), s.alerts(dependabot), s.alerts(secretScanning),
		s.collectReleases, s.collectFiles,
	}
	for _, step := range steps {
		err := step(ctx, rc)
		if err == nil {
			continue
		}
		if s.emitErr != nil || ctx.Err() != nil {
			return err
		}
		errs = append(errs, err)
		if connectors.Classify(err) == connectors.ClassRateLimited {
			break
		}
	}
	return errors.Join(errs...)
}

// collectRepository emits the repository's settings (GET /repos/{o}/{r}, whose
// security_and_analysis the listing lacks) and finds the default branch's
// head; an empty repository has none.
func (s *session) collectRepository(ctx context.Context, rc *repoCtx) error {
	raw, _, err := s.getJSON(ctx, rc.ref, nil)
	if err != nil {
		return fmt.Errorf("get repository %s: %w", rc.full, err)
	}
	var r gh.Repository
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("get repository %s: %w: %v", rc.full, connectors.ErrBadResponse, err)
	}
	rc.branch = r.GetDefaultBranch()
	attrs := map[string]string{
		"repository":     rc.full,
		"visibility":     r.GetVisibility(),
		"default_branch": rc.branch,
		"archived":       strconv.FormatBool(r.GetArchived()),
	}
	if sa := r.GetSecurityAndAnalysis(); sa != nil {
		attrs["advanced_security"] = sa.GetAdvancedSecurity().GetStatus()
		attrs["secret_scanning"] = sa.GetSecretScanning().GetStatus()
		attrs["secret_scanning_push_protection"] = sa.GetSecretScanningPushProtection().GetStatus()
		attrs["dependabot_security_updates"] = sa.GetDependabotSecurityUpdates().GetStatus()
	}
	for k, v := range attrs {
		if v == "" {
			delete(attrs, k)
		}
	}
	if rc.branch != "" {
		var b struct {
			Commit struct {
				SHA string `json:"sha"`
			} `json:"commit"`
		}
		_, _, err := s.getJSON(ctx, rc.ref+"/branches/"+url.PathEscape(rc.branch), &b)
		var he *connectors.HTTPError
		switch {
		case errors.As(err, &he) && he.Status == http.StatusNotFound:
			attrs["empty"] = "true" // no commits yet: the default branch does not exist
		case err != nil:
			return fmt.Errorf("get default branch %s of %s: %w", rc.branch, rc.full, err)
		default:
			rc.headSHA = b.Commit.SHA
			attrs["head_sha"] = rc.headSHA
		}
	}
	return s.emitJSON(connectors.Artifact{
		Kind: "github.repository", Subject: rc.full, SourceURL: r.GetHTMLURL(), Attributes: attrs,
		Provenance: connectors.Provenance{Method: "GET", Endpoint: "/" + rc.ref, Complete: true},
	}, raw)
}

// collectProtection emits the default branch's governance: classic branch
// protection (GitHub's 404 "Branch not protected" is kept as evidence), the
// rules that actually apply to the branch (GET rules/branches returns only
// active rulesets' rules, repository and organisation ones alike) and the
// rulesets themselves, so that one in evaluate mode shows as enforcing
// nothing. Attributes state the effective result.
func (s *session) collectProtection(ctx context.Context, rc *repoCtx) error {
	if rc.headSHA == "" {
		return nil
	}
	b := url.PathEscape(rc.branch)
	prot, err := s.getFeature(ctx, rc.ref+"/branches/"+b+"/protection")
	if err != nil {
		return fmt.Errorf("get branch protection of %s:%s: %w", rc.full, rc.branch, err)
	}
	rules, rulesComplete, rulesStatus, err := s.featureList(ctx, withQuery(rc.ref+"/rules/branches/"+b, nil))
	if err != nil {
		return fmt.Errorf("get rules for %s:%s: %w", rc.full, rc.branch, err)
	}
	rulesets, setsComplete, setsStatus, err := s.featureList(ctx, withQuery(rc.ref+"/rulesets", url.Values{"includes_parents": {"true"}}))
	if err != nil {
		return fmt.Errorf("list rulesets of %s: %w", rc.full, err)
	}
	content := map[string]any{
		"branch":            rc.branch,
		"protection_status": prot.Status,
		"protection":        prot.Body,
		"rules_status":      rulesStatus,
		"rules":             rules,
		"rulesets_status":   setsStatus,
		"rulesets":          rulesets,
	}
	attrs := effectiveProtection(prot, rules, rulesets)
	attrs["repository"] = rc.full
	attrs["branch"] = rc.branch
	endpoint, _ := s.endpoint(prot.URL)
	return s.emitJSON(connectors.Artifact{
		Kind: "github.branch_protection", Subject: rc.full + ":" + rc.branch, Attributes: attrs,
		SourceURL: s.htmlURL(rc, "settings/branches"),
		Provenance: connectors.Provenance{Method: "GET", Endpoint: endpoint,
			Query:    "also GET " + "/" + rc.ref + "/rules/branches/" + b + " and /" + rc.ref + "/rulesets?includes_parents=true",
			Complete: rulesComplete && setsComplete},
	}, content)
}

// featureList reads a whole listing whose 404 (or feature 403) means the
// feature does not exist here (an older GitHub Enterprise Server, a plan
// without it); it returns the items, whether all pages were read, and the
// status. Such listings are small (rules of one branch, rulesets), so they
// are held.
func (s *session) featureList(ctx context.Context, ref string) ([]json.RawMessage, bool, int, error) {
	var out []json.RawMessage
	complete, err := s.list(ctx, ref, "", func(p listPage) (bool, error) {
		out = append(out, p.items...)
		return true, nil
	})
	if err != nil {
		var he *connectors.HTTPError
		if errors.As(err, &he) && (he.Status == http.StatusNotFound || he.Status == http.StatusForbidden && featureMessage(he.Body)) {
			return nil, true, he.Status, nil
		}
		return nil, false, 0, err
	}
	if out == nil {
		out = []json.RawMessage{}
	}
	return out, complete, http.StatusOK, nil
}

// effectiveProtection derives what governs the branch from classic
// protection and the active rules.
func effectiveProtection(prot upstream, rules, rulesets []json.RawMessage) map[string]string {
	var p gh.Protection
	classic := prot.Status == http.StatusOK && json.Unmarshal(prot.Body, &p) == nil
	var reviews, codeOwners, checks, signed, admins, noForce, noDelete bool
	approvals := 0
	if classic {
		if rv := p.RequiredPullRequestReviews; rv != nil {
			approvals = rv.RequiredApprovingReviewCount
			reviews = approvals > 0
			codeOwners = rv.RequireCodeOwnerReviews
		}
		checks = p.RequiredStatusChecks != nil
		signed = p.RequiredSignatures != nil && p.RequiredSignatures.GetEnabled()
		admins = p.EnforceAdmins != nil && p.EnforceAdmins.Enabled
		noForce = p.AllowForcePushes == nil || !p.AllowForcePushes.Enabled
		noDelete = p.AllowDeletions == nil || !p.AllowDeletions.Enabled
	}
	for _, raw := range rules {
		var r struct {
			Type       string `json:"type"`
			Parameters struct {
				RequiredApprovingReviewCount int  `json:"required_approving_review_count"`
				RequireCodeOwnerReview       bool `json:"require_code_owner_review"`
			} `json:"parameters"`
		}
		if json.Unmarshal(raw, &r) != nil {
			continue
		}
		switch r.Type {
		case "pull_request":
			approvals = max(approvals, r.Parameters.RequiredApprovingReviewCount)
			reviews = reviews || r.Parameters.RequiredApprovingReviewCount > 0
			codeOwners = codeOwners || r.Parameters.RequireCodeOwnerReview
		case "required_status_checks":
			checks = true
		case "required_signatures":
			signed = true
		case "non_fast_forward":
			noForce = true
		case "deletion":
			noDelete = true
		}
	}
	evaluate := 0
	for _, raw := range rulesets {
		var rs struct {
			Enforcement string `json:"enforcement"`
		}
		if json.Unmarshal(raw, &rs) == nil && rs.Enforcement == "evaluate" {
			evaluate++
		}
	}
	source := "none"
	switch {
	case classic && len(rules) > 0:
		source = "classic+rulesets"
	case classic:
		source = "classic"
	case len(rules) > 0:
		source = "rulesets"
	}
	protected := source != "none"
	return map[string]string{
		"protected":            strconv.FormatBool(protected),
		"source":               source,
		"required_reviews":     strconv.FormatBool(reviews),
		"required_approvals":   strconv.Itoa(approvals),
		"code_owner_reviews":   strconv.FormatBool(codeOwners),
		"status_checks":        strconv.FormatBool(checks),
		"signed_commits":       strconv.FormatBool(signed),
		"enforce_admins":       strconv.FormatBool(admins),
		"force_push_blocked":   strconv.FormatBool(protected && noForce),
		"deletion_blocked":     strconv.FormatBool(protected && noDelete),
		"evaluate_rulesets":    strconv.Itoa(evaluate),
		"protection_status":    strconv.Itoa(prot.Status),
		"protection_available": strconv.FormatBool(prot.Status != http.StatusForbidden),
	}
}

func (s *session) htmlURL(rc *repoCtx, rest string) string {
	host := "github.com"
	if s.c.base.Host != "api.github.com" {
		host = s.c.base.Host
	}
	return "https://" + host + "/" + rc.full + "/" + rest
}

// collectPullRequests emits each pull request merged within the lookback
// window, with its reviews. The listing asks for closed ones (it defaults
// to open) sorted by last update, so it stops at the first page older than
// the window: a PR merged inside it was updated inside it. merged_at, not a
// "merged" field, tells a merged PR.
func (s *session) collectPullRequests(ctx context.Context, rc *repoCtx) error {
	if rc.headSHA == "" {
		return nil
	}
	ref := withQuery(rc.ref+"/pulls", url.Values{"state": {"closed"}, "sort": {"updated"}, "direction": {"desc"}})
	_, err := s.list(ctx, ref, "", func(p listPage) (bool, error) {
		more := true
		for _, item := range p.items {
			var pr gh.PullRequest
			if err := json.Unmarshal(item, &pr); err != nil {
				return false, fmt.Errorf("list pull requests of %s: %w: %v", rc.full, connectors.ErrBadResponse, err)
			}
			if pr.UpdatedAt != nil && pr.UpdatedAt.Before(s.since) {
				more = false
				break
			}
			if pr.MergedAt == nil || pr.MergedAt.Before(s.since) {
				continue
			}
			if err := s.emitPullRequest(ctx, rc, p, item, &pr); err != nil {
				return false, err
			}
		}
		return more, nil
	})
	if err != nil {
		return fmt.Errorf("pull requests of %s: %w", rc.full, err)
	}
	return nil
}

func (s *session) emitPullRequest(ctx context.Context, rc *repoCtx, p listPage, raw json.RawMessage, pr *gh.PullRequest) error {
	n := pr.GetNumber()
	var reviews []json.RawMessage
	complete, err := s.list(ctx, withQuery(fmt.Sprintf("%s/pulls/%d/reviews", rc.ref, n), nil), "", func(rp listPage) (bool, error) {
		reviews = append(reviews, rp.items...) // reviews of one PR: small
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("list reviews of %s#%d: %w", rc.full, n, err)
	}
	if reviews == nil {
		reviews = []json.RawMessage{}
	}
	author := pr.GetUser().GetLogin()
	approvers := approvedBy(reviews, author, pr.MergedAt.Time)
	attrs := map[string]string{
		"repository":  rc.full,
		"number":      strconv.Itoa(n),
		"author":      author,
		"base_branch": pr.GetBase().GetRef(),
		"approved":    strconv.FormatBool(len(approvers) > 0),
		"approved_by": strings.Join(approvers, ","),
		"merge_sha":   pr.GetMergeCommitSHA(),
	}
	if attrs["approved_by"] == "" {
		delete(attrs, "approved_by")
	}
	endpoint, query := s.endpoint(p.url)
	return s.emitJSON(connectors.Artifact{
		Kind: "github.pull_request", Subject: fmt.Sprintf("%s#%d", rc.full, n), SourceURL: pr.GetHTMLURL(),
		Attributes: attrs, EffectiveAt: pr.MergedAt.Time,
		Provenance: connectors.Provenance{Method: "GET", Endpoint: endpoint, Query: query + fmt.Sprintf("; reviews: GET /%s/pulls/%d/reviews", rc.ref, n), Complete: p.last && complete},
	}, map[string]any{"pull_request": raw, "reviews": reviews})
}

// approvedBy returns, sorted, the reviewers other than the author whose
// last decisive review submitted before the merge is an approval: a later
// request for changes or a dismissal withdraws it, and an approval after
// the merge approved nothing.
func approvedBy(reviews []json.RawMessage, author string, mergedAt time.Time) []string {
	type rv struct {
		User struct {
			Login string `json:"login"`
		} `json:"user"`
		State       string    `json:"state"`
		SubmittedAt time.Time `json:"submitted_at"`
	}
	last := map[string]rv{}
	for _, raw := range reviews {
		var r rv
		if json.Unmarshal(raw, &r) != nil || r.User.Login == "" {
			continue
		}
		switch r.State {
		case "APPROVED", "CHANGES_REQUESTED", "DISMISSED":
		default:
			continue
		}
		if !r.SubmittedAt.IsZero() && r.SubmittedAt.After(mergedAt) {
			continue
		}
		if prev, ok := last[r.User.Login]; !ok || !r.SubmittedAt.Before(prev.SubmittedAt) {
			last[r.User.Login] = r
		}
	}
	var out []string
	for login, r := range last {
		if r.State == "APPROVED" && !strings.EqualFold(login, author) {
			out = append(out, login)
		}
	}
	sort.Strings(out)
	return out
}

// collectWorkflowRuns emits completed runs on the default branch created in
// the lookback window, of the configured workflows (all when none are).
func (s *session) collectWorkflowRuns(ctx context.Context, rc *repoCtx) error {
	if rc.headSHA == "" {
		return nil
	}
	q := func() url.Values {
		return url.Values{"branch": {rc.branch}, "status": {"completed"}, "created": {">=" + s.since.UTC().Format("2006-01-02")}}
	}
	var refs []string
	if len(s.c.cfg.Workflows) == 0 {
		refs = []string{withQuery(rc.ref+"/actions/runs", q())}
	} else {
		_, err := s.list(ctx, withQuery(rc.ref+"/actions/workflows", nil), "workflows", func(p listPage) (bool, error) {
			for _, item := range p.items {
				var w gh.Workflow
				if err := json.Unmarshal(item, &w); err != nil {
					return false, fmt.Errorf("%w: %v", connectors.ErrBadResponse, err)
				}
				if slices.ContainsFunc(s.c.cfg.Workflows, func(name string) bool {
					return name == w.GetName() || name == w.GetPath() || name == path.Base(w.GetPath())
				}) {
					refs = append(refs, withQuery(fmt.Sprintf("%s/actions/workflows/%d/runs", rc.ref, w.GetID()), q()))
				}
			}
			return true, nil
		})
		if err != nil {
			return fmt.Errorf("list workflows of %s: %w", rc.full, err)
		}
	}
	for _, ref := range refs {
		_, err := s.list(ctx, ref, "workflow_runs", func(p listPage) (bool, error) {
			for _, item := range p.items {
				var run gh.WorkflowRun
				if err := json.Unmarshal(item, &run); err != nil {
					return false, fmt.Errorf("%w: %v", connectors.ErrBadResponse, err)
				}
				attrs := map[string]string{
					"repository": rc.full,
					"workflow":   run.GetName(),
					"conclusion": run.GetConclusion(),
					"head_sha":   run.GetHeadSHA(),
					"branch":     run.GetHeadBranch(),
					"event":      run.GetEvent(),
					"run_id":     strconv.FormatInt(run.GetID(), 10),
				}
				endpoint, query := s.endpoint(p.url)
				var eff time.Time
				if run.UpdatedAt != nil {
					eff = run.UpdatedAt.Time
				}
				if err := s.emitJSON(connectors.Artifact{
					Kind: "github.workflow_run", Subject: fmt.Sprintf("%s/actions/runs/%d", rc.full, run.GetID()),
					SourceURL: run.GetHTMLURL(), Attributes: attrs, EffectiveAt: eff,
					Provenance: connectors.Provenance{Method: "GET", Endpoint: endpoint, Query: query, Complete: p.last},
				}, item); err != nil {
					return false, err
				}
			}
			return true, nil
		})
		if err != nil {
			return fmt.Errorf("list workflow runs of %s: %w", rc.full, err)
		}
	}
	return nil
}

// alertFeature is one of the three alert listings.
type alertFeature struct {
	name, kind, path string
	severity         func(raw json.RawMessage) string
}

var (
	codeScanning = alertFeature{name: "code_scanning", kind: "github.code_scanning_alert", path: "code-scanning/alerts",
		severity: func(raw json.RawMessage) string {
			var a struct {
				Rule struct {
					SecuritySeverityLevel string `json:"security_severity_level"`
					Severity              string `json:"severity"`
				} `json:"rule"`
			}
			_ = json.Unmarshal(raw, &a)
			return cmpOr(a.Rule.SecuritySeverityLevel, a.Rule.Severity)
		}}
	dependabot = alertFeature{name: "dependabot", kind: "github.dependabot_alert", path: "dependabot/alerts",
		severity: func(raw json.RawMessage) string {
			var a struct {
				SecurityAdvisory struct {
					Severity string `json:"severity"`
				} `json:"security_advisory"`
			}
			_ = json.Unmarshal(raw, &a)
			return a.SecurityAdvisory.Severity
		}}
	secretScanning = alertFeature{name: "secret_scanning", kind: "github.secret_scanning_alert", path: "secret-scanning/alerts",
		severity: func(json.RawMessage) string { return "" }}
)

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// alerts returns the step collecting one feature's alerts and its summary.
// All states are listed (open, fixed, dismissed...): closing an alert is
// evidence too. A feature that is off or not licensed yields only a summary
// saying so, with GitHub's status and message.
func (s *session) alerts(f alertFeature) func(context.Context, *repoCtx) error {
	return func(ctx context.Context, rc *repoCtx) error {
		ref := withQuery(rc.ref+"/"+f.path, nil)
		byState := map[string]int{}
		bySeverity := map[string]int{}
		openBySeverity := map[string]int{}
		total := 0
		complete, err := s.list(ctx, ref, "", func(p listPage) (bool, error) {
			for _, item := range p.items {
				var a struct {
					Number    int        `json:"number"`
					State     string     `json:"state"`
					HTMLURL   string     `json:"html_url"`
					UpdatedAt *time.Time `json:"updated_at"`
				}
				if err := json.Unmarshal(item, &a); err != nil {
					return false, fmt.Errorf("%w: %v", connectors.ErrBadResponse, err)
				}
				sev := f.severity(item)
				total++
				byState[a.State]++
				if sev != "" {
					bySeverity[sev]++
					if a.State == "open" {
						openBySeverity[sev]++
					}
				}
				content := item
				var redacted []string
				if f.name == secretScanning.name {
					var err error
					if content, redacted, err = redactSecret(item); err != nil {
						return false, fmt.Errorf("%w: %v", connectors.ErrBadResponse, err)
					}
				}
				attrs := map[string]string{"repository": rc.full, "number": strconv.Itoa(a.Number), "state": a.State}
				if sev != "" {
					attrs["severity"] = sev
				}
				var eff time.Time
				if a.UpdatedAt != nil {
					eff = *a.UpdatedAt
				}
				endpoint, query := s.endpoint(p.url)
				if err := s.emitJSON(connectors.Artifact{
					Kind: f.kind, Subject: fmt.Sprintf("%s/%s/%d", rc.full, strings.SplitN(f.path, "/", 2)[0], a.Number),
					SourceURL: a.HTMLURL, Attributes: attrs, EffectiveAt: eff,
					Provenance: connectors.Provenance{Method: "GET", Endpoint: endpoint, Query: query, Complete: p.last, Redacted: redacted},
				}, content); err != nil {
					return false, err
				}
			}
			return true, nil
		})
		summary := map[string]any{"feature": f.name, "repository": rc.full}
		attrs := map[string]string{"repository": rc.full, "feature": f.name}
		endpoint := "/" + rc.ref + "/" + f.path
		if err != nil {
			var he *connectors.HTTPError
			if !errors.As(err, &he) || !(he.Status == http.StatusNotFound || he.Status == http.StatusForbidden && featureMessage(he.Body)) {
				return fmt.Errorf("list %s alerts of %s: %w", f.name, rc.full, err)
			}
			if total > 0 {
				// A feature does not switch off half-way through a listing.
				return fmt.Errorf("list %s alerts of %s: %w", f.name, rc.full, err)
			}
			summary["enabled"] = false
			summary["status"] = he.Status
			summary["message"] = githubMessage(he.Body)
			attrs["enabled"] = "false"
			complete = true
		} else {
			summary["enabled"] = true
			summary["total"] = total
			summary["by_state"] = byState
			summary["by_severity"] = bySeverity
			summary["open_by_severity"] = openBySeverity
			summary["complete"] = complete
			attrs["enabled"] = "true"
			attrs["total"] = strconv.Itoa(total)
			attrs["open"] = strconv.Itoa(byState["open"])
			for _, sev := range []string{"critical", "high"} {
				attrs["open_"+sev] = strconv.Itoa(openBySeverity[sev])
			}
		}
		return s.emitJSON(connectors.Artifact{
			Kind: "github.alert_summary", Subject: rc.full + "/" + f.name, Attributes: attrs,
			SourceURL:  s.htmlURL(rc, "security"),
			Provenance: connectors.Provenance{Method: "GET", Endpoint: endpoint, Query: "per_page=100", Complete: complete},
		}, summary)
	}
}

// githubMessage extracts "message" from an error body that HTTPError kept.
func githubMessage(body string) string {
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal([]byte(body), &m) == nil && m.Message != "" {
		return m.Message
	}
	return body
}

// secretRedacted replaces a leaked secret's value.
const secretRedacted = "REDACTED"

// redactSecret replaces the "secret" field of one secret-scanning alert,
// returning the fields redacted (for provenance).
func redactSecret(raw json.RawMessage) (json.RawMessage, []string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, nil, err
	}
	if _, ok := obj["secret"]; !ok {
		return raw, nil, nil
	}
	obj["secret"] = json.RawMessage(strconv.Quote(secretRedacted))
	out, err := json.Marshal(obj)
	return out, []string{"secret"}, err
}

// redactSecretList redacts every alert of a secret-scanning page.
func redactSecretList(body []byte) ([]byte, bool, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, false, err
	}
	any := false
	for i, it := range items {
		red, fields, err := redactSecret(it)
		if err != nil {
			return nil, false, err
		}
		items[i] = red
		any = any || len(fields) > 0
	}
	out, err := json.Marshal(items)
	return out, any, err
}

func isSecretScanning(p string) bool { return strings.Contains(p, "/secret-scanning/") }

// collectReleases emits the releases (deployment records) created in the
// lookback window, newest first; drafts were never released and are skipped.
func (s *session) collectReleases(ctx context.Context, rc *repoCtx) error {
	_, err := s.list(ctx, withQuery(rc.ref+"/releases", nil), "", func(p listPage) (bool, error) {
		for _, item := range p.items {
			var r gh.RepositoryRelease
			if err := json.Unmarshal(item, &r); err != nil {
				return false, fmt.Errorf("%w: %v", connectors.ErrBadResponse, err)
			}
			if r.CreatedAt != nil && r.CreatedAt.Before(s.since) {
				return false, nil
			}
			if r.GetDraft() {
				continue
			}
			eff := r.GetPublishedAt().Time
			if eff.IsZero() {
				eff = r.GetCreatedAt().Time
			}
			endpoint, query := s.endpoint(p.url)
			if err := s.emitJSON(connectors.Artifact{
				Kind: "github.release", Subject: rc.full + "@" + r.GetTagName(), SourceURL: r.GetHTMLURL(),
				Attributes: map[string]string{"repository": rc.full, "tag": r.GetTagName(),
					"prerelease": strconv.FormatBool(r.GetPrerelease()), "target": r.GetTargetCommitish()},
				EffectiveAt: eff,
				Provenance:  connectors.Provenance{Method: "GET", Endpoint: endpoint, Query: query, Complete: p.last},
			}, item); err != nil {
				return false, err
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("list releases of %s: %w", rc.full, err)
	}
	return nil
}

// collectFiles emits each configured file as it is at the default branch's
// head commit, the file's bytes as written. A file that is not there is
// skipped: the commit was read, and it holds no such path.
func (s *session) collectFiles(ctx context.Context, rc *repoCtx) error {
	if rc.headSHA == "" {
		return nil
	}
	var errs []error
	for _, f := range s.c.cfg.Files {
		escaped := (&url.URL{Path: f}).EscapedPath()
		req, err := s.newRequest(rc.ref + "/contents/" + escaped + "?ref=" + url.QueryEscape(rc.headSHA))
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "application/vnd.github.raw")
		resp, err := s.gh.BareDo(ctx, req)
		if err != nil {
			var er *gh.ErrorResponse
			if errors.As(err, &er) && resp != nil && resp.StatusCode == http.StatusNotFound {
				s.log.Debug("file absent", "subject", rc.full+":"+f)
				continue
			}
			errs = append(errs, fmt.Errorf("get %s of %s: %w", f, rc.full, apiError(req, resp, err)))
			if s.emitErr != nil || ctx.Err() != nil || connectors.Classify(errs[len(errs)-1]) == connectors.ClassRateLimited {
				break
			}
			continue
		}
		kind := fileKind(f)
		endpoint, query := s.endpoint(req.URL)
		err = s.emit(connectors.Artifact{
			Kind: kind, Subject: rc.full + ":" + f, MediaType: fileMediaType(f),
			SourceURL:  s.htmlURL(rc, "blob/"+rc.headSHA+"/"+escaped),
			Attributes: map[string]string{"repository": rc.full, "path": f, "commit_sha": rc.headSHA, "branch": rc.branch},
			Provenance: connectors.Provenance{Method: "GET", Endpoint: endpoint, Query: query, Complete: true},
			Content:    resp.Body,
		})
		if err != nil {
			resp.Body.Close()
			return err
		}
	}
	return errors.Join(errs...)
}

// fileKind names the evidence a configured file is.
func fileKind(p string) string {
	base := strings.ToLower(path.Base(p))
	switch {
	case base == "codeowners":
		return "github.codeowners"
	case strings.TrimSuffix(strings.NewReplacer("-", "_", " ", "_").Replace(base), path.Ext(base)) == "model_card",
		strings.TrimSuffix(base, path.Ext(base)) == "modelcard":
		return "github.model_card"
	case base == "security.md":
		return "github.security_policy"
	}
	return "github.file"
}

func fileMediaType(p string) string {
	switch ext := strings.ToLower(path.Ext(p)); ext {
	case ".md", ".markdown":
		return "text/markdown; charset=utf-8"
	case "":
		return "text/plain; charset=utf-8"
	case ".json":
		return "text/plain; charset=utf-8" // as written, not canonical JSON
	default:
		if t := mime.TypeByExtension(ext); t != "" {
			return t
		}
		return "application/octet-stream"
	}
}
