// Package fakeserver starts the connector fakes' HTTP servers without the
// testing package, so that the same fakes serve both the tests and
// `aimsvault demo`: on a loopback address only, at an ephemeral port.
package fakeserver

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
)

// Start serves h on 127.0.0.1 (or [::1] on a host without IPv4 loopback) at
// an ephemeral port. Close the server to stop it.
func Start(h http.Handler) (*httptest.Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		var err6 error
		if ln, err6 = net.Listen("tcp6", "[::1]:0"); err6 != nil {
			return nil, fmt.Errorf("listen on a loopback port: %w", err)
		}
	}
	// As httptest.NewUnstartedServer builds it, with a listener whose
	// failure is an error rather than a panic.
	s := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
	s.Start()
	return s, nil
}

// TB is what the fakes' New functions use of testing.TB: *testing.T and
// *testing.B satisfy it. The fake packages name it instead of testing.TB so
// that they do not import the testing package, which `aimsvault demo` would
// otherwise link into the binary.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}
