package bedrock

import (
	"os"
	"testing"

	"github.com/aimsvault/aimsvault/connectors/bedrock/bedrockfake"
	"github.com/aimsvault/aimsvault/connectors/connectortest"
	"github.com/aimsvault/aimsvault/connectors/internal/awsfake"
)

func TestMain(m *testing.M) {
	// Static test keys from the environment; no shared files, no IMDS.
	awsfake.IsolateEnv()
	os.Exit(m.Run())
}

func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.Run(t, Type, func(t *testing.T) any {
		fake := bedrockfake.New(t, bedrockfake.Options{})
		cfg := Type.NewConfig().(*Config)
		cfg.Regions = []string{"us-east-1", "eu-central-1"}
		cfg.Endpoint = fake.URL
		cfg.STSEndpoint = fake.URL
		return cfg
	})
}
