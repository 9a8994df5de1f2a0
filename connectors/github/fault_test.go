package github_test

import (
	"github.com/aimsvault/aimsvault/connectors"
	"net/http"
	"strings"
	"testing"

	"github.com/aimsvault/aimsvault/connectors/faulttest"
	"github.com/aimsvault/aimsvault/connectors/github"
	"github.com/aimsvault/aimsvault/connectors/github/githubfake"
)

// TestFaults drives the connector through the upstream fault matrix, with
// the organisation's repository listing as the faulted call.
func TestFaults(t *testing.T) {
	t.Parallel()
	faulttest.Run(t, faulttest.Target{
		MaxBody:  connectors.DefaultMaxResponse,
		Type:     github.Type,
		Upstream: githubfake.New(t).URL,
		Settings: func(baseURL string) any {
			cfg := github.Type.NewConfig().(*github.Config)
			cfg.BaseURL = baseURL
			cfg.Token = githubfake.Token
			cfg.Owner = githubfake.Owner
			return cfg
		},
		Match: func(r *http.Request) bool {
			return strings.HasSuffix(r.URL.Path, "/orgs/"+githubfake.Owner+"/repos")
		},
		Kinds: []string{"github.repository"},
	})
}
