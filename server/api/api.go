// Package api serves aimsvault's REST API under /api/v1, with the paths and
// roles of DESIGN.md's HTTP API table.
//
// Every route authenticates (auth.Authenticate: 401) and then authorises by
// role (auth.Require: 403) before it looks anything up, so a 404 is only
// ever said to a caller entitled to the answer. An auditor token with a
// scope (a period of collected_at, a set of controls) sees only records
// inside it, everywhere: listings, one record (404 outside), its content and
// proof, bundles and coverage.
//
// Every evidence read (a record, its content, its proof), every listing,
// every upload and every bundle download is appended to the access log
// (package access) before the response completes: a read that cannot be
// recorded is refused. A bundle's entry is its receipt, naming the SHA-256
// of exactly the bytes sent; the last bytes of the zip are held back until
// that receipt is durable.
//
// Bodies are JSON in the CLI's --format json shapes. Collections page with
// ?limit=&cursor= and answer {"items": [...], "next_cursor": "..."|null};
// cursors are opaque. Errors are {"error": "..."} with the status: 400
// invalid, 401, 403, 404, 409 conflict, 413 too large, 500 (detail in the
// server log only).
package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/mapping"
	"github.com/aimsvault/aimsvault/scheduler"
	"github.com/aimsvault/aimsvault/server/access"
	"github.com/aimsvault/aimsvault/server/auth"
)

// Scheduler is what the API asks of the daemon's scheduler;
// *scheduler.Scheduler implements it.
type Scheduler interface {
	Trigger(name string) (runID string, err error)
	Status() []scheduler.ConnectorStatus
}

// Live is the part of the config that a reload (SIGHUP) may change.
type Live struct {
	Mapper *mapping.Mapper
	// Sources are the catalog sources of the configured connectors
	// (coverage says "missing" rather than "manual" for them).
	Sources []string
}

// Options configure the API.
type Options struct {
	Vault  *evidence.Vault
	Access *access.DB
	// Scheduler triggers runs and reports connectors; nil: no connectors.
	Scheduler Scheduler
	// Live returns the config in force; called per request.
	Live func() Live
	// MaxUpload bounds an uploaded file (default 1 GiB).
	MaxUpload int64
	// TrustedProxies may set X-Forwarded-For (see auth.ClientIP).
	TrustedProxies []netip.Prefix
	// Logger receives internal errors (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// API is the /api/v1 handler set.
type API struct {
	opts Options
	log  *slog.Logger
}

// New returns the API.
func New(opts Options) *API {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxUpload <= 0 {
		opts.MaxUpload = 1 << 30
	}
	return &API{opts: opts, log: opts.Logger}
}

// Roles per route group, from DESIGN.md's table.
var (
	allRoles   = []access.Role{access.Compliance, access.Auditor, access.Security, access.Admin}
	readers    = []access.Role{access.Compliance, access.Auditor, access.Admin}
	writers    = []access.Role{access.Compliance, access.Admin}
	operations = []access.Role{access.Compliance, access.Security, access.Admin}
	reviewers  = []access.Role{access.Security, access.Admin}
	admins     = []access.Role{access.Admin}
)

// Route is one API endpoint: its ServeMux pattern and who may call it.
type Route struct {
	Pattern string
	Roles   []access.Role
	Handler http.HandlerFunc
}

// Routes lists every endpoint; the authorisation test walks it.
func (a *API) Routes() []Route {
	return []Route{
		{"GET /api/v1/coverage", allRoles, a.coverage},
		{"GET /api/v1/controls", allRoles, a.controls},
		{"GET /api/v1/evidence", readers, a.listEvidence},
		{"POST /api/v1/evidence", writers, a.upload},
		{"GET /api/v1/evidence/{id}", readers, a.getEvidence},
		{"GET /api/v1/evidence/{id}/content", readers, a.content},
		{"GET /api/v1/evidence/{id}/proof", readers, a.proof},
		{"GET /api/v1/bundle", readers, a.bundle},
		{"GET /api/v1/connectors", operations, a.connectors},
		{"POST /api/v1/connectors/{name}/run", writers, a.runConnector},
		{"GET /api/v1/runs", operations, a.runs},
		{"GET /api/v1/runs/{id}/logs", operations, a.runLogs},
		{"GET /api/v1/verify", operations, a.verify},
		{"GET /api/v1/audit-log", reviewers, a.auditLog},
		{"GET /api/v1/tokens", admins, a.listTokens},
		{"POST /api/v1/tokens", admins, a.createToken},
		{"DELETE /api/v1/tokens/{ref}", admins, a.revokeToken},
	}
}

// Mux is where Register mounts the API: *http.ServeMux and *server.Server.
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Register mounts every route on m, each behind authentication and its role
// check, plus a catch-all under /api/v1/ that answers 401 to the
// unauthenticated and 404 (or 405) to others.
func (a *API) Register(m Mux) {
	for _, rt := range a.Routes() {
		m.Handle(rt.Pattern, a.Protect(rt.Roles, rt.Handler))
	}
	m.Handle("/api/v1/", auth.Authenticate(a.opts.Access, a.log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: see the HTTP API table in the README")
	})))
}

// Protect wraps h in authentication and a role check.
func (a *API) Protect(roles []access.Role, h http.Handler) http.Handler {
	return auth.Authenticate(a.opts.Access, a.log, auth.Require(roles, headers(h)))
}

func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

// page is the envelope of every collection.
type page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// badRequest is an error whose message is safe and useful to the caller.
type badRequest struct{ msg string }

func (e badRequest) Error() string { return e.msg }

func invalid(format string, args ...any) error { return badRequest{fmt.Sprintf(format, args...)} }

// fail answers err: a badRequest with 400 and its message, anything else
// with 500 and a generic message, the detail going to the log only.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var br badRequest
	switch {
	case errors.As(err, &br):
		writeError(w, http.StatusBadRequest, br.msg)
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// the client went away; nobody to answer
	default:
		a.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error: the server log has the details")
	}
}

// notFound answers 404 without saying whether the thing exists outside the
// caller's scope.
func notFound(w http.ResponseWriter, what string) {
	writeError(w, http.StatusNotFound, what+" not found")
}

const (
	defaultLimit = 100
	maxLimit     = 1000
)

func limitParam(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, invalid("limit %q: want 1 to %d", s, maxLimit)
	}
	return n, nil
}

// Cursors are opaque to clients: base64url of "<kind>:<position>", so a
// cursor of one listing is refused by another.
func encodeCursor(kind, pos string) *string {
	s := base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + pos))
	return &s
}

func decodeCursor(r *http.Request, kind string) (string, bool, error) {
	c := r.URL.Query().Get("cursor")
	if c == "" {
		return "", false, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	pos, ok := strings.CutPrefix(string(b), kind+":")
	if err != nil || !ok {
		return "", false, invalid("cursor %q: not a cursor of this listing; pass next_cursor back as it came", c)
	}
	return pos, true, nil
}

func intCursor(r *http.Request, kind string) (int64, error) {
	pos, ok, err := decodeCursor(r, kind)
	if err != nil || !ok {
		return 0, err
	}
	n, err := strconv.ParseInt(pos, 10, 64)
	if err != nil || n < 0 {
		return 0, invalid("cursor: not a cursor of this listing; pass next_cursor back as it came")
	}
	return n, nil
}

// entry starts an access log entry for r.
func (a *API) entry(r *http.Request, action string) access.Entry {
	p := auth.FromContext(r.Context())
	return access.Entry{
		TokenID: p.TokenID, TokenName: p.Name, Role: string(p.Role),
		Remote: auth.ClientIP(r, a.opts.TrustedProxies),
		Method: r.Method, Path: r.URL.RequestURI(),
		Action: action, Outcome: access.OutcomeOK,
	}
}

func (a *API) live() Live {
	if a.opts.Live == nil {
		m, _ := mapping.NewMapper(nil)
		return Live{Mapper: m}
	}
	return a.opts.Live()
}
