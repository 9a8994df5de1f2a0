package connectors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime/debug"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// HTTPOptions configures NewHTTPClient. The zero value is usable: every
// field has a default.
type HTTPOptions struct {
	// UserAgent is set on every request that does not set its own
	// (default "aimsvault/<version>").
	UserAgent string
	// Timeout bounds one attempt until its response headers arrive
	// (default 60s). Reading the body is bounded by the request's context
	// only, so large evidence can stream.
	Timeout time.Duration
	// RetryMax is the number of retries after the first attempt (default 4;
	// negative for none).
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the backoff between attempts
	// (defaults 1s and 60s). RetryWaitMax also caps a wait the server asks
	// for: a longer Retry-After, or one past the context's deadline, ends the
	// call at once with an *HTTPError rather than hanging.
	RetryWaitMin time.Duration
	RetryWaitMax time.Duration
	// Logger receives each attempt at Debug and each retry at Warn, redacted
	// (default: discard).
	Logger *slog.Logger
	// Secrets are literal values (tokens from the config) redacted from
	// every log line and error the client produces, besides the credentials
	// it recognises by shape.
	Secrets []string
	// Transport is the base transport (default: a clone of
	// http.DefaultTransport). Tests point it at fakes.
	Transport http.RoundTripper
}

const (
	defaultTimeout      = 60 * time.Second
	defaultRetryMax     = 4
	defaultRetryWaitMin = 1 * time.Second
	defaultRetryWaitMax = 60 * time.Second
)

// Log keys of the client's lines.
const (
	logKeyMethod   = "method"
	logKeyURL      = "url"
	logKeyStatus   = "status"
	logKeyDuration = "duration"
	logKeyAttempt  = "attempt"
	logKeyWait     = "wait"
	logKeyErr      = "err"
)

// NewHTTPClient returns the client every HTTP connector uses. It retries
// connection errors, 429, 500, 502, 503 and 504 (and 403 that is a GitHub rate
// limit with a known wait), waiting as the server asks (Retry-After,
// X-RateLimit-Reset) or with jittered exponential backoff; it never retries
// once the request's context is done, and request bodies are replayed.
//
// When retries run out on a status, the last response is returned as is, so
// client libraries (go-github, go-jira, the AWS SDK) build their own typed
// errors from the real status and body; use CheckResponse to get an
// *HTTPError. When they run out on a connection error, the error (whose
// message is redacted) says how many attempts were made. A server wait longer
// than RetryWaitMax gives an *HTTPError at once.
//
// Note that net/http wraps any transport error in a *url.Error quoting the
// request URL with only its password stripped; pass errors that may carry a
// credential in a query through (*Redactor).Error before showing them.
//
// The client is safe for concurrent use.
func NewHTTPClient(opts HTTPOptions) *http.Client {
	if opts.UserAgent == "" {
		opts.UserAgent = "aimsvault/" + version()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = defaultTimeout
	}
	switch {
	case opts.RetryMax == 0:
		opts.RetryMax = defaultRetryMax
	case opts.RetryMax < 0:
		opts.RetryMax = 0
	}
	if opts.RetryWaitMin <= 0 {
		opts.RetryWaitMin = defaultRetryWaitMin
	}
	if opts.RetryWaitMax <= 0 {
		opts.RetryWaitMax = defaultRetryWaitMax
	}
	opts.RetryWaitMin = min(opts.RetryWaitMin, opts.RetryWaitMax)
	base := opts.Transport
	if base == nil {
		base = http.DefaultTransport
		if dt, ok := http.DefaultTransport.(*http.Transport); ok {
			base = dt.Clone() // our own pool, with the default proxy and TLS settings
		}
	}
	red := NewRedactor(opts.Secrets...)
	h := slog.DiscardHandler
	if opts.Logger != nil {
		h = opts.Logger.Handler()
	}
	t := &transport{
		opts: opts,
		red:  red,
		log:  slog.New(&redactHandler{h: h, r: red}),
		attempts: &http.Client{
			Transport: &attemptTransport{base: base, timeout: opts.Timeout},
			// Redirects go back up to the caller's client, which applies its
			// own CheckRedirect and drops credentials across hosts.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	return &http.Client{Transport: t}
}

// version names the build in the default User-Agent.
var version = sync.OnceValue(func() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
})

// redactorKey carries the client's Redactor on the requests it sends, so
// CheckResponse can redact the client's secrets from a response it is given.
type redactorKey struct{}

// transport is the retrying http.RoundTripper behind NewHTTPClient.
type transport struct {
	opts     HTTPOptions
	red      *Redactor
	log      *slog.Logger
	attempts *http.Client // one attempt each, no redirects
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	// RoundTrip must not change the caller's request, so work on a clone.
	r := req.Clone(context.WithValue(req.Context(), redactorKey{}, t.red))
	if _, ok := r.Header["User-Agent"]; !ok {
		r.Header.Set("User-Agent", t.opts.UserAgent)
	}
	rr := &retryablehttp.Request{Request: r}
	if err := setReplayableBody(rr, req); err != nil {
		return nil, &redactedError{msg: t.red.String(fmt.Sprintf("read request body: %v", err)), err: err}
	}

	c := &call{t: t, method: r.Method, url: t.red.url(r.URL.String()), ctx: r.Context()}
	// A retryablehttp.Client per call lets its hooks keep per-call state
	// (attempt, wait) without locks; the connection pool is shared.
	rc := &retryablehttp.Client{
		HTTPClient:     t.attempts,
		RetryWaitMin:   t.opts.RetryWaitMin,
		RetryWaitMax:   t.opts.RetryWaitMax,
		RetryMax:       t.opts.RetryMax,
		RequestLogHook: c.beforeAttempt,
		CheckRetry:     c.checkRetry,
		Backoff:        c.backoff,
		ErrorHandler:   c.giveUp,
		// Logger stays nil: its lines would carry unredacted query strings.
	}
	resp, err := rc.Do(rr)
	if err != nil {
		return nil, c.finalError(err)
	}
	return resp, nil
}

// CloseIdleConnections lets (*http.Client).CloseIdleConnections reach the pool.
func (t *transport) CloseIdleConnections() { t.attempts.CloseIdleConnections() }

// setReplayableBody gives rr a body that can be read once per attempt, and
// closes the caller's body as a RoundTripper must.
func setReplayableBody(rr *retryablehttp.Request, req *http.Request) error {
	if req.Body == nil || req.Body == http.NoBody {
		return rr.SetBody(nil)
	}
	defer req.Body.Close()
	if req.GetBody != nil {
		if err := rr.SetBody(retryablehttp.ReaderFunc(func() (io.Reader, error) { return req.GetBody() })); err != nil {
			return err
		}
		rr.ContentLength = req.ContentLength // SetBody cannot measure a GetBody reader
		return nil
	}
	buf, err := io.ReadAll(req.Body)
	if err != nil {
		return err
	}
	return rr.SetBody(buf)
}

// errWaitTooLong tells giveUp that the server asked for a wait we will not
// make; it never leaves the package.
var errWaitTooLong = errors.New("server wait too long")

// call is the state of one RoundTrip across its attempts.
type call struct {
	t       *transport
	method  string
	url     string // redacted
	ctx     context.Context
	attempt int // 1-based, of the attempt in flight or just finished
	start   time.Time
	wait    time.Duration // before the next attempt
}

func (c *call) beforeAttempt(_ retryablehttp.Logger, _ *http.Request, i int) {
	c.attempt = i + 1
	c.start = time.Now()
}

// checkRetry decides whether to try again, and how long to wait, and logs the
// attempt.
func (c *call) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	base := []slog.Attr{
		slog.String(logKeyMethod, c.method),
		slog.String(logKeyURL, c.url),
		slog.Int(logKeyAttempt, c.attempt),
	}
	var outcome slog.Attr
	if err != nil {
		outcome = slog.String(logKeyErr, c.t.red.String(causeOf(err).Error()))
	} else {
		outcome = slog.Int(logKeyStatus, resp.StatusCode)
	}
	c.t.log.LogAttrs(ctx, slog.LevelDebug, "http request",
		append(base, outcome, slog.Duration(logKeyDuration, time.Since(c.start)))...)

	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		// The library's policy knows which transport errors are permanent
		// (bad scheme, untrusted certificate, redirect loop); a URL without
		// a host will not get one by waiting either.
		if retry, _ := retryablehttp.DefaultRetryPolicy(ctx, nil, err); !retry || isConfigError(err) {
			return false, nil
		}
		c.wait = backoff(c.t.opts.RetryWaitMin, c.t.opts.RetryWaitMax, c.attempt-1)
	} else {
		wait, asked := serverWait(resp, time.Now())
		if !retryableStatus(resp, asked) {
			return false, nil
		}
		if asked {
			if wait > c.t.opts.RetryWaitMax {
				return false, errWaitTooLong
			}
			if dl, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(dl) {
				return false, errWaitTooLong
			}
			c.wait = wait
		} else {
			c.wait = backoff(c.t.opts.RetryWaitMin, c.t.opts.RetryWaitMax, c.attempt-1)
		}
	}
	if c.attempt <= c.t.opts.RetryMax {
		// Warn carries no body: bodies can hold data we must not log.
		c.t.log.LogAttrs(ctx, slog.LevelWarn, "retrying http request",
			append(base, outcome, slog.Duration(logKeyWait, c.wait))...)
	}
	return true, nil
}

// retryableStatus: 429 and the 5xx that signal a passing condition; 501 is
// permanent. A 403 is retried only when it is a rate limit with a known wait.
func retryableStatus(resp *http.Response, asked bool) bool {
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	case http.StatusForbidden:
		return asked && rateLimitSigns(resp.Header)
	}
	return false
}

// backoff is exponential from min, capped at max, with full jitter above min
// so that many clients refused at once do not come back at once.
func backoff(lo, hi time.Duration, retry int) time.Duration {
	upper := lo
	for i := 0; i < retry && upper < hi; i++ {
		upper *= 2
	}
	upper = min(upper, hi)
	if upper <= lo {
		return lo
	}
	return lo + rand.N(upper-lo+1)
}

func (c *call) backoff(_, _ time.Duration, _ int, _ *http.Response) time.Duration {
	return c.wait
}

// giveUp runs when retryablehttp stops without success. A response that ran
// out of retries goes back to the caller untouched; a refused wait becomes an
// *HTTPError; anything else becomes a redacted error.
func (c *call) giveUp(resp *http.Response, err error, attempts int) (*http.Response, error) {
	if ctxErr := c.ctx.Err(); ctxErr != nil {
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		return nil, ctxErr
	}
	if resp != nil {
		if errors.Is(err, errWaitTooLong) {
			he, _ := newHTTPError(resp, c.t.red)
			if resp.Body != nil {
				resp.Body.Close()
			}
			return nil, he
		}
		c.t.log.LogAttrs(c.ctx, slog.LevelWarn, "http retries exhausted",
			slog.String(logKeyMethod, c.method),
			slog.String(logKeyURL, c.url),
			slog.Int(logKeyStatus, resp.StatusCode),
			slog.Int(logKeyAttempt, attempts),
		)
		return resp, nil
	}
	return nil, c.connError(err, attempts)
}

// connError turns the error of the last attempt into one whose message holds
// no secret. net/http names the URL again above it, so it names only the cause.
func (c *call) connError(err error, attempts int) error {
	cause := causeOf(err)
	msg := c.t.red.String(cause.Error())
	if attempts > 1 {
		msg = fmt.Sprintf("%s (after %d attempts)", msg, attempts)
	}
	return &redactedError{msg: msg, err: cause}
}

// causeOf strips the *url.Error net/http put around an attempt's error: its
// URL is the unredacted one, and our lines name the URL already.
func causeOf(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// finalError makes sure no error leaves RoundTrip with an unredacted message.
func (c *call) finalError(err error) error {
	var he *HTTPError
	var re *redactedError
	switch {
	case errors.As(err, &he), errors.As(err, &re),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return c.connError(err, c.attempt)
}

// errAttemptTimeout is the cancel cause of an attempt that got no response
// headers within HTTPOptions.Timeout.
var errAttemptTimeout = errors.New("attempt timeout")

// attemptTimeoutError is what an attempt returns when it timed out; it is a
// net.Error with Timeout() true, as a client timeout is.
type attemptTimeoutError struct{ d time.Duration }

func (e *attemptTimeoutError) Error() string {
	return fmt.Sprintf("no response within %s", e.d)
}
func (e *attemptTimeoutError) Timeout() bool { return true }

// attemptTransport bounds one attempt until its response headers arrive.
// http.Client.Timeout would also cut off a body being streamed.
type attemptTransport struct {
	base    http.RoundTripper
	timeout time.Duration
}

func (t *attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	timer := time.AfterFunc(t.timeout, func() { cancel(errAttemptTimeout) })
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	fired := !timer.Stop()
	timedOut := fired && context.Cause(ctx) == errAttemptTimeout && req.Context().Err() == nil
	if err != nil || timedOut {
		cancel(nil)
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		if timedOut {
			return nil, &attemptTimeoutError{d: t.timeout}
		}
		return nil, err
	}
	if resp.Body == nil {
		cancel(nil)
		return resp, nil
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: func() { cancel(nil) }}
	return resp, nil
}

// cancelOnClose releases the attempt's context once the caller is done with
// the body.
type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
