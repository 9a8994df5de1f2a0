package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aimsvault/aimsvault/connectors"
)

// Search endpoints, relative to the site root.
const (
	cloudSearchPath = "rest/api/3/search/jql"
	dcSearchPath    = "rest/api/2/search"
)

// searchPage is one page of either search. Issues stay raw: each is stored
// as Jira sent it.
type searchPage struct {
	Issues []json.RawMessage `json:"issues"`
	// Data Center: offset pagination.
	StartAt    int  `json:"startAt"`
	MaxResults int  `json:"maxResults"`
	Total      *int `json:"total"`
	// Cloud: token pagination, no total.
	NextPageToken string `json:"nextPageToken"`
	IsLast        *bool  `json:"isLast"`
}

// search runs q and calls f with each issue, in Jira's order. It returns
// whether every page was read; an error says which page failed and why.
func (c *Connector) search(ctx context.Context, q Query, fields []string, f func(json.RawMessage) error) (bool, error) {
	if c.deployment == DeploymentCloud {
		return c.searchCloud(ctx, q, fields, f)
	}
	return c.searchDataCenter(ctx, q, fields, f)
}

// searchCloud pages POST /rest/api/3/search/jql with nextPageToken until
// the token is missing, isLast is true or a page is empty. The endpoint has
// no total: completeness is having followed the tokens to the end.
func (c *Connector) searchCloud(ctx context.Context, q Query, fields []string, f func(json.RawMessage) error) (bool, error) {
	body := map[string]any{
		"jql":        q.JQL,
		"maxResults": c.cfg.PageSize,
		"fields":     fields,
		"expand":     "changelog",
	}
	seen := map[string]bool{}
	for page := 1; ; page++ {
		if page > c.cfg.MaxPages {
			return false, c.tooManyPages(q)
		}
		var p searchPage
		if err := c.call(ctx, http.MethodPost, cloudSearchPath, body, &p); err != nil {
			return false, c.searchError(q, page, err)
		}
		for _, raw := range p.Issues {
			if err := f(raw); err != nil {
				return false, err
			}
		}
		if len(p.Issues) == 0 || p.NextPageToken == "" || (p.IsLast != nil && *p.IsLast) {
			return true, nil
		}
		if seen[p.NextPageToken] {
			return false, fmt.Errorf("jira: query %q: page %d: %w: Jira returned a nextPageToken it returned before", q.Name, page, connectors.ErrBadResponse)
		}
		seen[p.NextPageToken] = true
		body["nextPageToken"] = p.NextPageToken
	}
}

// searchDataCenter pages GET /rest/api/2/search by startAt. Jira caps
// maxResults silently (jira.search.views.default.max), so startAt advances
// by the issues actually returned, until total is reached.
func (c *Connector) searchDataCenter(ctx context.Context, q Query, fields []string, f func(json.RawMessage) error) (bool, error) {
	startAt := 0
	for page := 1; ; page++ {
		if page > c.cfg.MaxPages {
			return false, c.tooManyPages(q)
		}
		v := url.Values{}
		v.Set("jql", q.JQL)
		v.Set("startAt", strconv.Itoa(startAt))
		v.Set("maxResults", strconv.Itoa(c.cfg.PageSize))
		v.Set("fields", strings.Join(fields, ","))
		v.Set("expand", "changelog")
		var p searchPage
		if err := c.call(ctx, http.MethodGet, dcSearchPath+"?"+v.Encode(), nil, &p); err != nil {
			return false, c.searchError(q, page, err)
		}
		for _, raw := range p.Issues {
			if err := f(raw); err != nil {
				return false, err
			}
		}
		startAt += len(p.Issues)
		if p.Total == nil {
			return false, fmt.Errorf("jira: query %q: page %d: %w: no total in the search answer", q.Name, page, connectors.ErrBadResponse)
		}
		if startAt >= *p.Total {
			return true, nil
		}
		if len(p.Issues) == 0 {
			// Issues deleted or hidden while we paged: what we have is not
			// the whole listing, and we say so.
			return false, fmt.Errorf("jira: query %q: %w: Jira reported %d issues but an empty page at startAt=%d", q.Name, connectors.ErrBadResponse, *p.Total, startAt)
		}
	}
}

func (c *Connector) tooManyPages(q Query) error {
	return connectors.ConfigErrorf("jira: query %q: more than max_pages (%d) pages of %d issues: narrow the JQL or raise max_pages; the issues read so far are stored as incomplete", q.Name, c.cfg.MaxPages, c.cfg.PageSize)
}

// searchError explains a failed search page in terms of the query.
func (c *Connector) searchError(q Query, page int, err error) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		return fmt.Errorf("jira: query %q: search page %d: %w", q.Name, page, err)
	}
	switch ae.http.Status {
	case http.StatusBadRequest:
		// Invalid JQL, an unknown project or field, or (Cloud) a query
		// with no restriction: the config must change.
		return connectors.ConfigErrorf("jira: query %q: Jira rejected the JQL %q: %s: fix queries[].jql", q.Name, q.JQL, ae.message())
	case http.StatusGone:
		return connectors.ConfigErrorf("jira: query %q: %s %s answered 410 Gone: this is Jira Cloud, which removed that search; set deployment: cloud", q.Name, ae.http.Method, ae.http.URL)
	case http.StatusNotFound:
		return connectors.ConfigErrorf("jira: query %q: %s %s answered 404 Not Found: check base_url (on Data Center include the context path) and deployment (%s)", q.Name, ae.http.Method, ae.http.URL, c.deployment)
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("jira: query %q (JQL %q): %w: check email and token, and that the account may browse the project", q.Name, q.JQL, err)
	}
	return fmt.Errorf("jira: query %q (JQL %q): search page %d: %w", q.Name, q.JQL, page, err)
}

// changelog is the changelog object of an issue, with Jira's histories kept
// raw.
type changelog struct {
	StartAt    int               `json:"startAt"`
	MaxResults int               `json:"maxResults"`
	Total      int               `json:"total"`
	Histories  []json.RawMessage `json:"histories"`
}

// maxChangelogPages bounds the pages of one issue's changelog (100 each).
const maxChangelogPages = 100

// completeChangelog returns raw (an issue from a search page) with its whole
// changelog. Search returns only the most recent histories of a long
// changelog; when its total says more exist, the full list is fetched and
// replaces the inline one (every entry as Jira sent it). It also reports
// whether a fetch was needed.
func (c *Connector) completeChangelog(ctx context.Context, raw json.RawMessage) (json.RawMessage, bool, error) {
	var is struct {
		ID        string     `json:"id"`
		Key       string     `json:"key"`
		Changelog *changelog `json:"changelog"`
	}
	if err := json.Unmarshal(raw, &is); err != nil {
		return nil, false, fmt.Errorf("jira: %w: an issue in the search answer: %v", connectors.ErrBadResponse, err)
	}
	if is.Key == "" {
		return nil, false, fmt.Errorf("jira: %w: an issue (id %q) without a key: the search answer holds no fields", connectors.ErrBadResponse, is.ID)
	}
	if is.Changelog == nil || is.Changelog.Total <= len(is.Changelog.Histories) {
		return raw, false, nil
	}
	var histories []json.RawMessage
	var err error
	if c.deployment == DeploymentCloud {
		histories, err = c.cloudChangelog(ctx, is.Key)
	} else {
		histories, err = c.dataCenterChangelog(ctx, is.Key)
	}
	if err != nil {
		return nil, false, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, false, fmt.Errorf("jira: %w: issue %s: %v", connectors.ErrBadResponse, is.Key, err)
	}
	full, err := json.Marshal(changelog{StartAt: 0, MaxResults: len(histories), Total: len(histories), Histories: histories})
	if err != nil {
		return nil, false, err
	}
	m["changelog"] = full
	out, err := json.Marshal(m)
	return out, true, err
}

// cloudChangelog pages GET /rest/api/3/issue/{key}/changelog (oldest first).
func (c *Connector) cloudChangelog(ctx context.Context, key string) ([]json.RawMessage, error) {
	var all []json.RawMessage
	startAt := 0
	for page := 1; page <= maxChangelogPages; page++ {
		var p struct {
			StartAt int               `json:"startAt"`
			Total   int               `json:"total"`
			IsLast  *bool             `json:"isLast"`
			Values  []json.RawMessage `json:"values"`
		}
		path := fmt.Sprintf("rest/api/3/issue/%s/changelog?startAt=%d&maxResults=100", url.PathEscape(key), startAt)
		if err := c.call(ctx, http.MethodGet, path, nil, &p); err != nil {
			return nil, fmt.Errorf("jira: changelog of %s: %w", key, err)
		}
		all = append(all, p.Values...)
		startAt += len(p.Values)
		if len(p.Values) == 0 || (p.IsLast != nil && *p.IsLast) || (p.IsLast == nil && startAt >= p.Total) {
			return all, nil
		}
	}
	return nil, fmt.Errorf("jira: changelog of %s: more than %d pages", key, maxChangelogPages)
}

// dataCenterChangelog reads GET /rest/api/2/issue/{key}?expand=changelog,
// which answers with the whole changelog.
func (c *Connector) dataCenterChangelog(ctx context.Context, key string) ([]json.RawMessage, error) {
	var is struct {
		Changelog *changelog `json:"changelog"`
	}
	path := fmt.Sprintf("rest/api/2/issue/%s?fields=status&expand=changelog", url.PathEscape(key))
	if err := c.call(ctx, http.MethodGet, path, nil, &is); err != nil {
		return nil, fmt.Errorf("jira: changelog of %s: %w", key, err)
	}
	if is.Changelog == nil {
		return nil, fmt.Errorf("jira: changelog of %s: %w: no changelog in the answer", key, connectors.ErrBadResponse)
	}
	if len(is.Changelog.Histories) < is.Changelog.Total {
		return nil, fmt.Errorf("jira: changelog of %s: %w: %d of %d histories returned", key, connectors.ErrBadResponse, len(is.Changelog.Histories), is.Changelog.Total)
	}
	return is.Changelog.Histories, nil
}
