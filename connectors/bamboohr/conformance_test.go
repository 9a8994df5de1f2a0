package bamboohr_test

import (
	"testing"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors/bamboohr"
	"github.com/aimsvault/aimsvault/connectors/bamboohr/bamboohrfake"
	"github.com/aimsvault/aimsvault/connectors/connectortest"
	"github.com/aimsvault/aimsvault/connectors/internal/hrtraining"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.Run(t, bamboohr.Type, func(t *testing.T) any {
		fake := bamboohrfake.New(t, bamboohrfake.Options{})
		cfg := bamboohr.Type.NewConfig().(*bamboohr.Config)
		cfg.BaseURL = fake.URL
		cfg.Company = fake.Company()
		cfg.APIKey = config.Secret(fake.APIKey())
		cfg.RequiredTrainings = []bamboohr.RequiredTraining{
			{Training: "Responsible AI", Scope: hrtraining.Scope{Departments: []string{"Machine Learning", "Data"}}},
			{Training: "12"},
		}
		return cfg
	})
}
