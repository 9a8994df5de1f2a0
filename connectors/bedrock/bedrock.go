// Package bedrock implements the `bedrock` connector: it reads the Amazon
// Bedrock control plane, in each configured region, through the AWS SDK for
// Go v2 (service/bedrock) and emits, per object, Bedrock's own Get* answer
// as canonical JSON:
//
//   - bedrock.invocation_logging: GetModelInvocationLoggingConfiguration,
//     one per region. Bedrock answers {} when logging was never configured;
//     that answer is stored too, with enabled=false: a setting that is off
//     is evidence, not an error.
//   - bedrock.guardrail: GetGuardrail of every version of every guardrail.
//     ListGuardrails without an identifier, and GetGuardrail without a
//     version, give only the DRAFT, which need not be what is deployed, so
//     each guardrail's versions are listed and each is read by number.
//     Attributes: status, content_filters, denied_topics, pii_entities,
//     regexes, contextual_grounding, word_filters.
//   - bedrock.custom_model: GetCustomModel; base_model, training_data.
//   - bedrock.model_customization_job: GetModelCustomizationJob of each
//     job created in the lookback window; base_model, training_data.
//   - bedrock.model_evaluation: GetEvaluationJob of each evaluation job
//     created in the lookback window; status, job_type, models.
//
// Times stay as Bedrock sent them (ISO 8601 strings) in the content;
// attributes and effective_at carry them normalised.
package bedrock

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"time"

	br "github.com/aws/aws-sdk-go-v2/service/bedrock"

	"github.com/aimsvault/aimsvault/connectors"
	"github.com/aimsvault/aimsvault/connectors/internal/awsapi"
)

//go:embed sample.yaml
var sample string

// Type registers the connector as `type: bedrock`; it supplies the catalog
// source "aws_bedrock". (Kinds must start with the type name, and mapping
// knows them as bedrock.*.)
var Type = connectors.Define("bedrock", "aws_bedrock", sample, defaultConfig, New)

// apiVersion is the Bedrock control-plane API version the SDK speaks.
const apiVersion = "2023-04-20"

// pageSize is asked of every listing.
const pageSize = 100

// Connector collects Bedrock evidence from one AWS account.
type Connector struct {
	cfg Config
	hc  *http.Client
	log *slog.Logger
	now func() time.Time
	// retry is left zero but in tests, which shorten the SDK's backoff.
	retry awsapi.Options
}

var _ connectors.Connector = (*Connector)(nil)

// New builds a connector from a decoded config; it validates cfg first.
func New(cfg Config, deps connectors.Deps) (connectors.Connector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Connector{cfg: cfg}
	c.hc, c.log, c.now = awsapi.Deps(deps, cfg.ExternalID.Reveal())
	return c, nil
}

// Collect asks STS who the caller is, then collects each region in order.
// Within a region, each family (invocation logging, guardrails, custom
// models, customization jobs, evaluation jobs) is collected even when
// another failed; failures are joined into the returned error. An error
// from emit, or ctx ending, stops the run.
func (c *Connector) Collect(ctx context.Context, emit func(connectors.Artifact) error) error {
	opts := awsapi.Options{HTTP: c.hc, Backoff: c.retry.Backoff, NoClientRateLimit: c.retry.NoClientRateLimit}
	return awsapi.CollectRegions(ctx, c.cfg.Settings, opts, func(ctx context.Context, ss *awsapi.Session, region string) (error, error) {
		r := &regionRun{
			c:      c,
			region: region,
			id:     ss.Identity,
			api: br.NewFromConfig(ss.Config(region), func(o *br.Options) {
				o.BaseEndpoint = ss.Endpoint(region)
				o.APIOptions = append(o.APIOptions, awsapi.APIOptions()...)
			}),
			emit: emit,
		}
		err := r.collect(ctx)
		return r.emitErr, err
	})
}

// regionRun collects one region.
type regionRun struct {
	c       *Connector
	region  string
	id      awsapi.Identity
	api     *br.Client
	emit    func(connectors.Artifact) error
	emitErr error // set when emit failed: the run stops
}

func (r *regionRun) collect(ctx context.Context) error {
	return awsapi.RunFamilies(ctx, r.c.log, "bedrock", r.region, r.stopped,
		r.invocationLogging, r.guardrails, r.customModels, r.customizationJobs, r.evaluationJobs)
}
