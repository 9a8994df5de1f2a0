package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/aimsvault/aimsvault/connectors"
	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/mapping"
	"github.com/aimsvault/aimsvault/scheduler"
	"github.com/aimsvault/aimsvault/server/access"
	"github.com/aimsvault/aimsvault/server/auth"
)

// filterView is a filter as the access log and bundle manifests show it.
type filterView struct {
	Controls   []string `json:"controls,omitempty"`
	Connectors []string `json:"connectors,omitempty"`
	Kinds      []string `json:"kinds,omitempty"`
	Since      string   `json:"since,omitempty"`
	Until      string   `json:"until,omitempty"`
	Cursor     string   `json:"cursor,omitempty"`
	Limit      int      `json:"limit,omitempty"`
}

func viewOf(f evidence.Filter) filterView {
	v := filterView{Controls: f.Controls, Connectors: f.Connectors, Kinds: f.Kinds}
	if !f.Since.IsZero() {
		v.Since = f.Since.UTC().Format(time.RFC3339Nano)
	}
	if !f.Until.IsZero() {
		v.Until = f.Until.UTC().Format(time.RFC3339Nano)
	}
	return v
}

func rawJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// multi returns a query parameter's values, also split at commas.
func multi(r *http.Request, key string) []string {
	var out []string
	for _, v := range r.URL.Query()[key] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// parseTime accepts RFC 3339 or a date (midnight UTC); a date given as the
// end of a range includes that day, as the CLI's --until does.
func parseTime(key, s string, isEnd bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if isEnd {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	return time.Time{}, invalid("%s %q: use a date (2026-01-31) or an RFC 3339 time (2026-01-31T12:00:00Z)", key, s)
}

// filter reads control, connector, kind (when withKind), since and until.
func filter(r *http.Request, withKind bool) (evidence.Filter, error) {
	f := evidence.Filter{Connectors: multi(r, "connector")}
	if withKind {
		f.Kinds = multi(r, "kind")
	}
	for _, c := range multi(r, "control") {
		ids, err := mapping.Expand(c)
		if err != nil {
			return f, invalid("control %s: %v", c, err)
		}
		f.Controls = append(f.Controls, ids...)
	}
	var err error
	q := r.URL.Query()
	if f.Since, err = parseTime("since", q.Get("since"), false); err != nil {
		return f, err
	}
	f.Until, err = parseTime("until", q.Get("until"), true)
	return f, err
}

// scoped narrows f to scope s. ok is false when nothing can match (the
// requested controls or times lie wholly outside the scope).
func scoped(f evidence.Filter, s access.Scope) (_ evidence.Filter, ok bool) {
	if s.From != nil && (f.Since.IsZero() || f.Since.Before(*s.From)) {
		f.Since = *s.From
	}
	if s.To != nil && (f.Until.IsZero() || f.Until.After(*s.To)) {
		f.Until = *s.To
	}
	if len(s.Controls) > 0 {
		if len(f.Controls) == 0 {
			f.Controls = slices.Clone(s.Controls)
		} else {
			var in []string
			for _, c := range f.Controls {
				if s.AllowsControl(c) {
					in = append(in, c)
				}
			}
			if len(in) == 0 {
				return f, false
			}
			f.Controls = in
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, false
	}
	return f, true
}

func (a *API) listEvidence(w http.ResponseWriter, r *http.Request) {
	p := auth.FromContext(r.Context())
	f, err := filter(r, true)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	limit, err := limitParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	from, err := intCursor(r, "e")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	asked := viewOf(f)
	asked.Cursor, asked.Limit = r.URL.Query().Get("cursor"), limit
	f, ok := scoped(f, p.Scope)
	out := page[*evidence.Record]{Items: []*evidence.Record{}}
	ids := []string{}
	if ok {
		// The cursor is the next leaf index: a page is an index range
		// scan from it, as fast on page 10,000 as on page 1.
		// The scope check repeats the SQL filter's, record by record.
		f.From = from
		err = a.opts.Vault.Records(r.Context(), f, func(rec *evidence.Record) error {
			if !p.Scope.Allows(rec) {
				return nil
			}
			if len(out.Items) == limit {
				out.NextCursor = encodeCursor("e", strconv.FormatInt(rec.Index, 10))
				return errPageFull
			}
			out.Items = append(out.Items, rec)
			ids = append(ids, rec.ID)
			return nil
		})
		if err != nil && err != errPageFull {
			a.fail(w, r, err)
			return
		}
	}
	e := a.entry(r, access.ActionList)
	e.Filter, e.Records = rawJSON(asked), ids
	if _, err := a.opts.Access.Append(r.Context(), e); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

var errPageFull = errors.New("page full")

// record finds the record named by the path's {id}, inside the caller's
// scope; otherwise it answers 404 and returns nil.
func (a *API) record(w http.ResponseWriter, r *http.Request) *evidence.Record {
	id := r.PathValue("id")
	// Full ids only: a prefix matching several records would tell an
	// auditor that records outside its scope exist.
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		notFound(w, "record")
		return nil
	}
	rec, err := a.opts.Vault.Record(r.Context(), id)
	if errors.Is(err, evidence.ErrNotFound) || (err == nil && !auth.FromContext(r.Context()).Scope.Allows(rec)) {
		notFound(w, "record")
		return nil
	}
	if err != nil {
		a.fail(w, r, err)
		return nil
	}
	return rec
}

func (a *API) getEvidence(w http.ResponseWriter, r *http.Request) {
	rec := a.record(w, r)
	if rec == nil {
		return
	}
	e := a.entry(r, access.ActionRead)
	e.Records = []string{rec.ID}
	if _, err := a.opts.Access.Append(r.Context(), e); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// downloadName is a safe file name for rec's content.
func downloadName(rec *evidence.Record) string {
	name := unsafeName.ReplaceAllString(path.Base(strings.ReplaceAll(rec.Subject, "\\", "/")), "_")
	name = strings.Trim(name, "._")
	if name == "" {
		name = rec.ID
	}
	if filepath.Ext(name) == "" {
		if exts, _ := mime.ExtensionsByType(rec.MediaType); len(exts) > 0 {
			name += exts[0]
		}
	}
	return name
}

func (a *API) content(w http.ResponseWriter, r *http.Request) {
	rec := a.record(w, r)
	if rec == nil {
		return
	}
	rc, size, err := a.opts.Vault.OpenContent(r.Context(), rec.SHA256)
	if err != nil {
		// The record exists but its content does not: the vault is damaged.
		a.fail(w, r, err)
		return
	}
	defer rc.Close()
	e := a.entry(r, access.ActionContent)
	e.Records, e.SHA256, e.Size = []string{rec.ID}, rec.SHA256.String(), size
	if _, err := a.opts.Access.Append(r.Context(), e); err != nil {
		a.fail(w, r, err)
		return
	}
	ct := rec.MediaType
	if _, _, err := mime.ParseMediaType(ct); err != nil || ct == "" {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": downloadName(rec)}))
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("ETag", `"sha256:`+rec.SHA256.String()+`"`)
	sent, err := copyHoldingLast(w, rc)
	if err == nil {
		return
	}
	// The content failed its hash check, or the client went away. Its last
	// bytes were held back, so the client never holds a complete body.
	fe := a.entry(r, access.ActionContent)
	fe.Records, fe.SHA256, fe.Size, fe.Outcome = []string{rec.ID}, rec.SHA256.String(), sent, access.OutcomeIncomplete
	if errors.Is(err, evidence.ErrDigestMismatch) {
		fe.Detail = "content does not match its sha256"
	} else {
		fe.Detail = "response not completed"
	}
	if _, lerr := a.opts.Access.Append(r.Context(), fe); lerr != nil {
		a.log.Error("access log append failed", "err", lerr)
	}
	if errors.Is(err, evidence.ErrDigestMismatch) {
		a.log.Error("content failed its hash check: run `aimsvault verify`", "record", rec.ID, "err", err)
		if sent == 0 {
			for _, k := range []string{"Content-Length", "Content-Disposition", "ETag"} {
				h.Del(k)
			}
			writeError(w, http.StatusInternalServerError, "the stored content does not match its recorded sha256: the vault is damaged; run `aimsvault verify`")
			return
		}
	}
	panic(http.ErrAbortHandler) // cut the connection: the body must not look complete
}

// copyHoldingLast copies r to w, always keeping the last chunk read back
// until the next read succeeds: the vault's reader reports a hash mismatch
// only at EOF, and by holding back the last chunk no client ever receives a
// whole body whose hash failed. It returns the bytes written to w.
func copyHoldingLast(w io.Writer, r io.Reader) (int64, error) {
	cur, held := make([]byte, 32<<10), make([]byte, 32<<10)
	var (
		nheld int
		sent  int64
	)
	for {
		n, err := r.Read(cur)
		if n > 0 {
			if nheld > 0 {
				k, werr := w.Write(held[:nheld])
				sent += int64(k)
				if werr != nil {
					return sent, werr
				}
			}
			cur, held, nheld = held, cur, n
		}
		if err == io.EOF {
			k, werr := w.Write(held[:nheld])
			return sent + int64(k), werr
		}
		if err != nil {
			return sent, err
		}
	}
}

func (a *API) proof(w http.ResponseWriter, r *http.Request) {
	rec := a.record(w, r)
	if rec == nil {
		return
	}
	cp, err := a.opts.Vault.LatestCheckpoint(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if cp == nil || rec.Index >= cp.Size {
		writeError(w, http.StatusConflict, "the record is not yet covered by a signed checkpoint: try again after the next run or upload")
		return
	}
	p, err := a.opts.Vault.ProveRecord(r.Context(), rec.Index, cp.Size)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	body := evidence.FormatProof(rec.Index, p, cp.Note)
	e := a.entry(r, access.ActionProof)
	e.Records, e.Detail = []string{rec.ID}, fmt.Sprintf("checkpoint %d", cp.Size)
	if _, err := a.opts.Access.Append(r.Context(), e); err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// maxField bounds one form field of an upload.
const maxField = 64 << 10

// upload stores a multipart upload: form fields kind (required), subject,
// controls (repeatable or comma-separated) and effective_at, then the file
// part, which must come last so that the file streams into the vault once
// the fields are checked.
func (a *API) upload(w http.ResponseWriter, r *http.Request) {
	p := auth.FromContext(r.Context())
	max := a.opts.MaxUpload
	r.Body = http.MaxBytesReader(w, r.Body, max+1<<20) // the file plus room for the fields
	mr, err := r.MultipartReader()
	if err != nil {
		a.fail(w, r, invalid("want a multipart/form-data body: fields kind, subject, controls, effective_at, then file"))
		return
	}
	var (
		kind, subject, effective string
		controls                 []string
		file                     *multipart.Part
	)
	for file == nil {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			a.uploadError(w, r, err)
			return
		}
		name := part.FormName()
		if name == "file" {
			file = part
			break
		}
		b, err := io.ReadAll(io.LimitReader(part, maxField+1))
		if err != nil {
			a.uploadError(w, r, err)
			return
		}
		if len(b) > maxField {
			a.fail(w, r, invalid("field %s: longer than %d bytes", name, maxField))
			return
		}
		v := strings.TrimSpace(string(b))
		switch name {
		case "kind":
			kind = v
		case "subject":
			subject = v
		case "effective_at":
			effective = v
		case "controls", "control":
			for _, c := range strings.Split(v, ",") {
				if c = strings.TrimSpace(c); c != "" {
					controls = append(controls, c)
				}
			}
		default:
			a.fail(w, r, invalid("unknown field %q: send kind, subject, controls, effective_at, then file", name))
			return
		}
	}
	if file == nil {
		a.fail(w, r, invalid("no file part: send the evidence as the form field \"file\", after the other fields"))
		return
	}
	live := a.live()
	if kind == "" {
		a.fail(w, r, invalid("kind is required (and must come before file), e.g. kind=file.model_evaluation or kind=manual.upload with controls"))
		return
	}
	if !live.Mapper.Handles(kind) {
		a.fail(w, r, invalid("kind %q is not a known evidence kind (a typo would be stored forever): use one from the README's table, or manual.upload with controls", kind))
		return
	}
	eff, err := parseTime("effective_at", effective, false)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	attrs := map[string]string{}
	if len(controls) > 0 {
		attrs[mapping.DeclaredAttribute] = strings.Join(controls, ",")
	}
	mapped, err := live.Mapper.Map(kind, attrs)
	if err != nil {
		a.fail(w, r, invalid("%v", err))
		return
	}
	if subject == "" {
		subject = path.Base(file.FileName())
		if subject == "." || subject == "/" {
			subject = "upload"
		}
	}
	mt := file.Header.Get("Content-Type")
	if _, _, err := mime.ParseMediaType(mt); err != nil || mt == "application/octet-stream" {
		mt = mime.TypeByExtension(path.Ext(file.FileName()))
	}
	if mt == "" {
		mt = "application/octet-stream"
	}
	prov, err := connectors.CanonicalJSON(connectors.Provenance{Method: "POST", Endpoint: "/api/v1/evidence", Identity: p.Label(), Complete: true})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v := a.opts.Vault
	id, _ := uuid.NewV7()
	run := evidence.Run{ID: id.String(), Connector: "api", Type: "api", Trigger: scheduler.TriggerUpload, StartedAt: a.opts.Now().UTC()}
	if err := v.StartRun(r.Context(), run); err != nil {
		a.fail(w, r, err)
		return
	}
	body := &limitedReader{r: file, left: max}
	rec, newBlob, err := v.Append(r.Context(), evidence.Input{
		Run: run.ID, Connector: "api", Type: "api", Kind: kind, Subject: subject, MediaType: mt,
		EffectiveAt: eff, Provenance: json.RawMessage(prov), Attributes: attrs, Controls: mapped, Content: body,
	})
	run.Status = evidence.RunOK
	if err == nil {
		run.Artifacts = 1
		if newBlob {
			run.NewBlobs = 1
		}
		if _, err = v.SignCheckpoint(r.Context()); errors.Is(err, evidence.ErrTimestamp) {
			a.log.Warn("checkpoint signed without trusted time", "err", err)
			err = nil
		}
	}
	if err != nil {
		run.Status, run.Error = evidence.RunFailed, err.Error()
	}
	if ferr := v.FinishRun(r.Context(), run); err == nil {
		err = ferr
	}
	if err != nil {
		a.uploadError(w, r, err)
		return
	}
	e := a.entry(r, access.ActionUpload)
	e.Records, e.SHA256, e.Size = []string{rec.ID}, rec.SHA256.String(), rec.Size
	if _, err := a.opts.Access.Append(r.Context(), e); err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/evidence/"+rec.ID)
	writeJSON(w, http.StatusCreated, rec)
}

// errTooLarge is the upload limit, as the vault sees it.
var errTooLarge = errors.New("upload larger than server.max_upload")

type limitedReader struct {
	r    io.Reader
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return 0, errTooLarge
	}
	return n, err
}

func (a *API) uploadError(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	if errors.Is(err, errTooLarge) || errors.As(err, &mbe) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the file is larger than server.max_upload (%d bytes)", a.opts.MaxUpload))
		return
	}
	if strings.Contains(err.Error(), "multipart") {
		a.fail(w, r, invalid("malformed multipart body"))
		return
	}
	a.fail(w, r, err)
}
