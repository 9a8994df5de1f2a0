// Package knowbe4 implements the `knowbe4` connector: it reads KnowBe4's
// Reporting API (plain net/http over the shared client, bearer token) and
// emits, as ISO 42001 7.2, 7.3 and A.4.6 evidence:
//
//   - knowbe4.user: each active user (GET /v1/users?status=active).
//   - knowbe4.campaign: each training campaign (GET /v1/training/campaigns).
//   - knowbe4.enrollment: each training enrollment of an active user (GET
//     /v1/training/enrollments?exclude_archived_users=true); effective_at
//     is the completion date, or the enrollment date while open.
//   - knowbe4.training_roster and knowbe4.training_summary (derived), per
//     required training: who is in scope, completed on, due on, overdue.
//
// Listings page with page and per_page (at most 500) and end at the first
// short page. Requests are spaced by request_interval to stay under the
// Reporting API's burst limit; a 429 is retried as Retry-After says by the
// shared client. The Reporting API exists only on some subscription tiers:
// a 403 says so and is an auth failure.
package knowbe4

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aimsvault/aimsvault/connectors"
	"github.com/aimsvault/aimsvault/connectors/internal/hrtraining"
)

//go:embed sample.yaml
var sample string

// Type registers the connector as `type: knowbe4`; it supplies the catalog
// source "hr_training".
var Type = connectors.Define("knowbe4", "hr_training", sample, defaultConfig, New)

// Kinds the connector emits.
const (
	KindUser            = "knowbe4.user"
	KindCampaign        = "knowbe4.campaign"
	KindEnrollment      = "knowbe4.enrollment"
	KindTrainingRoster  = "knowbe4.training_roster"
	KindTrainingSummary = "knowbe4.training_summary"
)

// piiKeys are removed, at any depth, under pii: minimal: people's names,
// e-mail addresses, phones, managers, free-text comments and custom fields
// (which accounts fill with anything, birth dates included).
var piiKeys = map[string]bool{
	"first_name": true, "last_name": true, "email": true, "aliases": true,
	"manager_name": true, "manager_email": true, "phone_number": true,
	"extension": true, "mobile_phone_number": true, "comment": true,
	"custom_field_1": true, "custom_field_2": true, "custom_field_3": true, "custom_field_4": true,
	"custom_date_1": true, "custom_date_2": true,
}

// Connector collects from one KnowBe4 account.
type Connector struct {
	cfg  Config
	api  *url.URL // .../v1/
	hc   *http.Client
	log  *slog.Logger
	now  func() time.Time
	drop map[string]bool

	mu   sync.Mutex
	last time.Time // when the last request was sent
}

var _ connectors.Connector = (*Connector)(nil)

// New builds a connector from a decoded config; it validates cfg first.
func New(cfg Config, deps connectors.Deps) (connectors.Connector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	root, err := url.Parse(cfg.apiRoot())
	if err != nil {
		return nil, fmt.Errorf("knowbe4: base_url: %w", err)
	}
	hc := deps.HTTP
	if hc == nil {
		hc = connectors.NewHTTPClient(connectors.HTTPOptions{Secrets: []string{cfg.Token.Reveal()}})
	}
	hc = connectors.LimitBodies(hc, connectors.DefaultMaxResponse)
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	c := &Connector{cfg: cfg, api: root.ResolveReference(&url.URL{Path: "v1/"}), hc: hc, log: log, now: now, drop: map[string]bool{}}
	if cfg.pii() == hrtraining.PIIMinimal {
		c.drop = piiKeys
	}
	return c, nil
}

// apiError is a Reporting API call that ended with a non-2xx status: the
// shared client's redacted *connectors.HTTPError (so connectors.Classify sees
// auth, rate_limited or upstream) and what to do about it.
type apiError struct {
	http *connectors.HTTPError
	hint string
}

func (e *apiError) Error() string {
	if e.hint == "" {
		return e.http.Error()
	}
	return e.http.Error() + ": " + e.hint
}

func (e *apiError) Unwrap() error { return e.http }

// pace waits until request_interval has passed since the last request.
func (c *Connector) pace(ctx context.Context) error {
	iv := time.Duration(c.cfg.RequestInterval)
	c.mu.Lock()
	wait := time.Until(c.last.Add(iv))
	c.mu.Unlock()
	if iv > 0 && wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	c.mu.Lock()
	c.last = time.Now()
	c.mu.Unlock()
	return nil
}

// get sends GET path (relative to /v1/) and returns the body and the
// endpoint path for provenance.
func (c *Connector) get(ctx context.Context, path string, query url.Values) ([]byte, string, error) {
	u := c.api.ResolveReference(&url.URL{Path: path, RawQuery: query.Encode()})
	if err := c.pace(ctx); err != nil {
		return nil, u.Path, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, u.Path, fmt.Errorf("knowbe4: GET %s: %w", u.Path, err)
	}
	// Set on the request, not in a transport, so a redirect off the host
	// drops it.
	req.Header.Set("Authorization", "Bearer "+c.cfg.Token.Reveal())
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, u.Path, ctxErr
		}
		return nil, u.Path, fmt.Errorf("knowbe4: GET %s: %w", u.Path, err)
	}
	defer resp.Body.Close()
	if err := connectors.CheckResponse(resp); err != nil {
		var he *connectors.HTTPError
		if !errors.As(err, &he) {
			return nil, u.Path, err
		}
		ae := &apiError{http: he}
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			ae.hint = "check token, and region: a token works only in its own region"
		case http.StatusForbidden:
			ae.hint = "the Reporting API is only on Platinum and Diamond subscriptions, and the token must be enabled (Account Settings > Account Integrations > API)"
		case http.StatusTooManyRequests:
			ae.hint = "the Reporting API's rate limit (per second, per minute and per day) held after retries; raise request_interval or run less often"
		}
		return nil, u.Path, ae
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, u.Path, ctxErr
		}
		return nil, u.Path, fmt.Errorf("knowbe4: GET %s: read body: %w", u.Path, err)
	}
	return b, u.Path, nil
}

// identify reads the account (GET /v1/account): its name is the identity in
// provenance, and the call fails early and clearly on a bad token, a wrong
// region or a subscription without the Reporting API.
func (c *Connector) identify(ctx context.Context) (string, error) {
	b, endpoint, err := c.get(ctx, "account", nil)
	var ae *apiError
	if errors.As(err, &ae) && ae.http.Status == http.StatusNotFound {
		return "", connectors.ConfigErrorf("knowbe4: read the account: %v: check region or base_url (the regional API root)", err)
	}
	if err != nil {
		return "", fmt.Errorf("knowbe4: read the account: %w", err)
	}
	var acct struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(b, &acct); err != nil {
		return "", fmt.Errorf("knowbe4: GET %s: %w: %v", endpoint, connectors.ErrBadResponse, err)
	}
	return acct.Name, nil
}

// list reads every page of a listing and calls fn with each item and whether
// the listing has been read to its end. It returns false when it stopped
// before the end.
func (c *Connector) list(ctx context.Context, path string, query url.Values, fn func(raw json.RawMessage, prov connectors.Provenance) error, identity string) (bool, error) {
	for page := 1; page <= c.cfg.MaxPages; page++ {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("page", strconv.Itoa(page))
		q.Set("per_page", strconv.Itoa(c.cfg.PerPage))
		b, endpoint, err := c.get(ctx, path, q)
		if err != nil {
			return false, fmt.Errorf("knowbe4: list %s, page %d: %w", path, page, err)
		}
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			return false, fmt.Errorf("knowbe4: GET %s page %d: %w: %v", endpoint, page, connectors.ErrBadResponse, err)
		}
		last := len(items) < c.cfg.PerPage
		prov := connectors.Provenance{Method: http.MethodGet, Endpoint: endpoint, Query: q.Encode(), APIVersion: "v1", Identity: identity, Complete: last}
		for _, raw := range items {
			if err := ctx.Err(); err != nil {
				return false, err
			}
			if err := fn(raw, prov); err != nil {
				return false, err
			}
		}
		if last {
			return true, nil
		}
	}
	return false, connectors.ConfigErrorf("knowbe4: list %s: more than max_pages (%d) pages of %d: raise max_pages", path, c.cfg.MaxPages, c.cfg.PerPage)
}

// str reads a JSON string, number or null as a string.
func str(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(t, &s) == nil {
		return strings.TrimSpace(s)
	}
	return string(t)
}

// when parses KnowBe4's times ("2019-04-02T15:02:38.000Z") or dates.
func when(raw json.RawMessage) time.Time {
	s := str(raw)
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC()
	}
	if len(s) >= 10 {
		if t, err := time.Parse(hrtraining.DateLayout, s[:10]); err == nil {
			return t
		}
	}
	return time.Time{}
}

type user struct {
	id, department, jobTitle, division string
	groups                             []string // group ids
}

type enrollment struct {
	userID, module, campaign string
	enrolled, completed      time.Time
	done                     bool
}

// emitter wraps emit so an emit error can be told from a listing error.
type emitter struct {
	emit func(connectors.Artifact) error
	err  error
}

func (e *emitter) do(a connectors.Artifact) error {
	if err := e.emit(a); err != nil {
		e.err = err
		return err
	}
	return nil
}

// Collect identifies the account, then lists users, campaigns and
// enrollments, emitting each item as its page arrives, then the roster and
// summary of each required training. Rosters are computed only from
// listings read to the end: a listing that broke off fails the run, and no
// roster counts what it could not read as not completed. An error from emit,
// or ctx ending, stops the run.
func (c *Connector) Collect(ctx context.Context, emit func(connectors.Artifact) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := c.now().UTC()
	identity, err := c.identify(ctx)
	if err != nil {
		return err
	}
	em := &emitter{emit: emit}
	var errs []error
	stop := func(err error) error {
		if em.err != nil {
			return em.err
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return err
	}

	users := map[string]*user{}
	var order []string
	_, err = c.list(ctx, "users", url.Values{"status": {"active"}}, func(raw json.RawMessage, prov connectors.Provenance) error {
		var f struct {
			ID         json.RawMessage   `json:"id"`
			Department json.RawMessage   `json:"department"`
			JobTitle   json.RawMessage   `json:"job_title"`
			Division   json.RawMessage   `json:"division"`
			Groups     []json.RawMessage `json:"groups"`
			Status     json.RawMessage   `json:"status"`
		}
		if err := json.Unmarshal(raw, &f); err != nil || str(f.ID) == "" {
			return fmt.Errorf("knowbe4: %s: %w: a user without an id", prov.Endpoint, connectors.ErrBadResponse)
		}
		u := &user{id: str(f.ID), department: str(f.Department), jobTitle: str(f.JobTitle), division: str(f.Division)}
		for _, g := range f.Groups {
			u.groups = append(u.groups, groupID(g))
		}
		if strings.EqualFold(str(f.Status), "active") || str(f.Status) == "" {
			if _, dup := users[u.id]; !dup {
				order = append(order, u.id)
			}
			users[u.id] = u
		}
		attrs := map[string]string{"knowbe4.user_id": u.id}
		if u.department != "" {
			attrs["department"] = u.department
		}
		if u.jobTitle != "" {
			attrs["job_title"] = u.jobTitle
		}
		return c.emitRaw(em, KindUser, "user/"+u.id, "users/"+u.id, raw, attrs, time.Time{}, prov)
	}, identity)
	if err != nil {
		return stop(err)
	}

	groupNames := map[string]string{}
	if slices.ContainsFunc(c.cfg.RequiredTrainings, func(rt RequiredTraining) bool { return len(rt.Scope.Groups) > 0 }) {
		if _, err := c.list(ctx, "groups", nil, func(raw json.RawMessage, _ connectors.Provenance) error {
			var g struct {
				ID   json.RawMessage `json:"id"`
				Name string          `json:"name"`
			}
			if err := json.Unmarshal(raw, &g); err != nil {
				return fmt.Errorf("knowbe4: groups: %w: %v", connectors.ErrBadResponse, err)
			}
			groupNames[str(g.ID)] = g.Name
			return nil
		}, identity); err != nil {
			return stop(err)
		}
	}

	known := map[string]bool{} // campaign and module names, lower case
	if _, err := c.list(ctx, "training/campaigns", nil, func(raw json.RawMessage, prov connectors.Provenance) error {
		var f struct {
			ID        json.RawMessage `json:"campaign_id"`
			Name      string          `json:"name"`
			Status    string          `json:"status"`
			StartDate json.RawMessage `json:"start_date"`
			Content   []struct {
				Name string `json:"name"`
			} `json:"content"`
		}
		if err := json.Unmarshal(raw, &f); err != nil || str(f.ID) == "" {
			return fmt.Errorf("knowbe4: %s: %w: a campaign without a campaign_id", prov.Endpoint, connectors.ErrBadResponse)
		}
		known[strings.ToLower(f.Name)] = true
		for _, ct := range f.Content {
			known[strings.ToLower(ct.Name)] = true
		}
		id := str(f.ID)
		attrs := map[string]string{"knowbe4.campaign": f.Name, "knowbe4.status": f.Status}
		return c.emitRaw(em, KindCampaign, "campaign/"+id, "training/campaigns/"+id, raw, attrs, when(f.StartDate), prov)
	}, identity); err != nil {
		return stop(err)
	}

	var enrolls []enrollment
	if _, err := c.list(ctx, "training/enrollments", url.Values{"exclude_archived_users": {"true"}}, func(raw json.RawMessage, prov connectors.Provenance) error {
		var f struct {
			ID                 json.RawMessage `json:"enrollment_id"`
			ContentType        string          `json:"content_type"`
			ModuleName         string          `json:"module_name"`
			CampaignName       string          `json:"campaign_name"`
			EnrollmentDate     json.RawMessage `json:"enrollment_date"`
			CompletionDate     json.RawMessage `json:"completion_date"`
			Status             string          `json:"status"`
			PolicyAcknowledged json.RawMessage `json:"policy_acknowledged"`
			User               struct {
				ID json.RawMessage `json:"id"`
			} `json:"user"`
		}
		if err := json.Unmarshal(raw, &f); err != nil || str(f.ID) == "" {
			return fmt.Errorf("knowbe4: %s: %w: an enrollment without an enrollment_id", prov.Endpoint, connectors.ErrBadResponse)
		}
		e := enrollment{
			userID: str(f.User.ID), module: f.ModuleName, campaign: f.CampaignName,
			enrolled: when(f.EnrollmentDate), completed: when(f.CompletionDate),
		}
		e.done = !e.completed.IsZero() || strings.EqualFold(f.Status, "Passed") || strings.EqualFold(f.Status, "Completed")
		enrolls = append(enrolls, e)
		known[strings.ToLower(f.ModuleName)] = true
		known[strings.ToLower(f.CampaignName)] = true
		id := str(f.ID)
		attrs := map[string]string{
			"knowbe4.user_id": e.userID, "knowbe4.module": f.ModuleName, "knowbe4.campaign": f.CampaignName,
			"knowbe4.content_type": f.ContentType, "knowbe4.status": f.Status,
			"knowbe4.completed":           strconv.FormatBool(e.done),
			"knowbe4.policy_acknowledged": strconv.FormatBool(str(f.PolicyAcknowledged) == "true"),
		}
		at := e.completed
		if at.IsZero() {
			at = e.enrolled
		}
		return c.emitRaw(em, KindEnrollment, "enrollment/"+id, "training/enrollments/"+id, raw, attrs, at, prov)
	}, identity); err != nil {
		return stop(err)
	}

	for i, rt := range c.cfg.RequiredTrainings {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !known[strings.ToLower(strings.TrimSpace(rt.Training))] {
			errs = append(errs, connectors.ConfigErrorf("knowbe4: required_trainings[%d]: no campaign, module or enrollment is named %q: use a campaign or training module name as KnowBe4 shows it", i, rt.Training))
			continue
		}
		var unknownGroups []string
		for _, g := range rt.Scope.Groups {
			if !slices.ContainsFunc(mapsValues(groupNames), func(n string) bool { return strings.EqualFold(n, strings.TrimSpace(g)) }) {
				unknownGroups = append(unknownGroups, g)
			}
		}
		if len(unknownGroups) > 0 {
			errs = append(errs, connectors.ConfigErrorf("knowbe4: required_trainings[%d].scope.groups: no group is named %q", i, unknownGroups))
			continue
		}
		if err := c.emitRoster(em, rt, order, users, groupNames, enrolls, now, identity); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

func mapsValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// groupID reads a user's group, given as an id or as {"id": ...}.
func groupID(raw json.RawMessage) string {
	var g struct {
		ID      json.RawMessage `json:"id"`
		GroupID json.RawMessage `json:"group_id"`
	}
	if json.Unmarshal(raw, &g) == nil {
		if s := str(g.ID); s != "" {
			return s
		}
		return str(g.GroupID)
	}
	return str(raw)
}

func (c *Connector) emitRaw(em *emitter, kind, subject, path string, raw json.RawMessage, attrs map[string]string, at time.Time, prov connectors.Provenance) error {
	content, redacted, err := hrtraining.Strip(raw, c.drop)
	if err != nil {
		return fmt.Errorf("knowbe4: %s: %s: %w", prov.Endpoint, subject, err)
	}
	prov.Redacted = redacted
	return em.do(connectors.Artifact{
		Kind:        kind,
		Subject:     subject,
		SourceURL:   c.api.ResolveReference(&url.URL{Path: path}).String(),
		MediaType:   "application/json",
		Attributes:  attrs,
		EffectiveAt: at,
		Provenance:  prov,
		Content:     bytes.NewReader(content),
	})
}

func (c *Connector) emitRoster(em *emitter, rt RequiredTraining, order []string, users map[string]*user, groupNames map[string]string, enrolls []enrollment, now time.Time, identity string) error {
	dueDays := rt.DueDays
	if dueDays == 0 {
		dueDays = defaultDueDays
	}
	name := strings.TrimSpace(rt.Training)
	latest := map[string]enrollment{} // user id -> latest matching enrollment
	for _, e := range enrolls {
		if !strings.EqualFold(e.module, name) && !strings.EqualFold(e.campaign, name) {
			continue
		}
		if cur, ok := latest[e.userID]; !ok || e.enrolled.After(cur.enrolled) || (e.enrolled.Equal(cur.enrolled) && e.done && !cur.done) {
			latest[e.userID] = e
		}
	}
	var entries []hrtraining.Entry
	for _, id := range order {
		u := users[id]
		var groups []string
		for _, g := range u.groups {
			groups = append(groups, groupNames[g])
		}
		if !rt.Scope.Matches(u.department, u.jobTitle, u.division, groups) {
			continue
		}
		en := hrtraining.Entry{EmployeeID: u.id, Department: u.department, JobTitle: u.jobTitle}
		e, ok := latest[u.id]
		switch {
		case !ok:
			en.Status = hrtraining.StatusNotEnrolled
		case e.done:
			done := e.completed
			if done.IsZero() {
				done = e.enrolled // passed without a completion date: count it, dated by enrollment
			}
			en.Evaluate(now, e.enrolled, done, dueDays, 0)
		default:
			en.Evaluate(now, e.enrolled, time.Time{}, dueDays, 0)
		}
		entries = append(entries, en)
	}
	roster, summary := hrtraining.NewRoster(name, "", now, dueDays, 0, rt.Scope, true, entries)
	prov := connectors.Provenance{
		Method: http.MethodGet, Endpoint: c.api.ResolveReference(&url.URL{Path: "training/enrollments"}).Path,
		Query: "derived from users, groups and enrollments", APIVersion: "v1", Identity: identity, Complete: true,
	}
	for _, a := range []struct {
		kind string
		v    any
	}{{KindTrainingRoster, roster}, {KindTrainingSummary, summary}} {
		content, err := connectors.CanonicalJSON(a.v)
		if err != nil {
			return err
		}
		if err := em.do(connectors.Artifact{
			Kind:        a.kind,
			Subject:     "training/" + name,
			MediaType:   "application/json",
			Attributes:  summary.Attributes("knowbe4"),
			EffectiveAt: now,
			Provenance:  prov,
			Content:     bytes.NewReader(content),
		}); err != nil {
			return err
		}
	}
	return nil
}
