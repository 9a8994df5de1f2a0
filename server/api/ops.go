package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/mapping"
	"github.com/aimsvault/aimsvault/scheduler"
	"github.com/aimsvault/aimsvault/server/access"
	"github.com/aimsvault/aimsvault/server/auth"
)

// coverage answers `coverage --format json` (or, with ?period=FROM..TO,
// `coverage --period --format json`). An auditor's coverage counts only the
// records in its scope, and lists only its scope's controls.
func (a *API) coverage(w http.ResponseWriter, r *http.Request) {
	p := auth.FromContext(r.Context())
	var from, to time.Time
	period := r.URL.Query().Get("period")
	if period != "" {
		var err error
		if from, to, err = mapping.ParsePeriod(period); err != nil {
			a.fail(w, r, invalid("period: %v", err))
			return
		}
	}
	live := a.live()
	now := a.opts.Now()
	cov := mapping.NewCoverage(live.Mapper, live.Sources, now)
	if period == "" && p.Scope.Empty() {
		// Status now needs counts and newest times only: aggregate in SQL
		// rather than decode every leaf.
		err := a.opts.Vault.Groups(r.Context(), live.Mapper.AttributeKeys(), now, func(g evidence.Group) error {
			cov.AddGroup(mapping.Evidence{Kind: g.Kind, Attributes: g.Attributes, Controls: g.Controls}, g.Count, g.Newest, g.NewestAsOf)
			return nil
		})
		if err != nil {
			a.fail(w, r, err)
			return
		}
	} else if f, ok := scoped(evidence.Filter{}, p.Scope); ok {
		err := a.opts.Vault.Records(r.Context(), f, func(rec *evidence.Record) error {
			if !p.Scope.Allows(rec) {
				return nil
			}
			e := mapping.Evidence{Kind: rec.Kind, Attributes: rec.Attributes, Controls: rec.Controls, CollectedAt: rec.CollectedAt}
			if rec.EffectiveAt != nil {
				e.EffectiveAt = *rec.EffectiveAt
			}
			cov.Add(e)
			return nil
		})
		if err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if period != "" {
		rows := []mapping.PeriodStatus{}
		for _, row := range cov.Period(from, to) {
			if p.Scope.AllowsControl(row.Control) {
				rows = append(rows, row)
			}
		}
		writeJSON(w, http.StatusOK, rows)
		return
	}
	rows := []mapping.ControlStatus{}
	for _, row := range cov.Result() {
		if p.Scope.AllowsControl(row.Control) {
			rows = append(rows, row)
		}
	}
	writeJSON(w, http.StatusOK, rows)
}

// controls answers `controls --format json`: the public catalog.
func (a *API) controls(w http.ResponseWriter, r *http.Request) {
	cat := mapping.Catalog()
	out := make([]mapping.ControlView, len(cat))
	for i, e := range cat {
		out[i] = mapping.View(e)
	}
	writeJSON(w, http.StatusOK, out)
}

// connectorView is the `connectors --format json` shape, plus running.
type connectorView struct {
	Name      string  `json:"name"`
	Type      string  `json:"type"`
	Schedule  string  `json:"schedule"`
	LastRun   *string `json:"last_run"`
	LastState string  `json:"last_status"`
	NextRun   *string `json:"next_run"`
	Error     string  `json:"error,omitempty"`
	// Running: a run is in progress or waiting for a slot.
	Running bool `json:"running"`
}

func rfc3339(t time.Time) *string {
	s := t.UTC().Format(time.RFC3339)
	return &s
}

func (a *API) connectors(w http.ResponseWriter, r *http.Request) {
	out := page[connectorView]{Items: []connectorView{}}
	if a.opts.Scheduler != nil {
		for _, st := range a.opts.Scheduler.Status() {
			c := st.Connector
			cv := connectorView{Name: c.Name, Type: c.Type, Schedule: c.Schedule, LastState: "never run", Running: st.Busy}
			if !st.Next.IsZero() {
				cv.NextRun = rfc3339(st.Next)
			}
			if c.Err != nil {
				cv.Error = configMessage(c.Err)
			}
			last, err := a.opts.Vault.LastRun(r.Context(), c.Name, "")
			switch {
			case errors.Is(err, evidence.ErrNotFound):
			case err != nil:
				a.fail(w, r, err)
				return
			default:
				cv.LastRun, cv.LastState = rfc3339(last.StartedAt), last.Status
			}
			out.Items = append(out.Items, cv)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// configMessage renders a connector's config problem on one line; it names
// variables and keys, never values.
func configMessage(err error) string {
	var ce *config.Errors
	if errors.As(err, &ce) {
		var parts []string
		for _, e := range ce.List {
			parts = append(parts, e.Error())
		}
		return strings.Join(parts, "; ")
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

func (a *API) runConnector(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if a.opts.Scheduler == nil {
		notFound(w, "connector")
		return
	}
	id, err := a.opts.Scheduler.Trigger(name)
	switch {
	case errors.Is(err, scheduler.ErrUnknownConnector):
		notFound(w, "connector")
	case errors.Is(err, scheduler.ErrBusy):
		writeError(w, http.StatusConflict, "a run of "+name+" is already in progress")
	case errors.Is(err, scheduler.ErrStopping):
		writeError(w, http.StatusServiceUnavailable, "the scheduler is not running (starting or shutting down)")
	case err != nil:
		a.fail(w, r, err)
	default:
		w.Header().Set("Location", "/api/v1/runs/"+id+"/logs")
		writeJSON(w, http.StatusAccepted, map[string]string{"run": id, "connector": name, "status": "queued"})
	}
}

func (a *API) runs(w http.ResponseWriter, r *http.Request) {
	limit, err := limitParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	pos, _, err := decodeCursor(r, "r")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var (
		before   time.Time
		beforeID string
	)
	if pos != "" {
		ts, id, ok := strings.Cut(pos, "|")
		if before, err = evidence.ParseTime(ts); !ok || err != nil || id == "" {
			a.fail(w, r, invalid("cursor: not a cursor of this listing; pass next_cursor back as it came"))
			return
		}
		beforeID = id
	}
	runs, err := a.opts.Vault.RunsBefore(r.Context(), r.URL.Query().Get("connector"), before, beforeID, limit+1)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := page[evidence.Run]{Items: runs}
	if len(runs) > limit {
		out.Items = runs[:limit]
		last := runs[limit-1]
		out.NextCursor = encodeCursor("r", evidence.FormatTime(last.StartedAt)+"|"+last.ID)
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) runLogs(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := a.opts.Vault.GetRun(r.Context(), id); errors.Is(err, evidence.ErrNotFound) {
		notFound(w, "run")
		return
	} else if err != nil {
		a.fail(w, r, err)
		return
	}
	limit, err := limitParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	from, err := intCursor(r, "l")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	lines, _, err := a.opts.Vault.RunLogsFrom(r.Context(), id, from, limit+1)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := page[evidence.LogLine]{Items: lines}
	if len(lines) > limit {
		out.Items = lines[:limit]
		out.NextCursor = encodeCursor("l", strconv.FormatInt(from+int64(limit), 10))
	}
	writeJSON(w, http.StatusOK, out)
}

// verifyView is `verify --format json` plus the access log's own check;
// ok is true only when both are intact.
type verifyView struct {
	*evidence.Report
	OK        bool           `json:"ok"`
	AccessLog *access.Report `json:"access_log"`
}

func (a *API) verify(w http.ResponseWriter, r *http.Request) {
	rep, err := a.opts.Vault.Verify(r.Context(), "")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	lrep, err := a.opts.Access.Verify(r.Context(), nil)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if rep.Problems == nil {
		rep.Problems = []evidence.Problem{}
	}
	writeJSON(w, http.StatusOK, verifyView{Report: rep, OK: rep.OK && lrep.OK, AccessLog: lrep})
}

type auditPage struct {
	page[*access.Entry]
	Head access.Head `json:"head"`
}

func (a *API) auditLog(w http.ResponseWriter, r *http.Request) {
	limit, err := limitParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	before, err := intCursor(r, "a")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	head, err := a.opts.Access.Head(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	es, err := a.opts.Access.Entries(r.Context(), before, limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := auditPage{page: page[*access.Entry]{Items: es}, Head: head}
	if len(es) == limit && es[len(es)-1].Seq > 1 {
		out.NextCursor = encodeCursor("a", strconv.FormatInt(es[len(es)-1].Seq, 10))
	}
	writeJSON(w, http.StatusOK, out)
}

// tokenView is a token in listings: never its secret.
type tokenView struct {
	*access.Token
	State string `json:"state"`
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := a.opts.Access.Tokens(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := page[tokenView]{Items: []tokenView{}}
	now := a.opts.Now()
	for _, t := range ts {
		out.Items = append(out.Items, tokenView{t, t.State(now)})
	}
	writeJSON(w, http.StatusOK, out)
}

// tokenRequest is POST /api/v1/tokens's body.
type tokenRequest struct {
	Name     string   `json:"name"`
	Role     string   `json:"role"`
	Expires  string   `json:"expires"` // a duration ("90d", "12h"); "" = 90d; "never"
	Period   string   `json:"period"`  // auditors: FROM..TO
	Controls []string `json:"controls"`
}

// DefaultExpiry is a new token's lifetime unless one is given.
const DefaultExpiry = 90 * 24 * time.Hour

// ParseTokenRequest turns the shared inputs of `token create` and POST
// /api/v1/tokens into a NewToken.
func ParseTokenRequest(name, role, expires, period string, controls []string) (access.NewToken, error) {
	nt := access.NewToken{Name: name, Role: access.Role(role), ExpiresIn: DefaultExpiry}
	switch expires {
	case "":
	case "never":
		nt.ExpiresIn = 0
	default:
		d, err := config.ParseDuration(expires)
		if err != nil || d <= 0 {
			return nt, invalid("expires %q: want a positive duration such as 90d or 12h, or never", expires)
		}
		nt.ExpiresIn = d
	}
	if period != "" {
		from, to, err := mapping.ParsePeriod(period)
		if err != nil {
			return nt, invalid("period: %v", err)
		}
		nt.Scope.From, nt.Scope.To = &from, &to
	}
	for _, c := range controls {
		for _, part := range strings.Split(c, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			ids, err := mapping.Expand(part)
			if err != nil {
				return nt, invalid("control %s: %v", part, err)
			}
			nt.Scope.Controls = append(nt.Scope.Controls, ids...)
		}
	}
	return nt, nil
}

// createdToken is the one answer that carries a secret.
type createdToken struct {
	*access.Token
	Secret string `json:"token"`
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request) {
	p := auth.FromContext(r.Context())
	var req tokenRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		a.fail(w, r, invalid("want a JSON body {name, role, expires, period, controls}"))
		return
	}
	nt, err := ParseTokenRequest(req.Name, req.Role, req.Expires, req.Period, req.Controls)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	nt.CreatedBy = p.Label()
	t, secret, err := a.opts.Access.CreateToken(r.Context(), nt)
	if errors.Is(err, access.ErrInvalid) {
		a.fail(w, r, invalid("%v", err))
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	e := a.entry(r, access.ActionTokenNew)
	e.Detail = "created " + t.ID + " (" + t.Name + ", " + string(t.Role) + ")"
	if _, err := a.opts.Access.Append(r.Context(), e); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, createdToken{t, secret})
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) {
	t, err := a.opts.Access.RevokeToken(r.Context(), r.PathValue("ref"))
	if errors.Is(err, access.ErrNotFound) {
		notFound(w, "token")
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	e := a.entry(r, access.ActionTokenDel)
	e.Detail = "revoked " + t.ID + " (" + t.Name + ")"
	if _, err := a.opts.Access.Append(r.Context(), e); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tokenView{t, t.State(a.opts.Now())})
}
