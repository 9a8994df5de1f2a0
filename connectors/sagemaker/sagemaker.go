// Package sagemaker implements the `sagemaker` connector: it reads AWS
// SageMaker, in each configured region, through the AWS SDK for Go v2
// (service/sagemaker) and emits, per object, SageMaker's own Describe*
// answer as canonical JSON:
//
//   - sagemaker.model_package_group: DescribeModelPackageGroup of each group
//     ListModelPackageGroups returns.
//   - sagemaker.model_package: DescribeModelPackage of each version
//     ListModelPackages returns for a group (ListModelPackages without a
//     group lists only unversioned packages), described by its ARN.
//     Attributes: approval_status, last_modified_by and _at, model_metrics,
//     model_card.
//   - sagemaker.model_card: DescribeModelCard; model_card_status.
//   - sagemaker.endpoint and sagemaker.endpoint_config: DescribeEndpoint and
//     DescribeEndpointConfig.
//   - sagemaker.data_capture_config (derived): an endpoint's data capture
//     settings (DescribeEndpointConfig's DataCaptureConfig and
//     DescribeEndpoint's DataCaptureConfigSummary, each as sent), with
//     enabled=false when capture is off or not configured: a setting that
//     is off is evidence too.
//   - sagemaker.monitoring_schedule: DescribeMonitoringSchedule;
//     monitoring_type, schedule_status, last_execution_status.
//   - sagemaker.training_job: DescribeTrainingJob of each job created in
//     the lookback window; input_data, output_location, algorithm.
//
// Times stay as SageMaker sent them (epoch seconds) in the content;
// attributes and effective_at carry them normalised.
package sagemaker

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"time"

	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/aimsvault/aimsvault/connectors"
	"github.com/aimsvault/aimsvault/connectors/internal/awsapi"
)

//go:embed sample.yaml
var sample string

// Type registers the connector as `type: sagemaker`; it supplies the catalog
// source "aws_sagemaker". (Kinds must start with the type name, and mapping
// knows them as sagemaker.*.)
var Type = connectors.Define("sagemaker", "aws_sagemaker", sample, defaultConfig, New)

// apiVersion is the SageMaker API version the SDK speaks.
const apiVersion = "2017-07-24"

// pageSize is asked of every listing (SageMaker's maximum; its default is 10).
const pageSize = 100

// Connector collects SageMaker evidence from one AWS account.
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
// Within a region, each family (model packages, model cards, endpoints,
// monitoring schedules, training jobs) is collected even when another
// failed; failures are joined into the returned error. An error from emit,
// or ctx ending, stops the run.
func (c *Connector) Collect(ctx context.Context, emit func(connectors.Artifact) error) error {
	opts := awsapi.Options{HTTP: c.hc, Backoff: c.retry.Backoff, NoClientRateLimit: c.retry.NoClientRateLimit}
	return awsapi.CollectRegions(ctx, c.cfg.Settings, opts, func(ctx context.Context, ss *awsapi.Session, region string) (error, error) {
		r := &regionRun{
			c:      c,
			region: region,
			id:     ss.Identity,
			api: sm.NewFromConfig(ss.Config(region), func(o *sm.Options) {
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
	api     *sm.Client
	emit    func(connectors.Artifact) error
	emitErr error // set when emit failed: the run stops
}

func (r *regionRun) collect(ctx context.Context) error {
	return awsapi.RunFamilies(ctx, r.c.log, "sagemaker", r.region, r.stopped,
		r.modelPackages, r.modelCards, r.endpoints, r.monitoringSchedules, r.trainingJobs)
}
