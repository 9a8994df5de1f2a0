package bedrock

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aimsvault/aimsvault/connectors"
	"github.com/aimsvault/aimsvault/connectors/bedrock/bedrockfake"
	"github.com/aimsvault/aimsvault/connectors/internal/awsapi"
	"github.com/aimsvault/aimsvault/connectors/internal/awsfake"
	"github.com/aimsvault/aimsvault/mapping"
)

var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// builtin maps with the built-in rules (a nil Mapper).
var builtin *mapping.Mapper

type got struct {
	connectors.Artifact
	body []byte
}

func collect(t *testing.T, fake *bedrockfake.Fake, regions ...string) ([]got, error) {
	t.Helper()
	cfg := defaultConfig()
	cfg.Regions = regions
	cfg.Endpoint = fake.URL
	cfg.STSEndpoint = fake.URL
	hc := connectors.NewHTTPClient(connectors.HTTPOptions{RetryMax: 2, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	c, err := New(cfg, connectors.Deps{HTTP: hc, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	c.(*Connector).retry = awsapi.Options{Backoff: noBackoff{}, NoClientRateLimit: true}
	var out []got
	err = c.Collect(t.Context(), func(a connectors.Artifact) error {
		b, _ := io.ReadAll(a.Content)
		a.Content = nil
		out = append(out, got{a, b})
		return nil
	})
	return out, err
}

type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

func find(t *testing.T, arts []got, kind, subject string) got {
	t.Helper()
	for _, a := range arts {
		if a.Kind == kind && a.Subject == subject {
			return a
		}
	}
	t.Fatalf("no %s %s among %d artifacts", kind, subject, len(arts))
	return got{}
}

func arn(region, res string) string { return "arn:aws:bedrock:" + region + ":123456789012:" + res }

func TestCollect_EmitsEveryFamily(t *testing.T) {
	t.Parallel()
	fake := bedrockfake.New(t, bedrockfake.Options{})
	arts, err := collect(t, fake, "us-east-1", "eu-central-1")
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	var list []string
	for _, a := range arts {
		list = append(list, a.Kind+" "+a.Subject)
	}
	ftModel := "custom-model/amazon.titan-text-express-v1:0:8k/"
	ftJob := "model-customization-job/amazon.titan-text-express-v1:0:8k/"
	want := []string{
		"bedrock.invocation_logging 123456789012/us-east-1",
		"bedrock.guardrail " + arn("us-east-1", "guardrail/gr1support01") + "@DRAFT",
		"bedrock.guardrail " + arn("us-east-1", "guardrail/gr1support01") + "@1",
		"bedrock.guardrail " + arn("us-east-1", "guardrail/gr1support01") + "@2",
		"bedrock.guardrail " + arn("us-east-1", "guardrail/gr2hrbot0002") + "@DRAFT",
		"bedrock.guardrail " + arn("us-east-1", "guardrail/gr3legacy003") + "@DRAFT",
		"bedrock.custom_model " + arn("us-east-1", ftModel+"support-titan-ft-v1"),
		"bedrock.custom_model " + arn("us-east-1", ftModel+"support-titan-ft-v2"),
		// support-ft-job-0 (August) is older than the 90-day lookback.
		"bedrock.model_customization_job " + arn("us-east-1", ftJob+"support-ft-job-1"),
		"bedrock.model_customization_job " + arn("us-east-1", ftJob+"support-ft-job-2"),
		"bedrock.model_evaluation " + arn("us-east-1", "evaluation-job/a1b2c3d4e5f6"),
		"bedrock.model_evaluation " + arn("us-east-1", "evaluation-job/f6e5d4c3b2a1"),
		"bedrock.invocation_logging 123456789012/eu-central-1",
		"bedrock.guardrail " + arn("eu-central-1", "guardrail/gr9eu0000009") + "@DRAFT",
	}
	if diff := cmp.Diff(want, list); diff != "" {
		t.Errorf("artifacts (-want +got):\n%s", diff)
	}
	for _, a := range arts {
		if !a.Provenance.Complete || a.Provenance.Method != "GET" || a.Provenance.APIVersion != apiVersion ||
			a.Provenance.Identity != awsfake.UserARN+" (account 123456789012)" {
			t.Errorf("%s %s: provenance %+v", a.Kind, a.Subject, a.Provenance)
		}
	}
	// Each version is read by its number: ListGuardrails and GetGuardrail
	// default to the DRAFT.
	v1 := find(t, arts, "bedrock.guardrail", arn("us-east-1", "guardrail/gr1support01")+"@1")
	if v1.Provenance.Endpoint != "/aws/guardrails/gr1support01" || v1.Provenance.Query != "guardrailVersion=1" {
		t.Errorf("version 1 provenance %+v", v1.Provenance)
	}
	fixture, _ := os.ReadFile("bedrockfake/testdata/us-east-1/guardrails/gr1support01/1.json")
	if want, _ := connectors.CanonicalJSON(json.RawMessage(fixture)); !bytes.Equal(v1.body, want) {
		t.Errorf("guardrail content is not Bedrock's answer:\n got %s\nwant %s", v1.body, want)
	}
	v2 := find(t, arts, "bedrock.guardrail", arn("us-east-1", "guardrail/gr1support01")+"@2")
	wantAttrs := map[string]string{
		"guardrail_id": "gr1support01", "guardrail_name": "support-assistant", "guardrail_version": "2", "status": "READY",
		"draft": "false", "kms_key": "true", "content_filters": "HATE,INSULTS,MISCONDUCT,PROMPT_ATTACK,SEXUAL,VIOLENCE",
		"denied_topics": "Investment advice", "pii_entities": "EMAIL,US_SOCIAL_SECURITY_NUMBER", "regexes": "1",
		"contextual_grounding": "GROUNDING,RELEVANCE", "word_filters": "true", "aws.region": "us-east-1", "aws.account": "123456789012",
	}
	if diff := cmp.Diff(wantAttrs, v2.Attributes); diff != "" {
		t.Errorf("guardrail attributes (-want +got):\n%s", diff)
	}
	// ISO 8601 stays a string in the content; effective_at is the update.
	if !bytes.Contains(v2.body, []byte(`"updatedAt":"2025-11-15T14:20:00Z"`)) || !v2.EffectiveAt.Equal(time.Date(2025, 11, 15, 14, 20, 0, 0, time.UTC)) {
		t.Errorf("guardrail times: effective_at %v, content %s", v2.EffectiveAt, v2.body)
	}
	if c, _ := builtin.Map(v2.Kind, v2.Attributes); !cmp.Equal(c, []string{"A.6.2.6", "A.9.2", "A.9.4"}) {
		t.Errorf("ready guardrail maps to %v", c)
	}
	failed := find(t, arts, "bedrock.guardrail", arn("us-east-1", "guardrail/gr3legacy003")+"@DRAFT")
	if c, _ := builtin.Map(failed.Kind, failed.Attributes); len(c) != 0 {
		t.Errorf("failed guardrail maps to %v, want nothing", c)
	}
	job := find(t, arts, "bedrock.model_customization_job", arn("us-east-1", ftJob+"support-ft-job-2"))
	if job.Attributes["training_data"] != "s3://example-bedrock-training/support-ft-job-2/train.jsonl" ||
		job.Attributes["base_model"] != "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1:0:8k" {
		t.Errorf("customization job attributes %v", job.Attributes)
	}
	eval := find(t, arts, "bedrock.model_evaluation", arn("us-east-1", "evaluation-job/a1b2c3d4e5f6"))
	if eval.Attributes["status"] != "Completed" || eval.Attributes["task_types"] != "QuestionAndAnswer" ||
		eval.Attributes["models"] != arn("us-east-1", ftModel+"support-titan-ft-v2") {
		t.Errorf("evaluation attributes %v", eval.Attributes)
	}
}

func TestCollect_MissingLoggingConfigurationIsEvidence(t *testing.T) {
	t.Parallel()
	fake := bedrockfake.New(t, bedrockfake.Options{})
	arts, err := collect(t, fake, "us-east-1", "eu-central-1")
	if err != nil {
		t.Fatal(err)
	}
	on := find(t, arts, "bedrock.invocation_logging", "123456789012/us-east-1")
	off := find(t, arts, "bedrock.invocation_logging", "123456789012/eu-central-1")
	if on.Attributes["enabled"] != "true" || on.Attributes["destinations"] != "cloudwatch,s3" || on.Attributes["text_data"] != "true" {
		t.Errorf("configured logging attributes %v", on.Attributes)
	}
	if string(off.body) != "{}" || off.Attributes["enabled"] != "false" || off.Attributes["configured"] != "false" || off.Attributes["destinations"] != "none" {
		t.Errorf("unconfigured logging: content %s, attributes %v", off.body, off.Attributes)
	}
	if off.Provenance.Endpoint != "/aws/logging/modelinvocations" {
		t.Errorf("provenance %+v", off.Provenance)
	}
	if c, _ := builtin.Map(on.Kind, on.Attributes); !cmp.Equal(c, []string{"A.6.2.8"}) {
		t.Errorf("logging on maps to %v", c)
	}
	if c, _ := builtin.Map(off.Kind, off.Attributes); len(c) != 0 {
		t.Errorf("logging off maps to %v, want nothing", c)
	}
}

func TestCollect_FollowsNextToken(t *testing.T) {
	t.Parallel()
	fake := bedrockfake.New(t, bedrockfake.Options{})
	if _, err := collect(t, fake, "us-east-1"); err != nil {
		t.Fatal(err)
	}
	pages := map[string]int{}
	for _, q := range fake.Requests() {
		if !strings.HasPrefix(q.Operation, "List") {
			continue
		}
		key := q.Operation + " " + strings.Join(q.Query["guardrailIdentifier"], "")
		if pages[key] > 0 && len(q.Query["nextToken"]) == 0 {
			t.Errorf("%s read twice from the start", key)
		}
		pages[key]++
		if strings.HasSuffix(q.Operation, "Jobs") && len(q.Query["creationTimeAfter"]) == 0 {
			t.Errorf("%s without creationTimeAfter", q.Operation)
		}
	}
	want := map[string]int{
		"ListGuardrails ": 2, "ListGuardrails gr1support01": 2, "ListGuardrails gr2hrbot0002": 1, "ListGuardrails gr3legacy003": 1,
		"ListCustomModels ": 1, "ListModelCustomizationJobs ": 1, "ListEvaluationJobs ": 1,
	}
	if diff := cmp.Diff(want, pages); diff != "" {
		t.Errorf("pages per listing (-want +got):\n%s", diff)
	}
}

func TestCollect_ThrottlingThenSuccess(t *testing.T) {
	t.Parallel()
	fake := bedrockfake.New(t, bedrockfake.Options{})
	// Bedrock throttles with 429: the shared client retries it, the SDK not again.
	fake.Fail("GetGuardrail", awsfake.Failure{Status: 429, Code: "ThrottlingException", Message: "Too many requests", Times: 1})
	arts, err := collect(t, fake, "us-east-1")
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	find(t, arts, "bedrock.guardrail", arn("us-east-1", "guardrail/gr1support01")+"@DRAFT")
	n := 0
	for _, q := range fake.Requests() {
		if q.Operation == "GetGuardrail" {
			n++
		}
	}
	if n != 6 {
		t.Errorf("GetGuardrail called %d times, want 5 versions + 1 retry", n)
	}

	always := bedrockfake.New(t, bedrockfake.Options{})
	always.Fail("ListCustomModels", awsfake.Failure{Status: 429, Code: "ThrottlingException", Message: "Too many requests"})
	_, err = collect(t, always, "us-east-1")
	if connectors.Classify(err) != connectors.ClassRateLimited || !strings.Contains(err.Error(), "list custom models") {
		t.Errorf("Collect error %v: class %q, want rate_limited naming the call", err, connectors.Classify(err))
	}
}

func TestCollect_AccessDeniedNamesThePermission(t *testing.T) {
	t.Parallel()
	fake := bedrockfake.New(t, bedrockfake.Options{})
	fake.Fail("GetModelInvocationLoggingConfiguration", awsfake.Failure{Region: "eu-central-1", Status: 403, Code: "AccessDeniedException",
		Message: "User: " + awsfake.UserARN + " is not authorized to perform: bedrock:GetModelInvocationLoggingConfiguration"})
	arts, err := collect(t, fake, "us-east-1", "eu-central-1")
	var ae *awsapi.APIError
	if !errors.As(err, &ae) || connectors.Classify(err) != connectors.ClassAuth ||
		ae.Action() != "bedrock:GetModelInvocationLoggingConfiguration" || ae.Region != "eu-central-1" {
		t.Fatalf("Collect error %v, want an auth error naming bedrock:GetModelInvocationLoggingConfiguration in eu-central-1", err)
	}
	// Could not read is not "not configured": no logging artifact for eu-central-1.
	for _, a := range arts {
		if a.Kind == "bedrock.invocation_logging" && a.Attributes["aws.region"] == "eu-central-1" {
			t.Errorf("a denied read produced %v", a.Attributes)
		}
	}
	find(t, arts, "bedrock.guardrail", arn("eu-central-1", "guardrail/gr9eu0000009")+"@DRAFT")
}
