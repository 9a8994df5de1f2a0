package awsapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/aimsvault/aimsvault/connectors"
)

// ErrRegionUnavailable marks a region where the service's endpoint does not
// resolve: the service is not offered there (or endpoint is wrong). Such an
// error also matches connectors.ErrConfig.
var ErrRegionUnavailable = errors.New("service not available in region")

// APIError is an AWS call that the service refused. It unwraps to an
// *connectors.HTTPError, so connectors.Classify gives its class (auth for
// AccessDenied and bad credentials, rate_limited for throttling, upstream
// for 5xx), and to the SDK's own error.
type APIError struct {
	Service   string // "sagemaker", "bedrock", "sts"
	Region    string
	Operation string // "DescribeModelPackage"
	// What the call was for: "list model package groups".
	What string
	// Code and Message as AWS sent them ("AccessDeniedException").
	Code, Message string
	HTTP          *connectors.HTTPError
	Err           error
}

// Action is the IAM action the call needs ("sagemaker:DescribeModelPackage").
func (e *APIError) Action() string {
	if e.Operation == "" {
		return ""
	}
	return e.Service + ":" + e.Operation
}

// Error reads "sagemaker us-east-1: list model package groups: ListModelPackageGroups:
// 400 AccessDeniedException: User ... is not authorized (needs sagemaker:ListModelPackageGroups)".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s: %s: %d %s", e.Service, e.Region, e.What, e.Operation, e.HTTP.Status, e.Code)
	if msg := strings.Join(strings.Fields(e.Message), " "); msg != "" {
		b.WriteString(": ")
		b.WriteString(msg)
	}
	if e.HTTP.Class == connectors.ClassAuth && e.Action() != "" {
		fmt.Fprintf(&b, " (the identity needs %s in %s)", e.Action(), e.Region)
	}
	if e.HTTP.Class == connectors.ClassRateLimited {
		b.WriteString(" (still throttled after retries)")
	}
	return b.String()
}

func (e *APIError) Unwrap() []error { return []error{e.HTTP, e.Err} }

// authCodes are the error codes AWS uses for missing permissions and bad,
// expired or missing credentials.
var authCodes = map[string]bool{
	"AccessDenied": true, "AccessDeniedException": true, "UnauthorizedOperation": true,
	"NotAuthorized": true, "UnrecognizedClientException": true, "InvalidClientTokenId": true,
	"ExpiredToken": true, "ExpiredTokenException": true, "SignatureDoesNotMatch": true,
	"InvalidSignatureException": true, "MissingAuthenticationToken": true, "IncompleteSignature": true,
}

// throttleCodes are AWS's throttling error codes, which arrive with 400 on
// the JSON and query protocols.
var throttleCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true,
	"RequestThrottledException": true, "TooManyRequestsException": true, "RequestLimitExceeded": true,
	"ProvisionedThroughputExceededException": true, "SlowDown": true, "RequestThrottled": true,
}

// Wrap turns an error from an SDK call into one that says which call, in
// which region, failed and why, and that connectors.Classify understands.
// service is the IAM prefix ("sagemaker"); what says what the call was for.
// Context cancellation and deadlines are returned wrapped, unchanged.
func Wrap(service, region, what string, err error) error {
	if err == nil {
		return nil
	}
	op := operation(err)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s %s: %s: %w", service, region, what, err)
	}
	if status, _ := httpStatus(err); status < 300 {
		// A success whose body could not be read or made sense of is not
		// a refusal: without this, it read "ListModelCards: 200 " and had
		// no class.
		var de *smithy.DeserializationError
		if errors.As(err, &de) {
			if op == "" {
				op = "?"
			}
			if errors.Is(de.Err, io.ErrUnexpectedEOF) {
				// The body broke off: the connection's fault (upstream).
				return fmt.Errorf("%s %s: %s: %s: %w", service, region, what, op, de.Err)
			}
			return fmt.Errorf("%s %s: %s: %s: %w: %v", service, region, what, op, connectors.ErrBadResponse, de.Err)
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil && re.Response.Response != nil && re.Response.StatusCode != 0 {
		code, msg := errorCode(err), errorMessage(err)
		he := &connectors.HTTPError{
			Status: re.Response.StatusCode,
			Body:   strings.TrimSpace(code + ": " + msg),
			Class:  classOf(re.Response.StatusCode, code),
		}
		if req := re.Response.Request; req != nil {
			he.Method = req.Method
			if req.URL != nil {
				he.URL = connectors.RedactURL(req.URL.String())
			}
		}
		if op == "" {
			op = "?"
		}
		return &APIError{Service: serviceOf(err, service), Region: region, Operation: op, What: what, Code: code, Message: msg, HTTP: he, Err: err}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return connectors.ConfigErrorf("%s %s: %s: %w (%s does not resolve): remove the region from regions, or fix endpoint",
			service, region, what, ErrRegionUnavailable, dnsErr.Name)
	}
	var se *v4.SigningError
	if errors.As(err, &se) {
		return connectors.ConfigErrorf("%s %s: %s: no usable AWS credentials (%v): provide them through the environment, a profile, web identity or an instance role",
			service, region, what, se.Err)
	}
	if op != "" {
		return fmt.Errorf("%s %s: %s: %s: %w", service, region, what, op, err)
	}
	return fmt.Errorf("%s %s: %s: %w", service, region, what, err)
}

// classOf gives the hub's class of an AWS error response.
func classOf(status int, code string) connectors.ErrorClass {
	switch {
	case authCodes[code]:
		return connectors.ClassAuth
	case throttleCodes[code] || status == 429:
		return connectors.ClassRateLimited
	case status == 401 || status == 403:
		return connectors.ClassAuth
	case status >= 500:
		return connectors.ClassUpstream
	}
	return ""
}

// operation is the innermost failed operation's name: when AssumeRole fails
// under GetCallerIdentity, it is AssumeRole that needs a permission.
func operation(err error) string {
	name := ""
	for e := err; e != nil; {
		var oe *smithy.OperationError
		if !errors.As(e, &oe) {
			break
		}
		name = oe.OperationName
		e = oe.Err
	}
	return name
}

// serviceOf is the IAM prefix of the innermost failed operation's service.
func serviceOf(err error, fallback string) string {
	svc := ""
	for e := err; e != nil; {
		var oe *smithy.OperationError
		if !errors.As(e, &oe) {
			break
		}
		svc = oe.ServiceID
		e = oe.Err
	}
	if svc == "" {
		return fallback
	}
	return strings.ToLower(strings.ReplaceAll(svc, " ", ""))
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func errorMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

func httpStatus(err error) (int, bool) {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil && re.Response.Response != nil && re.Response.StatusCode != 0 {
		return re.Response.StatusCode, true
	}
	return 0, false
}

// Stops reports whether err ends a listing's remaining calls: a missing
// permission, throttling that outlasted the retries, or an unavailable
// region fails every later call of the same kind the same way.
func Stops(err error) bool {
	switch connectors.Classify(err) {
	case connectors.ClassAuth, connectors.ClassRateLimited:
		return true
	}
	return errors.Is(err, ErrRegionUnavailable) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// Drain reads a listing through an SDK paginator: more is the paginator's
// HasMorePages, next reads one page (NextPage) and keeps its items. It
// returns whether every page was read, and the error that stopped it.
func Drain(ctx context.Context, more func() bool, next func(context.Context) error) (complete bool, err error) {
	for more() {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		if err := next(ctx); err != nil {
			return false, err
		}
	}
	return true, nil
}
