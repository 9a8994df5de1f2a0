package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	_ "time/tzdata" // CRON_TZ= zones work on hosts without a zone database

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/findings"
	"github.com/aimsvault/aimsvault/mapping"
	"github.com/aimsvault/aimsvault/scheduler"
	"github.com/aimsvault/aimsvault/server"
	"github.com/aimsvault/aimsvault/server/api"
	"github.com/aimsvault/aimsvault/server/web"
)

func (a *app) serveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the connectors on their schedules; serve the web console, the API, /healthz, /readyz, /metrics",
		Long: `Run the connectors on their schedules until stopped, logging JSON to stderr,
and serve the web console (/, sign in with a token), the REST API (/api/v1,
bearer tokens from ` + "`aimsvault token create`" + `),
/healthz, /readyz and /metrics on server.listen (HTTPS with server.tls_cert
and server.tls_key).

At start, runs left running by a crash are marked failed (interrupted), and
each connector that missed a scheduled run while aimsvault was down (or never
ran) runs once. SIGTERM or SIGINT stops scheduling and gives runs in progress
scheduler.shutdown_grace to finish before they are canceled; a second one
exits at once. SIGHUP reloads the config file: a config with errors is
refused (the errors are logged) and the running one stays.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.serve(cmd.Context()) },
	}
}

func (a *app) serve(ctx context.Context) error {
	// Catch signals from the start: a SIGTERM while starting stops cleanly.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	defer signal.Stop(stop)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	// A daemon's logs go to a collector, not a person: JSON, whatever
	// stderr is. The level follows reloads.
	level := new(slog.LevelVar)
	level.Set(parseLevel(cfg.Log.Level))
	a.logger = slog.New(slog.NewJSONHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	log := a.logger

	v, err := a.openVault(ctx)
	if err != nil {
		return err
	}
	if err := v.MarkInterrupted(ctx); err != nil {
		return err
	}
	acc, err := a.openAccess(ctx, v)
	if err != nil {
		return err
	}
	defer acc.Close()
	var trusted []netip.Prefix
	for _, p := range cfg.Server.TrustedProxies {
		pr, _ := config.ParseIPPrefix(p) // checked by config.Load
		trusted = append(trusted, pr)
	}
	// What the API reads of the config, swapped whole at each reload.
	var live atomic.Pointer[api.Live]
	live.Store(&api.Live{Mapper: a.mapper, Sources: a.configuredSources()})
	ln := a.listener // demo: bound before the config was written
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Server.Listen); err != nil {
			return fmt.Errorf("%w: change server.listen in %s", err, a.configPath)
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		server.NewVaultCollector(v),
	)
	sched, err := scheduler.New(a.plan(cfg, a.mapper), scheduler.Options{
		MaxParallel: cfg.Scheduler.MaxParallel,
		Logger:      log,
		Metrics:     scheduler.NewMetrics(reg),
	})
	if err != nil {
		ln.Close()
		return err
	}
	var notReady atomic.Pointer[string]
	setNotReady := func(why string) { notReady.Store(&why) }
	setNotReady("starting")
	srv := server.New(server.Options{
		Logger:   log,
		Gatherer: reg,
		Ready: func() error {
			if why := notReady.Load(); why != nil {
				return errors.New(*why)
			}
			return nil
		},
	})
	apiv1 := api.New(api.Options{
		Vault: v, Access: acc, Scheduler: sched, Logger: log,
		Live:           func() api.Live { return *live.Load() },
		MaxUpload:      cfg.Server.MaxUpload.Bytes(),
		TrustedProxies: trusted,
	})
	apiv1.Register(srv)
	// The web console at /: findings read a copy of the app taken at
	// start and after each reload, so requests never race a reload.
	var snapshot atomic.Pointer[app]
	takeSnapshot := func() { cp := *a; snapshot.Store(&cp) }
	takeSnapshot()
	console := web.New(web.Options{
		API: apiv1, Tokens: acc, Logger: log,
		Findings: func(ctx context.Context) ([]findings.Finding, error) {
			return snapshot.Load().openFindings(ctx, v, time.Now(), 0)
		},
	})
	console.Register(srv)
	served := make(chan error, 1)
	scheme := "http"
	if cfg.Server.TLS() {
		scheme = "https"
		go func() { served <- srv.ServeTLS(ln, string(cfg.Server.TLSCert), string(cfg.Server.TLSKey)) }()
	} else {
		go func() { served <- srv.Serve(ln) }()
	}
	log.Info("listening", "addr", ln.Addr().String(), "scheme", scheme)

	warnBroken(log, cfg)
	// Runs outlive the command's ctx: Shutdown decides when they end.
	if err := sched.Start(context.WithoutCancel(ctx)); err != nil {
		srv.Shutdown(ctx)
		return err
	}
	notReady.Store(nil)
	warmCtx, stopWarm := context.WithCancel(ctx)
	defer stopWarm()
	console.Warm(warmCtx)
	log.Info("scheduler started", "connectors", len(cfg.Connectors), "max_parallel", cfg.Scheduler.MaxParallel)
	if a.onServing != nil {
		a.onServing(scheme + "://" + ln.Addr().String())
	}

	var (
		serveErr error
		sig      os.Signal
	)
wait:
	for {
		select {
		case <-hup:
			cfg = a.reload(cfg, sched, level)
			live.Store(&api.Live{Mapper: a.mapper, Sources: a.configuredSources()})
			takeSnapshot()
		case serveErr = <-served:
			break wait
		case sig = <-stop:
			break wait
		}
	}
	// From here a second SIGTERM or SIGINT takes its default action and
	// ends the process at once. The vault stays whole: each batch of
	// records commits atomically (SQLite WAL), objects are renamed into
	// place, and runs left running are marked interrupted at the next start.
	signal.Stop(stop)
	setNotReady("shutting down")
	if serveErr != nil {
		log.Error("http server failed: shutting down", "err", serveErr)
	} else {
		log.Info("shutting down: waiting for runs in progress; send the signal again to exit at once",
			"signal", sig.String(), "grace", cfg.Scheduler.ShutdownGrace.String(), "runs", sched.InProgress())
	}

	grace, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Scheduler.ShutdownGrace.Duration())
	if err := sched.Shutdown(grace); err != nil {
		log.Warn("grace period over: runs in progress were canceled", "grace", cfg.Scheduler.ShutdownGrace.String())
	}
	cancel()
	hctx, hcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	srv.Shutdown(hctx)
	hcancel()
	if err := v.Flush(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	log.Info("stopped")
	if serveErr != nil {
		return fmt.Errorf("http server: %w", serveErr)
	}
	return nil
}

// plan is what the scheduler runs for cfg.
func (a *app) plan(cfg *config.Config, m *mapping.Mapper) scheduler.Plan {
	r := a.runner()
	r.Mapper = m
	return scheduler.Plan{Runner: r, Connectors: cfg.Connectors, Jitter: cfg.Scheduler.Jitter.Duration()}
}

// reload reads the config file again and, if it is valid, puts it in force.
// It returns the config in force afterwards.
func (a *app) reload(old *config.Config, sched *scheduler.Scheduler, level *slog.LevelVar) *config.Config {
	log := a.logger
	cfg, m, err := a.readConfig()
	if err == nil {
		err = sched.Update(a.plan(cfg, m))
	}
	if err != nil {
		var problems []string
		var ce *config.Errors
		if errors.As(err, &ce) {
			for _, e := range ce.List {
				problems = append(problems, e.Error())
			}
		} else {
			problems = []string{err.Error()}
		}
		log.Error("config reload refused: the running config stays", "file", a.configPath, "problems", problems)
		return old
	}
	// These are bound at start-up.
	for _, c := range []struct {
		key      string
		was, now any
	}{
		{"vault", old.Vault, cfg.Vault},
		{"server.listen", old.Server.Listen, cfg.Server.Listen},
		{"server.tls_cert", old.Server.TLSCert, cfg.Server.TLSCert},
		{"server.tls_key", old.Server.TLSKey, cfg.Server.TLSKey},
		{"server.max_upload", old.Server.MaxUpload, cfg.Server.MaxUpload},
		{"server.trusted_proxies", strings.Join(old.Server.TrustedProxies, ","), strings.Join(cfg.Server.TrustedProxies, ",")},
		{"scheduler.max_parallel", old.Scheduler.MaxParallel, cfg.Scheduler.MaxParallel},
	} {
		if c.was != c.now {
			log.Warn("setting changed: restart aimsvault to apply it", "key", c.key)
		}
	}
	level.Set(parseLevel(cfg.Log.Level))
	a.cfg, a.mapper = cfg, m
	warnBroken(log, cfg)
	log.Info("config reloaded", "file", a.configPath, "connectors", len(cfg.Connectors))
	return cfg
}

// warnBroken logs each connector that cannot run as configured; its runs
// fail with the same message.
func warnBroken(log *slog.Logger, cfg *config.Config) {
	for _, c := range cfg.Connectors {
		if c.Err != nil {
			log.Warn("connector cannot run until its config is fixed", "connector", c.Name, "err", userMessage(c.Err))
		}
	}
}
