package knowbe4

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors/internal/hrtraining"
)

// Regions are KnowBe4's API regions; region r is served at
// https://r.api.knowbe4.com/.
var Regions = []string{"us", "eu", "ca", "uk", "de"}

const (
	defaultPerPage  = 500 // the Reporting API's maximum
	maxPerPage      = 500
	defaultMaxPages = 1000
	defaultDueDays  = 30
	// defaultInterval keeps a run under the Reporting API's burst limit of
	// 50 requests a minute (and its 4 a second).
	defaultInterval = 1200 * time.Millisecond
)

// Config is the `knowbe4` connector's YAML block (beside name, type,
// schedule and timeout, which the config loader handles). See sample.yaml.
type Config struct {
	// Region is where the KnowBe4 account lives: us, eu, ca, uk or de. Set
	// it or base_url.
	Region string `yaml:"region"`
	// BaseURL is the regional API root (https://eu.api.knowbe4.com/); the
	// connector appends v1/. Set it or region.
	BaseURL string `yaml:"base_url"`
	// Token is a Reporting API token, sent as a bearer token. Required;
	// write token: ${KNOWBE4_API_TOKEN}.
	Token config.Secret `yaml:"token"`
	// RequiredTrainings are the trainings people in scope must complete;
	// each gets a roster and a summary.
	RequiredTrainings []RequiredTraining `yaml:"required_trainings"`
	// PII is "minimal" (default: user ids, departments and job titles; no
	// names, e-mail addresses or phone numbers) or "full".
	PII string `yaml:"pii"`
	// PerPage is the page size asked for (1-500, default 500); a listing
	// ends at the first page shorter than this.
	PerPage int `yaml:"per_page"`
	// MaxPages bounds the pages read per listing (default 1000); a longer
	// listing fails rather than being cut silently.
	MaxPages int `yaml:"max_pages"`
	// RequestInterval is the least time between two requests (default 1.2s,
	// under the Reporting API's burst limit); 0 sends at once.
	RequestInterval config.Duration `yaml:"request_interval"`
}

// RequiredTraining names a KnowBe4 training that people in scope must
// complete.
type RequiredTraining struct {
	// Training is a training campaign name or a training module name
	// ("Responsible AI"), matched without regard to case.
	Training string `yaml:"training"`
	// DueDays is how many days after enrollment a training not completed is
	// due (default 30). A person in scope never enrolled counts as
	// not_enrolled.
	DueDays int `yaml:"due_days"`
	// Scope is who must complete it (groups, departments, job titles,
	// divisions); empty means every active user.
	Scope hrtraining.Scope `yaml:"scope"`
}

func defaultConfig() Config {
	return Config{
		PII:             hrtraining.PIIMinimal,
		PerPage:         defaultPerPage,
		MaxPages:        defaultMaxPages,
		RequestInterval: config.Duration(defaultInterval),
	}
}

// Validate reports every problem in c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("knowbe4: "+format, args...)) }
	switch {
	case c.Region == "" && c.BaseURL == "":
		bad("region is required: one of %s (or base_url, the regional API root)", strings.Join(Regions, ", "))
	case c.Region != "" && c.BaseURL != "":
		bad("set region or base_url, not both")
	case c.Region != "" && !slices.Contains(Regions, c.Region):
		bad("region %q is not allowed: use one of %s", c.Region, strings.Join(Regions, ", "))
	case c.BaseURL != "":
		if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("base_url must be an http(s) URL with a host, e.g. https://eu.api.knowbe4.com/")
		} else if u.User != nil || u.RawQuery != "" {
			bad("base_url must not hold credentials or a query: use token")
		} else if strings.Contains(u.Path, "/v1") {
			bad("base_url is the regional API root (https://eu.api.knowbe4.com/): the connector appends v1/")
		}
	}
	if c.Token == "" {
		bad("token is required: a Reporting API token, token: ${KNOWBE4_API_TOKEN}")
	}
	if c.PII != "" && !hrtraining.ValidPII(c.PII) {
		bad("pii %q is not allowed: use minimal or full", c.PII)
	}
	if c.PerPage < 1 || c.PerPage > maxPerPage {
		bad("per_page %d is not allowed: use 1 to %d", c.PerPage, maxPerPage)
	}
	if c.MaxPages < 1 {
		bad("max_pages must be at least 1")
	}
	if c.RequestInterval < 0 {
		bad("request_interval must not be negative")
	}
	seen := map[string]bool{}
	for i, rt := range c.RequiredTrainings {
		key := strings.ToLower(strings.TrimSpace(rt.Training))
		switch {
		case key == "":
			bad("required_trainings[%d].training is required: a campaign or training module name", i)
		case seen[key]:
			bad("required_trainings[%d].training %q is listed twice", i, rt.Training)
		}
		seen[key] = true
		if rt.DueDays < 0 {
			bad("required_trainings[%d].due_days must not be negative", i)
		}
		if err := rt.Scope.Validate(fmt.Sprintf("required_trainings[%d]", i)); err != nil {
			bad("%v", err)
		}
	}
	return errors.Join(errs...)
}

// apiRoot is the regional API root, ending in "/".
func (c Config) apiRoot() string {
	if c.BaseURL != "" {
		if strings.HasSuffix(c.BaseURL, "/") {
			return c.BaseURL
		}
		return c.BaseURL + "/"
	}
	return "https://" + c.Region + ".api.knowbe4.com/"
}

func (c Config) pii() string {
	if c.PII == "" {
		return hrtraining.PIIMinimal
	}
	return c.PII
}
