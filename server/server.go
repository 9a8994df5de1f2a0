// Package server is aimsvault's HTTP server: liveness (/healthz), readiness
// (/readyz) and Prometheus metrics (/metrics); the REST API (package
// server/api) mounts on the same mux with Handle.
//
// None of these three endpoints needs a token (DESIGN: bind server.listen to
// a private address). The server knows nothing of the vault or the
// scheduler: it is handed a readiness check and a metrics gatherer.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configure a Server.
type Options struct {
	// Logger receives the server's errors (default: discard).
	Logger *slog.Logger
	// Ready reports nil when the daemon can do its work, or why not;
	// /readyz answers 200 or 503 with it. nil means always ready.
	Ready func() error
	// Gatherer serves /metrics in the Prometheus text format. nil: no
	// /metrics.
	Gatherer prometheus.Gatherer
}

// Server serves aimsvault's HTTP endpoints.
type Server struct {
	mux  *http.ServeMux
	srv  *http.Server
	opts Options
}

// New returns a server with /healthz, /readyz and, given a Gatherer,
// /metrics.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{mux: http.NewServeMux(), opts: opts}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if opts.Gatherer != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{
			ErrorLog:      slog.NewLogLogger(opts.Logger.Handler(), slog.LevelError),
			ErrorHandling: promhttp.ContinueOnError,
		}))
	}
	s.srv = &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}
	return s
}

// Handle registers h for pattern (http.ServeMux syntax, "GET /api/v1/runs").
// Call it before Serve.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// ServeHTTP serves one request; it makes the Server usable with httptest.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Serve accepts connections on ln until Shutdown, which makes it return nil.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ServeTLS is Serve over TLS (1.2 or later) with the PEM certificate chain
// and key in certFile and keyFile.
func (s *Server) ServeTLS(ln net.Listener, certFile, keyFile string) error {
	s.srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if err := s.srv.ServeTLS(ln, certFile, keyFile); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops accepting connections and waits for requests in progress
// until ctx is done (see http.Server.Shutdown).
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.opts.Ready != nil {
		if err := s.opts.Ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: " + err.Error() + "\n"))
			return
		}
	}
	w.Write([]byte("ready\n"))
}
