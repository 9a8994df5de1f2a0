package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeSettings is a connector's typed config, as connectors.Define makes one.
type fakeSettings struct {
	BaseURL  string   `yaml:"base_url"`
	Token    Secret   `yaml:"token"`
	Owner    string   `yaml:"owner"`
	Repos    []string `yaml:"repos"`
	Root     Path     `yaml:"root"`
	Extra    []Path   `yaml:"extra"`
	PageSize int      `yaml:"page_size"`
	Nested   struct {
		Dir  *Path    `yaml:"dir"`
		Keep Duration `yaml:"keep"`
	} `yaml:"nested"`
}

func (s *fakeSettings) Validate() error {
	var errs []error
	if s.Owner == "" {
		errs = append(errs, errors.New("owner is required"))
	}
	if s.PageSize > 100 {
		errs = append(errs, errors.New("page_size must be at most 100"))
	}
	return errors.Join(errs...)
}

type plainSettings struct {
	Path Path `yaml:"path"`
}

// fakeTypes stands in for *connectors.Registry.
type fakeTypes struct{}

func (fakeTypes) NewConfig(typ string) (any, bool) {
	switch typ {
	case "fake":
		return &fakeSettings{BaseURL: "https://api.example.com/", PageSize: 50}, true
	case "plain":
		return &plainSettings{}, true
	}
	return nil, false
}

func (fakeTypes) Names() []string { return []string{"fake", "plain"} }

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func opts(vars map[string]string) Options {
	return Options{
		Types:        fakeTypes{},
		KnownControl: func(id string) bool { return slices.Contains([]string{"A.6.2.8", "7.2", "A.4.2"}, id) },
		LookupEnv:    env(vars),
	}
}

// write puts src in a fresh folder as aimsvault.yaml and returns its path.
func write(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "aimsvault.yaml")
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// loadErrs loads src and returns the problems, failing if there are none.
func loadErrs(t *testing.T, src string, o Options) []*Error {
	t.Helper()
	cfg, err := Load(write(t, src), o)
	if err == nil {
		t.Fatalf("Load succeeded, want an error; config: %+v", cfg)
	}
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error is %T, want *Errors: %v", err, err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(err, ErrInvalid) = false for %v", err)
	}
	return errs.List
}

// find returns the problem with key, failing if there is none.
func find(t *testing.T, list []*Error, key string) *Error {
	t.Helper()
	for _, e := range list {
		if e.Key == key {
			return e
		}
	}
	t.Fatalf("no problem with key %q in:\n%s", key, (&Errors{List: list}).Error())
	return nil
}

func TestLoad_FullConfigWithDefaults(t *testing.T) {
	t.Parallel()
	src := `vault:
  dir: ./vaultdir
  name: example.com/aims
  timestamp_authority: https://tsa.example.com/
server:
  listen: 0.0.0.0:9090
log:
  level: debug
defaults:
  timeout: 10m
scheduler:
  max_parallel: 2
  jitter: 1m
connectors:
  - name: github-ml
    type: fake
    schedule: "@every 6h"
    token: ${GITHUB_TOKEN}
    owner: example-org
    repos: [model-training, inference-api]
  - name: policies
    type: plain
    timeout: 1h
    path: ./policies
mapping:
  rules:
    - kind: file.*
      attributes: {doc_type: ai_policy}
      controls: [A.6.2.8, "7.2"]
      freshness: 90d
`
	p := write(t, src)
	cfg, err := Load(p, opts(map[string]string{"GITHUB_TOKEN": "ghp_secret"}))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(p)
	want := &Config{
		File: p,
		Vault: Vault{
			Dir:                Path(filepath.Join(dir, "vaultdir")),
			Name:               "example.com/aims",
			TimestampAuthority: "https://tsa.example.com/",
		},
		Server:    Server{Listen: "0.0.0.0:9090", MaxUpload: 1 << 30},
		Log:       Log{Level: "debug"},
		Defaults:  Defaults{Schedule: "0 3 * * *", Timeout: Duration(10 * time.Minute)},
		Scheduler: Scheduler{MaxParallel: 2, ShutdownGrace: Duration(30 * time.Second), Jitter: Duration(time.Minute)},
		Connectors: []Connector{
			{
				Name: "github-ml", Type: "fake", Schedule: "@every 6h", Timeout: Duration(10 * time.Minute), Line: 15,
				Settings: &fakeSettings{
					BaseURL:  "https://api.example.com/", // default kept
					Token:    "ghp_secret",
					Owner:    "example-org",
					Repos:    []string{"model-training", "inference-api"},
					PageSize: 50,
				},
			},
			{
				Name: "policies", Type: "plain", Schedule: "0 3 * * *", Timeout: Duration(time.Hour), Line: 21,
				Settings: &plainSettings{Path: Path(filepath.Join(dir, "policies"))},
			},
		},
		Mapping: Mapping{Rules: []Rule{{
			Kind:       "file.*",
			Attributes: map[string]string{"doc_type": "ai_policy"},
			Controls:   []string{"A.6.2.8", "7.2"},
			Freshness:  Duration(90 * 24 * time.Hour),
			Line:       27,
		}}},
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if got := cfg.Vault.KeyFile(); got != Path(filepath.Join(dir, "vaultdir", "vault.key")) {
		t.Errorf("KeyFile() = %q", got)
	}
}

func TestLoad_EmptyFileGivesDefaults(t *testing.T) {
	t.Parallel()
	p := write(t, "# nothing yet\n")
	cfg, err := Load(p, opts(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := defaultConfig()
	want.File = p
	want.Vault.Dir = Path(filepath.Join(filepath.Dir(p), "data"))
	if diff := cmp.Diff(&want, cfg); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestLoad_UnknownTopLevelKey(t *testing.T) {
	t.Parallel()
	list := loadErrs(t, "vault:\n  dir: data\nconectors: []\n", opts(nil))
	e := find(t, list, "conectors")
	if e.Line != 3 || !strings.Contains(e.Msg, "connectors") || !strings.Contains(e.Msg, "vault") {
		t.Errorf("got %v, want line 3 listing the allowed keys", e)
	}
	if len(list) != 1 {
		t.Errorf("got %d problems, want 1:\n%v", len(list), &Errors{List: list})
	}
}

func TestLoad_UnknownKeyInSection(t *testing.T) {
	t.Parallel()
	list := loadErrs(t, "vault:\n  dir: data\n  nmae: x\n", opts(nil))
	e := find(t, list, "vault.nmae")
	if e.Line != 3 || !strings.Contains(e.Msg, "signing_key") {
		t.Errorf("got %v, want line 3 listing vault's keys", e)
	}
}

func TestLoad_UnknownConnectorKey(t *testing.T) {
	t.Parallel()
	src := `connectors:
  - name: github-ml
    type: fake
    owner: o
    repoz: [a]
`
	list := loadErrs(t, src, opts(nil))
	e := find(t, list, "connectors[0] (github-ml).repoz")
	if e.Line != 5 {
		t.Errorf("line = %d, want 5", e.Line)
	}
	for _, k := range []string{"base_url", "token", "owner", "repos", "root", "page_size"} {
		if !strings.Contains(e.Msg, k) {
			t.Errorf("message %q does not list allowed key %q", e.Msg, k)
		}
	}
	if want := "aimsvault.yaml:5: connectors[0] (github-ml).repoz: "; !strings.Contains(e.Error(), want) {
		t.Errorf("Error() = %q, want it to contain %q", e.Error(), want)
	}
}

func TestLoad_UnknownNestedKeyInConnector(t *testing.T) {
	t.Parallel()
	src := "connectors:\n  - name: a\n    type: fake\n    owner: o\n    nested:\n      dirr: x\n"
	list := loadErrs(t, src, opts(nil))
	if e := find(t, list, "connectors[0] (a).nested.dirr"); e.Line != 6 || !strings.Contains(e.Msg, "keep") {
		t.Errorf("got %v", e)
	}
}

func TestLoad_AllErrorsReported(t *testing.T) {
	t.Parallel()
	src := `log:
  level: loud
vault:
  name: "has space"
connectors:
  - name: one
    type: fake
    owner: o
    bogus: 1
  - name: two
    type: nope
  - name: three
    type: fake
    owner: o
    page_size: lots
  - type: fake
    owner: o
mapping:
  rules:
    - kind: github.*
      controls: [A.9.9.9]
    - kind: jira.issue
      controls: []
defaults:
  timeout: soon
`
	list := loadErrs(t, src, opts(nil))
	t.Logf("problems:\n%v", &Errors{List: list})
	want := []struct {
		line int
		key  string
	}{
		{2, "log.level"},
		{4, "vault.name"},
		{9, "connectors[0] (one).bogus"},
		{11, "connectors[1] (two).type"},
		{15, "connectors[2] (three).page_size"},
		{16, "connectors[3]"},
		{21, "mapping.rules[0].controls[0]"},
		{22, "mapping.rules[1]"},
		{25, "defaults.timeout"},
	}
	var got []string
	for _, e := range list {
		got = append(got, fmt.Sprintf("%d %s", e.Line, e.Key))
	}
	var wantS []string
	for _, w := range want {
		wantS = append(wantS, fmt.Sprintf("%d %s", w.line, w.key))
	}
	if diff := cmp.Diff(wantS, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s\nfull:\n%v", diff, &Errors{List: list})
	}
	// One line per problem, each naming the file and its line.
	err := &Errors{List: list}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("Error() has %d lines, want %d", len(lines), len(want))
	}
	for i, l := range lines {
		if prefix := fmt.Sprintf("aimsvault.yaml:%d: ", want[i].line); !strings.Contains(l, prefix) {
			t.Errorf("line %d = %q, want it to contain %q", i, l, prefix)
		}
	}
}

func TestLoad_EnvExpansion(t *testing.T) {
	t.Parallel()
	src := `server:
  listen: ${HOST}:${PORT}
connectors:
  - name: gh
    type: fake
    owner: ${OWNER}
    token: ${TOKEN}
    page_size: ${PAGE}
    repos: ["${REPO}", plain]
    root: ${EMPTY}
`
	vars := map[string]string{"HOST": "127.0.0.1", "PORT": "9999", "OWNER": "acme", "TOKEN": "tok-123", "PAGE": "20", "REPO": "r1", "EMPTY": ""}
	cfg, err := Load(write(t, src), opts(vars))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Listen != "127.0.0.1:9999" {
		t.Errorf("listen = %q", cfg.Server.Listen)
	}
	s := cfg.Connectors[0].Settings.(*fakeSettings)
	got := []any{s.Owner, s.Token.Reveal(), s.PageSize, s.Repos, s.Root}
	want := []any{"acme", "tok-123", 20, []string{"r1", "plain"}, Path("")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
}

// An unset variable alone breaks only its connector (see
// TestLoad_UnsetVariableBreaksOnlyItsConnector); beside another problem it
// is reported with it, and the file fails.
func TestLoad_UnsetVariable(t *testing.T) {
	t.Parallel()
	src := `connectors:
  - name: ok
    type: fake
    owner: o
    token: ${OK_TOKEN}
  - name: github-ml
    type: fake
    owner: o
    token: ${GITHUB_TOKEN}
    page_size: ${PAGE}
`
	secret := "s3cr3t-value"
	vars := map[string]string{"OK_TOKEN": secret, "PAGE": "not-a-number-" + secret}
	list := loadErrs(t, src, opts(vars))
	e := find(t, list, "connectors[1] (github-ml).token")
	if e.Line != 9 || !strings.Contains(e.Msg, "${GITHUB_TOKEN} is not set") {
		t.Errorf("got %v, want line 9 naming ${GITHUB_TOKEN}", e)
	}
	if want := string(filepath.Separator) + "aimsvault.yaml:9: connectors[1] (github-ml).token: ${GITHUB_TOKEN} is not set: export it or remove the key"; !strings.HasSuffix(e.Error(), want) {
		t.Errorf("Error() = %q\nwant it to end in %q", e.Error(), want)
	}
	p := find(t, list, "connectors[1] (github-ml).page_size")
	if p.Line != 10 || !strings.Contains(p.Msg, "${PAGE}") {
		t.Errorf("got %v, want line 10 naming ${PAGE}", p)
	}
	// No value of anything reaches the message.
	all := (&Errors{List: list}).Error()
	if strings.Contains(all, secret) {
		t.Errorf("error text holds a secret value:\n%s", all)
	}
	// Validate is not called on a block with problems (it would repeat them).
	if len(list) != 2 {
		t.Errorf("got %d problems, want 2:\n%s", len(list), all)
	}
}

func TestLoad_EnvEmptyButSetIsAllowed(t *testing.T) {
	t.Parallel()
	src := "connectors:\n  - name: a\n    type: fake\n    owner: o\n    token: \"${T}\"\n"
	cfg, err := Load(write(t, src), opts(map[string]string{"T": ""}))
	if err != nil {
		t.Fatal(err)
	}
	if tok := cfg.Connectors[0].Settings.(*fakeSettings).Token; tok != "" {
		t.Errorf("token = %q, want empty", tok.Reveal())
	}
}

func TestLoad_DollarEscape(t *testing.T) {
	t.Parallel()
	src := "connectors:\n  - name: a\n    type: fake\n    owner: \"$${NOT_A_VAR} and $$ ${X}\"\n"
	cfg, err := Load(write(t, src), opts(map[string]string{"X": "x"}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Connectors[0].Settings.(*fakeSettings).Owner, "${NOT_A_VAR} and $$ x"; got != want {
		t.Errorf("owner = %q, want %q", got, want)
	}
}

func TestLoad_BadVariableReference(t *testing.T) {
	t.Parallel()
	list := loadErrs(t, "server:\n  listen: ${HOST\n", opts(nil))
	if e := find(t, list, "server.listen"); e.Line != 2 || !strings.Contains(e.Msg, "unterminated") {
		t.Errorf("got %v", e)
	}
}

func TestLoad_RelativePathsInSettings(t *testing.T) {
	t.Parallel()
	src := `vault:
  dir: ../vault
  signing_key: keys/vault.key
connectors:
  - name: a
    type: fake
    owner: o
    root: ./docs
    extra: [x, /abs/y]
    nested:
      dir: sub/dir
`
	p := write(t, src)
	cfg, err := Load(p, opts(nil))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(p)
	s := cfg.Connectors[0].Settings.(*fakeSettings)
	got := []Path{cfg.Vault.Dir, cfg.Vault.SigningKey, s.Root, s.Extra[0], s.Extra[1], *s.Nested.Dir}
	want := []Path{
		Path(filepath.Join(filepath.Dir(dir), "vault")),
		Path(filepath.Join(dir, "keys", "vault.key")),
		Path(filepath.Join(dir, "docs")),
		Path(filepath.Join(dir, "x")),
		"/abs/y",
		Path(filepath.Join(dir, "sub", "dir")),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
}

func TestLoad_ValidateErrorsOnConnectorLine(t *testing.T) {
	t.Parallel()
	src := "connectors:\n  - name: fine\n    type: fake\n    owner: o\n  - name: bad\n    type: fake\n    page_size: 500\n"
	list := loadErrs(t, src, opts(nil))
	var msgs []string
	for _, e := range list {
		if e.Key != "connectors[1] (bad)" || e.Line != 5 {
			t.Errorf("problem %v, want key %q on line 5", e, "connectors[1] (bad)")
		}
		msgs = append(msgs, e.Msg)
	}
	if diff := cmp.Diff([]string{"owner is required", "page_size must be at most 100"}, msgs); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

func TestLoad_UnknownTypeListsKnownTypes(t *testing.T) {
	t.Parallel()
	list := loadErrs(t, "connectors:\n  - name: a\n    type: gitlab\n    foo: bar\n", opts(nil))
	e := find(t, list, "connectors[0] (a).type")
	if e.Line != 3 || !strings.Contains(e.Msg, `"gitlab"`) || !strings.Contains(e.Msg, "fake, plain") {
		t.Errorf("got %v, want line 3 naming gitlab and listing fake, plain", e)
	}
}

func TestLoad_MissingNameAndType(t *testing.T) {
	t.Parallel()
	list := loadErrs(t, "connectors:\n  - owner: o\n", opts(nil))
	if len(list) != 2 {
		t.Fatalf("got %d problems, want 2:\n%v", len(list), &Errors{List: list})
	}
	if !strings.Contains(list[0].Msg, "name is required") || !strings.Contains(list[1].Msg, "type is required") {
		t.Errorf("got %v", &Errors{List: list})
	}
}

func TestLoad_DuplicateNames(t *testing.T) {
	t.Parallel()
	src := "connectors:\n  - name: a\n    type: plain\n  - name: b\n    type: plain\n  - name: a\n    type: plain\n"
	list := loadErrs(t, src, opts(nil))
	e := find(t, list, "connectors[2] (a).name")
	if e.Line != 6 || !strings.Contains(e.Msg, "duplicate") || !strings.Contains(e.Msg, "line 2") {
		t.Errorf("got %v, want a duplicate on line 6 pointing at line 2", e)
	}
	if len(list) != 1 {
		t.Errorf("got %d problems, want 1", len(list))
	}
}

func TestLoad_BadConnectorName(t *testing.T) {
	t.Parallel()
	list := loadErrs(t, "connectors:\n  - name: GitHub ML\n    type: plain\n", opts(nil))
	if e := find(t, list, "connectors[0] (GitHub ML).name"); e.Line != 2 {
		t.Errorf("got %v", e)
	}
}

func TestLoad_SyntaxError(t *testing.T) {
	t.Parallel()
	list := loadErrs(t, "vault:\n  dir: data\nconnectors: [\n  a\n", opts(nil))
	if len(list) != 1 || list[0].Line == 0 {
		t.Errorf("got %v, want one problem with a line", &Errors{List: list})
	}
}

func TestLoad_FileNotFound(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "missing.yaml")
	_, err := Load(p, opts(nil))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(err, fs.ErrNotExist) = false for %v", err)
	}
	if want := "config file " + p + " not found: copy config.example.yaml or pass --config"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestLoad_MergeKeys(t *testing.T) {
	t.Parallel()
	src := `connectors:
  - &gh
    name: a
    type: fake
    owner: ${OWNER}
  - <<: *gh
    name: b
    owner: other
`
	cfg, err := Load(write(t, src), opts(map[string]string{"OWNER": "acme"}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cfg.Connectors {
		got = append(got, c.Name+"/"+c.Type+"/"+c.Settings.(*fakeSettings).Owner)
	}
	if diff := cmp.Diff([]string{"a/fake/acme", "b/fake/other"}, got); diff != "" {
		t.Errorf("connectors (-want +got):\n%s", diff)
	}
}

func TestLoad_RuleChecks(t *testing.T) {
	t.Parallel()
	src := `mapping:
  rules:
    - kind: "github.["
      controls: [A.6.2.8]
      freshness: -1d
    - controls: [7.2]
      colour: red
`
	list := loadErrs(t, src, opts(nil))
	for _, k := range []string{"mapping.rules[0].kind", "mapping.rules[0].freshness", "mapping.rules[1]", "mapping.rules[1].colour"} {
		find(t, list, k)
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"90d", 90 * 24 * time.Hour},
		{"2160h", 2160 * time.Hour},
		{"15m", 15 * time.Minute},
		{"1d12h", 36 * time.Hour},
		{"1.5d", 36 * time.Hour},
		{"0", 0},
		{"-2d", -48 * time.Hour},
		{"1h30m", 90 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDuration(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
	for _, in := range []string{"", "90", "d", "1x", "1.2.3d", "99999999999d"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) succeeded, want an error", in)
		}
	}
}

func TestDuration_StringAndText(t *testing.T) {
	t.Parallel()
	for _, d := range []Duration{Duration(90 * 24 * time.Hour), Duration(36 * time.Hour), Duration(15 * time.Minute), 0} {
		var back Duration
		if err := back.UnmarshalText([]byte(d.String())); err != nil || back != d {
			t.Errorf("round trip of %v: got %v, %v", time.Duration(d), time.Duration(back), err)
		}
	}
	if s := Duration(90 * 24 * time.Hour).String(); s != "90d" {
		t.Errorf("String() = %q, want 90d", s)
	}
}

func TestSecret_NeverPrinted(t *testing.T) {
	t.Parallel()
	const value = "ghp_topsecret"
	s := Secret(value)
	holder := struct {
		Token Secret
		Ptr   *Secret
	}{s, &s}

	var out []string
	for _, f := range []string{"%v", "%s", "%+v", "%#v", "%q", "%x", "%X", "%d", "%10s"} {
		out = append(out, fmt.Sprintf(f, s), fmt.Sprintf(f, holder))
	}
	out = append(out, fmt.Sprint(s), fmt.Sprintln(s), s.String(), s.GoString())
	j, err := json.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(j))
	tx, _ := s.MarshalText()
	out = append(out, string(tx))
	ym, _ := s.MarshalYAML()
	out = append(out, string(ym))
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(h).Info("m", "token", s, "holder", holder, slog.Any("any", s))
	}
	out = append(out, buf.String())

	for _, o := range out {
		if strings.Contains(o, value) || strings.Contains(o, fmt.Sprintf("%x", value)) || strings.Contains(o, fmt.Sprintf("%X", value)) {
			t.Errorf("secret printed: %s", o)
		}
	}
	if !strings.Contains(string(j), `"[redacted]"`) || !strings.Contains(buf.String(), "[redacted]") {
		t.Errorf("want [redacted] in json %s and logs %s", j, buf.String())
	}
	if s.Reveal() != value {
		t.Errorf("Reveal() = %q", s.Reveal())
	}
	if Secret("").String() != "" {
		t.Errorf("empty secret prints %q, want empty", Secret("").String())
	}
}

func TestErrors_Unwrap(t *testing.T) {
	t.Parallel()
	list := loadErrs(t, "log:\n  level: x\nserver:\n  listen: nope\n", opts(nil))
	err := &Errors{File: "f", List: list}
	var e *Error
	if !errors.As(err, &e) || e.Key != "log.level" {
		t.Errorf("errors.As gave %v", e)
	}
	if len(err.Unwrap()) != 2 {
		t.Errorf("Unwrap gave %d errors, want 2", len(err.Unwrap()))
	}
}

// FuzzLoad checks that no input panics Load and that every failure is an
// *Errors matching ErrInvalid.
func FuzzLoad(f *testing.F) {
	f.Add("vault:\n  dir: data\nconnectors:\n  - name: a\n    type: fake\n    owner: ${X}\n")
	f.Add("connectors:\n  - &c\n    name: a\n    type: plain\n  - <<: *c\n    name: b\n")
	f.Add("mapping:\n  rules:\n    - kind: x.*\n      controls: [7.2]\n      freshness: 1d\n")
	f.Add("a: [\n")
	f.Fuzz(func(t *testing.T, src string) {
		p := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(p, opts(map[string]string{"X": "x"}))
		var errs *Errors
		if err != nil && (!errors.As(err, &errs) || !errors.Is(err, ErrInvalid)) {
			t.Fatalf("error %T %v is not an *Errors matching ErrInvalid", err, err)
		}
	})
}

func TestLoad_ServerTLSUploadAndProxies(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, f := range []string{"cert.pem", "key.pem"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "aimsvault.yaml")
	src := "server:\n  tls_cert: cert.pem\n  tls_key: key.pem\n  max_upload: 200MiB\n  trusted_proxies: [10.0.0.1, 192.168.0.0/16]\n"
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(p, opts(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Server{Listen: "127.0.0.1:8080", TLSCert: Path(filepath.Join(dir, "cert.pem")), TLSKey: Path(filepath.Join(dir, "key.pem")),
		MaxUpload: 200 << 20, TrustedProxies: []string{"10.0.0.1", "192.168.0.0/16"}}
	if diff := cmp.Diff(want, cfg.Server); diff != "" {
		t.Errorf("server (-want +got):\n%s", diff)
	}
	if !cfg.Server.TLS() {
		t.Error("TLS() = false with both files set")
	}

	list := loadErrs(t, "server:\n  tls_cert: nowhere.pem\n  max_upload: 0\n  trusted_proxies: [not-an-ip]\n", opts(nil))
	for _, key := range []string{"server.tls_cert", "server.max_upload", "server.trusted_proxies[0]"} {
		find(t, list, key)
	}
	list = loadErrs(t, "server:\n  max_upload: 12 parsecs\n", opts(nil))
	find(t, list, "server.max_upload")
}

func TestParseByteSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]ByteSize{"1GiB": 1 << 30, "512MiB": 512 << 20, "200MB": 200e6, "1024": 1024, "1.5KiB": 1536, "10kB": 10000} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GiB", "-1", "1 parsec", "1e30GiB"} {
		if _, err := ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) succeeded", in)
		}
	}
}

// ${file:PATH} reads a secret from a file (a mounted secret), relative to the
// config file's folder, dropping one trailing newline; an unreadable file
// breaks only its connector, named, and its contents never reach a message.
func TestLoad_SecretFromFile(t *testing.T) {
	t.Parallel()
	src := `connectors:
  - name: gh
    type: fake
    owner: o
    token: ${file:secrets/github-token}
  - name: other
    type: fake
    owner: o
    token: ${file:secrets/missing}
`
	path := write(t, src)
	os.MkdirAll(filepath.Join(filepath.Dir(path), "secrets"), 0o700)
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "secrets", "github-token"), []byte("tok-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, opts(nil))
	if err != nil {
		t.Fatal(err)
	}
	if tok := cfg.Connectors[0].Settings.(*fakeSettings).Token.Reveal(); tok != "tok-from-file" {
		t.Errorf("token = %q, want the file's contents without the newline", tok)
	}
	broken := cfg.Connectors[1].Err
	if broken == nil || !strings.Contains(broken.Error(), "${file:secrets/missing} cannot be read") || !strings.Contains(broken.Error(), "(other)") {
		t.Errorf("unreadable secret file: %v", broken)
	}
	if cfg.Connectors[0].Err != nil {
		t.Errorf("a readable file broke its connector: %v", cfg.Connectors[0].Err)
	}
	if list := loadErrs(t, "connectors:\n  - name: a\n    type: fake\n    owner: o\n    token: ${file:}\n", opts(nil)); !strings.Contains((&Errors{List: list}).Error(), "bad variable reference") {
		t.Errorf("${file:} with no path: %v", list)
	}
}
