// Package awsfake holds what the AWS fakes (sagemakerfake, bedrockfake)
// share: the test credentials and environment, a SigV4 check that re-signs
// each request with the test secret, an STS that answers GetCallerIdentity
// and AssumeRole in the query protocol, AWS error bodies for each protocol,
// forced failures, and NextToken paging.
package awsfake

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The test identity. The access keys are obviously fake; the fakes accept
// only requests signed with them.
const (
	AccessKeyID     = "AKIAAIMSVAULTFAKE001"
	SecretAccessKey = "aimsvaultFAKEsecretKEY0000000000000000000"
	Account         = "123456789012"
	UserARN         = "arn:aws:iam::123456789012:user/aimsvault-ci"
	// RoleARN is the role the fake STS lets the test user assume, with
	// ExternalID; the assumed session signs with the Assumed* keys.
	RoleARN               = "arn:aws:iam::123456789012:role/aimsvault-reader"
	ExternalID            = "aimsvault-external-id-42"
	AssumedAccessKeyID    = "ASIAAIMSVAULTFAKE002"
	AssumedSecretKey      = "aimsvaultFAKEassumedSECRET00000000000000"
	AssumedSessionToken   = "FwoGZXIvYXdzEAimsvaultFakeSessionToken0000"
	AssumedRoleSessionARN = "arn:aws:sts::123456789012:assumed-role/aimsvault-reader/aimsvault"
)

// IsolateEnv points the SDK's default credential chain at the test keys
// and away from everything else on the machine: no shared config files, no
// profile, no web identity, no instance metadata (IMDS). Call it from
// TestMain, before any test runs.
func IsolateEnv() {
	for _, k := range []string{
		"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER", "AWS_ENDPOINT_URL_BEDROCK", "AWS_ENDPOINT_URL_STS",
		"AWS_CA_BUNDLE", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT",
	} {
		os.Unsetenv(k)
	}
	os.Setenv("AWS_ACCESS_KEY_ID", AccessKeyID)
	os.Setenv("AWS_SECRET_ACCESS_KEY", SecretAccessKey)
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Setenv("AWS_CONFIG_FILE", os.DevNull)
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
}

// Caller is who signed a request, read from its verified SigV4 header.
type Caller struct {
	AccessKeyID string
	Region      string
	Service     string
	Assumed     bool // signed with the assumed role's session
}

// AddKey makes the fakes also accept requests signed with secret under
// accessKeyID, as a test's distinctive credentials.
func AddKey(accessKeyID, secret string) {
	secretsMu.Lock()
	defer secretsMu.Unlock()
	secrets[accessKeyID] = aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secret}
}

var secretsMu sync.RWMutex

// secrets are the keys the fakes accept.
var secrets = map[string]aws.Credentials{
	AccessKeyID:        {AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey},
	AssumedAccessKeyID: {AccessKeyID: AssumedAccessKeyID, SecretAccessKey: AssumedSecretKey, SessionToken: AssumedSessionToken},
}

// VerifySigV4 checks r's Authorization header: AWS4-HMAC-SHA256 with a
// credential scope of a known key, signed headers including host and
// x-amz-date, and a signature that matches when the fake signs the same
// request (body included) with the key's secret. It returns who signed.
func VerifySigV4(r *http.Request, body []byte, service string) (Caller, error) {
	h := r.Header.Get("Authorization")
	algo, rest, _ := strings.Cut(h, " ")
	if algo != "AWS4-HMAC-SHA256" {
		return Caller{}, fmt.Errorf("authorization %q is not SigV4", algo)
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return Caller{}, fmt.Errorf("credential scope %q is malformed", fields["Credential"])
	}
	secretsMu.RLock()
	creds, ok := secrets[scope[0]]
	secretsMu.RUnlock()
	if !ok {
		return Caller{}, fmt.Errorf("access key %s is unknown", scope[0])
	}
	if scope[3] != service {
		return Caller{}, fmt.Errorf("signed for service %q, want %q", scope[3], service)
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	if !contains(signed, "host") || !contains(signed, "x-amz-date") {
		return Caller{}, fmt.Errorf("signed headers %q lack host or x-amz-date", fields["SignedHeaders"])
	}
	if creds.SessionToken != "" && r.Header.Get("X-Amz-Security-Token") != creds.SessionToken {
		return Caller{}, errors.New("session credentials without their X-Amz-Security-Token")
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return Caller{}, fmt.Errorf("x-amz-date: %v", err)
	}
	// Sign a copy holding only the headers the client signed.
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	cp, err := http.NewRequest(r.Method, u.String(), nil)
	if err != nil {
		return Caller{}, err
	}
	cp.Host = r.Host
	cp.ContentLength = int64(len(body))
	for _, name := range signed {
		switch name {
		case "host", "content-length":
			continue
		}
		cp.Header[http.CanonicalHeaderKey(name)] = r.Header.Values(name)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, cp, hex.EncodeToString(sum[:]), scope[3], scope[2], at); err != nil {
		return Caller{}, err
	}
	if want := signature(cp.Header.Get("Authorization")); !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return Caller{}, errors.New("signature does not match")
	}
	return Caller{AccessKeyID: scope[0], Region: scope[2], Service: scope[3], Assumed: creds.SessionToken != ""}, nil
}

func signature(auth string) string {
	_, sig, _ := strings.Cut(auth, "Signature=")
	return sig
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Protocol is an AWS wire protocol, for error bodies.
type Protocol int

const (
	// JSON is awsJson1_1 (SageMaker): the code in __type and X-Amzn-ErrorType.
	JSON Protocol = iota
	// REST is restJson1 (Bedrock): the code in X-Amzn-ErrorType.
	REST
	// Query is the query protocol (STS): an XML ErrorResponse.
	Query
)

// WriteError answers an AWS error in the protocol's shape.
func WriteError(w http.ResponseWriter, p Protocol, status int, code, message string) {
	w.Header().Set("X-Amzn-Requestid", "fake-request-id")
	switch p {
	case Query:
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		kind := "Sender"
		if status >= 500 {
			kind = "Receiver"
		}
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>fake-request-id</RequestId></ErrorResponse>`,
			kind, xmlEscape(code), xmlEscape(message))
	case JSON:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": message})
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"message": message})
	}
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// Failure is an answer forced on an operation.
type Failure struct {
	// Region limits the failure to calls signed for it; empty is any.
	Region string
	Status int
	// Code is the AWS error code ("ThrottlingException"); Message its text.
	Code, Message string
	// Header is added to the answer (Retry-After).
	Header map[string]string
	// Times is how many calls fail; 0 means every one.
	Times int
}

// Failures holds forced failures by operation name. The zero value is
// ready; it is safe for concurrent use.
type Failures struct {
	mu sync.Mutex
	m  map[string][]*Failure
}

// Add forces f on operation op ("DescribeModelPackage", "GetGuardrail").
func (fs *Failures) Add(op string, f Failure) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.m == nil {
		fs.m = map[string][]*Failure{}
	}
	fs.m[op] = append(fs.m[op], &f)
}

// Take returns the failure due for a call of op in region, if any, and
// counts it.
func (fs *Failures) Take(op, region string) (Failure, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.m[op] {
		if f.Region != "" && f.Region != region {
			continue
		}
		out := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				fs.m[op] = append(fs.m[op][:i:i], fs.m[op][i+1:]...)
			}
		}
		return out, true
	}
	return Failure{}, false
}

// Write answers f in protocol p.
func (f Failure) Write(w http.ResponseWriter, p Protocol) {
	for k, v := range f.Header {
		w.Header().Set(k, v)
	}
	WriteError(w, p, f.Status, f.Code, f.Message)
}

// Page cuts one page out of items: the page starting at the offset token
// names ("" is the first), at most min(max, pageCap) long (max 0 means
// the service's default, def). It returns the next token, "" on the last
// page. A token the fake did not issue for this listing is an error.
func Page[T any](items []T, listing, token string, max, def, pageCap int) ([]T, string, error) {
	start := 0
	if token != "" {
		off, err := parseToken(listing, token)
		if err != nil {
			return nil, "", err
		}
		start = off
	}
	if start > len(items) {
		return nil, "", errors.New("token past the end")
	}
	n := max
	if n <= 0 {
		n = def
	}
	if pageCap > 0 && n > pageCap {
		n = pageCap
	}
	end := min(start+n, len(items))
	next := ""
	if end < len(items) {
		next = makeToken(listing, end)
	}
	return items[start:end], next, nil
}

func makeToken(listing string, off int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(listing + "\x00" + strconv.Itoa(off)))
}

func parseToken(listing, token string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, fmt.Errorf("token %q was not issued by the fake", token)
	}
	l, off, ok := strings.Cut(string(b), "\x00")
	if !ok || l != listing {
		return 0, fmt.Errorf("token %q belongs to another listing", token)
	}
	return strconv.Atoi(off)
}

// ParseForm reads a query-protocol body.
func ParseForm(body []byte) (url.Values, error) {
	return url.ParseQuery(string(body))
}
