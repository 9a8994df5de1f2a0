package connectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// logBuffer collects log output from concurrent writers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fastOptions keeps backoff tiny so retry tests run in milliseconds, and
// captures Debug logs.
func fastOptions(logs *logBuffer) HTTPOptions {
	return HTTPOptions{
		RetryMax:     3,
		RetryWaitMin: time.Millisecond,
		RetryWaitMax: 20 * time.Millisecond,
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// countingServer answers attempt n (1-based) with handle(n) and counts attempts.
func countingServer(t *testing.T, handle func(n int, w http.ResponseWriter, r *http.Request)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handle(int(n.Add(1)), w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// get does a GET and reads the body. It reports through its error only, so
// it is safe to call from any goroutine.
func get(t *testing.T, c *http.Client, url string) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", fmt.Errorf("read body: %w", err)
	}
	return resp, string(body), nil
}

func TestClient_RetriesServerErrorThenSucceeds(t *testing.T) {
	t.Parallel()
	srv, attempts := countingServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	})
	var logs logBuffer
	resp, body, err := get(t, NewHTTPClient(fastOptions(&logs)), srv.URL+"/x")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("got %d %q, want 200 ok", resp.StatusCode, body)
	}
	if got := attempts.Load(); got != 2 {
		t.Errorf("attempts = %d, want 2", got)
	}
	out := logs.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "status=503") || !strings.Contains(out, "wait=") {
		t.Errorf("retry not logged at Warn with status and wait:\n%s", out)
	}
	if !strings.Contains(out, "level=DEBUG") || !strings.Contains(out, "status=200") || !strings.Contains(out, "attempt=2") {
		t.Errorf("attempts not logged at Debug:\n%s", out)
	}
}

func TestClient_RetriesEachRetryableStatus(t *testing.T) {
	t.Parallel()
	for _, status := range []int{429, 500, 502, 503, 504} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			srv, attempts := countingServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if n == 1 {
					w.WriteHeader(status)
					return
				}
				io.WriteString(w, "ok")
			})
			var logs logBuffer
			resp, _, err := get(t, NewHTTPClient(fastOptions(&logs)), srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || attempts.Load() != 2 {
				t.Errorf("got %d after %d attempts, want 200 after 2", resp.StatusCode, attempts.Load())
			}
		})
	}
}

func TestClient_HonoursRetryAfter(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []time.Time
	srv, attempts := countingServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, time.Now())
		mu.Unlock()
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		io.WriteString(w, "ok")
	})
	var logs logBuffer
	opts := fastOptions(&logs)
	opts.RetryWaitMax = 5 * time.Second // allows the 1s the server asks for
	resp, _, err := get(t, NewHTTPClient(opts), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || attempts.Load() != 2 {
		t.Fatalf("got %d after %d attempts, want 200 after 2", resp.StatusCode, attempts.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	// A lower bound on a wait the server set, not a timing assertion.
	if gap := seen[1].Sub(seen[0]); gap < time.Second {
		t.Errorf("second attempt %v after the first, want >= the 1s Retry-After", gap)
	}
}

func TestClient_RetriesGitHubRateLimit(t *testing.T) {
	t.Parallel()
	srv, attempts := countingServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			// The budget is exhausted and resets now: waiting is worth it.
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Unix(), 10))
			http.Error(w, `{"message":"API rate limit exceeded"}`, http.StatusForbidden)
			return
		}
		io.WriteString(w, "ok")
	})
	var logs logBuffer
	opts := fastOptions(&logs)
	opts.RetryWaitMax = 5 * time.Second
	resp, _, err := get(t, NewHTTPClient(opts), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || attempts.Load() != 2 {
		t.Errorf("got %d after %d attempts, want 200 after 2", resp.StatusCode, attempts.Load())
	}
}

func TestClient_RetryAfterBeyondMaxFailsFast(t *testing.T) {
	t.Parallel()
	for name, set := range map[string]func(h http.Header){
		"retry-after": func(h http.Header) { h.Set("Retry-After", "3600") },
		"github reset": func(h http.Header) {
			h.Set("X-RateLimit-Remaining", "0")
			h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, attempts := countingServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
				set(w.Header())
				http.Error(w, `{"message":"slow down"}`, http.StatusTooManyRequests)
			})
			var logs logBuffer
			done := make(chan error, 1)
			go func() {
				_, _, err := get(t, NewHTTPClient(fastOptions(&logs)), srv.URL+"/limited")
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(time.Minute): // a hang guard, far below the 1h wait
				t.Fatal("the client waited for the server's hour")
			}
			if err == nil {
				t.Fatal("no error for a Retry-After beyond RetryWaitMax")
			}
			if got := Classify(err); got != ClassRateLimited {
				t.Errorf("Classify = %q, want %q (err: %v)", got, ClassRateLimited, err)
			}
			var he *HTTPError
			if !errors.As(err, &he) {
				t.Fatalf("error %v is not an *HTTPError", err)
			}
			if he.Status != 429 || he.RetryAfter < 59*time.Minute || !strings.Contains(he.Body, "slow down") {
				t.Errorf("HTTPError = %+v, want status 429, RetryAfter about 1h, the body", he)
			}
			if got := attempts.Load(); got != 1 {
				t.Errorf("attempts = %d, want 1", got)
			}
		})
	}
}

func TestClient_ServerWaitPastDeadlineFailsFast(t *testing.T) {
	t.Parallel()
	srv, attempts := countingServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	var logs logBuffer
	opts := fastOptions(&logs)
	opts.RetryWaitMax = time.Minute
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	_, err := NewHTTPClient(opts).Do(req)
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 503 || Classify(err) != ClassUpstream {
		t.Fatalf("err = %v, want an *HTTPError 503 of class upstream", err)
	}
	if got := attempts.Load(); got != 1 {
		t.Errorf("attempts = %d, want 1", got)
	}
}

func TestClient_DoesNotRetryPermanentStatus(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 401, 403, 404, 422, 501} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			srv, attempts := countingServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
				http.Error(w, "no", status)
			})
			var logs logBuffer
			resp, _, err := get(t, NewHTTPClient(fastOptions(&logs)), srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != status {
				t.Errorf("status = %d, want %d", resp.StatusCode, status)
			}
			if got := attempts.Load(); got != 1 {
				t.Errorf("attempts = %d, want 1", got)
			}
			if strings.Contains(logs.String(), "level=WARN") {
				t.Errorf("a permanent status was logged as a retry:\n%s", logs.String())
			}
		})
	}
}

func TestClient_ExhaustedRetriesPassLastResponse(t *testing.T) {
	t.Parallel()
	srv, attempts := countingServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, `{"attempt":`+strconv.Itoa(n)+`}`)
	})
	var logs logBuffer
	opts := fastOptions(&logs)
	opts.RetryMax = 2
	resp, body, err := get(t, NewHTTPClient(opts), srv.URL)
	if err != nil {
		t.Fatalf("exhausted retries returned an error instead of the response: %v", err)
	}
	if resp.StatusCode != 502 || body != `{"attempt":3}` {
		t.Errorf("got %d %q, want the last response: 502 {\"attempt\":3}", resp.StatusCode, body)
	}
	if got := attempts.Load(); got != 3 {
		t.Errorf("attempts = %d, want 3", got)
	}
	if Classify(CheckResponse(resp)) != ClassUpstream {
		t.Errorf("CheckResponse of the passed-through 502 is not upstream")
	}
}

func TestClient_ReplaysRequestBody(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var bodies []string
	srv, _ := countingServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b)+" len="+strconv.FormatInt(r.ContentLength, 10))
		mu.Unlock()
		if n%2 == 1 { // the first attempt of each request
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	var logs logBuffer
	c := NewHTTPClient(fastOptions(&logs))
	for name, body := range map[string]io.Reader{
		"with GetBody":    strings.NewReader(`{"jql":"project = AIRISK"}`),
		"plain io.Reader": io.MultiReader(strings.NewReader(`{"jql":"project = AIRISK"}`)),
	} {
		mu.Lock()
		bodies = nil
		mu.Unlock()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, body)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		resp.Body.Close()
		mu.Lock()
		if len(bodies) < 2 || bodies[len(bodies)-1] != bodies[0] || !strings.HasPrefix(bodies[0], `{"jql"`) {
			t.Errorf("%s: server saw bodies %q, want the same body on every attempt", name, bodies)
		}
		mu.Unlock()
	}
}

func TestClient_CancelDuringBackoffReturnsPromptly(t *testing.T) {
	t.Parallel()
	hit := make(chan struct{}, 10)
	srv, attempts := countingServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		hit <- struct{}{}
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	var logs logBuffer
	opts := fastOptions(&logs)
	opts.RetryWaitMin = 10 * time.Minute // a backoff that only cancellation can end
	opts.RetryWaitMax = 10 * time.Minute
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	done := make(chan error, 1)
	go func() {
		resp, err := NewHTTPClient(opts).Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-hit
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute): // a hang guard, far below the 10m backoff
		t.Fatal("Do did not return after cancel")
	}
	if got := attempts.Load(); got != 1 {
		t.Errorf("attempts = %d, want 1", got)
	}
}

func TestClient_PerAttemptTimeoutIsRetried(t *testing.T) {
	t.Parallel()
	srv, attempts := countingServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			<-r.Context().Done() // hang until the client gives up on this attempt
			return
		}
		io.WriteString(w, "ok")
	})
	var logs logBuffer
	opts := fastOptions(&logs)
	opts.Timeout = 50 * time.Millisecond
	resp, body, err := get(t, NewHTTPClient(opts), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || body != "ok" || attempts.Load() != 2 {
		t.Errorf("got %d %q after %d attempts, want 200 ok after 2", resp.StatusCode, body, attempts.Load())
	}
}

func TestClient_AllAttemptsTimingOutClassifyAsTimeout(t *testing.T) {
	t.Parallel()
	srv, attempts := countingServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	var logs logBuffer
	opts := fastOptions(&logs)
	opts.Timeout = 20 * time.Millisecond
	opts.RetryMax = 1
	_, _, err := get(t, NewHTTPClient(opts), srv.URL)
	if got := Classify(err); got != ClassTimeout {
		t.Errorf("Classify(%v) = %q, want timeout", err, got)
	}
	if got := attempts.Load(); got != 2 {
		t.Errorf("attempts = %d, want 2", got)
	}
}

func TestClient_TimeoutDoesNotCutStreamingBody(t *testing.T) {
	t.Parallel()
	srv, _ := countingServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "head,")
		w.(http.Flusher).Flush()
		time.Sleep(200 * time.Millisecond) // longer than the attempt timeout
		io.WriteString(w, "tail")
	})
	var logs logBuffer
	opts := fastOptions(&logs)
	opts.Timeout = 50 * time.Millisecond
	_, body, err := get(t, NewHTTPClient(opts), srv.URL)
	if err != nil || body != "head,tail" {
		t.Errorf("got %q, %v; want the whole body: the timeout covers headers only", body, err)
	}
}

func TestClient_SetsUserAgent(t *testing.T) {
	t.Parallel()
	var got atomic.Value
	srv, _ := countingServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("User-Agent"))
	})
	var logs logBuffer
	cases := []struct {
		name, option, request, want string
	}{
		{"default", "", "", "aimsvault/"},
		{"option", "aimsvault/1.2.3 (test)", "", "aimsvault/1.2.3 (test)"},
		{"request wins", "aimsvault/1.2.3", "go-github/v74", "go-github/v74"},
	}
	for _, tc := range cases {
		opts := fastOptions(&logs)
		opts.UserAgent = tc.option
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
		if tc.request != "" {
			req.Header.Set("User-Agent", tc.request)
		}
		resp, err := NewHTTPClient(opts).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ua := got.Load().(string); !strings.HasPrefix(ua, tc.want) {
			t.Errorf("%s: server saw User-Agent %q, want prefix %q", tc.name, ua, tc.want)
		}
		if tc.request == "" && req.Header.Get("User-Agent") != "" {
			t.Errorf("%s: the caller's request was modified", tc.name)
		}
	}
}

func TestClient_FollowsCallerRedirectPolicy(t *testing.T) {
	t.Parallel()
	srv, _ := countingServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusFound)
			return
		}
		io.WriteString(w, r.URL.Path)
	})
	var logs logBuffer
	c := NewHTTPClient(fastOptions(&logs))
	if _, body, err := get(t, c, srv.URL+"/old"); err != nil || body != "/new" {
		t.Errorf("redirect not followed: %q, %v", body, err)
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if resp, _, err := get(t, c, srv.URL+"/old"); err != nil || resp.StatusCode != http.StatusFound {
		t.Errorf("the caller's CheckRedirect was bypassed: %v, %v", resp, err)
	}
}

const (
	queryToken  = "qtok-0123456789abcdef"
	headerToken = "htok-fedcba9876543210"
)

func TestClient_NeverLogsOrReturnsSecrets(t *testing.T) {
	t.Parallel()
	var sawAuth atomic.Value
	srv, _ := countingServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		sawAuth.Store(r.Header.Get("Authorization"))
		// A careless upstream echoing the credential back.
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"message":"bad token `+r.URL.Query().Get("access_token")+`", "seen":"`+r.Header.Get("Authorization")+`"}`)
	})
	var logs logBuffer
	opts := fastOptions(&logs)
	opts.Secrets = []string{queryToken, headerToken}
	c := NewHTTPClient(opts)

	// 500s first, to produce Warn lines too.
	flaky, _ := countingServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	})
	for _, base := range []string{srv.URL, flaky.URL} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/user?access_token="+queryToken+"&page=2", nil)
		req.Header.Set("Authorization", "Bearer "+headerToken)
		req.Header.Set("X-Api-Key", headerToken)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		herr := CheckResponse(resp)
		resp.Body.Close()
		if herr == nil {
			t.Fatal("CheckResponse: nil for an error status")
		}
		assertNoSecret(t, "CheckResponse error", herr.Error())
		if !strings.Contains(herr.Error(), "access_token=REDACTED") || !strings.Contains(herr.Error(), "page=2") {
			t.Errorf("URL in error not redacted as expected: %s", herr)
		}
	}
	if got, _ := sawAuth.Load().(string); got != "Bearer "+headerToken {
		t.Errorf("server saw Authorization %q, want the caller's header", got)
	}
	out := logs.String()
	if !strings.Contains(out, "level=DEBUG") || !strings.Contains(out, "level=WARN") {
		t.Fatalf("expected Debug and Warn lines to check, got:\n%s", out)
	}
	assertNoSecret(t, "logs", out)
}

func TestClient_ConnectionErrorIsRedacted(t *testing.T) {
	t.Parallel()
	// A port that refuses: listen, note the address, close.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	var logs logBuffer
	opts := fastOptions(&logs)
	opts.RetryMax = 1
	opts.Secrets = []string{queryToken}
	_, _, err = get(t, NewHTTPClient(opts), "http://"+addr+"/x?access_token="+queryToken)
	if err == nil {
		t.Fatal("no error from a refused connection")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("err = %v, want it to wrap ECONNREFUSED", err)
	}
	if got := Classify(err); got != ClassUpstream {
		t.Errorf("Classify = %q, want upstream", got)
	}
	// What the client produced, beneath net/http's own *url.Error.
	inner := errors.Unwrap(err)
	assertNoSecret(t, "transport error", inner.Error())
	if !strings.Contains(inner.Error(), "after 2 attempts") {
		t.Errorf("transport error %q does not say how many attempts were made", inner)
	}
	// net/http quotes the raw URL above the transport; Redactor.Error is the
	// documented way out, and keeps the error inspectable.
	shown := NewRedactor().Error(err)
	assertNoSecret(t, "redacted error", shown.Error())
	if !strings.Contains(shown.Error(), "access_token=REDACTED") || !errors.Is(shown, syscall.ECONNREFUSED) || Classify(shown) != ClassUpstream {
		t.Errorf("Redactor.Error(%v) = %q, lost the URL shape or the cause", err, shown)
	}
	assertNoSecret(t, "logs", logs.String())
}

func TestClient_UnusableURLIsConfigErrorNotRetried(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	var calls atomic.Int32
	opts := fastOptions(&logs)
	opts.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})
	_, _, err := get(t, NewHTTPClient(opts), "ftp://example.invalid/x")
	if got := Classify(err); got != ClassConfig {
		t.Errorf("Classify(%v) = %q, want config", err, got)
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("attempts = %d, want 1", got)
	}
}

func TestClient_ConcurrentUse(t *testing.T) {
	t.Parallel()
	srv, _ := countingServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n%3 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, r.URL.Path)
	})
	var logs logBuffer
	opts := fastOptions(&logs)
	opts.RetryMax = 10
	c := NewHTTPClient(opts)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			path := "/" + strconv.Itoa(i)
			resp, body, err := get(t, c, srv.URL+path)
			if err != nil || resp.StatusCode != 200 || body != path {
				t.Errorf("%s: %v %q %v", path, resp, body, err)
			}
		})
	}
	wg.Wait()
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func assertNoSecret(t *testing.T, where, s string) {
	t.Helper()
	for _, secret := range []string{queryToken, headerToken} {
		if strings.Contains(s, secret) {
			t.Errorf("%s contains a secret:\n%s", where, s)
		}
	}
}
