// Package config loads aimsvault's YAML config file: it expands ${VAR}
// references from the environment, decodes every section strictly (an unknown
// key anywhere is an error), decodes each connector block into the typed
// config its connector type provides, fills defaults, resolves relative paths
// against the file's folder and validates the result.
//
// Load reports every problem in the file at once, each with its line and key,
// as an *Errors; each problem matches ErrInvalid. One kind of problem does not
// fail the file on its own: an unset ${VAR} inside a connector block breaks
// only that connector (Connector.Err), so that the others still run.
//
// ${VAR} is expanded in every scalar value (never in keys) before decoding;
// $${ is a literal ${. Expanded values reach plain Go types (string, numbers,
// time.Duration), Secret, Path, Duration and any type implementing goccy/go-yaml's
// InterfaceUnmarshaler. Types that implement BytesUnmarshaler or
// encoding.TextUnmarshaler are handed the source text instead, so connector
// configs should not use them for values that may come from the environment.
// An expanded "true" is a string, not a bool.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Options tell Load what the rest of the program knows.
type Options struct {
	// Types resolves a connector's `type` to a fresh typed config (a pointer
	// to a struct with yaml tags, holding defaults) that the rest of the block
	// is decoded into. *connectors.Registry implements it. nil = no types.
	Types interface {
		NewConfig(typ string) (any, bool)
		Names() []string
	}
	// KnownControl reports whether a control ID ("A.6.2.8", "7.2") is in the
	// catalog; it checks mapping.rules[].controls. nil = accept all.
	KnownControl func(id string) bool
	// LookupEnv replaces os.LookupEnv (tests). nil = os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// BuiltinCheck reports whether an id names a built-in findings check,
	// which findings.checks entries may tune; nil = none are built in.
	BuiltinCheck func(id string) bool
	// CheckCondition says what is wrong with one findings `where`
	// condition ("Approved", "!*", ">0"); nil = accept all.
	CheckCondition func(cond string) error
}

// Config is a loaded, validated config file.
type Config struct {
	// File is the absolute path of the config file.
	File       string      `yaml:"-"`
	Vault      Vault       `yaml:"vault"`
	Server     Server      `yaml:"server"`
	Log        Log         `yaml:"log"`
	Defaults   Defaults    `yaml:"defaults"`
	Scheduler  Scheduler   `yaml:"scheduler"`
	Connectors []Connector `yaml:"connectors"`
	Mapping    Mapping     `yaml:"mapping"`
	// AISystems is the AI system inventory (see systems.go).
	AISystems []AISystem `yaml:"ai_systems"`
	// Findings tunes the findings checks (see systems.go).
	Findings Findings `yaml:"findings"`
}

// Vault says where the evidence vault lives and how its checkpoints are signed.
type Vault struct {
	// Dir holds vault.db, objects/ and vault.key; init creates it. Default "data".
	Dir Path `yaml:"dir"`
	// Name is the log's origin line in checkpoints and the signed-note key
	// name: printable ASCII, no spaces, no '+'. Default "aimsvault".
	Name string `yaml:"name"`
	// SigningKey is the ed25519 key file; empty means Dir/vault.key (see KeyFile).
	SigningKey Path `yaml:"signing_key"`
	// TimestampAuthority is an optional RFC 3161 http(s) URL.
	TimestampAuthority string `yaml:"timestamp_authority"`
}

// KeyFile returns SigningKey, or Dir/vault.key when it is empty.
func (v Vault) KeyFile() Path {
	if v.SigningKey != "" {
		return v.SigningKey
	}
	return Path(filepath.Join(string(v.Dir), "vault.key"))
}

// Server configures the HTTP API.
type Server struct {
	// Listen is host:port. Default "127.0.0.1:8080".
	Listen string `yaml:"listen"`
	// TLSCert and TLSKey are PEM files; set both to serve HTTPS, or
	// neither for plain HTTP (behind a TLS-terminating proxy, or on
	// loopback).
	TLSCert Path `yaml:"tls_cert"`
	TLSKey  Path `yaml:"tls_key"`
	// MaxUpload bounds the file of one evidence upload (POST
	// /api/v1/evidence), e.g. "1GiB", "200MB". Default 1GiB.
	MaxUpload ByteSize `yaml:"max_upload"`
	// TrustedProxies are the IP addresses or CIDR prefixes of reverse
	// proxies whose X-Forwarded-For the access log believes. Empty (the
	// default): X-Forwarded-For is ignored and the peer address is logged.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// TLS reports whether the server serves HTTPS.
func (s Server) TLS() bool { return s.TLSCert != "" && s.TLSKey != "" }

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error. Default "info".
	Level string `yaml:"level"`
}

// Defaults apply to every connector that does not set its own.
type Defaults struct {
	// Schedule is a cron expression, or @every 6h, @daily (see
	// ParseSchedule). Default "0 3 * * *".
	Schedule string `yaml:"schedule"`
	// Timeout bounds one run. Default 15m.
	Timeout Duration `yaml:"timeout"`
}

// Scheduler tunes how runs are scheduled.
type Scheduler struct {
	// MaxParallel is how many connectors run at once. Default 4.
	MaxParallel int `yaml:"max_parallel"`
	// ShutdownGrace is how long running collections get to finish on
	// SIGINT/SIGTERM. Default 30s.
	ShutdownGrace Duration `yaml:"shutdown_grace"`
	// Jitter delays each scheduled run by a random time up to this. Default 0.
	Jitter Duration `yaml:"jitter"`
}

// Connector is one configured source.
type Connector struct {
	// Name is unique, matches [a-z0-9][a-z0-9_-]*; used in the CLI, logs and API.
	Name string `yaml:"name"`
	// Type is a registered connector type ("github", "files").
	Type string `yaml:"type"`
	// Schedule is this connector's cron expression (see ParseSchedule);
	// Load fills defaults.schedule when it is empty.
	Schedule string `yaml:"schedule"`
	// Timeout bounds one run; Load fills defaults.timeout when it is zero.
	Timeout Duration `yaml:"timeout"`
	// Line is the line of the block in the file.
	Line int `yaml:"-"`
	// Err, when set, is why this connector cannot run: its block uses a
	// ${VAR} that is unset. Load reports that here rather than failing, so
	// the other connectors still run; Err is an *Errors (matching
	// ErrInvalid) naming each variable, its line and key, never a value.
	// The block's Settings are then incomplete and must not be used.
	Err error `yaml:"-"`
	// Settings is the typed config from Options.Types.NewConfig (a pointer),
	// decoded from the block's other keys, with its Paths resolved.
	Settings any `yaml:"-"`
}

// Mapping holds mapping rules added to the built-in ones.
type Mapping struct {
	Rules []Rule `yaml:"rules"`
}

// Rule maps artifacts to controls.
type Rule struct {
	// Kind is an artifact kind; it may end in ".*" or be a path.Match glob.
	Kind string `yaml:"kind"`
	// Attributes must all equal the artifact's; the value "*" means present.
	Attributes map[string]string `yaml:"attributes"`
	// Controls are catalog control IDs ("A.6.2.8", "7.2"); at least one.
	Controls []string `yaml:"controls"`
	// Freshness is how recent evidence must be to count as covered;
	// 0 = the mapping default (365 days).
	Freshness Duration `yaml:"freshness"`
	// Line is the line of the rule in the file.
	Line int `yaml:"-"`
}

func defaultConfig() Config {
	return Config{
		Vault:     Vault{Dir: "data", Name: "aimsvault"},
		Server:    Server{Listen: "127.0.0.1:8080", MaxUpload: ByteSize(1 << 30)},
		Log:       Log{Level: "info"},
		Defaults:  Defaults{Schedule: "0 3 * * *", Timeout: Duration(15 * time.Minute)},
		Scheduler: Scheduler{MaxParallel: 4, ShutdownGrace: Duration(30 * time.Second)},
	}
}

// Load reads, expands, decodes and validates the config file at path.
// All problems in the file are reported at once: the returned error is an
// *Errors, and matches ErrInvalid. A connector whose block uses an unset
// ${VAR} is returned with Err set instead, when nothing else is wrong. A missing file also matches fs.ErrNotExist.
func Load(path string, opts Options) (*Config, error) {
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fileError(path, fmt.Sprintf("config file %s: %v", path, err), err)
	}
	src, err := os.ReadFile(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fileError(path, fmt.Sprintf("config file %s not found: copy config.example.yaml or pass --config", path), err)
		}
		return nil, fileError(path, fmt.Sprintf("read config file: %v", err), err)
	}
	cfg := defaultConfig()
	cfg.File = abs
	d := &decoder{file: path, opts: opts, dir: filepath.Dir(abs)}
	d.load(src, &cfg)
	if d.fatal() {
		return nil, d.result()
	}
	return &cfg, nil
}

func fileError(path, msg string, cause error) *Errors {
	return &Errors{File: path, List: []*Error{{Msg: msg, err: cause}}}
}

var (
	connectorName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	logLevels     = []string{"debug", "info", "warn", "error"}
)

// validate checks the sections other than connectors and rules, which are
// checked as they are decoded.
func (d *decoder) validate(cfg *Config) {
	at := func(key string) int {
		for k := key; k != ""; {
			if l, ok := d.lines[k]; ok {
				return l
			}
			i := strings.LastIndexByte(k, '.')
			if i < 0 {
				break
			}
			k = k[:i]
		}
		return 0
	}
	bad := func(key, format string, args ...any) {
		d.add(at(key), key, fmt.Sprintf(format, args...))
	}

	if cfg.Vault.Dir == "" {
		bad("vault.dir", "must not be empty")
	}
	if msg := checkKeyName(cfg.Vault.Name); msg != "" {
		bad("vault.name", "%s", msg)
	}
	if ta := cfg.Vault.TimestampAuthority; ta != "" {
		u, err := url.Parse(ta)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("vault.timestamp_authority", "want an http or https URL of an RFC 3161 timestamp authority")
		}
	}
	if _, _, err := net.SplitHostPort(cfg.Server.Listen); err != nil {
		bad("server.listen", "want host:port, e.g. 127.0.0.1:8080")
	}
	if (cfg.Server.TLSCert == "") != (cfg.Server.TLSKey == "") {
		bad("server.tls_cert", "set both server.tls_cert and server.tls_key, or neither")
	}
	for _, k := range []struct {
		key string
		p   Path
	}{{"server.tls_cert", cfg.Server.TLSCert}, {"server.tls_key", cfg.Server.TLSKey}} {
		if k.p == "" {
			continue
		}
		path := string(k.p)
		if !filepath.IsAbs(path) {
			path = filepath.Join(d.dir, path) // paths are resolved after validation
		}
		if fi, err := os.Stat(path); err != nil || fi.IsDir() {
			bad(k.key, "no readable file at %s", k.p)
		}
	}
	if cfg.Server.MaxUpload <= 0 {
		bad("server.max_upload", "must be positive, e.g. 1GiB")
	}
	for i, p := range cfg.Server.TrustedProxies {
		if _, err := ParseIPPrefix(p); err != nil {
			bad(fmt.Sprintf("server.trusted_proxies[%d]", i), "want an IP address or CIDR prefix, e.g. 10.0.0.1 or 10.0.0.0/8")
		}
	}
	if !slices.Contains(logLevels, cfg.Log.Level) {
		bad("log.level", "unknown level (allowed: %s)", strings.Join(logLevels, ", "))
	}
	if cfg.Defaults.Schedule == "" {
		bad("defaults.schedule", "must not be empty: a cron expression such as \"0 3 * * *\" or @every 6h")
	} else if _, err := ParseSchedule(cfg.Defaults.Schedule); err != nil {
		bad("defaults.schedule", "bad schedule: %v (%s)", err, scheduleHelp)
	}
	if cfg.Defaults.Timeout <= 0 {
		bad("defaults.timeout", "must be positive, e.g. 15m")
	}
	if cfg.Scheduler.MaxParallel < 1 {
		bad("scheduler.max_parallel", "must be at least 1")
	}
	if cfg.Scheduler.ShutdownGrace < 0 {
		bad("scheduler.shutdown_grace", "must not be negative")
	}
	if cfg.Scheduler.Jitter < 0 {
		bad("scheduler.jitter", "must not be negative")
	}
}

// checkKeyName returns what is wrong with a signed-note key name, or "".
func checkKeyName(name string) string {
	if name == "" {
		return "must not be empty: it names the vault's log in checkpoints, e.g. example.com/aims"
	}
	for _, r := range name {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) || unicode.IsSpace(r) || r == '+' {
			return "want printable ASCII without spaces or '+', e.g. example.com/aims"
		}
	}
	return ""
}
