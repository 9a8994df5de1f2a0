package jira

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/aimsvault/aimsvault/config"
)

// Deployments.
const (
	DeploymentCloud      = "cloud"
	DeploymentDataCenter = "datacenter"
)

// Attachment modes.
const (
	AttachmentsNone     = "none"
	AttachmentsMetadata = "metadata"
	AttachmentsDownload = "download"
)

// Kinds a query may name. Each gives artifacts of kind "jira.<kind>", which
// the built-in mapping rules know; "issue" maps by issue type instead.
var queryKinds = []string{"issue", "risk", "incident", "impact_assessment", "change", "corrective_action"}

// Config is the `jira` connector's YAML block (beside name, type, schedule
// and timeout, which the config loader handles). See sample.yaml.
type Config struct {
	// BaseURL is the site root: https://example.atlassian.net/ for Cloud,
	// https://jira.example.com/ or https://example.com/jira/ (with the
	// context path) for Data Center. Required.
	BaseURL string `yaml:"base_url"`

	// Deployment is "cloud" or "datacenter". Empty: cloud when the host
	// ends in .atlassian.net or .jira.com, datacenter otherwise. Cloud
	// searches with POST /rest/api/3/search/jql (token pagination); Data
	// Center with GET /rest/api/2/search (startAt pagination).
	Deployment string `yaml:"deployment"`

	// Email and Token authenticate. Cloud: the account's email and an API
	// token, sent as HTTP basic auth. Data Center: a personal access token
	// alone, sent as a bearer token (or, with Email set, a username and
	// password as basic auth).
	Email string        `yaml:"email"`
	Token config.Secret `yaml:"token"`

	// Queries are the evidence families to collect. Required, at least one.
	Queries []Query `yaml:"queries"`

	// Fields are kept beyond the standard ones (key, summary, issue type,
	// status, priority, labels, assignee, reporter, created, updated,
	// resolution, resolution date, project): field ids such as
	// customfield_10050 or description, or custom field names such as
	// "Risk Rating", which are looked up once per run.
	Fields []string `yaml:"fields"`

	// Attachments is "none" (default), "metadata" (one artifact per
	// attachment holding Jira's description of it) or "download" (the file
	// itself, up to MaxAttachmentBytes; larger ones get their metadata).
	Attachments string `yaml:"attachments"`

	// MaxAttachmentBytes caps a downloaded attachment. Default 25 MiB.
	MaxAttachmentBytes int64 `yaml:"max_attachment_bytes"`

	// PageSize is the number of issues asked for per search page (1-100,
	// default 50). Data Center may return fewer; the connector follows.
	PageSize int `yaml:"page_size"`

	// MaxPages bounds the pages read per query (default 200). A query with
	// more pages fails, naming the query, rather than being cut silently.
	MaxPages int `yaml:"max_pages"`
}

// Query is one JQL search and what its issues evidence.
type Query struct {
	// Name identifies the query in errors, logs and the jira.query
	// attribute: [a-z0-9][a-z0-9_-]*. Required, unique.
	Name string `yaml:"name"`
	// JQL selects the issues. Required. Jira Cloud rejects a query with
	// no restriction (add one, such as project = AIRISK).
	JQL string `yaml:"jql"`
	// Kind names the evidence family: issue (default; mapped by issue
	// type), risk, incident, impact_assessment, change or
	// corrective_action. Artifacts are of kind jira.<kind>.
	Kind string `yaml:"kind"`
	// Controls are control IDs every issue of this query evidences, beside
	// what the built-in rules give ("6.1.2", "A.5.3").
	Controls []string `yaml:"controls"`
}

const (
	defaultPageSize           = 50
	maxPageSize               = 100
	defaultMaxPages           = 200
	defaultMaxAttachmentBytes = 25 << 20
)

func defaultConfig() Config {
	return Config{
		Attachments:        AttachmentsNone,
		MaxAttachmentBytes: defaultMaxAttachmentBytes,
		PageSize:           defaultPageSize,
		MaxPages:           defaultMaxPages,
	}
}

var (
	queryNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	// fieldIDRE is what Jira field ids look like: system fields
	// (description, duedate, fixVersions) and customfield_NNNNN. Anything
	// else (a space, a capital first letter) is a field name to look up.
	fieldIDRE = regexp.MustCompile(`^(customfield_[0-9]+|[a-z][A-Za-z0-9]*)$`)
)

// Validate reports every problem in c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("jira: "+format, args...)) }
	if c.BaseURL == "" {
		bad("base_url is required: the site root, e.g. https://example.atlassian.net/")
	} else if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("base_url must be an http(s) URL with a host, e.g. https://example.atlassian.net/")
	} else if u.User != nil || u.RawQuery != "" {
		bad("base_url must not hold credentials or a query: use email and token")
	}
	switch c.Deployment {
	case "", DeploymentCloud, DeploymentDataCenter:
	default:
		bad("deployment %q is not allowed: use cloud or datacenter (or leave it unset to guess from the host)", c.Deployment)
	}
	if c.Token == "" {
		bad("token is required: a Cloud API token (with email) or a Data Center personal access token")
	}
	if c.deployment() == DeploymentCloud && c.Email == "" {
		bad("email is required on Jira Cloud: API tokens are sent with the account's email")
	}
	if len(c.Queries) == 0 {
		bad("queries is empty: add at least one {name, jql}, e.g. name: risks, jql: project = AIRISK")
	}
	seen := map[string]bool{}
	for i, q := range c.Queries {
		switch {
		case q.Name == "":
			bad("queries[%d].name is required", i)
		case !queryNameRE.MatchString(q.Name):
			bad("queries[%d].name %q is not allowed: use [a-z0-9][a-z0-9_-]*", i, q.Name)
		case seen[q.Name]:
			bad("queries[%d].name %q is used twice", i, q.Name)
		}
		seen[q.Name] = true
		if strings.TrimSpace(q.JQL) == "" {
			bad("queries[%d] (%s).jql is required: Jira refuses an unrestricted search", i, q.Name)
		}
		if q.Kind != "" && !slices.Contains(queryKinds, q.Kind) {
			bad("queries[%d] (%s).kind %q is not allowed: use one of %s, and controls for anything else", i, q.Name, q.Kind, strings.Join(queryKinds, ", "))
		}
		for j, id := range q.Controls {
			if strings.TrimSpace(id) == "" || strings.Contains(id, ",") {
				bad("queries[%d] (%s).controls[%d] %q is not a control ID", i, q.Name, j, id)
			}
		}
	}
	for i, f := range c.Fields {
		if strings.TrimSpace(f) == "" || strings.Contains(f, ",") {
			bad("fields[%d] %q is not a field id or name", i, f)
		}
	}
	switch c.Attachments {
	case "", AttachmentsNone, AttachmentsMetadata, AttachmentsDownload:
	default:
		bad("attachments %q is not allowed: use none, metadata or download", c.Attachments)
	}
	if c.MaxAttachmentBytes <= 0 {
		bad("max_attachment_bytes must be positive")
	}
	if c.PageSize < 1 || c.PageSize > maxPageSize {
		bad("page_size %d is not allowed: use 1 to %d", c.PageSize, maxPageSize)
	}
	if c.MaxPages < 1 {
		bad("max_pages must be at least 1")
	}
	return errors.Join(errs...)
}

// deployment is the configured deployment, or the one the host suggests.
func (c Config) deployment() string {
	if c.Deployment != "" {
		return c.Deployment
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return DeploymentDataCenter
	}
	h := strings.ToLower(u.Hostname())
	if strings.HasSuffix(h, ".atlassian.net") || strings.HasSuffix(h, ".jira.com") {
		return DeploymentCloud
	}
	return DeploymentDataCenter
}

// kindOf is the artifact kind of q's issues.
func (q Query) kindOf() string {
	if q.Kind == "" {
		return "jira.issue"
	}
	return "jira." + q.Kind
}
