package connectors

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"syscall"
	"testing"
)

func TestRedactURL(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"https://api.github.com/repos/o/r", "https://api.github.com/repos/o/r"},
		{"https://api.github.com/repos/o/r?per_page=100&page=2", "https://api.github.com/repos/o/r?per_page=100&page=2"},
		{"https://x/?access_token=abc&page=2", "https://x/?access_token=REDACTED&page=2"},
		{"https://x/?Access_Token=abc", "https://x/?Access_Token=REDACTED"},
		{"https://x/?token=a&api_key=b&apikey=c&key=d&password=e&secret=f&signature=g&sig=h&client_secret=i&code=j",
			"https://x/?token=REDACTED&api_key=REDACTED&apikey=REDACTED&key=REDACTED&password=REDACTED&secret=REDACTED&signature=REDACTED&sig=REDACTED&client_secret=REDACTED&code=REDACTED"},
		{"https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20260101&X-Amz-Security-Token=FQo&X-Amz-Signature=deadbeef",
			"https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED&X-Amz-Security-Token=REDACTED&X-Amz-Signature=REDACTED"},
		{"https://x/?x-amz-signature=lower", "https://x/?x-amz-signature=REDACTED"},
		{"https://x/?access%5Ftoken=abc", "https://x/?access%5Ftoken=REDACTED"}, // an escaped name still counts
		{"https://x/?tokens=keep&monkey=keep", "https://x/?tokens=keep&monkey=keep"},
		{"https://user:pa55@x/path", "https://user:REDACTED@x/path"},
		{"https://user@x/path", "https://user@x/path"},
		{"https://x/cb#access_token=abc&state=s", "https://x/cb#access_token=REDACTED&state=s"},
		{"https://x/search?jql=project%20%3D%20AIRISK", "https://x/search?jql=project%20%3D%20AIRISK"},
		{"/relative/path?token=abc", "/relative/path?token=REDACTED"},
		{"http://[::1:bad?token=abc", "http://[::1:bad?token=REDACTED"}, // does not parse
		{"", ""},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			if got := RedactURL(tc.in); got != tc.want {
				t.Errorf("RedactURL(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestRedactor_String(t *testing.T) {
	t.Parallel()
	r := NewRedactor("s3cr3t-token", "abc", "", "p@ss word!")
	cases := []struct{ name, in, want string }{
		{"literal", "token is s3cr3t-token here", "token is REDACTED here"},
		{"literal twice", "s3cr3t-token/s3cr3t-token", "REDACTED/REDACTED"},
		{"short secret ignored", "abc is not redacted", "abc is not redacted"},
		{"query-escaped literal", "pw=p%40ss+word%21", "pw=REDACTED"},
		{"path-escaped literal", "/p@ss%20word%21/x", "/REDACTED/x"},
		{"authorization bearer", "Authorization: Bearer abc", "Authorization: REDACTED"},
		{"authorization basic", "authorization: Basic dXNlcjpwYXNz", "authorization: REDACTED"},
		{"authorization token", "Authorization: token ghx_short", "Authorization: REDACTED"},
		{"proxy authorization", "Proxy-Authorization: Basic dXNlcjpwYXNz", "Proxy-Authorization: REDACTED"},
		{"header map dump", "map[Authorization:[Bearer abc] Accept:[application/json]]", "map[Authorization:[REDACTED] Accept:[application/json]]"},
		{"api key header", "X-Api-Key: k-123456", "X-Api-Key: REDACTED"},
		{"token header", "X-Auth-Token: t-123", "X-Auth-Token: REDACTED"},
		{"cookie", "Cookie: session=abc", "Cookie: REDACTED"},
		{"json field", `{"access_token":"abc","login":"octo"}`, `{"access_token":"REDACTED","login":"octo"}`},
		{"json secret", `{"secret": "leaked"}`, `{"secret": "REDACTED"}`},
		{"bare bearer", "sent Bearer eyJhbGciOiJIUzI1NiJ9.e30.x to server", "sent Bearer REDACTED to server"},
		{"bare basic", "with Basic dXNlcjpwYXNzd29yZA== creds", "with Basic REDACTED creds"},
		{"basic realm kept", `WWW-Authenticate: Basic realm="jira"`, `WWW-Authenticate: Basic realm="jira"`},
		{"github token", "leaked ghp_0123456789abcdefghijABCDEFGHIJ in a body", "leaked REDACTED in a body"},
		{"url in text", `Get "https://u:pw@x/a?access_token=abc&page=2": refused`, `Get "https://u:REDACTED@x/a?access_token=REDACTED&page=2": refused`},
		{"plain text", "GET https://api.github.com/repos/o/r: 404 Not Found", "GET https://api.github.com/repos/o/r: 404 Not Found"},
		{"rate limit headers kept", "X-RateLimit-Remaining: 0", "X-RateLimit-Remaining: 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.String(tc.in); got != tc.want {
				t.Errorf("String(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestRedactor_LongerSecretWins(t *testing.T) {
	t.Parallel()
	r := NewRedactor("abcd", "abcdefgh")
	if got := r.String("xabcdefghx"); got != "xREDACTEDx" {
		t.Errorf("got %q, want the longer secret replaced whole", got)
	}
}

func TestRedactor_NilRedactsByShape(t *testing.T) {
	t.Parallel()
	var r *Redactor
	if got := r.String("Authorization: Bearer abc"); got != "Authorization: REDACTED" {
		t.Errorf("got %q", got)
	}
}

func TestRedactor_ErrorKeepsChain(t *testing.T) {
	t.Parallel()
	cause := &url.Error{Op: "Get", URL: "https://x/?access_token=tok-1234", Err: syscall.ECONNREFUSED}
	err := NewRedactor("tok-1234").Error(fmt.Errorf("list repos: %w", cause))
	if strings.Contains(err.Error(), "tok-1234") {
		t.Errorf("message %q holds the secret", err)
	}
	var ue *url.Error
	if !errors.Is(err, syscall.ECONNREFUSED) || !errors.As(err, &ue) {
		t.Errorf("%v lost its chain", err)
	}
	if NewRedactor().Error(nil) != nil {
		t.Error("Error(nil) != nil")
	}
}

func TestRedactHandler_RedactsEveryPart(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	secret := "sekrit-0123"
	h := &redactHandler{h: slog.NewJSONHandler(&buf, nil), r: NewRedactor(secret)}
	log := slog.New(h).With("conn", "token="+secret).WithGroup("g")
	log.Info("saw "+secret,
		"plain", secret,
		"err", errors.New("Authorization: Bearer "+secret),
		slog.Group("nested", "deep", secret),
		"any", []string{secret},
		"n", 3,
	)
	out := buf.String()
	if strings.Contains(out, secret) {
		t.Errorf("log line holds the secret:\n%s", out)
	}
	if !strings.Contains(out, `"n":3`) {
		t.Errorf("non-string attribute changed:\n%s", out)
	}
}
