package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/mattn/go-isatty"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors"
	"github.com/aimsvault/aimsvault/connectors/all"
	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/findings"
	"github.com/aimsvault/aimsvault/mapping"
	"github.com/aimsvault/aimsvault/scheduler"
)

// app holds what subcommands share: the config, once loaded, and the vault,
// once opened.
type app struct {
	stdout, stderr io.Writer
	configPath     string

	cfg      *config.Config
	registry *connectors.Registry
	vault    *evidence.Vault
	mapper   *mapping.Mapper
	logger   *slog.Logger

	// Set by demo only: serve serves on listener instead of server.listen,
	// and calls onServing with its root URL once it is ready.
	listener  net.Listener
	onServing func(url string)
}

func (a *app) close() {
	if a.vault != nil {
		a.vault.Close()
	}
}

// extraTypes are connector types registered beside the built-in ones; only
// the end-to-end tests' build adds any (see e2ehooks.go).
var extraTypes []connectors.Type

// loadConfig reads and validates the config file.
func (a *app) loadConfig() (*config.Config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	cfg, m, err := a.readConfig()
	if err != nil {
		return nil, err
	}
	a.cfg, a.mapper = cfg, m
	a.logger = newLogger(a.stderr, cfg.Log.Level)
	return cfg, nil
}

// readConfig reads and validates the config file and builds its mapper,
// changing nothing in a: serve's reload uses it too.
func (a *app) readConfig() (*config.Config, *mapping.Mapper, error) {
	if a.registry == nil {
		a.registry = all.Registry()
		for _, t := range extraTypes {
			a.registry.Register(t)
		}
	}
	cfg, err := config.Load(a.configPath, config.Options{Types: a.registry, KnownControl: mapping.Known,
		BuiltinCheck: findings.IsBuiltin, CheckCondition: findings.CheckCondition})
	if err != nil {
		return nil, nil, err
	}
	rules := make([]mapping.Rule, len(cfg.Mapping.Rules))
	for i, r := range cfg.Mapping.Rules {
		rules[i] = mapping.Rule{Kind: r.Kind, Attributes: r.Attributes, Controls: r.Controls, Freshness: r.Freshness.Duration()}
	}
	m, err := mapping.NewMapper(rules)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: mapping.rules: %w", a.configPath, err)
	}
	return cfg, m, nil
}

func newLogger(w io.Writer, level string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: parseLevel(level)}
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// parseLevel parses a log.level the config accepted; anything else is info.
func parseLevel(level string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return slog.LevelInfo
	}
	return l
}

func (a *app) vaultOptions(cfg *config.Config) evidence.Options {
	opts := evidence.Options{
		Dir:     string(cfg.Vault.Dir),
		Name:    cfg.Vault.Name,
		KeyFile: string(cfg.Vault.KeyFile()),
		Logger:  a.logger,
	}
	if cfg.Vault.TimestampAuthority != "" {
		opts.TSA = &evidence.TSA{URL: cfg.Vault.TimestampAuthority}
	}
	return opts
}

// openVault loads the config and opens its vault, explaining what to do
// when there is none.
func (a *app) openVault(ctx context.Context) (*evidence.Vault, error) {
	if a.vault != nil {
		return a.vault, nil
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	v, err := evidence.Open(ctx, a.vaultOptions(cfg))
	switch {
	case errors.Is(err, evidence.ErrNotInitialized):
		return nil, fmt.Errorf("no vault in %s: run `aimsvault init --config %s` first", cfg.Vault.Dir, a.configPath)
	case errors.Is(err, evidence.ErrNotVault):
		return nil, fmt.Errorf("%v: vault.dir must name a folder of its own; aimsvault will not touch this one", err)
	case err != nil:
		return nil, err
	}
	a.vault = v
	return v, nil
}

func (a *app) runner() *scheduler.Runner {
	return &scheduler.Runner{
		Vault:    a.vault,
		Mapper:   a.mapper,
		Registry: a.registry,
		Logger:   a.logger,
		HTTP:     connectors.HTTPOptions{UserAgent: "aimsvault/" + version},
	}
}

// configuredSources are the catalog sources of the configured connectors.
func (a *app) configuredSources() []string {
	var out []string
	for _, c := range a.cfg.Connectors {
		if t, ok := a.registry.Lookup(c.Type); ok {
			out = append(out, t.Source)
		}
	}
	return out
}

// expandControls turns objective and heading IDs (A.6, 9.3) into the
// requirement items they group.
func expandControls(ids []string) ([]string, error) {
	var out []string
	for _, id := range ids {
		for _, part := range strings.Split(id, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			ex, err := mapping.Expand(part)
			if err != nil {
				return nil, fmt.Errorf("--control %s: %w", part, err)
			}
			out = append(out, ex...)
		}
	}
	return out, nil
}
