package connectors

import (
	"fmt"
	"io"
	"net/http"
)

// DefaultMaxResponse bounds one upstream answer a connector reads: no real
// API listing or object comes near it, and a hostile or broken upstream
// cannot make a run exhaust memory.
const DefaultMaxResponse = 32 << 20

// LimitBodies returns a copy of hc whose response bodies fail to read past
// max bytes, with an error matching ErrBadResponse that names the request.
func LimitBodies(hc *http.Client, max int64) *http.Client {
	c := *hc
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = &limitTransport{base: base, max: max}
	return &c
}

type limitTransport struct {
	base http.RoundTripper
	max  int64
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.max, max: t.max, method: req.Method, url: RedactURL(req.URL.String())}
	return resp, nil
}

type limitedBody struct {
	rc          io.ReadCloser
	left, max   int64
	method, url string
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, b.err()
	}
	// Read one byte past the cap to tell "exactly max" from "more".
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n + int(b.left), b.err()
	}
	return n, err
}

func (b *limitedBody) err() error {
	return fmt.Errorf("%s %s: %w: answer larger than %d bytes", b.method, b.url, ErrBadResponse, b.max)
}

func (b *limitedBody) Close() error { return b.rc.Close() }
