package inventory

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Attributes derived from content at read time. They are never stored: the
// signed record keeps the connector's attributes, and these are recomputed
// from its signed content whenever they are needed. A record attribute of
// the same name wins.
const (
	// AttrTopics: a github.repository's topics, comma-separated, sorted.
	AttrTopics = "topics"
	// AttrCreatedAt: when a GitHub alert was opened (RFC 3339).
	AttrCreatedAt = "created_at"
	// AttrJiraCreated and AttrJiraDueDate: a Jira issue's creation time
	// (RFC 3339) and due date (2006-01-02), when it has one.
	AttrJiraCreated = "jira.created"
	AttrJiraDueDate = "jira.duedate"
)

// MaxContent bounds the content read for derived attributes; larger
// content is not read and yields none.
const MaxContent = 1 << 20

var jiraIssueKinds = []string{"jira.issue", "jira.risk", "jira.incident", "jira.impact_assessment", "jira.change", "jira.corrective_action"}

// ContentKinds says which kinds ContentAttributes derives anything from.
func ContentKinds(kind string) bool {
	switch {
	case kind == "github.repository":
		return true
	case strings.HasPrefix(kind, "github.") && strings.HasSuffix(kind, "_alert"):
		return true
	}
	return slices.Contains(jiraIssueKinds, kind)
}

// ContentAttributes derives attributes from a record's content (the
// upstream's JSON, as the connector stored it). Content it cannot read
// yields nothing: a check then falls back on what the record itself says.
func ContentAttributes(kind string, content []byte) map[string]string {
	out := map[string]string{}
	switch {
	case kind == "github.repository":
		var r struct {
			Topics []string `json:"topics"`
		}
		if json.Unmarshal(content, &r) != nil {
			return nil
		}
		ts := make([]string, 0, len(r.Topics))
		for _, t := range r.Topics {
			ts = append(ts, strings.ToLower(t))
		}
		slices.Sort(ts)
		out[AttrTopics] = strings.Join(slices.Compact(ts), ",")
	case strings.HasPrefix(kind, "github.") && strings.HasSuffix(kind, "_alert"):
		var a struct {
			CreatedAt time.Time `json:"created_at"`
		}
		if json.Unmarshal(content, &a) != nil || a.CreatedAt.IsZero() {
			return nil
		}
		out[AttrCreatedAt] = a.CreatedAt.UTC().Format(time.RFC3339)
	case slices.Contains(jiraIssueKinds, kind):
		var is struct {
			Fields struct {
				Created string `json:"created"`
				DueDate string `json:"duedate"`
			} `json:"fields"`
		}
		if json.Unmarshal(content, &is) != nil {
			return nil
		}
		if t, ok := ParseTime(is.Fields.Created); ok {
			out[AttrJiraCreated] = t.Format(time.RFC3339)
		}
		if _, err := time.Parse(time.DateOnly, is.Fields.DueDate); err == nil {
			out[AttrJiraDueDate] = is.Fields.DueDate
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// timeLayouts are the forms attribute times come in: RFC 3339 (GitHub,
// AWS attributes), Jira's 2026-01-02T15:04:05.000+0000, and plain dates.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700", time.DateOnly}

// ParseTime parses a time attribute in any of the forms connectors write.
func ParseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
