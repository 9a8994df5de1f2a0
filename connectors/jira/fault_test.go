package jira_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors"
	"github.com/aimsvault/aimsvault/connectors/faulttest"
	"github.com/aimsvault/aimsvault/connectors/jira"
	"github.com/aimsvault/aimsvault/connectors/jira/jirafake"
)

// TestFaults drives the connector through the upstream fault matrix, with
// the risk query's search as the faulted call.
func TestFaults(t *testing.T) {
	t.Parallel()
	fake := jirafake.New(t, jirafake.Options{})
	faulttest.Run(t, faulttest.Target{
		MaxBody:  int(jira.DefaultMaxResponse),
		Type:     jira.Type,
		Upstream: fake.URL,
		Settings: func(baseURL string) any {
			cfg := jira.Type.NewConfig().(*jira.Config)
			cfg.BaseURL = baseURL
			cfg.Deployment = jirafake.Cloud
			cfg.Email = fake.Email()
			cfg.Token = config.Secret(fake.Token())
			cfg.Queries = []jira.Query{{Name: "risks", JQL: "project = AIRISK ORDER BY key", Kind: "risk"}}
			return cfg
		},
		Match: func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/search") },
		Kinds: []string{"jira.risk"},
		Expect: map[faulttest.Kind]faulttest.Expect{
			// A search endpoint that is not there means base_url or
			// deployment is wrong, and the error says so.
			faulttest.Status404: {Class: connectors.ClassConfig},
			// The connector reads a page whole before decoding it, and
			// calls a page that breaks off a bad response.
			faulttest.Truncated: {Class: connectors.ClassBadResponse},
		},
	})
}
