// Package github implements the `github` connector: evidence that the
// development of AI systems built on GitHub is controlled. For an owner
// (organisation or user) and the repositories selected by name, glob, topic
// and archived state, it collects repository settings, the default branch's
// protection and rulesets, merged pull requests with their reviews, CI
// workflow runs on the default branch, code scanning, Dependabot and secret
// scanning alerts with a summary of each, releases, chosen files (CODEOWNERS,
// model cards) and the organisation's settings.
//
// Structured content is GitHub's own response for each object, canonical
// JSON; a secret-scanning alert's leaked secret is redacted first. It talks
// to GitHub through go-github over the shared HTTP client (retries,
// Retry-After, redaction), waits when the primary rate limit runs low, and
// makes every GET conditional on the ETag seen last time, so a run over
// unchanged data costs little rate limit. A feature that is off or not
// licensed (403 or 404 with GitHub's message) is evidence, emitted as such;
// a permission GitHub refuses is an error.
package github

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/aimsvault/aimsvault/connectors"
)

//go:embed sample.yaml
var sample string

// Type registers the connector as `type: github`; it supplies the catalog
// source "github".
var Type = connectors.Define("github", "github", sample, defaultConfig, New)

// apiVersion is the REST API version requested (go-github's default).
const apiVersion = "2022-11-28"

// perPage is the page size of every listing: GitHub's maximum.
const perPage = 100

// Connector collects evidence from one GitHub owner.
type Connector struct {
	cfg   Config
	base  *url.URL
	deps  connectors.Deps
	log   *slog.Logger
	app   *appTokens // nil for token auth
	cache etagCache
}

var _ connectors.Connector = (*Connector)(nil)

// New builds a connector from a decoded config; it validates cfg and, for
// App auth, reads the private key.
func New(cfg Config, deps connectors.Deps) (connectors.Connector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, _ := parseBaseURL(cfg.BaseURL)
	if deps.HTTP == nil {
		return nil, errors.New("github: no HTTP client in deps")
	}
	deps.HTTP = connectors.LimitBodies(deps.HTTP, connectors.DefaultMaxResponse)
	if deps.Now == nil {
		deps.Now = time.Now
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Connector{cfg: cfg, base: base, deps: deps, log: log}
	credential := cfg.Token.Reveal()
	if cfg.appAuth() {
		key, err := loadPrivateKey(string(cfg.PrivateKeyFile))
		if err != nil {
			return nil, err
		}
		c.app = &appTokens{key: key, appID: cfg.AppID, instID: cfg.InstallationID, base: base, http: deps.HTTP, renewWithinDur: 5 * time.Minute}
		credential = fmt.Sprintf("app:%d:%d", cfg.AppID, cfg.InstallationID)
	}
	if cfg.CacheDir != "" {
		c.cache = dirCache{dir: string(cfg.CacheDir) + "/" + cacheScope(deps.Name, base.String(), credential)}
	} else {
		c.cache = memCacheFor(cacheScope(deps.Name, base.String(), credential))
	}
	return c, nil
}

// session is one Collect call: the client, who we are, and what to emit.
type session struct {
	c        *Connector
	gh       *gh.Client
	tr       *apiTransport
	identity string
	isApp    bool
	login    string // the authenticated user, for token auth
	since    time.Time
	emitFn   func(connectors.Artifact) error
	emitErr  error
	log      *slog.Logger
}

// Collect authenticates first, so that a bad credential fails the run before
// anything is emitted, then collects the owner's settings and each selected
// repository in turn. Failures of one repository are joined and the next
// repository is tried; a rate limit that outlasts the run, an emit error or
// a canceled ctx stops the run.
func (c *Connector) Collect(ctx context.Context, emit func(connectors.Artifact) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := c.newSession(emit)
	if err := s.authenticate(ctx); err != nil {
		return err
	}
	var errs []error
	// stop says whether err ends the run, after recording it.
	stop := func(err error) bool {
		if err == nil {
			return false
		}
		if s.emitErr != nil || ctx.Err() != nil {
			return true
		}
		errs = append(errs, err)
		return connectors.Classify(err) == connectors.ClassRateLimited
	}
	isOrg, err := s.ownerIsOrg(ctx)
	if stop(err) {
		return s.result(ctx, errs)
	}
	if err == nil && isOrg {
		if stop(s.collectOrg(ctx)) {
			return s.result(ctx, errs)
		}
	}
	err = s.eachRepo(ctx, isOrg, func(repo *gh.Repository) bool {
		return stop(s.collectRepo(ctx, repo))
	})
	stop(err)
	return s.result(ctx, errs)
}

func (s *session) result(ctx context.Context, errs []error) error {
	if s.emitErr != nil {
		return s.emitErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

func (c *Connector) newSession(emit func(connectors.Artifact) error) *session {
	s := &session{c: c, emitFn: emit, log: c.log, isApp: c.app != nil}
	s.since = c.deps.Now().Add(-c.cfg.Lookback.Duration())
	base := c.deps.HTTP.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	s.tr = &apiTransport{
		base:      base,
		host:      origin(c.base.Scheme, c.base.Host),
		cache:     c.cache,
		log:       c.log,
		now:       time.Now, // rate-limit resets are wall-clock times
		remaining: -1,
		auth:      s.credential,
	}
	client := gh.NewClient(&http.Client{Transport: s.tr})
	client.BaseURL = c.base
	client.UploadURL = c.base
	client.UserAgent = "" // the shared client sets aimsvault's
	s.gh = client
	return s
}

// credential picks the bearer credential for req: the App JWT for the /app
// endpoints, else the installation or personal token.
func (s *session) credential(ctx context.Context, req *http.Request) (string, error) {
	if s.c.app == nil {
		if s.c.cfg.Token == "" {
			return "", errNoAuth
		}
		return s.c.cfg.Token.Reveal(), nil
	}
	rel := strings.TrimPrefix(req.URL.Path, s.c.base.Path)
	if rel == "app" || strings.HasPrefix(rel, "app/") {
		return s.c.app.jwt()
	}
	return s.c.app.installationToken(ctx)
}

// authenticate finds who we are: GET /user for a token, GET /app plus an
// installation token for an App. A 401 here is an auth failure carrying
// GitHub's message.
func (s *session) authenticate(ctx context.Context) error {
	if s.isApp {
		var app struct {
			Slug string `json:"slug"`
		}
		if _, _, err := s.getJSON(ctx, "app", &app); err != nil {
			return fmt.Errorf("authenticate as app %d: %w", s.c.cfg.AppID, err)
		}
		if _, err := s.c.app.installationToken(ctx); err != nil {
			return err
		}
		s.identity = fmt.Sprintf("%s[bot] (app %d, installation %d)", app.Slug, s.c.cfg.AppID, s.c.cfg.InstallationID)
		return nil
	}
	var user struct {
		Login string `json:"login"`
	}
	if _, _, err := s.getJSON(ctx, "user", &user); err != nil {
		return fmt.Errorf("authenticate: %w", err)
	}
	s.login, s.identity = user.Login, user.Login
	return nil
}

// emit sends a to the hub, remembering an error so every loop stops.
func (s *session) emit(a connectors.Artifact) error {
	if s.emitErr != nil {
		return s.emitErr
	}
	a.Provenance.Identity = s.identity
	if a.Provenance.APIVersion == "" {
		a.Provenance.APIVersion = apiVersion
	}
	if err := s.emitFn(a); err != nil {
		s.emitErr = err
		return err
	}
	return nil
}

// emitJSON emits v (built from upstream raw messages) as canonical JSON.
func (s *session) emitJSON(a connectors.Artifact, v any) error {
	b, err := connectors.CanonicalJSON(v)
	if err != nil {
		return fmt.Errorf("%s %s: %w: %v", a.Kind, a.Subject, connectors.ErrBadResponse, err)
	}
	a.MediaType = "application/json"
	a.Content = strings.NewReader(string(b))
	return s.emit(a)
}

// endpoint splits a request URL into the provenance endpoint (path from the
// API root, with a leading slash) and query.
func (s *session) endpoint(u *url.URL) (string, string) {
	p := "/" + strings.TrimPrefix(u.Path, s.c.base.Path)
	return p, u.RawQuery
}

// newRequest builds a GET for a path relative to base_url, or an absolute
// URL on the API host (a Link header's).
func (s *session) newRequest(ref string) (*http.Request, error) {
	req, err := s.gh.NewRequest(http.MethodGet, ref, nil)
	if err != nil {
		return nil, err
	}
	if origin(req.URL.Scheme, req.URL.Host) != s.tr.host || !strings.HasPrefix(req.URL.Path, s.c.base.Path) {
		return nil, fmt.Errorf("%w: link to %s leaves the API root %s", connectors.ErrBadResponse, connectors.RedactURL(req.URL.String()), s.c.base)
	}
	return req, nil
}

// getJSON GETs ref and decodes the body into v, returning the raw body too.
func (s *session) getJSON(ctx context.Context, ref string, v any) (json.RawMessage, *gh.Response, error) {
	req, err := s.newRequest(ref)
	if err != nil {
		return nil, nil, err
	}
	var raw json.RawMessage
	resp, err := s.gh.Do(ctx, req, &raw)
	if err != nil {
		return nil, resp, apiError(req, resp, err)
	}
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			return nil, resp, fmt.Errorf("GET %s: %w: %v", req.URL.Path, connectors.ErrBadResponse, err)
		}
	}
	return raw, resp, nil
}

// upstream is a GET answered with a status GitHub uses to say a feature is
// off, not licensed or absent: the status and GitHub's own body.
type upstream struct {
	Status int
	Body   json.RawMessage
	URL    *url.URL
}

// message is GitHub's "message" field of an error body.
func (u upstream) message() string {
	var m struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(u.Body, &m)
	return m.Message
}

// getFeature is getJSON for endpoints whose 404, and whose 403 with a
// message about a feature or plan, are answers rather than failures. It
// returns the raw body and the status; other failures are errors.
func (s *session) getFeature(ctx context.Context, ref string) (upstream, error) {
	req, err := s.newRequest(ref)
	if err != nil {
		return upstream{}, err
	}
	var raw json.RawMessage
	resp, err := s.gh.Do(ctx, req, &raw)
	if err == nil {
		return upstream{Status: resp.StatusCode, Body: raw, URL: req.URL}, nil
	}
	if u, ok := featureAnswer(req, resp, err); ok {
		return u, nil
	}
	return upstream{}, apiError(req, resp, err)
}

// featureAnswer recognises 404, and 403 with a message about a disabled or
// unlicensed feature, as GitHub's answer about the feature.
func featureAnswer(req *http.Request, resp *gh.Response, err error) (upstream, bool) {
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || resp == nil || resp.Response == nil {
		return upstream{}, false
	}
	status := resp.StatusCode
	if status != http.StatusNotFound && !(status == http.StatusForbidden && featureMessage(er.Message)) {
		return upstream{}, false
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if !json.Valid(body) {
		b, _ := json.Marshal(map[string]string{"message": er.Message})
		body = b
	}
	return upstream{Status: status, Body: body, URL: req.URL}, true
}

// featureMessage reports whether a 403's message says a feature is off or
// not part of the plan, rather than that this credential may not read it.
// GitHub's wording: "Advanced Security must be enabled for this repository
// to use code scanning.", "Dependabot alerts are disabled for this
// repository.", "Secret scanning is disabled on this repository.",
// "Upgrade to GitHub Pro or make this repository public to enable this
// feature.", "Code scanning is not enabled for this repository.".
func featureMessage(msg string) bool {
	m := strings.ToLower(msg)
	for _, w := range []string{"disabled", "not enabled", "must be enabled", "to enable this feature", "upgrade to github", "not available", "no analysis found"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}

// apiError turns what go-github returns into an error naming the call and
// wrapping a *connectors.HTTPError, so the hub can classify it.
func apiError(req *http.Request, resp *gh.Response, err error) error {
	call := "GET " + req.URL.Path
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var he *connectors.HTTPError
	if errors.As(err, &he) {
		return fmt.Errorf("%s: %w", call, he)
	}
	var (
		rl  *gh.RateLimitError
		ab  *gh.AbuseRateLimitError
		er  *gh.ErrorResponse
		tfa *gh.TwoFactorAuthError
	)
	var hr *http.Response
	class := connectors.ErrorClass("")
	var retry time.Duration
	msg := ""
	switch {
	case errors.As(err, &rl):
		hr, class, msg = rl.Response, connectors.ClassRateLimited, rl.Message
		retry = time.Until(rl.Rate.Reset.Time)
	case errors.As(err, &ab):
		hr, class, msg = ab.Response, connectors.ClassRateLimited, ab.Message
		if ab.RetryAfter != nil {
			retry = *ab.RetryAfter
		}
	case errors.As(err, &tfa):
		hr, class, msg = tfa.Response, connectors.ClassAuth, tfa.Message
	case errors.As(err, &er):
		hr, msg = er.Response, er.Message
	case isDecodeError(err):
		// go-github decodes the body itself: a body that is not JSON
		// arrives here bare.
		return fmt.Errorf("%s: %w: %v", call, connectors.ErrBadResponse, err)
	default:
		return fmt.Errorf("%s: %w", call, err)
	}
	if hr == nil && resp != nil {
		hr = resp.Response
	}
	if hr == nil {
		return fmt.Errorf("%s: %w", call, err)
	}
	if hr.Request == nil {
		hr.Request = req
	}
	var out *connectors.HTTPError
	if cerr := connectors.CheckResponse(hr); errors.As(cerr, &out) {
		if out.Body == "" && msg != "" {
			out.Body = msg
		}
	} else {
		out = &connectors.HTTPError{Method: req.Method, URL: connectors.RedactURL(req.URL.String()), Status: hr.StatusCode, Body: msg}
	}
	if class != "" {
		out.Class = class
	}
	if retry > 0 {
		out.RetryAfter = retry
	}
	return fmt.Errorf("%s: %w", call, out)
}

// isDecodeError reports whether err is encoding/json's complaint about the
// body's shape (not a read error, which is the connection's).
func isDecodeError(err error) bool {
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
	)
	return errors.As(err, &se) || errors.As(err, &te)
}

// listPage is one page of a listing.
type listPage struct {
	items []json.RawMessage
	url   *url.URL // the request that produced it
	last  bool     // no rel="next": the listing ends here
}

// list reads a listing page by page, following the Link header's rel="next"
// (page numbers, cursors, /repositories/{id}/ paths alike) to the end, and
// calls each for every page in turn. wrap names the array field of a
// wrapped listing ({"total_count": n, "workflow_runs": [...]}); empty for a
// bare array. each returns false to stop early (the rest is outside the
// lookback window). It returns whether every page it was asked for was read.
func (s *session) list(ctx context.Context, ref, wrap string, each func(p listPage) (bool, error)) (bool, error) {
	for ref != "" {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		req, err := s.newRequest(ref)
		if err != nil {
			return false, err
		}
		var raw json.RawMessage
		resp, err := s.gh.Do(ctx, req, &raw)
		if err != nil {
			return false, apiError(req, resp, err)
		}
		items, err := unwrapList(raw, wrap)
		if err != nil {
			return false, fmt.Errorf("GET %s: %w: %v", req.URL.Path, connectors.ErrBadResponse, err)
		}
		ref = nextLink(resp.Header.Get("Link"))
		more, err := each(listPage{items: items, url: req.URL, last: ref == ""})
		if err != nil {
			return false, err
		}
		if !more {
			return true, nil
		}
	}
	return true, nil
}

func unwrapList(raw json.RawMessage, wrap string) ([]json.RawMessage, error) {
	var items []json.RawMessage
	if wrap == "" {
		err := json.Unmarshal(raw, &items)
		return items, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	field, ok := obj[wrap]
	if !ok {
		return nil, fmt.Errorf("no %q field", wrap)
	}
	err := json.Unmarshal(field, &items)
	return items, err
}

// nextLink returns the rel="next" URL of a Link header (RFC 8288), or "".
func nextLink(h string) string {
	for _, part := range strings.Split(h, ",") {
		segs := strings.Split(strings.TrimSpace(part), ";")
		if len(segs) < 2 {
			continue
		}
		u := strings.TrimSpace(segs[0])
		if !strings.HasPrefix(u, "<") || !strings.HasSuffix(u, ">") {
			continue
		}
		for _, p := range segs[1:] {
			if strings.TrimSpace(p) == `rel="next"` {
				return u[1 : len(u)-1]
			}
		}
	}
	return ""
}

// withQuery joins a path and query parameters, adding per_page.
func withQuery(p string, q url.Values) string {
	if q == nil {
		q = url.Values{}
	}
	q.Set("per_page", strconv.Itoa(perPage))
	return p + "?" + q.Encode()
}

// ownerIsOrg asks GitHub what the owner is.
func (s *session) ownerIsOrg(ctx context.Context) (bool, error) {
	var u struct {
		Type string `json:"type"`
	}
	if _, _, err := s.getJSON(ctx, "users/"+url.PathEscape(s.c.cfg.Owner), &u); err != nil {
		var he *connectors.HTTPError
		if errors.As(err, &he) && he.Status == http.StatusNotFound {
			return false, connectors.ConfigErrorf("github: owner %q not found (or not visible to %s): fix owner", s.c.cfg.Owner, s.identity)
		}
		return false, fmt.Errorf("look up owner %s: %w", s.c.cfg.Owner, err)
	}
	return u.Type == "Organization", nil
}

// collectOrg emits the organisation's settings with its member count.
func (s *session) collectOrg(ctx context.Context) error {
	org := s.c.cfg.Owner
	ref := "orgs/" + url.PathEscape(org)
	raw, _, err := s.getJSON(ctx, ref, nil)
	if err != nil {
		return fmt.Errorf("get organization %s: %w", org, err)
	}
	var o struct {
		HTMLURL   string `json:"html_url"`
		TwoFactor *bool  `json:"two_factor_requirement_enabled"`
	}
	_ = json.Unmarshal(raw, &o)
	members, complete, err := s.countMembers(ctx, org)
	if err != nil {
		return fmt.Errorf("count members of %s: %w", org, err)
	}
	attrs := map[string]string{"owner": org, "two_factor_requirement": boolAttr(o.TwoFactor), "members": strconv.Itoa(members)}
	return s.emitJSON(connectors.Artifact{
		Kind: "github.organization", Subject: org, SourceURL: o.HTMLURL, Attributes: attrs,
		Provenance: connectors.Provenance{Method: "GET", Endpoint: "/" + ref, Complete: complete},
	}, raw)
}

// countMembers reads the first page of members and, when there are more,
// jumps to the last page the Link header names: two calls whatever the size.
func (s *session) countMembers(ctx context.Context, org string) (int, bool, error) {
	req, err := s.newRequest(withQuery("orgs/"+url.PathEscape(org)+"/members", nil))
	if err != nil {
		return 0, false, err
	}
	var first []json.RawMessage
	resp, err := s.gh.Do(ctx, req, &first)
	if err != nil {
		return 0, false, apiError(req, resp, err)
	}
	if resp.LastPage <= 1 || nextLink(resp.Header.Get("Link")) == "" {
		return len(first), true, nil
	}
	q := req.URL.Query()
	q.Set("page", strconv.Itoa(resp.LastPage))
	lastReq, err := s.newRequest("orgs/" + url.PathEscape(org) + "/members?" + q.Encode())
	if err != nil {
		return 0, false, err
	}
	var last []json.RawMessage
	resp2, err := s.gh.Do(ctx, lastReq, &last)
	if err != nil {
		return 0, false, apiError(lastReq, resp2, err)
	}
	// Every page but the last is full, as large as the first.
	return (resp.LastPage-1)*len(first) + len(last), true, nil
}

func boolAttr(b *bool) string {
	if b == nil {
		return "unknown"
	}
	return strconv.FormatBool(*b)
}

// hasMeta reports whether a repos entry is a glob rather than a name.
func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[\`) }

// eachRepo calls fn for every selected repository, in the order GitHub
// lists them, while paging: repositories are never all held at once. fn
// returns true to stop. A name or glob in repos that matches nothing is a
// configuration error.
func (s *session) eachRepo(ctx context.Context, isOrg bool, fn func(*gh.Repository) bool) error {
	cfg := s.c.cfg
	owner := cfg.Owner
	exact := len(cfg.Repos) > 0 && !slices.ContainsFunc(cfg.Repos, hasMeta)
	if exact {
		var errs []error
		for _, name := range cfg.Repos {
			var r gh.Repository
			_, _, err := s.getJSON(ctx, "repos/"+url.PathEscape(owner)+"/"+url.PathEscape(name), &r)
			if err != nil {
				var he *connectors.HTTPError
				if errors.As(err, &he) && he.Status == http.StatusNotFound {
					errs = append(errs, connectors.ConfigErrorf("github: repository %s/%s not found (or not visible to %s): fix repos", owner, name, s.identity))
					continue
				}
				errs = append(errs, fmt.Errorf("get repository %s/%s: %w", owner, name, err))
				if connectors.Classify(err) == connectors.ClassRateLimited || ctx.Err() != nil {
					break
				}
				continue
			}
			if s.selected(&r) && fn(&r) {
				break
			}
		}
		return errors.Join(errs...)
	}

	var ref, wrap string
	switch {
	case s.isApp:
		ref, wrap = withQuery("installation/repositories", nil), "repositories"
	case isOrg:
		ref = withQuery("orgs/"+url.PathEscape(owner)+"/repos", url.Values{"type": {"all"}, "sort": {"full_name"}})
	case strings.EqualFold(owner, s.login):
		ref = withQuery("user/repos", url.Values{"affiliation": {"owner"}, "sort": {"full_name"}})
	default:
		ref = withQuery("users/"+url.PathEscape(owner)+"/repos", url.Values{"type": {"owner"}, "sort": {"full_name"}})
	}
	matched := make([]bool, len(cfg.Repos))
	stopped := false
	_, err := s.list(ctx, ref, wrap, func(p listPage) (bool, error) {
		for _, item := range p.items {
			var r gh.Repository
			if err := json.Unmarshal(item, &r); err != nil {
				return false, fmt.Errorf("list repositories of %s: %w: %v", owner, connectors.ErrBadResponse, err)
			}
			if !strings.EqualFold(r.GetOwner().GetLogin(), owner) {
				continue // an App installation may see other owners' repositories
			}
			if len(cfg.Repos) > 0 {
				hit := false
				for i, pat := range cfg.Repos {
					if ok, _ := path.Match(strings.ToLower(pat), strings.ToLower(r.GetName())); ok {
						matched[i], hit = true, true
					}
				}
				if !hit {
					continue
				}
			}
			if !s.selected(&r) {
				continue
			}
			if fn(&r) {
				stopped = true
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("list repositories of %s: %w", owner, err)
	}
	if stopped {
		return nil
	}
	var errs []error
	for i, ok := range matched {
		if !ok {
			errs = append(errs, connectors.ConfigErrorf("github: repos[%d] %q matches no repository of %s visible to %s: fix repos", i, cfg.Repos[i], owner, s.identity))
		}
	}
	return errors.Join(errs...)
}

// selected applies include_archived and topics.
func (s *session) selected(r *gh.Repository) bool {
	if r.GetArchived() && !s.c.cfg.IncludeArchived {
		s.log.Debug("repository skipped", "subject", r.GetFullName(), "reason", "archived")
		return false
	}
	if len(s.c.cfg.Topics) > 0 && !slices.ContainsFunc(r.Topics, func(t string) bool {
		return slices.ContainsFunc(s.c.cfg.Topics, func(want string) bool { return strings.EqualFold(want, t) })
	}) {
		s.log.Debug("repository skipped", "subject", r.GetFullName(), "reason", "topics")
		return false
	}
	return true
}
