package bedrock

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aimsvault/aimsvault/connectors/bedrock/bedrockfake"
	"github.com/aimsvault/aimsvault/connectors/faulttest"
)

// TestFaults drives the connector through the upstream fault matrix, with
// the listing of custom models as the faulted call.
func TestFaults(t *testing.T) {
	t.Parallel()
	fake := bedrockfake.New(t, bedrockfake.Options{})
	faulttest.Run(t, faulttest.Target{
		Type:     Type,
		Upstream: fake.URL,
		Settings: func(baseURL string) any {
			cfg := Type.NewConfig().(*Config)
			cfg.Regions = []string{"us-east-1"}
			cfg.Endpoint = baseURL
			cfg.STSEndpoint = baseURL
			return cfg
		},
		Match:     func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/custom-models") },
		Kinds:     []string{"bedrock.custom_model"},
		ErrorBody: faulttest.AWSErrorBody,
		MaxBody:   32 << 20, // awsapi's cap on a captured answer
	})
}
