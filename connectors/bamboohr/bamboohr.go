// Package bamboohr implements the `bamboohr` connector: it reads BambooHR's
// API (plain net/http over the shared client) and emits, as ISO 42001 7.2,
// 7.3, A.4.6 and A.3.2 evidence:
//
//   - bamboohr.training_type: each training type (GET training/type).
//   - bamboohr.employee: each employee of an ad-hoc custom report (POST
//     reports/custom?format=JSON) asking for ids, status, hire and
//     termination dates, department, division, job title, location and
//     supervisor id; names and work e-mail only under pii: full.
//   - bamboohr.training_record: each training record of each current
//     employee (GET training/record/employee/{id}); effective_at is the
//     completion date.
//   - bamboohr.training_roster and bamboohr.training_summary (derived), per
//     required training: who is in scope, completed on, due on, overdue.
//
// BambooHR answers XML unless Accept: application/json is sent; it answers
// training records as an object keyed by record id, or [] when there are
// none; it writes empty dates as 0000-00-00; and it answers 503 with
// Retry-After when rate limiting, which the shared client waits out.
package bamboohr

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aimsvault/aimsvault/connectors"
	"github.com/aimsvault/aimsvault/connectors/internal/hrtraining"
)

//go:embed sample.yaml
var sample string

// Type registers the connector as `type: bamboohr`; it supplies the catalog
// source "hr_training".
var Type = connectors.Define("bamboohr", "hr_training", sample, defaultConfig, New)

// Kinds the connector emits.
const (
	KindEmployee        = "bamboohr.employee"
	KindTrainingType    = "bamboohr.training_type"
	KindTrainingRecord  = "bamboohr.training_record"
	KindTrainingRoster  = "bamboohr.training_roster"
	KindTrainingSummary = "bamboohr.training_summary"
)

// reportFields are asked for in every employee report: enough to decide
// scope and due dates, and no personal data beyond the pii setting.
var reportFields = []string{
	"id", "employeeNumber", "status", "hireDate", "terminationDate",
	"department", "division", "jobTitle", "location", "supervisorEId",
}

// fullFields are asked for only under pii: full.
var fullFields = []string{"displayName", "firstName", "lastName", "preferredName", "workEmail"}

// piiKeys are removed, at any depth, from everything stored under pii:
// minimal: people's names, e-mail addresses, phones and addresses. They are
// not asked for either; this catches what BambooHR sends anyway (a training
// record's instructor).
var piiKeys = map[string]bool{
	"displayName": true, "firstName": true, "lastName": true, "middleName": true,
	"preferredName": true, "nickname": true, "fullName1": true, "fullName2": true,
	"fullName3": true, "fullName4": true, "fullName5": true,
	"workEmail": true, "homeEmail": true, "bestEmail": true, "email": true,
	"supervisor": true, "supervisorEmail": true, "instructor": true,
	"workPhone": true, "workPhoneExtension": true, "mobilePhone": true, "homePhone": true,
	"address1": true, "address2": true, "city": true, "state": true, "zipcode": true,
	"country": true, "dateOfBirth": true, "ssn": true, "linkedIn": true, "photoUrl": true,
}

// Connector collects from one BambooHR company.
type Connector struct {
	cfg  Config
	api  *url.URL // .../api/gateway.php/{company}/v1/
	hc   *http.Client
	log  *slog.Logger
	now  func() time.Time
	drop map[string]bool // keys removed before storing; empty under pii: full
}

var _ connectors.Connector = (*Connector)(nil)

// New builds a connector from a decoded config; it validates cfg first.
func New(cfg Config, deps connectors.Deps) (connectors.Connector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("bamboohr: base_url: %w", err)
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	api := base.ResolveReference(&url.URL{Path: "api/gateway.php/" + url.PathEscape(cfg.Company) + "/v1/"})
	hc := deps.HTTP
	if hc == nil {
		hc = connectors.NewHTTPClient(connectors.HTTPOptions{Secrets: []string{cfg.APIKey.Reveal()}})
	}
	hc = connectors.LimitBodies(hc, connectors.DefaultMaxResponse)
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	c := &Connector{cfg: cfg, api: api, hc: hc, log: log, now: now, drop: map[string]bool{}}
	if cfg.pii() == hrtraining.PIIMinimal {
		c.drop = piiKeys
	}
	return c, nil
}

// apiError is a BambooHR call that ended with a non-2xx status: the shared
// client's redacted *connectors.HTTPError (so connectors.Classify sees auth,
// rate_limited or upstream) and BambooHR's own explanation, which it sends in
// the X-BambooHR-Error-Message header.
type apiError struct {
	http *connectors.HTTPError
	msg  string
	hint string
}

func (e *apiError) Error() string {
	s := e.http.Error()
	if e.msg != "" {
		s += ": " + strconv.Quote(e.msg)
	}
	if e.hint != "" {
		s += ": " + e.hint
	}
	return s
}

func (e *apiError) Unwrap() error { return e.http }

// call sends one request to path (relative to the v1 API root) and returns
// the body and the endpoint path for provenance. Credentials are set on the
// request itself, so a redirect off the host drops them.
func (c *Connector) call(ctx context.Context, method, path string, query url.Values, body []byte) ([]byte, string, error) {
	u := c.api.ResolveReference(&url.URL{Path: path, RawQuery: query.Encode()})
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, u.Path, fmt.Errorf("bamboohr: %s %s: %w", method, u.Path, err)
	}
	req.SetBasicAuth(c.cfg.APIKey.Reveal(), "x")
	req.Header.Set("Accept", "application/json") // XML otherwise
	if body != nil {
		// BambooHR parses anything but exactly application/json as XML.
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, u.Path, ctxErr
		}
		return nil, u.Path, fmt.Errorf("bamboohr: %s %s: %w", method, u.Path, err)
	}
	defer resp.Body.Close()
	if err := connectors.CheckResponse(resp); err != nil {
		var he *connectors.HTTPError
		if !errors.As(err, &he) {
			return nil, u.Path, err
		}
		ae := &apiError{http: he, msg: resp.Header.Get("X-BambooHR-Error-Message")}
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			ae.hint = "check api_key"
		case http.StatusForbidden:
			ae.hint = "the API key's user lacks permission to see this"
		}
		return nil, u.Path, ae
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, u.Path, ctxErr
		}
		return nil, u.Path, fmt.Errorf("bamboohr: %s %s: read body: %w", method, u.Path, err)
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '<' {
		return nil, u.Path, fmt.Errorf("bamboohr: %s %s: %w: answered XML, not JSON", method, u.Path, connectors.ErrBadResponse)
	}
	return b, u.Path, nil
}

// keyed is one item of BambooHR's "object keyed by id" answers.
type keyed struct {
	id  string
	raw json.RawMessage
}

// decodeKeyed reads an object keyed by id, or an array ([] when there is
// nothing), and returns the items sorted by id.
func decodeKeyed(b []byte) ([]keyed, error) {
	t := bytes.TrimSpace(b)
	var out []keyed
	switch {
	case len(t) > 0 && t[0] == '[':
		var arr []json.RawMessage
		if err := json.Unmarshal(t, &arr); err != nil {
			return nil, err
		}
		for _, raw := range arr {
			var f struct {
				ID json.RawMessage `json:"id"`
			}
			if err := json.Unmarshal(raw, &f); err != nil {
				return nil, err
			}
			out = append(out, keyed{id: str(f.ID), raw: raw})
		}
	default:
		var m map[string]json.RawMessage
		if err := json.Unmarshal(t, &m); err != nil {
			return nil, err
		}
		for k, raw := range m {
			out = append(out, keyed{id: k, raw: raw})
		}
	}
	slices.SortFunc(out, func(a, b keyed) int { return hrtraining.CompareIDs(a.id, b.id) })
	return out, nil
}

// str reads a JSON string, number or null as a string.
func str(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(t, &s) == nil {
		return strings.TrimSpace(s)
	}
	return string(t)
}

// truthy reads BambooHR's booleans, which come as true, 1, "yes" or "true".
func truthy(raw json.RawMessage) bool {
	switch strings.ToLower(str(raw)) {
	case "true", "1", "yes":
		return true
	}
	return false
}

func atoi(raw json.RawMessage) int {
	n, _ := strconv.Atoi(str(raw))
	return n
}

// day parses BambooHR's dates; "", null and 0000-00-00 are zero.
func day(raw json.RawMessage) time.Time {
	s := str(raw)
	if s == "" || strings.HasPrefix(s, "0000-00-00") {
		return time.Time{}
	}
	if len(s) > 10 {
		s = s[:10]
	}
	t, err := time.Parse(hrtraining.DateLayout, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// trainingType is what the connector reads of a training type.
type trainingType struct {
	id, name        string
	renewalMonths   int
	dueFromHireDate int
}

// employee is what the connector reads of an employee.
type employee struct {
	id, department, jobTitle, division string
	hired                              time.Time
	current                            bool
	records                            []record
	recordsErr                         bool // the records could not be read
}

type record struct {
	typeID    string
	completed time.Time
}

// Collect reads training types, the employee report and each current
// employee's training records, emitting them as it goes, then the roster
// and summary of each required training. A required training that names no
// training type, or an employee whose records could not be read, is
// reported in the returned error (errors.Join) and the run goes on; such an
// employee shows as "unknown" in the rosters, never as not completed. An
// error from emit, or ctx ending, stops the run.
func (c *Connector) Collect(ctx context.Context, emit func(connectors.Artifact) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := c.now().UTC()
	var errs []error

	types, err := c.collectTypes(ctx, emit)
	if err != nil {
		return err
	}
	resolved := make([]*trainingType, len(c.cfg.RequiredTrainings))
	for i, rt := range c.cfg.RequiredTrainings {
		if resolved[i] = findType(types, rt.Training); resolved[i] == nil {
			names := make([]string, len(types))
			for j, t := range types {
				names[j] = fmt.Sprintf("%q (%s)", t.name, t.id)
			}
			errs = append(errs, connectors.ConfigErrorf("bamboohr: required_trainings[%d]: no training type is named %q: use one of %s", i, rt.Training, strings.Join(names, ", ")))
		}
	}

	emps, err := c.collectEmployees(ctx, now, emit)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, e := range emps {
		if !e.current {
			continue
		}
		if err := c.collectRecords(ctx, e, emit); err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			var ee emitError
			if errors.As(err, &ee) {
				return ee.err
			}
			e.recordsErr = true
			errs = append(errs, err)
		}
	}

	for i, rt := range c.cfg.RequiredTrainings {
		if resolved[i] == nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.emitRoster(rt, resolved[i], emps, now, emit); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// emitError marks an error emit returned, which stops the run.
type emitError struct{ err error }

func (e emitError) Error() string { return e.err.Error() }
func (e emitError) Unwrap() error { return e.err }

func findType(types []trainingType, want string) *trainingType {
	want = strings.TrimSpace(want)
	for i := range types {
		if types[i].id == want {
			return &types[i]
		}
	}
	for i := range types {
		if strings.EqualFold(types[i].name, want) {
			return &types[i]
		}
	}
	return nil
}

func (c *Connector) collectTypes(ctx context.Context, emit func(connectors.Artifact) error) ([]trainingType, error) {
	b, endpoint, err := c.call(ctx, http.MethodGet, "training/type", nil, nil)
	var ae *apiError
	if errors.As(err, &ae) && ae.http.Status == http.StatusNotFound {
		// The first call: a 404 here means no such company or API root.
		return nil, connectors.ConfigErrorf("bamboohr: list training types: %v: check company (the subdomain) and base_url (the API host root)", err)
	}
	if err != nil {
		return nil, fmt.Errorf("bamboohr: list training types: %w", err)
	}
	items, err := decodeKeyed(b)
	if err != nil {
		return nil, fmt.Errorf("bamboohr: GET %s: %w: %v", endpoint, connectors.ErrBadResponse, err)
	}
	var out []trainingType
	for _, it := range items {
		var f struct {
			ID              json.RawMessage `json:"id"`
			Name            json.RawMessage `json:"name"`
			Renewable       json.RawMessage `json:"renewable"`
			Frequency       json.RawMessage `json:"frequency"`
			DueFromHireDate json.RawMessage `json:"dueFromHireDate"`
			Required        json.RawMessage `json:"required"`
		}
		if err := json.Unmarshal(it.raw, &f); err != nil {
			return nil, fmt.Errorf("bamboohr: GET %s: %w: training type %s: %v", endpoint, connectors.ErrBadResponse, it.id, err)
		}
		t := trainingType{id: it.id, name: str(f.Name), dueFromHireDate: atoi(f.DueFromHireDate)}
		if id := str(f.ID); id != "" {
			t.id = id
		}
		if truthy(f.Renewable) {
			t.renewalMonths = atoi(f.Frequency)
		}
		out = append(out, t)
		content, redacted, err := hrtraining.Strip(it.raw, c.drop)
		if err != nil {
			return nil, fmt.Errorf("bamboohr: GET %s: training type %s: %w", endpoint, t.id, err)
		}
		if err := emit(connectors.Artifact{
			Kind:       KindTrainingType,
			Subject:    "training_type/" + t.id,
			MediaType:  "application/json",
			Attributes: map[string]string{"bamboohr.training_type": t.name, "required": strconv.FormatBool(truthy(f.Required))},
			Provenance: connectors.Provenance{Method: http.MethodGet, Endpoint: endpoint, APIVersion: "v1", Complete: true, Redacted: redacted},
			Content:    bytes.NewReader(content),
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (c *Connector) collectEmployees(ctx context.Context, now time.Time, emit func(connectors.Artifact) error) ([]*employee, error) {
	fields := slices.Clone(reportFields)
	withheld := fullFields
	if c.cfg.pii() == hrtraining.PIIFull {
		fields = append(fields, fullFields...)
		withheld = nil
	}
	body, err := json.Marshal(map[string]any{"title": "aimsvault employees", "fields": fields})
	if err != nil {
		return nil, err
	}
	b, endpoint, err := c.call(ctx, http.MethodPost, "reports/custom", url.Values{"format": {"JSON"}}, body)
	if err != nil {
		return nil, fmt.Errorf("bamboohr: employee report: %w", err)
	}
	var rep struct {
		Employees []json.RawMessage `json:"employees"`
	}
	if err := json.Unmarshal(b, &rep); err != nil || rep.Employees == nil {
		if err == nil {
			err = errors.New(`no "employees" in the answer`)
		}
		return nil, fmt.Errorf("bamboohr: POST %s: %w: %v", endpoint, connectors.ErrBadResponse, err)
	}
	var emps []*employee
	raws := map[*employee]json.RawMessage{}
	for _, raw := range rep.Employees {
		var f struct {
			ID              json.RawMessage `json:"id"`
			Status          json.RawMessage `json:"status"`
			HireDate        json.RawMessage `json:"hireDate"`
			TerminationDate json.RawMessage `json:"terminationDate"`
			Department      json.RawMessage `json:"department"`
			Division        json.RawMessage `json:"division"`
			JobTitle        json.RawMessage `json:"jobTitle"`
		}
		if err := json.Unmarshal(raw, &f); err != nil || str(f.ID) == "" {
			return nil, fmt.Errorf("bamboohr: POST %s: %w: an employee without an id", endpoint, connectors.ErrBadResponse)
		}
		term := day(f.TerminationDate)
		e := &employee{
			id: str(f.ID), department: str(f.Department), jobTitle: str(f.JobTitle), division: str(f.Division),
			hired:   day(f.HireDate),
			current: !strings.EqualFold(str(f.Status), "Inactive") && (term.IsZero() || term.After(now)),
		}
		emps = append(emps, e)
		raws[e] = raw
	}
	slices.SortFunc(emps, func(a, b *employee) int { return hrtraining.CompareIDs(a.id, b.id) })
	query := "fields=" + strings.Join(fields, ",")
	for _, e := range emps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		content, stripped, err := hrtraining.Strip(raws[e], c.drop)
		if err != nil {
			return nil, fmt.Errorf("bamboohr: POST %s: employee %s: %w", endpoint, e.id, err)
		}
		attrs := map[string]string{"bamboohr.employee_id": e.id, "current": strconv.FormatBool(e.current)}
		if e.department != "" {
			attrs["department"] = e.department
		}
		if e.jobTitle != "" {
			attrs["job_title"] = e.jobTitle
		}
		if err := emit(connectors.Artifact{
			Kind:       KindEmployee,
			Subject:    "employee/" + e.id,
			SourceURL:  c.employeeURL(e.id),
			MediaType:  "application/json",
			Attributes: attrs,
			Provenance: connectors.Provenance{
				Method: http.MethodPost, Endpoint: endpoint, Query: query, APIVersion: "v1",
				Complete: true, Redacted: hrtraining.MergeRedacted(withheld, stripped),
			},
			Content: bytes.NewReader(content),
		}); err != nil {
			return nil, err
		}
	}
	return emps, nil
}

// employeeURL is the employee's page in BambooHR.
func (c *Connector) employeeURL(id string) string {
	return "https://" + c.cfg.Company + ".bamboohr.com/employees/employee.php?id=" + url.QueryEscape(id)
}

func (c *Connector) collectRecords(ctx context.Context, e *employee, emit func(connectors.Artifact) error) error {
	b, endpoint, err := c.call(ctx, http.MethodGet, "training/record/employee/"+url.PathEscape(e.id), nil, nil)
	if err != nil {
		return fmt.Errorf("bamboohr: training records of employee %s: %w", e.id, err)
	}
	items, err := decodeKeyed(b)
	if err != nil {
		return fmt.Errorf("bamboohr: GET %s: %w: %v", endpoint, connectors.ErrBadResponse, err)
	}
	for _, it := range items {
		var f struct {
			ID        json.RawMessage `json:"id"`
			Completed json.RawMessage `json:"completed"`
			Type      json.RawMessage `json:"type"`
		}
		if err := json.Unmarshal(it.raw, &f); err != nil {
			return fmt.Errorf("bamboohr: GET %s: %w: record %s: %v", endpoint, connectors.ErrBadResponse, it.id, err)
		}
		r := record{typeID: str(f.Type), completed: day(f.Completed)}
		e.records = append(e.records, r)
		content, redacted, err := hrtraining.Strip(it.raw, c.drop)
		if err != nil {
			return fmt.Errorf("bamboohr: GET %s: record %s: %w", endpoint, it.id, err)
		}
		id := it.id
		if s := str(f.ID); s != "" {
			id = s
		}
		attrs := map[string]string{"bamboohr.employee_id": e.id, "bamboohr.training_type_id": r.typeID}
		if e.department != "" {
			attrs["department"] = e.department
		}
		if err := emit(connectors.Artifact{
			Kind:        KindTrainingRecord,
			Subject:     "employee/" + e.id + "/training_record/" + id,
			SourceURL:   c.employeeURL(e.id),
			MediaType:   "application/json",
			Attributes:  attrs,
			EffectiveAt: r.completed,
			Provenance:  connectors.Provenance{Method: http.MethodGet, Endpoint: endpoint, APIVersion: "v1", Complete: true, Redacted: redacted},
			Content:     bytes.NewReader(content),
		}); err != nil {
			return emitError{err}
		}
	}
	return nil
}

func (c *Connector) emitRoster(rt RequiredTraining, tt *trainingType, emps []*employee, now time.Time, emit func(connectors.Artifact) error) error {
	dueDays := rt.DueDays
	if dueDays == 0 {
		dueDays = tt.dueFromHireDate
	}
	if dueDays == 0 {
		dueDays = defaultDueDays
	}
	complete := true
	var entries []hrtraining.Entry
	for _, e := range emps {
		if !e.current || !rt.Scope.Matches(e.department, e.jobTitle, e.division, nil) {
			continue
		}
		en := hrtraining.Entry{EmployeeID: e.id, Department: e.department, JobTitle: e.jobTitle}
		if e.recordsErr {
			en.Status = hrtraining.StatusUnknown
			complete = false
			entries = append(entries, en)
			continue
		}
		var last time.Time
		for _, r := range e.records {
			if r.typeID == tt.id && r.completed.After(last) {
				last = r.completed
			}
		}
		en.Evaluate(now, e.hired, last, dueDays, tt.renewalMonths)
		entries = append(entries, en)
	}
	roster, summary := hrtraining.NewRoster(tt.name, tt.id, now, dueDays, tt.renewalMonths, rt.Scope, complete, entries)
	prov := connectors.Provenance{
		Method: http.MethodGet, Endpoint: c.api.ResolveReference(&url.URL{Path: "training/record/employee/{id}"}).Path,
		Query: "derived from the employee report and training records", APIVersion: "v1", Complete: complete,
	}
	for _, a := range []struct {
		kind string
		v    any
	}{{KindTrainingRoster, roster}, {KindTrainingSummary, summary}} {
		content, err := connectors.CanonicalJSON(a.v)
		if err != nil {
			return err
		}
		attrs := summary.Attributes("bamboohr")
		if err := emit(connectors.Artifact{
			Kind:        a.kind,
			Subject:     "training/" + tt.name,
			MediaType:   "application/json",
			Attributes:  attrs,
			EffectiveAt: now,
			Provenance:  prov,
			Content:     bytes.NewReader(content),
		}); err != nil {
			return err
		}
	}
	return nil
}
