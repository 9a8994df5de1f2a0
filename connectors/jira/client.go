package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	gojira "github.com/andygrunwald/go-jira"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors"
)

// authClient is the http client go-jira gets: the shared client, with the
// credentials set on each request rather than in a transport, so that
// net/http drops them when a redirect leaves the Jira host (an attachment
// served from a media host, a misconfigured proxy).
type authClient struct {
	hc    *http.Client
	email string
	token config.Secret
}

func (a *authClient) Do(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	if a.email != "" {
		r.SetBasicAuth(a.email, a.token.Reveal())
	} else {
		r.Header.Set("Authorization", "Bearer "+a.token.Reveal())
	}
	return a.hc.Do(r)
}

// apiError is a Jira call that ended with a non-2xx status: the shared
// client's redacted *connectors.HTTPError (so connectors.Classify sees auth,
// rate_limited or upstream) and the messages Jira put in its error body.
type apiError struct {
	http     *connectors.HTTPError
	messages []string
}

func (e *apiError) Error() string {
	if len(e.messages) == 0 {
		return e.http.Error()
	}
	status := fmt.Sprintf("%d", e.http.Status)
	if t := http.StatusText(e.http.Status); t != "" {
		status += " " + t
	}
	return fmt.Sprintf("%s %s: %s: %s", e.http.Method, e.http.URL, status, e.message())
}

// message is Jira's own explanation, quoted.
func (e *apiError) message() string {
	if len(e.messages) == 0 {
		return strings.Join(strings.Fields(e.http.Body), " ")
	}
	q := make([]string, len(e.messages))
	for i, m := range e.messages {
		q[i] = fmt.Sprintf("%q", m)
	}
	return strings.Join(q, "; ")
}

func (e *apiError) Unwrap() error { return e.http }

// jiraMessages reads Jira's error body: {"errorMessages": [...], "errors":
// {"field": "message"}}. It returns nil for anything else.
func jiraMessages(body string) []string {
	var b struct {
		ErrorMessages []string          `json:"errorMessages"`
		Errors        map[string]string `json:"errors"`
	}
	if json.Unmarshal([]byte(body), &b) != nil {
		return nil
	}
	out := append([]string(nil), b.ErrorMessages...)
	keys := make([]string, 0, len(b.Errors))
	for k := range b.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+": "+b.Errors[k])
	}
	return out
}

// call sends one request through go-jira's request helpers and decodes the
// JSON answer into v (a json.RawMessage keeps Jira's bytes). A non-2xx
// answer gives an *apiError; a 2xx body that does not decode gives an error
// matching connectors.ErrBadResponse.
func (c *Connector) call(ctx context.Context, method, path string, body, v any) error {
	req, err := c.jc.NewRequestWithContext(ctx, method, path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.jc.Do(req, v)
	if err == nil {
		return nil
	}
	if resp == nil || resp.Response == nil {
		return err // transport error, redacted by the shared client
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		var he *connectors.HTTPError
		if !errors.As(connectors.CheckResponse(resp.Response), &he) {
			return err
		}
		return &apiError{http: he, messages: jiraMessages(he.Body)}
	}
	return fmt.Errorf("%s %s: %w: %v", method, req.URL.Path, connectors.ErrBadResponse, err)
}

// status returns the HTTP status of a failed call, or 0.
func status(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.http.Status
	}
	return 0
}

// identify asks Jira who the credentials belong to (GET /rest/api/2/myself):
// the identity recorded in provenance, and an early, clear auth failure.
func (c *Connector) identify(ctx context.Context) (string, error) {
	var u gojira.User
	err := c.call(ctx, http.MethodGet, "rest/api/2/myself", nil, &u)
	switch st := status(err); {
	case err == nil:
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return "", fmt.Errorf("jira: identify with GET /rest/api/2/myself: %w: check email and token", err)
	case st == http.StatusNotFound:
		return "", connectors.ConfigErrorf("jira: identify with GET /rest/api/2/myself: %v: check base_url (the site root; on Data Center include the context path)", err)
	default:
		return "", fmt.Errorf("jira: identify with GET /rest/api/2/myself: %w", err)
	}
	for _, id := range []string{u.AccountID, u.Name, u.Key, u.DisplayName} {
		if id != "" {
			return id, nil
		}
	}
	return "", fmt.Errorf("jira: identify with GET /rest/api/2/myself: %w: no accountId or name in the answer", connectors.ErrBadResponse)
}

// standardFields are always asked for: what an auditor samples and what
// the attributes are made of.
var standardFields = []string{
	"summary", "issuetype", "status", "priority", "labels", "assignee", "reporter",
	"created", "updated", "resolution", "resolutiondate", "project",
}

// resolveFields returns the field ids to ask for: the standard ones, the
// configured ones (names looked up with GET /rest/api/2/field), and
// "attachment" when attachments are collected.
func (c *Connector) resolveFields(ctx context.Context) ([]string, error) {
	out := append([]string(nil), standardFields...)
	if c.cfg.Attachments == AttachmentsMetadata || c.cfg.Attachments == AttachmentsDownload {
		out = append(out, "attachment")
	}
	var names []string
	for _, f := range c.cfg.Fields {
		f = strings.TrimSpace(f)
		if fieldIDRE.MatchString(f) {
			out = append(out, f)
		} else {
			names = append(names, f)
		}
	}
	if len(names) > 0 {
		var all []gojira.Field
		if err := c.call(ctx, http.MethodGet, "rest/api/2/field", nil, &all); err != nil {
			return nil, fmt.Errorf("jira: look up field names with GET /rest/api/2/field: %w", err)
		}
		var errs []error
		for _, n := range names {
			id, err := fieldByName(all, n)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, id)
		}
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
	}
	seen := map[string]bool{}
	uniq := out[:0]
	for _, f := range out {
		if !seen[f] {
			seen[f] = true
			uniq = append(uniq, f)
		}
	}
	return uniq, nil
}

// fieldByName finds a field's id by its exact name, or else by a
// case-insensitive match that is unique.
func fieldByName(all []gojira.Field, name string) (string, error) {
	var exact, fold []string
	for _, f := range all {
		switch {
		case f.Name == name:
			exact = append(exact, f.ID)
		case strings.EqualFold(f.Name, name):
			fold = append(fold, f.ID)
		}
	}
	for _, ids := range [][]string{exact, fold} {
		switch len(ids) {
		case 0:
			continue
		case 1:
			return ids[0], nil
		default:
			return "", connectors.ConfigErrorf("jira: fields: %q names %d fields (%s): use the field id instead", name, len(ids), strings.Join(ids, ", "))
		}
	}
	return "", connectors.ConfigErrorf("jira: fields: no field is named %q: fix fields[] (a field id such as customfield_10050, or the name Jira shows)", name)
}
