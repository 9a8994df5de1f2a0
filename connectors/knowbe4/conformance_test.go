package knowbe4_test

import (
	"testing"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors/connectortest"
	"github.com/aimsvault/aimsvault/connectors/internal/hrtraining"
	"github.com/aimsvault/aimsvault/connectors/knowbe4"
	"github.com/aimsvault/aimsvault/connectors/knowbe4/knowbe4fake"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.Run(t, knowbe4.Type, func(t *testing.T) any {
		fake := knowbe4fake.New(t, knowbe4fake.Options{})
		cfg := knowbe4.Type.NewConfig().(*knowbe4.Config)
		cfg.BaseURL = fake.URL
		cfg.Token = config.Secret(fake.Token())
		cfg.PerPage = 2
		cfg.RequestInterval = 0
		cfg.RequiredTrainings = []knowbe4.RequiredTraining{
			{Training: "Responsible AI", Scope: hrtraining.Scope{Groups: []string{"ML Team", "Data Team"}}},
			{Training: "Acceptable Use Policy"},
		}
		return cfg
	})
}
