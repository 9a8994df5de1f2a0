package awsapi

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// maxBody bounds a captured response body. Describe and Get answers are
// kilobytes; a body this large means something is wrong upstream.
const maxBody = 32 << 20

// Raw is a successful call's own response body, byte for byte as the
// service sent it, and the request that got it.
type Raw struct {
	Method string
	// Path of the request URL (REST-JSON: "/guardrails/abc"; JSON
	// protocols post every call to the endpoint's root).
	Path string
	// RawQuery of the request URL (REST-JSON query parameters).
	RawQuery string
	// Target is the X-Amz-Target header of JSON-protocol calls
	// ("SageMaker.DescribeModelPackage"); empty for REST-JSON.
	Target string
	Body   []byte
}

type rawKey struct{}

// RawOf returns what the capture middleware kept of the response whose
// ResultMetadata md is; ok is false if nothing was captured.
func RawOf(md middleware.Metadata) (Raw, bool) {
	r, ok := md.Get(rawKey{}).(Raw)
	return r, ok
}

// capture sits last in the Deserialize step, next to the transport: it sees
// the HTTP response before the SDK's deserializer and before any other
// middleware. It reads a 2xx body whole, hands the deserializer a copy,
// and puts the bytes in the result metadata, which the SDK returns as the
// output's ResultMetadata (after the retry loop, from the attempt that
// succeeded). The body is thus tied to its own call without any shared
// state, and paginators' pages carry theirs too. Error responses are left
// to the deserializer untouched.
type capture struct{}

func addCapture(s *middleware.Stack) error {
	return s.Deserialize.Add(capture{}, middleware.After)
}

func (capture) ID() string { return "aimsvault.CaptureRawResponse" }

func (capture) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
	middleware.DeserializeOutput, middleware.Metadata, error,
) {
	out, md, err := next.HandleDeserialize(ctx, in)
	if err != nil {
		return out, md, err
	}
	resp, ok := out.RawResponse.(*smithyhttp.Response)
	if !ok || resp.StatusCode < 200 || resp.StatusCode > 299 || resp.Body == nil {
		return out, md, err
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	resp.Body.Close()
	if rerr != nil {
		return out, md, &smithy.DeserializationError{Err: fmt.Errorf("read response body: %w", rerr)}
	}
	if len(body) > maxBody {
		return out, md, &smithy.DeserializationError{Err: fmt.Errorf("response body larger than %d bytes", maxBody)}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	raw := Raw{Body: body}
	if req, ok := in.Request.(*smithyhttp.Request); ok {
		raw.Method = req.Method
		raw.Path = req.URL.Path
		raw.RawQuery = req.URL.RawQuery
		raw.Target = req.Header.Get("X-Amz-Target")
	}
	md.Set(rawKey{}, raw)
	return out, md, nil
}
