// Package connectors defines how aimsvault talks to the systems evidence comes
// from: the Connector interface every source implements, the Artifact it emits,
// and the Registry that turns a config block's `type` into a running connector.
//
// A connector knows nothing of the vault or of ISO 42001. It reads a source and
// emits what the source said; the hub hashes, maps and stores it.
package connectors

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// Artifact is one piece of evidence as a source reports it.
//
// Structured content is the upstream's own response for that object, encoded as
// canonical JSON (see CanonicalJSON) so that unchanged upstream data hashes the
// same on every run. Anything a connector computes (a summary, a count) is a
// separate artifact of its own kind, never mixed into the raw one.
type Artifact struct {
	// Kind names what this is, as <type>.<snake_noun>: "github.branch_protection",
	// "file.ai_policy". Mapping rules match on it.
	Kind string
	// Subject is what the evidence is about: a repo, a model, an issue key, an
	// employee id, a file path relative to the connector's root.
	Subject string
	// SourceURL points a person at the object upstream, when there is one.
	SourceURL string
	// MediaType of Content, e.g. "application/json" or "text/markdown".
	MediaType string
	// Attributes are small string facts mapping rules can match on
	// (approval_status=Approved, jira.project=AIRISK). The attribute "controls",
	// a comma-separated list of control IDs, declares controls explicitly (a
	// document's front matter, a manual upload); mapping checks the IDs.
	Attributes map[string]string
	// EffectiveAt is the time the evidence speaks for (an approval date, a
	// training completion), when the source says; zero when unknown. The hub
	// sets collected_at itself.
	EffectiveAt time.Time
	// Provenance says how the artifact was obtained.
	Provenance Provenance
	// Content is read once, to EOF, by the hub, which hashes it while storing
	// it; it may be of any size. If it is also an io.Closer the hub closes it.
	Content io.Reader
}

// Provenance travels with every artifact into its vault record. It never holds
// a secret: no token, no Authorization header, no credential in a query.
type Provenance struct {
	// Method and Endpoint name the request that produced the artifact:
	// "GET" and "/repos/o/r/branches/main/protection", or "read" and a file path.
	Method   string `json:"method,omitempty"`
	Endpoint string `json:"endpoint,omitempty"`
	// Query is the meaningful part of the request that is not in the path:
	// a JQL expression, filters. Never a credential.
	Query string `json:"query,omitempty"`
	// APIVersion the source answered with, when it says.
	APIVersion string `json:"api_version,omitempty"`
	// Identity used to read the source, where the source reports one
	// (a GitHub login, an AWS account and role).
	Identity string `json:"identity,omitempty"`
	// Complete is true when the listing this artifact came from was read in
	// full (every page); false when the connector knows it saw only part.
	Complete bool `json:"complete"`
	// Redacted lists fields stripped from the upstream data before storing
	// (a leaked secret's value, people's names under pii: minimal).
	Redacted []string `json:"redacted,omitempty"`
}

// Connector collects evidence from one configured source.
type Connector interface {
	// Collect calls emit once per artifact, in a stable order where the source
	// allows. It honours ctx: once ctx is done it stops promptly and returns
	// ctx.Err() (or an error wrapping it). It stops at the first error emit
	// returns and returns that error. Otherwise it keeps going across
	// independent subjects and returns errors.Join of what failed, each naming
	// the call ("list branches of org/repo: 404 Not Found"). It never turns
	// "could not read" into "nothing there".
	Collect(ctx context.Context, emit func(Artifact) error) error
}

// Deps is what the hub hands a connector when it builds one; nothing else is
// global.
type Deps struct {
	// Name is the connector's configured name ("github-ml").
	Name string
	// HTTP is the shared client (retries, Retry-After, redaction, User-Agent);
	// see NewHTTPClient. Connectors that speak HTTP use it, or its Transport.
	HTTP *http.Client
	// Logger is already tagged with the connector name, type and run id.
	Logger *slog.Logger
	// Now is the clock; tests replace it.
	Now func() time.Time
}
