package sagemaker

import (
	"net/http"
	"testing"

	"github.com/aimsvault/aimsvault/connectors/faulttest"
	"github.com/aimsvault/aimsvault/connectors/sagemaker/sagemakerfake"
)

// TestFaults drives the connector through the upstream fault matrix, with
// the listing of model cards as the faulted call.
func TestFaults(t *testing.T) {
	t.Parallel()
	fake := sagemakerfake.New(t, sagemakerfake.Options{})
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
		Match:     func(r *http.Request) bool { return r.Header.Get("X-Amz-Target") == "SageMaker.ListModelCards" },
		Kinds:     []string{"sagemaker.model_card"},
		ErrorBody: faulttest.AWSErrorBody,
		MaxBody:   32 << 20, // awsapi's cap on a captured answer
	})
}
