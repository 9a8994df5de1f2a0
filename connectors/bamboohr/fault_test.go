package bamboohr_test

import (
	"github.com/aimsvault/aimsvault/connectors"
	"net/http"
	"strings"
	"testing"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors/bamboohr"
	"github.com/aimsvault/aimsvault/connectors/bamboohr/bamboohrfake"
	"github.com/aimsvault/aimsvault/connectors/faulttest"
	"github.com/aimsvault/aimsvault/connectors/internal/hrtraining"
)

// TestFaults drives the connector through the upstream fault matrix, with
// the employee report as the faulted call.
func TestFaults(t *testing.T) {
	t.Parallel()
	fake := bamboohrfake.New(t, bamboohrfake.Options{})
	faulttest.Run(t, faulttest.Target{
		MaxBody:  connectors.DefaultMaxResponse,
		Type:     bamboohr.Type,
		Upstream: fake.URL,
		Settings: func(baseURL string) any {
			cfg := bamboohr.Type.NewConfig().(*bamboohr.Config)
			cfg.BaseURL = baseURL
			cfg.Company = fake.Company()
			cfg.APIKey = config.Secret(fake.APIKey())
			cfg.RequiredTrainings = []bamboohr.RequiredTraining{
				{Training: "Responsible AI", Scope: hrtraining.Scope{Departments: []string{"Machine Learning", "Data"}}},
			}
			return cfg
		},
		Match: func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/reports/custom") },
		Kinds: []string{bamboohr.KindEmployee},
	})
}
