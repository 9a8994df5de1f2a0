package jira_test

import (
	"testing"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors/connectortest"
	"github.com/aimsvault/aimsvault/connectors/jira"
	"github.com/aimsvault/aimsvault/connectors/jira/jirafake"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, dep := range []string{jirafake.Cloud, jirafake.DataCenter} {
		t.Run(dep, func(t *testing.T) {
			t.Parallel()
			connectortest.Run(t, jira.Type, func(t *testing.T) any {
				fake := jirafake.New(t, jirafake.Options{Deployment: dep, PageCap: 2, InlineChangelogCap: 2, ChangelogPageCap: 2})
				cfg := jira.Type.NewConfig().(*jira.Config)
				cfg.BaseURL = fake.URL
				cfg.Deployment = dep
				if dep == jirafake.Cloud {
					cfg.Email = fake.Email()
				}
				cfg.Token = config.Secret(fake.Token())
				cfg.Fields = []string{"Risk Rating"}
				cfg.Attachments = jira.AttachmentsDownload
				cfg.Queries = []jira.Query{
					{Name: "risks", JQL: "project = AIRISK ORDER BY key", Kind: "risk"},
					{Name: "incidents", JQL: "project = AIINC"},
				}
				return cfg
			})
		})
	}
}
