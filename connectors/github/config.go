package github

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/aimsvault/aimsvault/config"
)

// Config is the `github` connector's YAML block (beside name, type, schedule
// and timeout, which the config loader handles). See sample.yaml.
type Config struct {
	// BaseURL is the REST API root: https://api.github.com/ (the default) or,
	// for GitHub Enterprise Server, https://HOST/api/v3/. It is used as given:
	// nothing is appended.
	BaseURL string `yaml:"base_url"`

	// Token is a personal access token (classic or fine-grained) or any
	// bearer token GitHub accepts. Set either Token or the three App keys.
	Token config.Secret `yaml:"token"`

	// AppID, InstallationID and PrivateKeyFile authenticate as a GitHub App
	// installation: the connector signs a short-lived RS256 JWT with the
	// key and exchanges it for an installation token, renewed as it expires.
	AppID          int64       `yaml:"app_id"`
	InstallationID int64       `yaml:"installation_id"`
	PrivateKeyFile config.Path `yaml:"private_key_file"`

	// Owner is the organisation or user whose repositories are collected.
	// Required.
	Owner string `yaml:"owner"`

	// Repos lists repository names or path.Match globs ("ml-*"). Default: all
	// repositories of Owner. A name or glob that matches no repository is a
	// configuration error.
	Repos []string `yaml:"repos"`

	// IncludeArchived collects archived repositories too (default false:
	// they are skipped).
	IncludeArchived bool `yaml:"include_archived"`

	// Topics keeps only repositories carrying at least one of these topics
	// (e.g. "ml"). Default: no topic filter.
	Topics []string `yaml:"topics"`

	// Lookback is how far back merged pull requests, workflow runs and
	// releases are collected ("90d", "2160h"). Default 90 days.
	Lookback config.Duration `yaml:"lookback"`

	// Files are paths read from each repository's default branch, with the
	// commit they were read at. Default: CODEOWNERS, .github/CODEOWNERS,
	// docs/CODEOWNERS, MODEL_CARD.md, SECURITY.md.
	Files []string `yaml:"files"`

	// Workflows names the CI workflows (by name, or by file name such as
	// "ci.yml") whose runs on the default branch count as verification
	// evidence. Default: every workflow.
	Workflows []string `yaml:"workflows"`

	// CacheDir keeps ETags and the responses they name between runs, so that
	// an unchanged object costs a conditional request answered 304 (which
	// GitHub does not count against the rate limit). Default: kept in memory
	// for the life of the process only. Nothing kept there is evidence.
	CacheDir config.Path `yaml:"cache_dir"`
}

const defaultBaseURL = "https://api.github.com/"

func defaultConfig() Config {
	return Config{
		BaseURL:  defaultBaseURL,
		Lookback: config.Duration(90 * 24 * time.Hour),
		Files:    []string{"CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS", "MODEL_CARD.md", "SECURITY.md"},
	}
}

// appAuth reports whether the config authenticates as a GitHub App.
func (c Config) appAuth() bool {
	return c.AppID != 0 || c.InstallationID != 0 || c.PrivateKeyFile != ""
}

// Validate reports every problem in c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("github: "+format, args...))
	}
	if _, err := parseBaseURL(c.BaseURL); err != nil {
		bad("base_url: %v", err)
	}
	switch {
	case c.Token != "" && c.appAuth():
		bad("set either token or app_id, installation_id and private_key_file, not both")
	case c.Token == "" && !c.appAuth():
		bad("no credentials: set token (e.g. ${GITHUB_TOKEN}) or app_id, installation_id and private_key_file")
	case c.appAuth():
		if c.AppID <= 0 {
			bad("app_id is required for GitHub App auth: the App's numeric ID")
		}
		if c.InstallationID <= 0 {
			bad("installation_id is required for GitHub App auth: the numeric ID of the App's installation on the owner")
		}
		if c.PrivateKeyFile == "" {
			bad("private_key_file is required for GitHub App auth: the App's PEM private key")
		}
	}
	if strings.TrimSpace(c.Owner) == "" {
		bad("owner is required: the organisation or user whose repositories to collect")
	} else if strings.ContainsAny(c.Owner, "/ ") {
		bad("owner %q: give the organisation or user name alone, without slashes", c.Owner)
	}
	for i, r := range c.Repos {
		if r == "" || strings.Contains(r, "/") {
			bad("repos[%d] %q: give a repository name or glob without the owner", i, r)
			continue
		}
		if _, err := path.Match(r, ""); err != nil {
			bad("repos[%d] %q: %v", i, r, err)
		}
	}
	for i, t := range c.Topics {
		if strings.TrimSpace(t) == "" {
			bad("topics[%d] is empty", i)
		}
	}
	if c.Lookback <= 0 {
		bad("lookback must be positive (e.g. 90d)")
	}
	for i, f := range c.Files {
		if f == "" || strings.HasPrefix(f, "/") || path.Clean(f) != f || strings.HasPrefix(f, "..") {
			bad("files[%d] %q: give a clean path relative to the repository root", i, f)
		}
	}
	for i, w := range c.Workflows {
		if strings.TrimSpace(w) == "" {
			bad("workflows[%d] is empty", i)
		}
	}
	return errors.Join(errs...)
}

// parseBaseURL checks base_url and returns it with a trailing slash, as
// go-github needs.
func parseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("%q: want an http(s) URL such as https://api.github.com/ or https://ghe.example.com/api/v3/", s)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("must not hold credentials, a query or a fragment")
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, nil
}
