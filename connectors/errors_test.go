package connectors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

// response builds a response as a client would receive it for method+rawURL.
func response(t *testing.T, method, rawURL string, status int, header http.Header, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if header == nil {
		header = http.Header{}
	}
	return &http.Response{
		StatusCode: status,
		Status:     fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header:     header,
		Body:       io.NopCloser(strings.NewReader(body)),
		Request:    req,
	}
}

func TestHTTPError_Error(t *testing.T) {
	t.Parallel()
	resp := response(t, "GET", "https://api.github.com/repos/o/r", 404, nil, "{\"message\":\"Not Found\"}\n")
	err := CheckResponse(resp)
	want := `GET https://api.github.com/repos/o/r: 404 Not Found: {"message":"Not Found"}`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	// A status net/http has no text for, and no body.
	e := &HTTPError{Method: "GET", URL: "https://x/", Status: 599}
	if got := e.Error(); got != "GET https://x/: 599" {
		t.Errorf("got %q", got)
	}
}

func TestCheckResponse_NilFor2xx(t *testing.T) {
	t.Parallel()
	for _, status := range []int{200, 201, 204, 299} {
		if err := CheckResponse(response(t, "GET", "https://x/", status, nil, "")); err != nil {
			t.Errorf("%d: %v", status, err)
		}
	}
	if err := CheckResponse(nil); err == nil {
		t.Error("nil response: no error")
	}
}

func TestCheckResponse_RedactsURLAndTruncatesBody(t *testing.T) {
	t.Parallel()
	body := `{"error":"Authorization: Bearer sekrit-value-123 rejected"}` + strings.Repeat("x", 2000)
	rawURL := "https://bot:pa55word@api.example.com/v1/users?access_token=tok-abcdef&page=2"
	resp := response(t, "POST", rawURL, 401, nil, body)
	err := CheckResponse(resp)
	var he *HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("CheckResponse = %v, want *HTTPError", err)
	}
	wantURL := "https://bot:REDACTED@api.example.com/v1/users?access_token=REDACTED&page=2"
	if he.URL != wantURL || he.Method != "POST" || he.Status != 401 || he.Class != ClassAuth {
		t.Errorf("got %+v, want POST %s 401 auth", he, wantURL)
	}
	if len(he.Body) > maxErrorBody || !strings.HasPrefix(he.Body, `{"error":"Authorization: REDACTED rejected"}xxx`) {
		t.Errorf("Body (%d bytes) = %.80q..., want at most %d bytes, redacted", len(he.Body), he.Body, maxErrorBody)
	}
	for _, secret := range []string{"sekrit-value-123", "tok-abcdef", "pa55word"} {
		if strings.Contains(he.Error(), secret) {
			t.Errorf("error %q contains %q", he, secret)
		}
	}
	// The caller can still read the whole body.
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != body {
		t.Errorf("body after CheckResponse has %d bytes, want the original %d", len(rest), len(body))
	}
}

func TestCheckResponse_KeepsSecretCrossingTheCut(t *testing.T) {
	t.Parallel()
	secret := "crossing-secret-value"
	body := strings.Repeat("a", maxErrorBody-5) + secret
	resp := response(t, "GET", "https://x/", 500, nil, body)
	resp.Request = resp.Request.WithContext(context.WithValue(context.Background(), redactorKey{}, NewRedactor(secret)))
	var he *HTTPError
	if !errors.As(CheckResponse(resp), &he) {
		t.Fatal("no HTTPError")
	}
	if strings.Contains(he.Body, secret[:5]) {
		t.Errorf("Body ends %q: a prefix of the secret survived the cut", he.Body[len(he.Body)-10:])
	}
}

func TestTruncateUTF8(t *testing.T) {
	t.Parallel()
	s := strings.Repeat("é", 300) // 600 bytes
	got := truncateUTF8(s, 511)
	if len(got) != 510 || !utf8.ValidString(got) {
		t.Errorf("got %d bytes, valid=%v; want 510 valid bytes", len(got), utf8.ValidString(got))
	}
}

func TestServerWait(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		status int
		header map[string]string
		want   time.Duration
		ok     bool
	}{
		{"retry-after seconds", 429, map[string]string{"Retry-After": "120"}, 2 * time.Minute, true},
		{"retry-after date", 503, map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second, true},
		{"retry-after date in the past", 503, map[string]string{"Retry-After": now.Add(-time.Hour).Format(http.TimeFormat)}, 0, true},
		{"retry-after garbage", 429, map[string]string{"Retry-After": "soon"}, 0, false},
		{"github reset on 403", 403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": fmt.Sprint(now.Add(30 * time.Second).Unix())}, 30 * time.Second, true},
		{"github reset on 429", 429, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": fmt.Sprint(now.Add(5 * time.Second).Unix())}, 5 * time.Second, true},
		{"retry-after wins over reset", 403, map[string]string{"Retry-After": "7", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": fmt.Sprint(now.Add(time.Hour).Unix())}, 7 * time.Second, true},
		{"budget left", 403, map[string]string{"X-RateLimit-Remaining": "12", "X-RateLimit-Reset": fmt.Sprint(now.Add(time.Hour).Unix())}, 0, false},
		{"reset ignored on 500", 500, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": fmt.Sprint(now.Add(time.Hour).Unix())}, 0, false},
		{"nothing", 503, nil, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.header {
				h.Set(k, v)
			}
			got, ok := serverWait(&http.Response{StatusCode: tc.status, Header: h}, now)
			if got != tc.want || ok != tc.ok {
				t.Errorf("got %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestBackoff_StaysWithinBounds(t *testing.T) {
	t.Parallel()
	lo, hi := 10*time.Millisecond, 500*time.Millisecond
	grew := false
	for retry := range 12 {
		for range 50 {
			d := backoff(lo, hi, retry)
			if d < lo || d > hi {
				t.Fatalf("backoff(%v, %v, %d) = %v, outside the bounds", lo, hi, retry, d)
			}
			if d > 4*lo {
				grew = true
			}
		}
	}
	if !grew {
		t.Error("backoff never grew beyond 4×min: not exponential")
	}
}

// timeoutErr is a net.Error that timed out, as a dialer's would.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	t.Parallel()
	checked := func(status int, header map[string]string) error {
		h := http.Header{}
		for k, v := range header {
			h.Set(k, v)
		}
		return CheckResponse(response(t, "GET", "https://x/", status, h, ""))
	}
	refused := &url.Error{Op: "Get", URL: "https://x/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	cases := []struct {
		name string
		err  error
		want ErrorClass
	}{
		{"nil", nil, ""},
		{"401", checked(401, nil), ClassAuth},
		{"403 no scope", checked(403, nil), ClassAuth},
		{"403 rate limit", checked(403, map[string]string{"X-RateLimit-Remaining": "0"}), ClassRateLimited},
		{"403 secondary rate limit", checked(403, map[string]string{"Retry-After": "60"}), ClassRateLimited},
		{"429", checked(429, nil), ClassRateLimited},
		{"500", checked(500, nil), ClassUpstream},
		{"503", checked(503, nil), ClassUpstream},
		{"404 depends on the call", checked(404, nil), ""},
		{"wrapped HTTPError", fmt.Errorf("list repos: %w", checked(502, nil)), ClassUpstream},
		{"HTTPError inside url.Error", &url.Error{Op: "Get", URL: "u", Err: checked(429, nil)}, ClassRateLimited},
		{"deadline", fmt.Errorf("list: %w", context.DeadlineExceeded), ClassTimeout},
		{"net timeout", &url.Error{Op: "Get", URL: "u", Err: timeoutErr{}}, ClassTimeout},
		{"timeout below a redacted wrapper", &url.Error{Op: "Get", URL: "u", Err: NewRedactor().Error(fmt.Errorf("x: %w", timeoutErr{}))}, ClassTimeout},
		{"connection refused", refused, ClassUpstream},
		{"joined", errors.Join(errors.New("other"), refused), ClassUpstream},
		{"bad response", fmt.Errorf("decode issues: %w: unexpected EOF", ErrBadResponse), ClassBadResponse},
		{"canceled", &url.Error{Op: "Get", URL: "u", Err: context.Canceled}, ""},
		{"unsupported scheme", &url.Error{Op: "Get", URL: "ftp://x", Err: errors.New(`unsupported protocol scheme "ftp"`)}, ClassConfig},
		{"unparseable url", func() error { _, err := url.Parse("http://[::1"); return err }(), ClassConfig},
		{"unknown", errors.New("something else"), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.err); got != tc.want {
				t.Errorf("Classify(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

func TestConfigErrorf_ClassifiesAsConfigKeepingText(t *testing.T) {
	t.Parallel()
	err := ConfigErrorf("files: path %s does not exist: fix connectors[].path", "/x")
	if got := Classify(fmt.Errorf("run: %w", err)); got != ClassConfig {
		t.Errorf("Classify = %q, want config", got)
	}
	if err.Error() != "files: path /x does not exist: fix connectors[].path" {
		t.Errorf("text changed: %q", err.Error())
	}
}
