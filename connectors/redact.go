package connectors

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// redacted replaces every credential we remove, so a reader of a log line or
// an error can see that something was there.
const redacted = "REDACTED"

// credentialParams are query parameter names (lower case) whose values are
// credentials in the APIs we call or in presigned and OAuth URLs.
var credentialParams = map[string]bool{
	"token": true, "access_token": true, "api_key": true, "apikey": true,
	"key": true, "password": true, "secret": true, "signature": true,
	"sig": true, "x-amz-signature": true, "x-amz-credential": true,
	"x-amz-security-token": true, "client_secret": true, "code": true,
}

var (
	// userinfoRE finds the password of a URL written inside free text.
	userinfoRE = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.\-]*://[^/?#\s:@]*):[^/?#\s@]+@`)
	// queryParamRE finds credential query parameters of URLs written inside
	// free text (an error from net/http quotes the whole URL).
	queryParamRE = regexp.MustCompile(`(?i)([?&;#](?:token|access_token|api_key|apikey|key|password|secret|signature|sig|x-amz-signature|x-amz-credential|x-amz-security-token|client_secret|code)=)[^&#\s"'<>]+`)
	// fieldRE finds header lines, JSON fields and key=value pairs whose name
	// says they carry a credential: "Authorization: Bearer x", "X-Api-Key: x",
	// `"access_token":"x"`, "map[Authorization:[Bearer x]]". A value that
	// starts with "${" is a config placeholder that names a variable, as in
	// "token: ${GITHUB_TOKEN} is not set", and is kept.
	fieldRE = regexp.MustCompile(`(?i)\b((?:proxy-)?authorization|[a-z0-9_\-]*(?:token|secret|password|passwd|api[_\-]?key|cookie)[a-z0-9_\-]*)(["']?\s*[:=]\s*[\["']*)(?:(?:bearer|basic|token|digest)\s+)?(?:[^\s"',;&\]$][^\s"',;&\]]*|\$[^{\s"',;&\]][^\s"',;&\]]*)`)
	// bearerRE and basicRE find credentials after an auth scheme even when
	// the header name was cut off. The minimum length spares prose such as
	// `Basic realm`.
	bearerRE = regexp.MustCompile(`\b(Bearer|bearer|BEARER)\s+[A-Za-z0-9\-._~+/]{8,}=*`)
	basicRE  = regexp.MustCompile(`\b(Basic)\s+[A-Za-z0-9+/]{8,}={0,2}`)
	// githubTokenRE finds GitHub tokens by their documented prefixes, in case
	// one reaches text outside any header.
	githubTokenRE = regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})`)
)

// RedactURL returns u with the userinfo password and the values of query
// (and fragment) parameters that carry credentials replaced by "REDACTED",
// so the URL can be logged, put in an error or stored as provenance.
// Parameter names are matched case-insensitively. A string that does not
// parse as a URL is redacted as free text instead.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return redactPatterns(u)
	}
	if _, ok := p.User.Password(); ok {
		p.User = url.UserPassword(p.User.Username(), redacted)
	}
	p.RawQuery = redactQuery(p.RawQuery)
	if strings.Contains(p.Fragment, "=") {
		// OAuth implicit flows put access_token in the fragment.
		frag := redactQuery(p.EscapedFragment())
		if f, err := url.PathUnescape(frag); err == nil {
			p.Fragment, p.RawFragment = f, frag
		}
	}
	return p.String()
}

// redactQuery rewrites a raw query string in place, keeping the order and the
// encoding of every parameter it does not redact.
func redactQuery(raw string) string {
	if raw == "" {
		return raw
	}
	parts := strings.Split(raw, "&")
	for i, part := range parts {
		name, _, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		key, err := url.QueryUnescape(name)
		if err != nil {
			key = name
		}
		if credentialParams[strings.ToLower(key)] {
			parts[i] = name + "=" + redacted
		}
	}
	return strings.Join(parts, "&")
}

// Redactor removes secrets from text before it reaches a log line or an
// error message. It replaces the literal secrets it was built with (and their
// URL-escaped forms) and, whatever it was built with, credentials recognisable
// by shape: Authorization and other credential headers or fields, bearer and
// basic credentials, URL passwords and credential query parameters.
//
// A Redactor is immutable and safe for concurrent use. A nil *Redactor
// redacts by shape only.
type Redactor struct {
	replacer *strings.Replacer // nil when there are no literal secrets
}

// minSecretLen is the shortest literal secret redacted: shorter values
// ("1", "dev") would blank out ordinary text and protect nothing.
const minSecretLen = 4

// NewRedactor returns a Redactor for the given literal secrets, typically the
// tokens from a connector's config. Secrets shorter than 4 characters are
// ignored.
func NewRedactor(secrets ...string) *Redactor {
	seen := map[string]bool{}
	var olds []string
	for _, s := range secrets {
		if len(s) < minSecretLen {
			continue
		}
		for _, v := range []string{s, url.QueryEscape(s), url.PathEscape(s)} {
			if !seen[v] {
				seen[v] = true
				olds = append(olds, v)
			}
		}
	}
	if len(olds) == 0 {
		return &Redactor{}
	}
	// Longest first, so a secret that contains another is replaced whole.
	slices.SortFunc(olds, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(olds))
	for _, o := range olds {
		pairs = append(pairs, o, redacted)
	}
	return &Redactor{replacer: strings.NewReplacer(pairs...)}
}

// String returns s with every secret replaced by "REDACTED".
func (r *Redactor) String(s string) string {
	if r != nil && r.replacer != nil {
		s = r.replacer.Replace(s)
	}
	return redactPatterns(s)
}

// url redacts a URL for display: credential parameters, then literal secrets
// (a token may sit in the path).
func (r *Redactor) url(u string) string {
	return r.String(RedactURL(u))
}

func redactPatterns(s string) string {
	s = userinfoRE.ReplaceAllString(s, "${1}:"+redacted+"@")
	s = queryParamRE.ReplaceAllString(s, "${1}"+redacted)
	s = fieldRE.ReplaceAllString(s, "${1}${2}"+redacted)
	s = bearerRE.ReplaceAllString(s, "${1} "+redacted)
	s = basicRE.ReplaceAllString(s, "${1} "+redacted)
	s = githubTokenRE.ReplaceAllString(s, redacted)
	return s
}

// Error returns err with its message redacted; nil stays nil. The result
// still unwraps to err, so errors.Is, errors.As and Classify keep working:
// print the returned error, not what errors.As finds inside it.
//
// Use it where an error leaves the connector: net/http wraps every transport
// error in a *url.Error quoting the request URL with only the password
// stripped, above anything the shared client can redact.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{msg: r.String(err.Error()), err: err}
}

// redactedError carries a redacted message for an error whose own message may
// hold a secret.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Timeout keeps net.Error semantics visible to callers (url.Error.Timeout
// asks its direct cause only).
func (e *redactedError) Timeout() bool { return isTimeout(e.err) }

// redactHandler passes every record through a Redactor before the wrapped
// handler sees it, so nothing the client logs can carry a secret, whatever
// attribute it hides in.
type redactHandler struct {
	h slog.Handler
	r *Redactor
}

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.h.Enabled(ctx, l)
}

func (h *redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.h.Handle(ctx, out)
}

func (h *redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = h.attr(a)
	}
	return &redactHandler{h: h.h.WithAttrs(red), r: h.r}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{h: h.h.WithGroup(name), r: h.r}
}

func (h *redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.String(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]any, len(g))
		for i, ga := range g {
			red[i] = h.attr(ga)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.r.String(err.Error()))
		}
		return slog.String(a.Key, h.r.String(fmt.Sprint(v.Any())))
	default:
		return slog.Attr{Key: a.Key, Value: v}
	}
}
