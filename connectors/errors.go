package connectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrorClass is the category of a failed upstream call. The scheduler and the
// run record branch on it (retry later, tell the operator to fix a token)
// without parsing messages.
type ErrorClass string

const (
	// ClassAuth: 401, or 403 without rate-limit signs. A token is missing,
	// wrong, expired or lacks a scope.
	ClassAuth ErrorClass = "auth"
	// ClassRateLimited: 429, or 403 with X-RateLimit-Remaining: 0 or a
	// Retry-After (GitHub's primary and secondary rate limits).
	ClassRateLimited ErrorClass = "rate_limited"
	// ClassUpstream: 5xx and connection errors; the source is unwell.
	ClassUpstream ErrorClass = "upstream"
	// ClassTimeout: a context deadline, a client or per-attempt timeout.
	ClassTimeout ErrorClass = "timeout"
	// ClassBadResponse: a body that does not parse or has an unexpected
	// shape; connectors wrap ErrBadResponse.
	ClassBadResponse ErrorClass = "bad_response"
	// ClassConfig: the request could not be made as configured (a base_url
	// without a host or with an unsupported scheme).
	ClassConfig ErrorClass = "config"
)

// ErrBadResponse marks a response the connector could not make sense of.
// Wrap it: fmt.Errorf("decode branches of %s: %w: %v", repo, ErrBadResponse, err).
var ErrBadResponse = errors.New("bad response")

// ErrConfig marks a failure the connector's own settings cause (a folder
// that does not exist, a repo name that matches nothing): fixing the config,
// not waiting, is what helps. Make such errors with ConfigErrorf.
var ErrConfig = errors.New("connector misconfigured")

// ConfigErrorf formats an error that matches ErrConfig without adding its
// text: the message should already say what to fix.
func ConfigErrorf(format string, args ...any) error {
	return configError{fmt.Errorf(format, args...)}
}

type configError struct{ err error }

func (e configError) Error() string   { return e.err.Error() }
func (e configError) Unwrap() []error { return []error{e.err, ErrConfig} }

// maxErrorBody bounds the body kept in an HTTPError: enough for an API's error
// message, never a whole page of data.
const maxErrorBody = 512

// errorBodyPeek is how much of a body is read before redacting and cutting it
// to maxErrorBody, so that a secret crossing the cut is still recognised.
const errorBodyPeek = 4096

// HTTPError is an upstream call that ended with a non-2xx status. It carries
// what a person needs to act and nothing secret: the URL and body are
// redacted.
type HTTPError struct {
	Method string
	// URL with credentials redacted (see RedactURL).
	URL    string
	Status int
	// RetryAfter is the wait the server asked for (Retry-After, or GitHub's
	// X-RateLimit-Reset when X-RateLimit-Remaining is 0); zero if none.
	RetryAfter time.Duration
	// Body is the start of the response body (at most 512 bytes), redacted.
	Body string
	// Class is derived from Status and the rate-limit headers; empty for
	// statuses whose meaning depends on the call (404, 409, 422...).
	Class ErrorClass
}

// Error reads "GET https://api.github.com/repos/o/r: 404 Not Found: {...}",
// on one line.
func (e *HTTPError) Error() string {
	var b strings.Builder
	b.WriteString(e.Method)
	b.WriteString(" ")
	b.WriteString(e.URL)
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.Status))
	if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" ")
		b.WriteString(t)
	}
	if body := strings.Join(strings.Fields(e.Body), " "); body != "" {
		b.WriteString(": ")
		b.WriteString(body)
	}
	return b.String()
}

// CheckResponse returns nil for a 2xx response and otherwise an *HTTPError
// describing it. It reads at most a few KiB of the body and puts them back, so
// the caller can still read the whole body; closing it stays the caller's job.
// When resp came from NewHTTPClient, the client's secrets are redacted too.
func CheckResponse(resp *http.Response) error {
	if resp == nil {
		return errors.New("check response: no response")
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	var red *Redactor
	if resp.Request != nil {
		red, _ = resp.Request.Context().Value(redactorKey{}).(*Redactor)
	}
	he, peek := newHTTPError(resp, red)
	if resp.Body != nil {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(peek), resp.Body), resp.Body}
	}
	return he
}

// newHTTPError builds an HTTPError from resp and returns the bytes it read
// from the body.
func newHTTPError(resp *http.Response, red *Redactor) (*HTTPError, []byte) {
	e := &HTTPError{Status: resp.StatusCode, Class: statusClass(resp.StatusCode, resp.Header)}
	if req := resp.Request; req != nil {
		e.Method = req.Method
		if req.URL != nil {
			e.URL = red.url(req.URL.String())
		}
	}
	if d, ok := serverWait(resp, time.Now()); ok {
		e.RetryAfter = d
	}
	var peek []byte
	if resp.Body != nil {
		// A read error leaves what was read: the message is best effort.
		peek, _ = io.ReadAll(io.LimitReader(resp.Body, errorBodyPeek))
		e.Body = truncateUTF8(red.String(string(peek)), maxErrorBody)
	}
	return e, peek
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) > n {
		s = s[:n]
		// Drop the start of a rune the cut split (at most UTFMax-1 bytes).
		for i := 0; i < utf8.UTFMax-1 && len(s) > 0; i++ {
			if r, size := utf8.DecodeLastRuneInString(s); r != utf8.RuneError || size != 1 {
				break
			}
			s = s[:len(s)-1]
		}
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// statusClass classifies a status; h decides whether a 403 is a rate limit.
func statusClass(status int, h http.Header) ErrorClass {
	switch {
	case status == http.StatusTooManyRequests:
		return ClassRateLimited
	case status == http.StatusForbidden && rateLimitSigns(h):
		return ClassRateLimited
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return ClassAuth
	case status >= 500 && status <= 599:
		return ClassUpstream
	}
	return ""
}

// rateLimitSigns reports whether headers say a request was refused for rate:
// GitHub answers 403 both for a missing scope and for an exhausted budget.
func rateLimitSigns(h http.Header) bool {
	return strings.TrimSpace(h.Get("X-RateLimit-Remaining")) == "0" || h.Get("Retry-After") != ""
}

// serverWait returns how long the server asked us to wait before trying again:
// Retry-After in seconds or as an HTTP-date, or else, on 403 and 429 with
// X-RateLimit-Remaining: 0, until X-RateLimit-Reset (epoch seconds). A time in
// the past gives zero.
func serverWait(resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	if ra := strings.TrimSpace(resp.Header.Get("Retry-After")); ra != "" {
		if secs, err := strconv.ParseInt(ra, 10, 64); err == nil {
			if secs < 0 {
				return 0, true
			}
			if secs > int64(365*24*time.Hour/time.Second) {
				secs = int64(365 * 24 * time.Hour / time.Second) // no overflow
			}
			return time.Duration(secs) * time.Second, true
		}
		if at, err := http.ParseTime(ra); err == nil {
			return max(at.Sub(now), 0), true
		}
	}
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	if strings.TrimSpace(resp.Header.Get("X-RateLimit-Remaining")) != "0" {
		return 0, false
	}
	reset, err := strconv.ParseInt(strings.TrimSpace(resp.Header.Get("X-RateLimit-Reset")), 10, 64)
	if err != nil {
		return 0, false
	}
	return max(time.Unix(reset, 0).Sub(now), 0), true
}

// Classify returns the class of err, looking through wrapping: an *HTTPError
// gives its Class; ErrBadResponse gives bad_response; a deadline or a network
// timeout gives timeout; a URL the transport cannot use gives config; other
// transport and connection errors give upstream. Cancellation and errors it
// does not recognise give "".
func Classify(err error) ErrorClass {
	if err == nil {
		return ""
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Class
	}
	switch {
	case errors.Is(err, ErrBadResponse):
		return ClassBadResponse
	case errors.Is(err, ErrConfig):
		return ClassConfig
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return ClassTimeout
	case errors.Is(err, context.Canceled):
		return ""
	case isConfigError(err):
		return ClassConfig
	}
	var (
		ue *url.Error
		oe *net.OpError
		ne net.Error
	)
	if errors.As(err, &ue) || errors.As(err, &oe) || errors.As(err, &ne) ||
		errors.Is(err, io.ErrUnexpectedEOF) {
		return ClassUpstream
	}
	return ""
}

// isTimeout reports whether any error in err's tree says it is a timeout.
// errors.As would stop at the first net.Error, and *url.Error only asks its
// direct cause.
func isTimeout(err error) bool {
	return anyError(err, func(e error) bool {
		t, ok := e.(interface{ Timeout() bool })
		return ok && t.Timeout()
	})
}

// configErrorTexts are the net/http messages for a URL it cannot use; they
// are unexported error values, so the text is all there is to match.
var configErrorTexts = []string{
	"unsupported protocol scheme",
	"no Host in request URL",
	"nil Request.URL",
}

func isConfigError(err error) bool {
	return anyError(err, func(e error) bool {
		if ue, ok := e.(*url.Error); ok && ue.Op == "parse" {
			return true
		}
		if errors.Unwrap(e) != nil {
			return false // judge leaves only: wrappers repeat their cause's text
		}
		if _, ok := e.(interface{ Unwrap() []error }); ok {
			return false
		}
		for _, t := range configErrorTexts {
			if strings.Contains(e.Error(), t) {
				return true
			}
		}
		return false
	})
}

// anyError walks err's tree (single and multiple unwrapping) and reports
// whether f holds for any error in it.
func anyError(err error, f func(error) bool) bool {
	for err != nil {
		if f(err) {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if anyError(e, f) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}
