package sagemaker

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/aimsvault/aimsvault/connectors"
	"github.com/aimsvault/aimsvault/connectors/internal/awsapi"
)

// wrap names the failed call, its region and the permission it needed.
func (r *regionRun) wrap(what string, err error) error {
	return awsapi.Wrap("sagemaker", r.region, what, err)
}

// put emits e. It returns a non-nil error when emit failed (r.emitErr is then
// set and the run must stop) or the body was not JSON (the caller records it
// and goes on).
func (r *regionRun) put(e awsapi.Evidence) error {
	a, err := e.Artifact(r.region, r.id, apiVersion)
	if err != nil {
		return fmt.Errorf("sagemaker %s: %w", r.region, err)
	}
	if err := r.emit(a); err != nil {
		r.emitErr = err
		return err
	}
	return nil
}

// stopped reports that emit failed and the run must stop.
func (r *regionRun) stopped() bool { return r.emitErr != nil }

func (r *regionRun) raw(what string, md middleware.Metadata) (awsapi.Raw, error) {
	return awsapi.CapturedRaw("sagemaker", r.region, what, md)
}

// modelPackages: every group, then every version of each group. Listing
// without a group name would list only unversioned packages.
func (r *regionRun) modelPackages(ctx context.Context) error {
	f := awsapi.NewFamily(r.stopped)
	var groups []string
	p := sm.NewListModelPackageGroupsPaginator(r.api, &sm.ListModelPackageGroupsInput{
		MaxResults: aws.Int32(pageSize), SortBy: types.ModelPackageGroupSortByCreationTime, SortOrder: types.SortOrderAscending,
	})
	complete, err := awsapi.Drain(ctx, p.HasMorePages, func(ctx context.Context) error {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, g := range out.ModelPackageGroupSummaryList {
			groups = append(groups, aws.ToString(g.ModelPackageGroupName))
		}
		return nil
	})
	if err != nil && f.Add(r.wrap("list model package groups", err)) {
		return f.Err()
	}
	for _, g := range groups {
		if err := ctx.Err(); err != nil {
			return err
		}
		what := "describe model package group " + g
		out, err := r.api.DescribeModelPackageGroup(ctx, &sm.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String(g)})
		if err != nil {
			if f.Add(r.wrap(what, err)) {
				return f.Err()
			}
			continue
		}
		raw, err := r.raw(what, out.ResultMetadata)
		if err == nil {
			err = r.put(awsapi.Evidence{
				Kind:     "sagemaker.model_package_group",
				Subject:  aws.ToString(out.ModelPackageGroupArn),
				Body:     raw.Body,
				Call:     raw,
				Query:    "ModelPackageGroupName=" + g,
				Complete: complete,
				Attributes: map[string]string{
					"model_package_group":        g,
					"model_package_group_status": string(out.ModelPackageGroupStatus),
					"created_by":                 userOf(out.CreatedBy),
				},
				EffectiveAt: awsapi.First(out.CreationTime),
			})
		}
		if err != nil && f.Add(err) {
			return f.Err()
		}
		if err := r.groupVersions(ctx, g, f); err != nil {
			return err
		}
	}
	return f.Err()
}

// groupVersions collects the versions of group g into f. It returns an error
// only when the family must stop.
func (r *regionRun) groupVersions(ctx context.Context, g string, f *awsapi.Family) error {
	var arns []string
	p := sm.NewListModelPackagesPaginator(r.api, &sm.ListModelPackagesInput{
		ModelPackageGroupName: aws.String(g), ModelPackageType: types.ModelPackageTypeVersioned,
		MaxResults: aws.Int32(pageSize), SortBy: types.ModelPackageSortByCreationTime, SortOrder: types.SortOrderAscending,
	})
	complete, err := awsapi.Drain(ctx, p.HasMorePages, func(ctx context.Context) error {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, mp := range out.ModelPackageSummaryList {
			arns = append(arns, aws.ToString(mp.ModelPackageArn))
		}
		return nil
	})
	if err != nil && f.Add(r.wrap("list model packages of group "+g, err)) {
		return f.Err()
	}
	for _, arn := range arns {
		if err := ctx.Err(); err != nil {
			return err
		}
		what := "describe model package " + arn
		// A versioned package is described by its ARN: its name alone is
		// the group's.
		out, err := r.api.DescribeModelPackage(ctx, &sm.DescribeModelPackageInput{ModelPackageName: aws.String(arn)})
		if err != nil {
			if f.Add(r.wrap(what, err)) {
				return f.Err()
			}
			continue
		}
		raw, err := r.raw(what, out.ResultMetadata)
		if err == nil {
			err = r.put(modelPackageEvidence(out, raw, complete))
		}
		if err != nil && f.Add(err) {
			return f.Err()
		}
	}
	return nil
}

func modelPackageEvidence(out *sm.DescribeModelPackageOutput, raw awsapi.Raw, complete bool) awsapi.Evidence {
	attrs := map[string]string{
		"approval_status":      string(out.ModelApprovalStatus),
		"model_package_group":  aws.ToString(out.ModelPackageGroupName),
		"model_package_status": string(out.ModelPackageStatus),
		"created_by":           userOf(out.CreatedBy),
		"last_modified_by":     userOf(out.LastModifiedBy),
		"last_modified_at":     awsapi.Time(out.LastModifiedTime),
		"model_metrics":        awsapi.Bool(len(metricsReports(out.ModelMetrics)) > 0),
		"model_card":           "none",
	}
	if out.ModelPackageVersion != nil {
		attrs["model_package_version"] = strconv.Itoa(int(*out.ModelPackageVersion))
	}
	if out.ModelCard != nil {
		attrs["model_card"] = string(out.ModelCard.ModelCardStatus)
	}
	// SageMaker keeps no separate approval time: for an approved package the
	// last modification is the approval or a later change, the closest time
	// the source gives.
	eff := awsapi.First(out.CreationTime)
	if out.ModelApprovalStatus == types.ModelApprovalStatusApproved {
		eff = awsapi.First(out.LastModifiedTime, out.CreationTime)
	}
	return awsapi.Evidence{
		Kind:        "sagemaker.model_package",
		Subject:     aws.ToString(out.ModelPackageArn),
		Body:        raw.Body,
		Call:        raw,
		Query:       "ModelPackageName=" + aws.ToString(out.ModelPackageArn),
		Complete:    complete,
		Attributes:  attrs,
		EffectiveAt: eff,
	}
}

// metricsReports lists the S3 locations of a package's metrics reports.
func metricsReports(m *types.ModelMetrics) []string {
	if m == nil {
		return nil
	}
	var out []string
	add := func(ss ...*types.MetricsSource) {
		for _, s := range ss {
			if s != nil && aws.ToString(s.S3Uri) != "" {
				out = append(out, aws.ToString(s.S3Uri))
			}
		}
	}
	if q := m.ModelQuality; q != nil {
		add(q.Statistics, q.Constraints)
	}
	if q := m.ModelDataQuality; q != nil {
		add(q.Statistics, q.Constraints)
	}
	if b := m.Bias; b != nil {
		add(b.Report, b.PreTrainingReport, b.PostTrainingReport)
	}
	if e := m.Explainability; e != nil {
		add(e.Report)
	}
	return out
}

// userOf names who a UserContext says acted: the IAM identity, else the
// Studio user profile.
func userOf(u *types.UserContext) string {
	if u == nil {
		return ""
	}
	if u.IamIdentity != nil && aws.ToString(u.IamIdentity.Arn) != "" {
		return aws.ToString(u.IamIdentity.Arn)
	}
	return aws.ToString(u.UserProfileName)
}

func (r *regionRun) modelCards(ctx context.Context) error {
	f := awsapi.NewFamily(r.stopped)
	var names []string
	p := sm.NewListModelCardsPaginator(r.api, &sm.ListModelCardsInput{
		MaxResults: aws.Int32(pageSize), SortBy: types.ModelCardSortByCreationTime, SortOrder: types.ModelCardSortOrderAscending,
	})
	complete, err := awsapi.Drain(ctx, p.HasMorePages, func(ctx context.Context) error {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, mc := range out.ModelCardSummaries {
			names = append(names, aws.ToString(mc.ModelCardName))
		}
		return nil
	})
	if err != nil && f.Add(r.wrap("list model cards", err)) {
		return f.Err()
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		what := "describe model card " + name
		out, err := r.api.DescribeModelCard(ctx, &sm.DescribeModelCardInput{ModelCardName: aws.String(name)})
		if err != nil {
			if f.Add(r.wrap(what, err)) {
				return f.Err()
			}
			continue
		}
		raw, err := r.raw(what, out.ResultMetadata)
		if err == nil {
			attrs := map[string]string{
				"model_card_status": string(out.ModelCardStatus),
				"last_modified_by":  userOf(out.LastModifiedBy),
				"last_modified_at":  awsapi.Time(out.LastModifiedTime),
			}
			if out.ModelCardVersion != nil {
				attrs["model_card_version"] = strconv.Itoa(int(*out.ModelCardVersion))
			}
			err = r.put(awsapi.Evidence{
				Kind: "sagemaker.model_card", Subject: aws.ToString(out.ModelCardArn),
				Body: raw.Body, Call: raw, Query: "ModelCardName=" + name, Complete: complete,
				Attributes:  attrs,
				EffectiveAt: awsapi.First(out.LastModifiedTime, out.CreationTime),
			})
		}
		if err != nil && f.Add(err) {
			return f.Err()
		}
	}
	return f.Err()
}

// endpoints: each endpoint, its endpoint config, and its data capture
// settings. These describe what is in force now, so they carry no
// effective_at: their time is when they were read.
func (r *regionRun) endpoints(ctx context.Context) error {
	f := awsapi.NewFamily(r.stopped)
	var names []string
	p := sm.NewListEndpointsPaginator(r.api, &sm.ListEndpointsInput{
		MaxResults: aws.Int32(pageSize), SortBy: types.EndpointSortKeyCreationTime, SortOrder: types.OrderKeyAscending,
	})
	complete, err := awsapi.Drain(ctx, p.HasMorePages, func(ctx context.Context) error {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, e := range out.Endpoints {
			names = append(names, aws.ToString(e.EndpointName))
		}
		return nil
	})
	if err != nil && f.Add(r.wrap("list endpoints", err)) {
		return f.Err()
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		if stop := r.endpoint(ctx, name, complete, f); stop {
			break
		}
	}
	return f.Err()
}

// endpoint collects one endpoint into f and reports whether the family must
// stop.
func (r *regionRun) endpoint(ctx context.Context, name string, complete bool, f *awsapi.Family) (stop bool) {
	what := "describe endpoint " + name
	ep, err := r.api.DescribeEndpoint(ctx, &sm.DescribeEndpointInput{EndpointName: aws.String(name)})
	if err != nil {
		return f.Add(r.wrap(what, err))
	}
	epRaw, err := r.raw(what, ep.ResultMetadata)
	if err != nil {
		return f.Add(err)
	}
	capture := ep.DataCaptureConfig
	attrs := map[string]string{
		"endpoint_status": string(ep.EndpointStatus),
		"endpoint_config": aws.ToString(ep.EndpointConfigName),
		"data_capture":    awsapi.Bool(capture != nil && aws.ToBool(capture.EnableCapture)),
	}
	if err := r.put(awsapi.Evidence{
		Kind: "sagemaker.endpoint", Subject: aws.ToString(ep.EndpointArn),
		Body: epRaw.Body, Call: epRaw, Query: "EndpointName=" + name, Complete: complete,
		Attributes: attrs,
	}); err != nil && f.Add(err) {
		return true
	}
	cfgName := aws.ToString(ep.EndpointConfigName)
	what = "describe endpoint config " + cfgName + " of endpoint " + name
	cfg, err := r.api.DescribeEndpointConfig(ctx, &sm.DescribeEndpointConfigInput{EndpointConfigName: aws.String(cfgName)})
	if err != nil {
		return f.Add(r.wrap(what, err))
	}
	cfgRaw, err := r.raw(what, cfg.ResultMetadata)
	if err != nil {
		return f.Add(err)
	}
	dc := cfg.DataCaptureConfig
	var instanceTypes []string
	for _, v := range cfg.ProductionVariants {
		if v.InstanceType != "" {
			instanceTypes = append(instanceTypes, string(v.InstanceType))
		}
	}
	sort.Strings(instanceTypes)
	if err := r.put(awsapi.Evidence{
		Kind: "sagemaker.endpoint_config", Subject: aws.ToString(cfg.EndpointConfigArn),
		Body: cfgRaw.Body, Call: cfgRaw, Query: "EndpointConfigName=" + cfgName, Complete: complete,
		Attributes: map[string]string{
			"endpoint":       name,
			"kms_key":        awsapi.Bool(aws.ToString(cfg.KmsKeyId) != ""),
			"data_capture":   awsapi.Bool(dc != nil && aws.ToBool(dc.EnableCapture)),
			"instance_types": strings.Join(instanceTypes, ","),
		},
	}); err != nil && f.Add(err) {
		return true
	}
	doc, err := dataCaptureDoc(ep, epRaw.Body, cfgRaw.Body)
	if err != nil {
		return f.Add(fmt.Errorf("sagemaker %s: data capture of endpoint %s: %w: %v", r.region, name, connectors.ErrBadResponse, err))
	}
	dcAttrs := map[string]string{
		"endpoint": name,
		"enabled":  awsapi.Bool(dc != nil && aws.ToBool(dc.EnableCapture) && (capture == nil || capture.EnableCapture == nil || aws.ToBool(capture.EnableCapture))),
	}
	if dc != nil {
		dcAttrs["kms_key"] = awsapi.Bool(aws.ToString(dc.KmsKeyId) != "")
		dcAttrs["destination"] = aws.ToString(dc.DestinationS3Uri)
		if dc.InitialSamplingPercentage != nil {
			dcAttrs["sampling_percentage"] = strconv.Itoa(int(*dc.InitialSamplingPercentage))
		}
	}
	if capture != nil {
		dcAttrs["capture_status"] = string(capture.CaptureStatus)
		if capture.CurrentSamplingPercentage != nil {
			dcAttrs["sampling_percentage"] = strconv.Itoa(int(*capture.CurrentSamplingPercentage))
		}
	}
	if err := r.put(awsapi.Evidence{
		Kind: "sagemaker.data_capture_config", Subject: aws.ToString(ep.EndpointArn),
		Body: doc, Call: cfgRaw, Query: "EndpointConfigName=" + cfgName + " (with DescribeEndpoint EndpointName=" + name + ")",
		Complete: complete, Attributes: dcAttrs,
	}); err != nil && f.Add(err) {
		return true
	}
	return false
}

// dataCaptureDoc is the derived data capture document of an endpoint: the
// DataCaptureConfig of its endpoint config and the DataCaptureConfigSummary
// of the endpoint, each exactly as sent, or null when SageMaker sent none
// (no capture configured).
func dataCaptureDoc(ep *sm.DescribeEndpointOutput, epBody, cfgBody []byte) ([]byte, error) {
	var e, c struct {
		DataCaptureConfig json.RawMessage
	}
	if err := json.Unmarshal(epBody, &e); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(cfgBody, &c); err != nil {
		return nil, err
	}
	null := json.RawMessage("null")
	if len(e.DataCaptureConfig) == 0 {
		e.DataCaptureConfig = null
	}
	if len(c.DataCaptureConfig) == 0 {
		c.DataCaptureConfig = null
	}
	return json.Marshal(map[string]any{
		"EndpointArn":              aws.ToString(ep.EndpointArn),
		"EndpointName":             aws.ToString(ep.EndpointName),
		"EndpointConfigName":       aws.ToString(ep.EndpointConfigName),
		"DataCaptureConfig":        c.DataCaptureConfig,
		"DataCaptureConfigSummary": e.DataCaptureConfig,
	})
}

// monitoringSchedules: each schedule with its last execution. Its
// effective_at is the last execution's scheduled time (when monitoring last
// ran), or its creation if it never ran.
func (r *regionRun) monitoringSchedules(ctx context.Context) error {
	f := awsapi.NewFamily(r.stopped)
	var names []string
	p := sm.NewListMonitoringSchedulesPaginator(r.api, &sm.ListMonitoringSchedulesInput{
		MaxResults: aws.Int32(pageSize), SortBy: types.MonitoringScheduleSortKeyCreationTime, SortOrder: types.SortOrderAscending,
	})
	complete, err := awsapi.Drain(ctx, p.HasMorePages, func(ctx context.Context) error {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, s := range out.MonitoringScheduleSummaries {
			names = append(names, aws.ToString(s.MonitoringScheduleName))
		}
		return nil
	})
	if err != nil && f.Add(r.wrap("list monitoring schedules", err)) {
		return f.Err()
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		what := "describe monitoring schedule " + name
		out, err := r.api.DescribeMonitoringSchedule(ctx, &sm.DescribeMonitoringScheduleInput{MonitoringScheduleName: aws.String(name)})
		if err != nil {
			if f.Add(r.wrap(what, err)) {
				return f.Err()
			}
			continue
		}
		raw, err := r.raw(what, out.ResultMetadata)
		if err == nil {
			attrs := map[string]string{
				"monitoring_type": string(out.MonitoringType),
				"schedule_status": string(out.MonitoringScheduleStatus),
				"endpoint":        aws.ToString(out.EndpointName),
			}
			eff := awsapi.First(out.CreationTime)
			if last := out.LastMonitoringExecutionSummary; last != nil {
				attrs["last_execution_status"] = string(last.MonitoringExecutionStatus)
				attrs["last_execution_at"] = awsapi.Time(last.ScheduledTime)
				eff = awsapi.First(last.ScheduledTime, last.CreationTime, out.CreationTime)
			} else {
				attrs["last_execution_status"] = "none"
			}
			if cfg := out.MonitoringScheduleConfig; cfg != nil && cfg.ScheduleConfig != nil {
				attrs["schedule"] = aws.ToString(cfg.ScheduleConfig.ScheduleExpression)
			}
			err = r.put(awsapi.Evidence{
				Kind: "sagemaker.monitoring_schedule", Subject: aws.ToString(out.MonitoringScheduleArn),
				Body: raw.Body, Call: raw, Query: "MonitoringScheduleName=" + name, Complete: complete,
				Attributes: attrs, EffectiveAt: eff,
			})
		}
		if err != nil && f.Add(err) {
			return f.Err()
		}
	}
	return f.Err()
}

// trainingJobs: the jobs created within the lookback window.
func (r *regionRun) trainingJobs(ctx context.Context) error {
	f := awsapi.NewFamily(r.stopped)
	since := r.c.now().Add(-r.c.cfg.Lookback.Duration()).UTC().Truncate(time.Second)
	var names []string
	p := sm.NewListTrainingJobsPaginator(r.api, &sm.ListTrainingJobsInput{
		CreationTimeAfter: aws.Time(since),
		MaxResults:        aws.Int32(pageSize), SortBy: types.SortByCreationTime, SortOrder: types.SortOrderAscending,
	})
	complete, err := awsapi.Drain(ctx, p.HasMorePages, func(ctx context.Context) error {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, j := range out.TrainingJobSummaries {
			names = append(names, aws.ToString(j.TrainingJobName))
		}
		return nil
	})
	if err != nil && f.Add(r.wrap("list training jobs", err)) {
		return f.Err()
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		what := "describe training job " + name
		out, err := r.api.DescribeTrainingJob(ctx, &sm.DescribeTrainingJobInput{TrainingJobName: aws.String(name)})
		if err != nil {
			if f.Add(r.wrap(what, err)) {
				return f.Err()
			}
			continue
		}
		raw, err := r.raw(what, out.ResultMetadata)
		if err == nil {
			err = r.put(trainingJobEvidence(out, raw, complete, since))
		}
		if err != nil && f.Add(err) {
			return f.Err()
		}
	}
	return f.Err()
}

func trainingJobEvidence(out *sm.DescribeTrainingJobOutput, raw awsapi.Raw, complete bool, since time.Time) awsapi.Evidence {
	var inputs []string
	for _, ch := range out.InputDataConfig {
		if ds := ch.DataSource; ds != nil {
			switch {
			case ds.S3DataSource != nil:
				inputs = append(inputs, aws.ToString(ds.S3DataSource.S3Uri))
			case ds.FileSystemDataSource != nil:
				fs := ds.FileSystemDataSource
				inputs = append(inputs, strings.ToLower(string(fs.FileSystemType))+"://"+aws.ToString(fs.FileSystemId)+aws.ToString(fs.DirectoryPath))
			case ds.DatasetSource != nil:
				inputs = append(inputs, aws.ToString(ds.DatasetSource.DatasetArn))
			}
		}
	}
	attrs := map[string]string{
		"training_job_status": string(out.TrainingJobStatus),
		"input_data":          strings.Join(inputs, ","),
	}
	if o := out.OutputDataConfig; o != nil {
		attrs["output_location"] = aws.ToString(o.S3OutputPath)
	}
	if a := out.AlgorithmSpecification; a != nil {
		attrs["algorithm"] = aws.ToString(a.AlgorithmName)
		if attrs["algorithm"] == "" {
			attrs["algorithm"] = aws.ToString(a.TrainingImage)
		}
	}
	if s := out.StoppingCondition; s != nil && s.MaxRuntimeInSeconds != nil {
		attrs["max_runtime_seconds"] = strconv.Itoa(int(*s.MaxRuntimeInSeconds))
	}
	return awsapi.Evidence{
		Kind: "sagemaker.training_job", Subject: aws.ToString(out.TrainingJobArn),
		Body: raw.Body, Call: raw,
		Query:    "TrainingJobName=" + aws.ToString(out.TrainingJobName) + " (listed with CreationTimeAfter=" + since.Format(time.RFC3339) + ")",
		Complete: complete, Attributes: attrs,
		EffectiveAt: awsapi.First(out.TrainingEndTime, out.CreationTime),
	}
}
