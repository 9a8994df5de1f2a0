package knowbe4_test

import (
	"github.com/aimsvault/aimsvault/connectors"
	"net/http"
	"strings"
	"testing"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors/faulttest"
	"github.com/aimsvault/aimsvault/connectors/internal/hrtraining"
	"github.com/aimsvault/aimsvault/connectors/knowbe4"
	"github.com/aimsvault/aimsvault/connectors/knowbe4/knowbe4fake"
)

// TestFaults drives the connector through the upstream fault matrix, with
// the user listing as the faulted call.
func TestFaults(t *testing.T) {
	t.Parallel()
	fake := knowbe4fake.New(t, knowbe4fake.Options{})
	faulttest.Run(t, faulttest.Target{
		MaxBody:  connectors.DefaultMaxResponse,
		Type:     knowbe4.Type,
		Upstream: fake.URL,
		Settings: func(baseURL string) any {
			cfg := knowbe4.Type.NewConfig().(*knowbe4.Config)
			cfg.BaseURL = baseURL
			cfg.Token = config.Secret(fake.Token())
			cfg.RequestInterval = 0
			cfg.RequiredTrainings = []knowbe4.RequiredTraining{
				{Training: "Responsible AI", Scope: hrtraining.Scope{Groups: []string{"ML Team", "Data Team"}}},
			}
			return cfg
		},
		Match: func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/v1/users") },
		Kinds: []string{"knowbe4.user"},
	})
}
