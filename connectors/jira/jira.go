// Package jira implements the `jira` connector: it runs the configured JQL
// queries (a risk register, AI incidents, impact assessments, change
// requests, corrective actions) against Jira Cloud or Data Center through
// github.com/andygrunwald/go-jira v1.16.0 and emits, per issue and query:
//
//   - jira.<kind> (jira.issue, jira.risk, ...): the issue as Jira's search
//     returned it (standard fields, requested custom fields and the
//     changelog), canonical JSON. When search cut a long changelog short,
//     the full changelog is fetched and replaces the inline one, each
//     history exactly as Jira sent it.
//   - jira.status_history (derived): the status transitions read from that
//     changelog — from, to, who, when — the approval trail auditors sample.
//   - jira.attachment, when `attachments` is metadata or download: Jira's
//     description of each attachment, or the file itself, linked to its
//     issue by the jira.issue attribute.
//
// Cloud is searched with POST /rest/api/3/search/jql and nextPageToken (the
// older search endpoints answer 410 Gone there); Data Center with GET
// /rest/api/2/search and startAt. A query's issues are spooled to a private
// temporary file until its last page has been read, so that each artifact's
// provenance can say whether the listing was complete without holding the
// listing in memory.
package jira

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"

	gojira "github.com/andygrunwald/go-jira"

	"github.com/aimsvault/aimsvault/connectors"
)

//go:embed sample.yaml
var sample string

// Type registers the connector as `type: jira`; it supplies the catalog
// source "jira".
var Type = connectors.Define("jira", "jira", sample, defaultConfig, New)

// Connector collects issues from one Jira site.
type Connector struct {
	cfg        Config
	deployment string
	base       *url.URL
	jc         *gojira.Client
	hc         *authClient
	log        *slog.Logger
}

var _ connectors.Connector = (*Connector)(nil)

// New builds a connector from a decoded config; it validates cfg first.
func New(cfg Config, deps connectors.Deps) (connectors.Connector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Attachments == "" {
		cfg.Attachments = AttachmentsNone
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("jira: base_url: %w", err)
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	hc := deps.HTTP
	if hc == nil {
		hc = connectors.NewHTTPClient(connectors.HTTPOptions{Secrets: []string{cfg.Token.Reveal()}})
	}
	hc = connectors.LimitBodies(hc, maxResponse(cfg))
	auth := &authClient{hc: hc, email: cfg.Email, token: cfg.Token}
	jc, err := gojira.NewClient(auth, base.String())
	if err != nil {
		return nil, fmt.Errorf("jira: %w", err)
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Connector{cfg: cfg, deployment: cfg.deployment(), base: base, jc: jc, hc: auth, log: log}, nil
}

// apiVersion is the REST API version the searches use.
func (c *Connector) apiVersion() string {
	if c.deployment == DeploymentCloud {
		return "3"
	}
	return "2"
}

// searchEndpoint is the path, context path included, that provenance names.
func (c *Connector) searchEndpoint() string {
	p := dcSearchPath
	if c.deployment == DeploymentCloud {
		p = cloudSearchPath
	}
	return c.base.ResolveReference(&url.URL{Path: p}).Path
}

func (c *Connector) searchMethod() string {
	if c.deployment == DeploymentCloud {
		return "POST"
	}
	return "GET"
}

// Collect identifies the account, resolves field names, then runs every
// query in order. A query that fails is reported in the returned error
// (errors.Join, one entry per query) and the next one runs; what it read
// before failing is emitted with Complete false. An error from emit, or ctx
// ending, stops the run.
func (c *Connector) Collect(ctx context.Context, emit func(connectors.Artifact) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	identity, err := c.identify(ctx)
	if err != nil {
		return err
	}
	fields, err := c.resolveFields(ctx)
	if err != nil {
		return err
	}
	var emitErr error
	stopEmit := func(a connectors.Artifact) error {
		if err := emit(a); err != nil {
			emitErr = err
			return err
		}
		return nil
	}
	var errs []error
	for _, q := range c.cfg.Queries {
		err := c.collectQuery(ctx, q, fields, identity, stopEmit)
		if emitErr != nil {
			return emitErr
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return errors.Join(append(errs, ctxErr)...)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// collectQuery lists q's issues into a spool, then emits them with the
// listing's completeness. It returns the listing's error, joined with those
// of attachments that could not be read.
func (c *Connector) collectQuery(ctx context.Context, q Query, fields []string, identity string, emit func(connectors.Artifact) error) error {
	sp, err := newSpool()
	if err != nil {
		return fmt.Errorf("jira: query %q: %w", q.Name, err)
	}
	defer sp.close()
	fetched := 0
	complete, listErr := c.search(ctx, q, fields, func(raw json.RawMessage) error {
		full, didFetch, err := c.completeChangelog(ctx, raw)
		if err != nil {
			return fmt.Errorf("jira: query %q: %w", q.Name, err)
		}
		if didFetch {
			fetched++
		}
		canon, err := connectors.CanonicalJSON(full)
		if err != nil {
			return fmt.Errorf("jira: query %q: %w: %v", q.Name, connectors.ErrBadResponse, err)
		}
		return sp.add(canon)
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	complete = complete && listErr == nil
	c.log.Debug("jira query listed", "query", q.Name, "issues", sp.n, "complete", complete, "changelogs_fetched", fetched)

	prov := connectors.Provenance{
		Method:     c.searchMethod(),
		Endpoint:   c.searchEndpoint(),
		Query:      q.JQL,
		APIVersion: c.apiVersion(),
		Identity:   identity,
		Complete:   complete,
	}
	var errs []error
	if listErr != nil {
		errs = append(errs, listErr)
	}
	err = sp.each(func(canon []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		aerrs, err := c.emitIssue(ctx, q, prov, canon, emit)
		errs = append(errs, aerrs...)
		return err
	})
	if err != nil {
		return err // emit failed, ctx ended or the spool broke
	}
	return errors.Join(errs...)
}

// emitIssue emits one issue, its status history and its attachments. It
// returns attachment failures separately from errors that stop the run.
func (c *Connector) emitIssue(ctx context.Context, q Query, prov connectors.Provenance, canon []byte, emit func(connectors.Artifact) error) ([]error, error) {
	var is issueView
	if err := json.Unmarshal(canon, &is); err != nil {
		return nil, fmt.Errorf("jira: spool: %w", err)
	}
	attrs := is.attributes(q)
	source := c.base.ResolveReference(&url.URL{Path: "browse/" + is.Key}).String()
	if err := emit(connectors.Artifact{
		Kind:        q.kindOf(),
		Subject:     is.Key,
		SourceURL:   source,
		MediaType:   "application/json",
		Attributes:  attrs,
		EffectiveAt: is.effectiveAt(),
		Provenance:  prov,
		Content:     bytes.NewReader(canon),
	}); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	hist, at, err := is.statusHistory(q)
	if err != nil {
		return nil, err
	}
	hattrs := is.attributes(q)
	delete(hattrs, "controls") // derived: the raw issue carries the declared controls
	hattrs["jira.kind"] = q.kindOf()
	if err := emit(connectors.Artifact{
		Kind:        "jira.status_history",
		Subject:     is.Key,
		SourceURL:   source,
		MediaType:   "application/json",
		Attributes:  hattrs,
		EffectiveAt: at,
		Provenance:  prov,
		Content:     bytes.NewReader(hist),
	}); err != nil {
		return nil, err
	}
	if c.cfg.Attachments == AttachmentsNone {
		return nil, nil
	}
	var errs []error
	for _, raw := range is.Fields.Attachment {
		if err := ctx.Err(); err != nil {
			return errs, err
		}
		err := c.emitAttachment(ctx, is, q, prov, raw, emit)
		var ae attachmentError
		if errors.As(err, &ae) {
			errs = append(errs, err)
			continue
		}
		if err != nil {
			return errs, err
		}
	}
	return errs, nil
}

// spool holds a query's issues (canonical JSON, one per line: canonical
// JSON never holds a raw newline) in a temporary file readable only by us,
// removed when the query is done.
type spool struct {
	f *os.File
	w *bufio.Writer
	n int
}

func newSpool() (*spool, error) {
	f, err := os.CreateTemp("", "aimsvault-jira-*.jsonl")
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	return &spool{f: f, w: bufio.NewWriter(f)}, nil
}

func (s *spool) add(canon []byte) error {
	if bytes.IndexByte(canon, '\n') >= 0 {
		return errors.New("spool: canonical JSON holds a newline")
	}
	s.n++
	if _, err := s.w.Write(canon); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := s.w.WriteByte('\n'); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

// each calls f with every spooled issue, in the order they were added.
func (s *spool) each(f func([]byte) error) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	r := bufio.NewReader(s.f)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			if ferr := f(line[:len(line)-1]); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
}

func (s *spool) close() {
	s.f.Close()
	os.Remove(s.f.Name())
}

// maxResponse bounds one answer from Jira: a listing page, or an attachment
// download, which max_attachment_bytes already caps.
func maxResponse(cfg Config) int64 {
	return max(connectors.DefaultMaxResponse, cfg.MaxAttachmentBytes+1)
}
