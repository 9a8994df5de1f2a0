package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aimsvault/aimsvault/connectors"
)

// issueView is what the connector reads from an issue for attributes and
// derived artifacts; the artifact itself keeps every field Jira sent.
type issueView struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Fields struct {
		Project struct {
			Key string `json:"key"`
		} `json:"project"`
		IssueType struct {
			Name string `json:"name"`
		} `json:"issuetype"`
		Status struct {
			Name           string `json:"name"`
			StatusCategory struct {
				Key string `json:"key"`
			} `json:"statusCategory"`
		} `json:"status"`
		Priority *struct {
			Name string `json:"name"`
		} `json:"priority"`
		Labels     []string `json:"labels"`
		Resolution *struct {
			Name string `json:"name"`
		} `json:"resolution"`
		ResolutionDate string            `json:"resolutiondate"`
		Updated        string            `json:"updated"`
		Created        string            `json:"created"`
		Attachment     []json.RawMessage `json:"attachment"`
	} `json:"fields"`
	Changelog *struct {
		Total     int       `json:"total"`
		Histories []history `json:"histories"`
	} `json:"changelog"`
}

type history struct {
	ID      string  `json:"id"`
	Author  *person `json:"author"`
	Created string  `json:"created"`
	Items   []struct {
		Field      string  `json:"field"`
		FieldType  string  `json:"fieldtype"`
		FieldID    string  `json:"fieldId"`
		FromString *string `json:"fromString"`
		ToString   *string `json:"toString"`
	} `json:"items"`
}

// person is a Jira user as histories and attachments name them: accountId
// on Cloud, name (and key) on Data Center.
type person struct {
	AccountID   string `json:"accountId"`
	Name        string `json:"name"`
	Key         string `json:"key"`
	DisplayName string `json:"displayName"`
}

func (p *person) id() string {
	if p == nil {
		return ""
	}
	for _, s := range []string{p.AccountID, p.Name, p.Key} {
		if s != "" {
			return s
		}
	}
	return ""
}

// attributes are the small facts mapping rules match on. Empty values are
// left out, so that a rule's "*" means "has one".
func (is *issueView) attributes(q Query) map[string]string {
	a := map[string]string{"jira.query": q.Name}
	set := func(k, v string) {
		if v = strings.TrimSpace(v); v != "" {
			a[k] = v
		}
	}
	f := &is.Fields
	set("jira.project", f.Project.Key)
	set("jira.issuetype", f.IssueType.Name)
	set("jira.status", f.Status.Name)
	set("jira.status_category", f.Status.StatusCategory.Key)
	if f.Priority != nil {
		set("jira.priority", f.Priority.Name)
	}
	if f.Resolution != nil {
		set("jira.resolution", f.Resolution.Name)
	}
	labels := slices.Clone(f.Labels)
	slices.Sort(labels)
	set("jira.labels", strings.Join(labels, ","))
	set("controls", strings.Join(q.Controls, ","))
	return a
}

// jiraTimeLayouts are the forms Jira writes times in: REST v2 and v3 use
// 2026-01-02T15:04:05.000+0000.
var jiraTimeLayouts = []string{
	"2006-01-02T15:04:05.000-0700",
	"2006-01-02T15:04:05-0700",
	time.RFC3339Nano,
}

func parseTime(s string) (time.Time, bool) {
	for _, l := range jiraTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// effectiveAt is the resolution date of a resolved issue (when the risk was
// accepted, the incident closed), else the last update.
func (is *issueView) effectiveAt() time.Time {
	for _, s := range []string{is.Fields.ResolutionDate, is.Fields.Updated} {
		if t, ok := parseTime(s); ok {
			return t
		}
	}
	return time.Time{}
}

// transition is one status change in jira.status_history.
type transition struct {
	At          string `json:"at"`
	By          string `json:"by,omitempty"`
	ByName      string `json:"by_name,omitempty"`
	From        string `json:"from"`
	To          string `json:"to"`
	ChangelogID string `json:"changelog_id"`
}

// statusHistory builds the derived jira.status_history content: every
// status transition in the changelog, oldest first. Its time is the last
// transition's, or the issue's when there is none.
func (is *issueView) statusHistory(q Query) ([]byte, time.Time, error) {
	type entry struct {
		t     transition
		at    time.Time
		order int
	}
	var es []entry
	total, n := 0, 0
	if is.Changelog != nil {
		total, n = is.Changelog.Total, len(is.Changelog.Histories)
		for _, h := range is.Changelog.Histories {
			at, _ := parseTime(h.Created)
			id, _ := strconv.Atoi(h.ID)
			for _, it := range h.Items {
				if it.Field != "status" {
					continue
				}
				t := transition{At: at.Format(time.RFC3339Nano), By: h.Author.id(), From: deref(it.FromString), To: deref(it.ToString), ChangelogID: h.ID}
				if h.Author != nil {
					t.ByName = h.Author.DisplayName
				}
				es = append(es, entry{t: t, at: at, order: id})
			}
		}
	}
	// Search returns histories newest first, the changelog endpoint oldest
	// first: sort by time, then by changelog id.
	slices.SortStableFunc(es, func(a, b entry) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.order - b.order
	})
	doc := struct {
		Issue            string       `json:"issue"`
		Kind             string       `json:"kind"`
		Query            string       `json:"query"`
		Status           string       `json:"status"`
		Resolution       string       `json:"resolution,omitempty"`
		ResolvedAt       string       `json:"resolved_at,omitempty"`
		ChangelogRead    bool         `json:"changelog_read"`
		ChangelogEntries int          `json:"changelog_entries"`
		Transitions      []transition `json:"transitions"`
	}{
		Issue:            is.Key,
		Kind:             q.kindOf(),
		Query:            q.Name,
		Status:           is.Fields.Status.Name,
		ChangelogRead:    is.Changelog != nil && n >= total,
		ChangelogEntries: n,
		Transitions:      []transition{},
	}
	if is.Fields.Resolution != nil {
		doc.Resolution = is.Fields.Resolution.Name
	}
	if t, ok := parseTime(is.Fields.ResolutionDate); ok {
		doc.ResolvedAt = t.Format(time.RFC3339Nano)
	}
	at := is.effectiveAt()
	for _, e := range es {
		doc.Transitions = append(doc.Transitions, e.t)
	}
	if len(es) > 0 && !es[len(es)-1].at.IsZero() {
		at = es[len(es)-1].at
	}
	b, err := connectors.CanonicalJSON(doc)
	return b, at, err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// attachmentMeta is what the connector reads from Jira's description of an
// attachment.
type attachmentMeta struct {
	ID       string  `json:"id"`
	Filename string  `json:"filename"`
	Created  string  `json:"created"`
	Size     int64   `json:"size"`
	MimeType string  `json:"mimeType"`
	Content  string  `json:"content"`
	Author   *person `json:"author"`
}

// attachmentError marks a failure of one attachment: reported, and the run
// goes on with the next.
type attachmentError struct{ err error }

func (e attachmentError) Error() string { return e.err.Error() }
func (e attachmentError) Unwrap() error { return e.err }

// emitAttachment emits one attachment of is: its metadata, or with
// attachments: download and a size within the cap, the file itself.
func (c *Connector) emitAttachment(ctx context.Context, is issueView, q Query, prov connectors.Provenance, raw json.RawMessage, emit func(connectors.Artifact) error) error {
	var m attachmentMeta
	if err := json.Unmarshal(raw, &m); err != nil || m.ID == "" {
		return attachmentError{fmt.Errorf("jira: attachment of %s: %w: no id", is.Key, connectors.ErrBadResponse)}
	}
	attrs := map[string]string{"jira.issue": is.Key, "jira.query": q.Name, "jira.kind": q.kindOf()}
	for k, v := range is.attributes(q) {
		if k == "jira.project" || k == "jira.issuetype" {
			attrs[k] = v
		}
	}
	a := connectors.Artifact{
		Kind:       "jira.attachment",
		Subject:    is.Key + "/" + m.ID + "/" + m.Filename,
		SourceURL:  m.Content,
		Attributes: attrs,
		Provenance: prov,
	}
	if t, ok := parseTime(m.Created); ok {
		a.EffectiveAt = t
	}
	download := c.cfg.Attachments == AttachmentsDownload
	if download && m.Size > c.cfg.MaxAttachmentBytes {
		c.log.Warn("jira attachment over max_attachment_bytes: metadata only", "issue", is.Key, "attachment", m.ID, "size", m.Size)
		download = false
	}
	if !download {
		canon, err := connectors.CanonicalJSON(raw)
		if err != nil {
			return attachmentError{fmt.Errorf("jira: attachment %s of %s: %w: %v", m.ID, is.Key, connectors.ErrBadResponse, err)}
		}
		attrs["jira.attachment_content"] = "metadata"
		a.MediaType = "application/json"
		a.Content = strings.NewReader(string(canon))
		return emit(a)
	}
	u, err := c.underBase(m.Content)
	if err != nil {
		return attachmentError{fmt.Errorf("jira: attachment %s of %s: %w", m.ID, is.Key, err)}
	}
	req, err := c.jc.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return attachmentError{fmt.Errorf("jira: attachment %s of %s: %w", m.ID, is.Key, err)}
	}
	req.Header.Del("Content-Type")
	req.Header.Set("Accept", "*/*")
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return attachmentError{fmt.Errorf("jira: download attachment %s of %s: %w", m.ID, is.Key, err)}
	}
	if err := connectors.CheckResponse(resp); err != nil {
		resp.Body.Close()
		return attachmentError{fmt.Errorf("jira: download attachment %s of %s: %w", m.ID, is.Key, err)}
	}
	attrs["jira.attachment_content"] = "file"
	a.MediaType = m.MimeType
	if a.MediaType == "" {
		a.MediaType = "application/octet-stream"
	}
	a.Provenance.Method = http.MethodGet
	a.Provenance.Endpoint = u.Path
	a.Provenance.Query = ""
	a.Content = &cappedBody{rc: resp.Body, left: c.cfg.MaxAttachmentBytes, name: is.Key + "/" + m.ID}
	return emit(a)
}

// underBase resolves an attachment's content URL and refuses one outside
// base_url: credentials go to the Jira site only.
func (c *Connector) underBase(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || s == "" {
		return nil, fmt.Errorf("%w: content URL %q", connectors.ErrBadResponse, s)
	}
	u = c.base.ResolveReference(u)
	if u.Scheme != c.base.Scheme || u.Host != c.base.Host || !strings.HasPrefix(u.Path, c.base.Path) {
		return nil, fmt.Errorf("content URL %s is outside base_url: not downloaded", connectors.RedactURL(u.String()))
	}
	return u, nil
}

// errTooLarge: an attachment grew past max_attachment_bytes while streaming
// (its declared size was smaller).
var errTooLarge = errors.New("attachment larger than max_attachment_bytes")

// cappedBody streams an attachment and fails once it passes the cap.
type cappedBody struct {
	rc   io.ReadCloser
	left int64
	name string
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, fmt.Errorf("jira: attachment %s: %w", b.name, errTooLarge)
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, fmt.Errorf("jira: attachment %s: %w", b.name, errTooLarge)
	}
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }
