package bamboohr

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors/internal/hrtraining"
)

// DefaultBaseURL is BambooHR's API host root.
const DefaultBaseURL = "https://api.bamboohr.com/"

// defaultDueDays applies when neither the config nor the training type says
// how long a new hire has.
const defaultDueDays = 30

// Config is the `bamboohr` connector's YAML block (beside name, type,
// schedule and timeout, which the config loader handles). See sample.yaml.
type Config struct {
	// Company is the BambooHR subdomain: "example" for
	// https://example.bamboohr.com. Required.
	Company string `yaml:"company"`
	// APIKey is a BambooHR API key, sent as the basic-auth user name with
	// the password "x". Required; write api_key: ${BAMBOOHR_API_KEY}.
	APIKey config.Secret `yaml:"api_key"`
	// BaseURL is the API host root (default https://api.bamboohr.com/); the
	// connector appends api/gateway.php/{company}/v1/.
	BaseURL string `yaml:"base_url"`
	// RequiredTrainings are the trainings people in scope must complete;
	// each gets a roster and a summary.
	RequiredTrainings []RequiredTraining `yaml:"required_trainings"`
	// PII is "minimal" (default: employee ids, departments and job titles;
	// no names or e-mail addresses) or "full" (names and work e-mail too).
	PII string `yaml:"pii"`
}

// RequiredTraining names a BambooHR training type that people in scope must
// complete.
type RequiredTraining struct {
	// Training is the training type's name ("Responsible AI") or id ("12").
	Training string `yaml:"training"`
	// DueDays is how many days after hire a training never completed is
	// due. Default: the training type's "due from hire date", else 30. A
	// completed training renews as the type's frequency (months) says.
	DueDays int `yaml:"due_days"`
	// Scope is who must complete it (departments, job titles, divisions);
	// empty means every current employee.
	Scope hrtraining.Scope `yaml:"scope"`
}

func defaultConfig() Config {
	return Config{BaseURL: DefaultBaseURL, PII: hrtraining.PIIMinimal}
}

var companyRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)

// Validate reports every problem in c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("bamboohr: "+format, args...)) }
	switch {
	case c.Company == "":
		bad("company is required: the subdomain, \"example\" for https://example.bamboohr.com")
	case !companyRE.MatchString(c.Company):
		bad("company %q is not a subdomain: write \"example\" for https://example.bamboohr.com", c.Company)
	}
	if c.APIKey == "" {
		bad("api_key is required: write api_key: ${BAMBOOHR_API_KEY}")
	}
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("base_url must be an http(s) URL with a host, e.g. %s", DefaultBaseURL)
		} else if u.User != nil || u.RawQuery != "" {
			bad("base_url must not hold credentials or a query: use api_key")
		} else if strings.Contains(u.Path, "gateway.php") {
			bad("base_url is the API host root (%s): the connector appends api/gateway.php/{company}/v1/", DefaultBaseURL)
		}
	}
	if c.PII != "" && !hrtraining.ValidPII(c.PII) {
		bad("pii %q is not allowed: use minimal or full", c.PII)
	}
	seen := map[string]bool{}
	for i, rt := range c.RequiredTrainings {
		key := strings.ToLower(strings.TrimSpace(rt.Training))
		switch {
		case key == "":
			bad("required_trainings[%d].training is required: a training type name or id", i)
		case seen[key]:
			bad("required_trainings[%d].training %q is listed twice", i, rt.Training)
		}
		seen[key] = true
		if rt.DueDays < 0 {
			bad("required_trainings[%d].due_days must not be negative", i)
		}
		if len(rt.Scope.Groups) > 0 {
			bad("required_trainings[%d].scope.groups: BambooHR has no groups; use departments, job_titles or divisions", i)
		}
		if err := rt.Scope.Validate(fmt.Sprintf("required_trainings[%d]", i)); err != nil {
			bad("%v", err)
		}
	}
	return errors.Join(errs...)
}

func (c Config) pii() string {
	if c.PII == "" {
		return hrtraining.PIIMinimal
	}
	return c.PII
}
