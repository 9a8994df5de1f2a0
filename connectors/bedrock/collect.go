package bedrock

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	br "github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/aimsvault/aimsvault/connectors/internal/awsapi"
)

// wrap names the failed call, its region and the permission it needed.
func (r *regionRun) wrap(what string, err error) error {
	return awsapi.Wrap("bedrock", r.region, what, err)
}

// put emits e. It returns a non-nil error when emit failed (r.emitErr is
// then set and the run must stop) or the body was not JSON.
func (r *regionRun) put(e awsapi.Evidence) error {
	if e.Query == "" {
		e.Query = query(e.Call.RawQuery)
	}
	a, err := e.Artifact(r.region, r.id, apiVersion)
	if err != nil {
		return fmt.Errorf("bedrock %s: %w", r.region, err)
	}
	if err := r.emit(a); err != nil {
		r.emitErr = err
		return err
	}
	return nil
}

// query is a raw query made readable for provenance.
func query(raw string) string {
	if q, err := url.QueryUnescape(raw); err == nil {
		return q
	}
	return raw
}

// stopped reports that emit failed and the run must stop.
func (r *regionRun) stopped() bool { return r.emitErr != nil }

func (r *regionRun) raw(what string, md middleware.Metadata) (awsapi.Raw, error) {
	return awsapi.CapturedRaw("bedrock", r.region, what, md)
}

// invocationLogging stores the region's logging configuration, configured
// or not.
func (r *regionRun) invocationLogging(ctx context.Context) error {
	what := "get model invocation logging configuration"
	out, err := r.api.GetModelInvocationLoggingConfiguration(ctx, &br.GetModelInvocationLoggingConfigurationInput{})
	if err != nil {
		return r.wrap(what, err)
	}
	raw, err := r.raw(what, out.ResultMetadata)
	if err != nil {
		return err
	}
	lc := out.LoggingConfig
	var dests []string
	attrs := map[string]string{}
	if lc != nil {
		if cw := lc.CloudWatchConfig; cw != nil && aws.ToString(cw.LogGroupName) != "" {
			dests = append(dests, "cloudwatch")
			attrs["log_group"] = aws.ToString(cw.LogGroupName)
		}
		if s3 := lc.S3Config; s3 != nil && aws.ToString(s3.BucketName) != "" {
			dests = append(dests, "s3")
			attrs["s3_bucket"] = aws.ToString(s3.BucketName)
		}
		attrs["text_data"] = awsapi.Bool(aws.ToBool(lc.TextDataDeliveryEnabled))
		attrs["image_data"] = awsapi.Bool(aws.ToBool(lc.ImageDataDeliveryEnabled))
		attrs["embedding_data"] = awsapi.Bool(aws.ToBool(lc.EmbeddingDataDeliveryEnabled))
		attrs["video_data"] = awsapi.Bool(aws.ToBool(lc.VideoDataDeliveryEnabled))
		attrs["audio_data"] = awsapi.Bool(aws.ToBool(lc.AudioDataDeliveryEnabled))
	}
	attrs["configured"] = awsapi.Bool(lc != nil)
	attrs["enabled"] = awsapi.Bool(len(dests) > 0)
	attrs["destinations"] = strings.Join(dests, ",")
	if len(dests) == 0 {
		attrs["destinations"] = "none"
	}
	return r.put(awsapi.Evidence{
		Kind:       "bedrock.invocation_logging",
		Subject:    r.id.Account + "/" + r.region,
		Body:       raw.Body,
		Call:       raw,
		Complete:   true, // a single object, not a listing
		Attributes: attrs,
	})
}

// guardrails: every guardrail, then every version of each, each read by
// its version.
func (r *regionRun) guardrails(ctx context.Context) error {
	f := awsapi.NewFamily(r.stopped)
	var ids []string
	p := br.NewListGuardrailsPaginator(r.api, &br.ListGuardrailsInput{MaxResults: aws.Int32(pageSize)})
	complete, err := awsapi.Drain(ctx, p.HasMorePages, func(ctx context.Context) error {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, g := range out.Guardrails {
			ids = append(ids, aws.ToString(g.Id))
		}
		return nil
	})
	if err != nil && f.Add(r.wrap("list guardrails", err)) {
		return f.Err()
	}
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		var versions []string
		vp := br.NewListGuardrailsPaginator(r.api, &br.ListGuardrailsInput{GuardrailIdentifier: aws.String(id), MaxResults: aws.Int32(pageSize)})
		vcomplete, err := awsapi.Drain(ctx, vp.HasMorePages, func(ctx context.Context) error {
			out, err := vp.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, g := range out.Guardrails {
				versions = append(versions, aws.ToString(g.Version))
			}
			return nil
		})
		if err != nil && f.Add(r.wrap("list versions of guardrail "+id, err)) {
			return f.Err()
		}
		for _, v := range versions {
			if err := ctx.Err(); err != nil {
				return err
			}
			what := "get guardrail " + id + " version " + v
			out, err := r.api.GetGuardrail(ctx, &br.GetGuardrailInput{GuardrailIdentifier: aws.String(id), GuardrailVersion: aws.String(v)})
			if err != nil {
				if f.Add(r.wrap(what, err)) {
					return f.Err()
				}
				continue
			}
			raw, err := r.raw(what, out.ResultMetadata)
			if err == nil {
				err = r.put(guardrailEvidence(out, raw, complete && vcomplete))
			}
			if err != nil && f.Add(err) {
				return f.Err()
			}
		}
	}
	return f.Err()
}

func guardrailEvidence(out *br.GetGuardrailOutput, raw awsapi.Raw, complete bool) awsapi.Evidence {
	attrs := map[string]string{
		"guardrail_id":      aws.ToString(out.GuardrailId),
		"guardrail_name":    aws.ToString(out.Name),
		"guardrail_version": aws.ToString(out.Version),
		"status":            string(out.Status),
		"draft":             awsapi.Bool(aws.ToString(out.Version) == "DRAFT"),
		"kms_key":           awsapi.Bool(aws.ToString(out.KmsKeyArn) != ""),
	}
	var filters, topics, pii, grounding []string
	if p := out.ContentPolicy; p != nil {
		for _, f := range p.Filters {
			filters = append(filters, string(f.Type))
		}
	}
	if p := out.TopicPolicy; p != nil {
		for _, t := range p.Topics {
			topics = append(topics, aws.ToString(t.Name))
		}
	}
	regexes := 0
	if p := out.SensitiveInformationPolicy; p != nil {
		for _, e := range p.PiiEntities {
			pii = append(pii, string(e.Type))
		}
		regexes = len(p.Regexes)
	}
	if p := out.ContextualGroundingPolicy; p != nil {
		for _, f := range p.Filters {
			grounding = append(grounding, string(f.Type))
		}
	}
	for k, v := range map[string][]string{"content_filters": filters, "denied_topics": topics, "pii_entities": pii, "contextual_grounding": grounding} {
		sort.Strings(v)
		attrs[k] = strings.Join(v, ",")
		if len(v) == 0 {
			attrs[k] = "none"
		}
	}
	attrs["regexes"] = strconv.Itoa(regexes)
	words := out.WordPolicy != nil && (len(out.WordPolicy.Words) > 0 || len(out.WordPolicy.ManagedWordLists) > 0)
	attrs["word_filters"] = awsapi.Bool(words)
	return awsapi.Evidence{
		Kind:        "bedrock.guardrail",
		Subject:     aws.ToString(out.GuardrailArn) + "@" + aws.ToString(out.Version),
		Body:        raw.Body,
		Call:        raw,
		Complete:    complete,
		Attributes:  attrs,
		EffectiveAt: awsapi.First(out.UpdatedAt, out.CreatedAt),
	}
}

func (r *regionRun) customModels(ctx context.Context) error {
	f := awsapi.NewFamily(r.stopped)
	var arns []string
	p := br.NewListCustomModelsPaginator(r.api, &br.ListCustomModelsInput{
		MaxResults: aws.Int32(pageSize), SortBy: types.SortModelsByCreationTime, SortOrder: types.SortOrderAscending,
	})
	complete, err := awsapi.Drain(ctx, p.HasMorePages, func(ctx context.Context) error {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, m := range out.ModelSummaries {
			arns = append(arns, aws.ToString(m.ModelArn))
		}
		return nil
	})
	if err != nil && f.Add(r.wrap("list custom models", err)) {
		return f.Err()
	}
	for _, arn := range arns {
		if err := ctx.Err(); err != nil {
			return err
		}
		what := "get custom model " + arn
		out, err := r.api.GetCustomModel(ctx, &br.GetCustomModelInput{ModelIdentifier: aws.String(arn)})
		if err != nil {
			if f.Add(r.wrap(what, err)) {
				return f.Err()
			}
			continue
		}
		raw, err := r.raw(what, out.ResultMetadata)
		if err == nil {
			attrs := map[string]string{
				"model_name":         aws.ToString(out.ModelName),
				"base_model":         aws.ToString(out.BaseModelArn),
				"customization_type": string(out.CustomizationType),
				"model_status":       string(out.ModelStatus),
				"job":                aws.ToString(out.JobArn),
			}
			if td := out.TrainingDataConfig; td != nil {
				attrs["training_data"] = aws.ToString(td.S3Uri)
			}
			err = r.put(awsapi.Evidence{
				Kind: "bedrock.custom_model", Subject: aws.ToString(out.ModelArn),
				Body: raw.Body, Call: raw, Complete: complete, Attributes: attrs,
				EffectiveAt: awsapi.First(out.CreationTime),
			})
		}
		if err != nil && f.Add(err) {
			return f.Err()
		}
	}
	return f.Err()
}

// since is the start of the lookback window, to the second.
func (r *regionRun) since() time.Time {
	return r.c.now().Add(-r.c.cfg.Lookback.Duration()).UTC().Truncate(time.Second)
}

func (r *regionRun) customizationJobs(ctx context.Context) error {
	f := awsapi.NewFamily(r.stopped)
	since := r.since()
	var arns []string
	p := br.NewListModelCustomizationJobsPaginator(r.api, &br.ListModelCustomizationJobsInput{
		CreationTimeAfter: aws.Time(since),
		MaxResults:        aws.Int32(pageSize), SortBy: types.SortJobsByCreationTime, SortOrder: types.SortOrderAscending,
	})
	complete, err := awsapi.Drain(ctx, p.HasMorePages, func(ctx context.Context) error {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, j := range out.ModelCustomizationJobSummaries {
			arns = append(arns, aws.ToString(j.JobArn))
		}
		return nil
	})
	if err != nil && f.Add(r.wrap("list model customization jobs", err)) {
		return f.Err()
	}
	for _, arn := range arns {
		if err := ctx.Err(); err != nil {
			return err
		}
		what := "get model customization job " + arn
		out, err := r.api.GetModelCustomizationJob(ctx, &br.GetModelCustomizationJobInput{JobIdentifier: aws.String(arn)})
		if err != nil {
			if f.Add(r.wrap(what, err)) {
				return f.Err()
			}
			continue
		}
		raw, err := r.raw(what, out.ResultMetadata)
		if err == nil {
			attrs := map[string]string{
				"job_name":           aws.ToString(out.JobName),
				"status":             string(out.Status),
				"base_model":         aws.ToString(out.BaseModelArn),
				"customization_type": string(out.CustomizationType),
				"output_model":       aws.ToString(out.OutputModelArn),
			}
			if td := out.TrainingDataConfig; td != nil {
				attrs["training_data"] = aws.ToString(td.S3Uri)
			}
			if vd := out.ValidationDataConfig; vd != nil {
				var uris []string
				for _, v := range vd.Validators {
					uris = append(uris, aws.ToString(v.S3Uri))
				}
				attrs["validation_data"] = strings.Join(uris, ",")
			}
			err = r.put(awsapi.Evidence{
				Kind: "bedrock.model_customization_job", Subject: aws.ToString(out.JobArn),
				Body: raw.Body, Call: raw, Complete: complete, Attributes: attrs,
				Query:       "listed with creationTimeAfter=" + since.Format(time.RFC3339),
				EffectiveAt: awsapi.First(out.EndTime, out.CreationTime),
			})
		}
		if err != nil && f.Add(err) {
			return f.Err()
		}
	}
	return f.Err()
}

func (r *regionRun) evaluationJobs(ctx context.Context) error {
	f := awsapi.NewFamily(r.stopped)
	since := r.since()
	var arns []string
	p := br.NewListEvaluationJobsPaginator(r.api, &br.ListEvaluationJobsInput{
		CreationTimeAfter: aws.Time(since),
		MaxResults:        aws.Int32(pageSize), SortBy: types.SortJobsByCreationTime, SortOrder: types.SortOrderAscending,
	})
	complete, err := awsapi.Drain(ctx, p.HasMorePages, func(ctx context.Context) error {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, j := range out.JobSummaries {
			arns = append(arns, aws.ToString(j.JobArn))
		}
		return nil
	})
	if err != nil && f.Add(r.wrap("list evaluation jobs", err)) {
		return f.Err()
	}
	for _, arn := range arns {
		if err := ctx.Err(); err != nil {
			return err
		}
		what := "get evaluation job " + arn
		out, err := r.api.GetEvaluationJob(ctx, &br.GetEvaluationJobInput{JobIdentifier: aws.String(arn)})
		if err != nil {
			if f.Add(r.wrap(what, err)) {
				return f.Err()
			}
			continue
		}
		raw, err := r.raw(what, out.ResultMetadata)
		if err == nil {
			attrs := map[string]string{
				"job_name": aws.ToString(out.JobName),
				"status":   string(out.Status),
				"job_type": string(out.JobType),
			}
			models, tasks := evaluationTargets(raw.Body)
			attrs["models"] = strings.Join(models, ",")
			attrs["task_types"] = strings.Join(tasks, ",")
			err = r.put(awsapi.Evidence{
				Kind: "bedrock.model_evaluation", Subject: aws.ToString(out.JobArn),
				Body: raw.Body, Call: raw, Complete: complete, Attributes: attrs,
				Query:       "listed with creationTimeAfter=" + since.Format(time.RFC3339),
				EffectiveAt: awsapi.First(out.LastModifiedTime, out.CreationTime),
			})
		}
		if err != nil && f.Add(err) {
			return f.Err()
		}
	}
	return f.Err()
}

// evaluationTargets reads the evaluated models and task types from a
// GetEvaluationJob body (the SDK gives them as unions).
func evaluationTargets(body []byte) (models, tasks []string) {
	var job struct {
		InferenceConfig struct {
			Models []struct {
				BedrockModel struct {
					ModelIdentifier string `json:"modelIdentifier"`
				} `json:"bedrockModel"`
			} `json:"models"`
		} `json:"inferenceConfig"`
		EvaluationConfig struct {
			Automated struct {
				DatasetMetricConfigs []struct {
					TaskType string `json:"taskType"`
				} `json:"datasetMetricConfigs"`
			} `json:"automated"`
			Human struct {
				DatasetMetricConfigs []struct {
					TaskType string `json:"taskType"`
				} `json:"datasetMetricConfigs"`
			} `json:"human"`
		} `json:"evaluationConfig"`
	}
	if json.Unmarshal(body, &job) != nil {
		return nil, nil
	}
	for _, m := range job.InferenceConfig.Models {
		if id := m.BedrockModel.ModelIdentifier; id != "" {
			models = append(models, id)
		}
	}
	seen := map[string]bool{}
	for _, c := range append(job.EvaluationConfig.Automated.DatasetMetricConfigs, job.EvaluationConfig.Human.DatasetMetricConfigs...) {
		if c.TaskType != "" && !seen[c.TaskType] {
			seen[c.TaskType] = true
			tasks = append(tasks, c.TaskType)
		}
	}
	return models, tasks
}
