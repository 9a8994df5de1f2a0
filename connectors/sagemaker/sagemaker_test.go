package sagemaker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors"
	"github.com/aimsvault/aimsvault/connectors/internal/awsapi"
	"github.com/aimsvault/aimsvault/connectors/internal/awsfake"
	"github.com/aimsvault/aimsvault/connectors/sagemaker/sagemakerfake"
	"github.com/aimsvault/aimsvault/mapping"
)

var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type got struct {
	connectors.Artifact
	body []byte
}

type run struct {
	fake      *sagemakerfake.Fake
	cfg       Config
	transport http.RoundTripper // default: plain
	logs      bytes.Buffer
}

func newRun(t *testing.T, regions ...string) *run {
	t.Helper()
	if len(regions) == 0 {
		regions = []string{"us-east-1", "eu-west-1"}
	}
	fake := sagemakerfake.New(t, sagemakerfake.Options{})
	cfg := defaultConfig()
	cfg.Regions = regions
	cfg.Endpoint = fake.URL
	cfg.STSEndpoint = fake.URL
	return &run{fake: fake, cfg: cfg}
}

// collect runs a connector over the fake with the shared client (two
// retries, millisecond waits) and no SDK backoff.
func (r *run) collect(t *testing.T) ([]got, error) {
	t.Helper()
	hc := connectors.NewHTTPClient(connectors.HTTPOptions{
		RetryMax: 2, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Transport: r.transport,
	})
	c, err := New(r.cfg, connectors.Deps{
		HTTP: hc, Logger: slog.New(slog.NewTextHandler(&r.logs, nil)), Now: func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	c.(*Connector).retry = awsapi.Options{Backoff: noBackoff{}, NoClientRateLimit: true}
	var out []got
	err = c.Collect(t.Context(), func(a connectors.Artifact) error {
		b, err := io.ReadAll(a.Content)
		if err != nil {
			t.Fatal(err)
		}
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

func arn(region, res string) string { return "arn:aws:sagemaker:" + region + ":123456789012:" + res }

func TestCollect_EmitsEveryFamily(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	arts, err := r.collect(t)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	var list []string
	for _, a := range arts {
		list = append(list, a.Kind+" "+a.Subject)
	}
	want := []string{
		"sagemaker.model_package_group " + arn("us-east-1", "model-package-group/churn-model"),
		"sagemaker.model_package " + arn("us-east-1", "model-package/churn-model/1"),
		"sagemaker.model_package " + arn("us-east-1", "model-package/churn-model/2"),
		"sagemaker.model_package " + arn("us-east-1", "model-package/churn-model/3"),
		"sagemaker.model_package_group " + arn("us-east-1", "model-package-group/fraud-detector"),
		"sagemaker.model_package " + arn("us-east-1", "model-package/fraud-detector/1"),
		"sagemaker.model_package_group " + arn("us-east-1", "model-package-group/credit-scoring"),
		"sagemaker.model_card " + arn("us-east-1", "model-card/churn-model-card"),
		"sagemaker.model_card " + arn("us-east-1", "model-card/fraud-detector-card"),
		"sagemaker.endpoint " + arn("us-east-1", "endpoint/churn-prod"),
		"sagemaker.endpoint_config " + arn("us-east-1", "endpoint-config/churn-prod-config-v2"),
		"sagemaker.data_capture_config " + arn("us-east-1", "endpoint/churn-prod"),
		"sagemaker.endpoint " + arn("us-east-1", "endpoint/fraud-prod"),
		"sagemaker.endpoint_config " + arn("us-east-1", "endpoint-config/fraud-prod-config"),
		"sagemaker.data_capture_config " + arn("us-east-1", "endpoint/fraud-prod"),
		"sagemaker.monitoring_schedule " + arn("us-east-1", "monitoring-schedule/churn-prod-data-quality"),
		"sagemaker.monitoring_schedule " + arn("us-east-1", "monitoring-schedule/churn-prod-model-quality"),
		// churn-train-2025-08-01 is older than the 90-day lookback.
		"sagemaker.training_job " + arn("us-east-1", "training-job/churn-train-2025-12-01"),
		"sagemaker.training_job " + arn("us-east-1", "training-job/fraud-train-2025-12-15"),
		"sagemaker.model_package_group " + arn("eu-west-1", "model-package-group/eu-churn-model"),
		"sagemaker.model_package " + arn("eu-west-1", "model-package/eu-churn-model/1"),
	}
	if diff := cmp.Diff(want, list); diff != "" {
		t.Errorf("artifacts (-want +got):\n%s", diff)
	}
	for _, a := range arts {
		if !a.Provenance.Complete || a.Provenance.Identity != awsfake.UserARN+" (account 123456789012)" || a.Provenance.APIVersion != apiVersion {
			t.Errorf("%s %s: provenance %+v", a.Kind, a.Subject, a.Provenance)
		}
		if a.Attributes["aws.account"] != awsfake.Account || !strings.Contains(a.Subject, ":"+a.Attributes["aws.region"]+":") {
			t.Errorf("%s %s: attributes %v", a.Kind, a.Subject, a.Attributes)
		}
	}
}

func TestCollect_ModelPackageIsDescribeAnswerVerbatim(t *testing.T) {
	t.Parallel()
	r := newRun(t, "us-east-1")
	arts, err := r.collect(t)
	if err != nil {
		t.Fatal(err)
	}
	a := find(t, arts, "sagemaker.model_package", arn("us-east-1", "model-package/churn-model/2"))
	fixture, err := os.ReadFile("sagemakerfake/testdata/us-east-1/DescribeModelPackage/churn-model/2.json")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := connectors.CanonicalJSON(json.RawMessage(fixture))
	if !bytes.Equal(a.body, want) {
		t.Errorf("content is not the canonical Describe answer:\n got %s\nwant %s", a.body, want)
	}
	// Epoch seconds stay epoch seconds in the content.
	if !bytes.Contains(a.body, []byte(`"CreationTime":1756720800.5`)) {
		t.Errorf("content lost the epoch-seconds CreationTime: %s", a.body)
	}
	wantAttrs := map[string]string{
		"approval_status": "Approved", "model_package_group": "churn-model", "model_package_version": "2",
		"model_package_status": "Completed", "model_metrics": "true", "model_card": "Approved",
		"created_by":       "arn:aws:sts::123456789012:assumed-role/SageMakerStudio/ml-engineer",
		"last_modified_by": "arn:aws:sts::123456789012:assumed-role/SageMakerStudio/model-approver",
		"last_modified_at": "2025-09-03T16:45:00Z", "aws.region": "us-east-1", "aws.account": "123456789012",
	}
	if diff := cmp.Diff(wantAttrs, a.Attributes); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	if want := time.Date(2025, 9, 3, 16, 45, 0, 750e6, time.UTC); !a.EffectiveAt.Equal(want) {
		t.Errorf("effective_at = %v, want the last modification of the approved package %v", a.EffectiveAt, want)
	}
	wantProv := connectors.Provenance{
		Method: "POST", Endpoint: "SageMaker.DescribeModelPackage", Query: "ModelPackageName=" + a.Subject,
		APIVersion: apiVersion, Identity: awsfake.UserARN + " (account 123456789012)", Complete: true,
	}
	if diff := cmp.Diff(wantProv, a.Provenance); diff != "" {
		t.Errorf("provenance (-want +got):\n%s", diff)
	}
	controls, err := builtin.Map(a.Kind, a.Attributes)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"A.6.2.3", "A.6.2.4", "A.6.2.5", "A.6.2.7"}, controls); diff != "" {
		t.Errorf("controls of an approved package with metrics (-want +got):\n%s", diff)
	}
	pending := find(t, arts, "sagemaker.model_package", arn("us-east-1", "model-package/churn-model/3"))
	if pending.Attributes["approval_status"] != "PendingManualApproval" || pending.Attributes["model_metrics"] != "false" {
		t.Errorf("pending package attributes %v", pending.Attributes)
	}
	if want := time.Date(2025, 12, 20, 11, 0, 0, 500e6, time.UTC); !pending.EffectiveAt.Equal(want) {
		t.Errorf("pending package effective_at = %v, want its creation %v", pending.EffectiveAt, want)
	}
}

func TestCollect_DataCaptureOffIsEvidence(t *testing.T) {
	t.Parallel()
	r := newRun(t, "us-east-1")
	arts, err := r.collect(t)
	if err != nil {
		t.Fatal(err)
	}
	on := find(t, arts, "sagemaker.data_capture_config", arn("us-east-1", "endpoint/churn-prod"))
	off := find(t, arts, "sagemaker.data_capture_config", arn("us-east-1", "endpoint/fraud-prod"))
	for _, tc := range []struct {
		a        got
		enabled  string
		controls []string
	}{{on, "true", []string{"A.6.2.8"}}, {off, "false", []string{}}} {
		if tc.a.Attributes["enabled"] != tc.enabled {
			t.Errorf("%s: enabled = %q, want %s", tc.a.Subject, tc.a.Attributes["enabled"], tc.enabled)
		}
		controls, _ := builtin.Map(tc.a.Kind, tc.a.Attributes)
		if diff := cmp.Diff(tc.controls, controls); diff != "" {
			t.Errorf("%s: controls (-want +got):\n%s", tc.a.Subject, diff)
		}
	}
	if on.Attributes["sampling_percentage"] != "20" || on.Attributes["kms_key"] != "true" || on.Attributes["capture_status"] != "Started" {
		t.Errorf("capture attributes %v", on.Attributes)
	}
	if !bytes.Contains(off.body, []byte(`"DataCaptureConfig":null`)) || !bytes.Contains(off.body, []byte(`"DataCaptureConfigSummary":null`)) {
		t.Errorf("endpoint without capture: content %s, want both settings null", off.body)
	}
	if !bytes.Contains(on.body, []byte(`"CaptureOptions":[{"CaptureMode":"Input"},{"CaptureMode":"Output"}]`)) {
		t.Errorf("capture content %s lacks the config's capture options", on.body)
	}
	stopped := find(t, arts, "sagemaker.monitoring_schedule", arn("us-east-1", "monitoring-schedule/churn-prod-model-quality"))
	if stopped.Attributes["schedule_status"] != "Stopped" || stopped.Attributes["last_execution_status"] != "Failed" {
		t.Errorf("stopped schedule attributes %v", stopped.Attributes)
	}
	if controls, _ := builtin.Map(stopped.Kind, stopped.Attributes); len(controls) != 0 {
		t.Errorf("a stopped schedule maps to %v, want nothing", controls)
	}
	job := find(t, arts, "sagemaker.training_job", arn("us-east-1", "training-job/churn-train-2025-12-01"))
	if want := "s3://example-ml-data-us-east-1/churn/train/,s3://example-ml-data-us-east-1/churn/validation/"; job.Attributes["input_data"] != want {
		t.Errorf("input_data = %q, want %q", job.Attributes["input_data"], want)
	}
}

func TestCollect_FollowsPagination(t *testing.T) {
	t.Parallel()
	r := newRun(t, "us-east-1")
	if _, err := r.collect(t); err != nil {
		t.Fatal(err)
	}
	pages := map[string]int{}
	for _, q := range r.fake.Requests() {
		if q.Operation == "ListModelPackages" {
			if _, ok := q.Params["ModelPackageGroupName"]; !ok {
				t.Errorf("ListModelPackages without ModelPackageGroupName lists only unversioned packages: %v", q.Params)
			}
		}
		if strings.HasPrefix(q.Operation, "List") {
			if q.Params["MaxResults"] == nil {
				t.Errorf("%s without MaxResults (SageMaker's default page is 10)", q.Operation)
			}
			key := q.Operation + " " + stringOf(q.Params["ModelPackageGroupName"])
			if pages[key] > 0 && q.Params["NextToken"] == nil {
				t.Errorf("%s read twice from the start", key)
			}
			pages[key]++
		}
		if q.Operation == "ListTrainingJobs" && q.Params["CreationTimeAfter"] == nil {
			t.Error("ListTrainingJobs without CreationTimeAfter: the lookback is not applied upstream")
		}
	}
	want := map[string]int{
		"ListModelPackageGroups ": 2, "ListModelPackages churn-model": 2, "ListModelPackages fraud-detector": 1,
		"ListModelPackages credit-scoring": 1, "ListModelCards ": 1, "ListEndpoints ": 1, "ListMonitoringSchedules ": 1,
		"ListTrainingJobs ": 1,
	}
	if diff := cmp.Diff(want, pages); diff != "" {
		t.Errorf("pages read per listing (-want +got):\n%s", diff)
	}
}

func stringOf(v any) string { s, _ := v.(string); return s }

func countOps(reqs []sagemakerfake.Request, op string) int {
	n := 0
	for _, q := range reqs {
		if q.Operation == op {
			n++
		}
	}
	return n
}

func TestCollect_ThrottlingThenSuccess(t *testing.T) {
	t.Parallel()
	r := newRun(t, "us-east-1")
	r.fake.Fail("DescribeModelCard", awsfake.Failure{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded", Times: 2})
	arts, err := r.collect(t)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	find(t, arts, "sagemaker.model_card", arn("us-east-1", "model-card/churn-model-card"))
	// Two throttled attempts, retried by the SDK (the shared client does not
	// know a 400 is a throttle), then the two cards.
	if n := countOps(r.fake.Requests(), "DescribeModelCard"); n != 4 {
		t.Errorf("DescribeModelCard called %d times, want 4", n)
	}
}

func TestCollect_ThrottledTooLongIsRateLimited(t *testing.T) {
	t.Parallel()
	r := newRun(t, "us-east-1")
	r.fake.Fail("ListEndpoints", awsfake.Failure{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"})
	arts, err := r.collect(t)
	if connectors.Classify(err) != connectors.ClassRateLimited {
		t.Fatalf("Collect error %v: class %q, want rate_limited", err, connectors.Classify(err))
	}
	if !strings.Contains(err.Error(), "list endpoints") || !strings.Contains(err.Error(), "ThrottlingException") {
		t.Errorf("error %q does not name the call and the code", err)
	}
	if n := countOps(r.fake.Requests(), "ListEndpoints"); n != 5 {
		t.Errorf("ListEndpoints called %d times, want the SDK's 5 attempts", n)
	}
	// The other families were still collected.
	find(t, arts, "sagemaker.training_job", arn("us-east-1", "training-job/churn-train-2025-12-01"))
}

func TestCollect_ServerErrorsRetriedOnceOnly(t *testing.T) {
	t.Parallel()
	r := newRun(t, "us-east-1")
	r.fake.Fail("DescribeEndpoint", awsfake.Failure{Region: "us-east-1", Status: 503, Code: "ServiceUnavailable", Message: "try later"})
	r.fake.Fail("DescribeMonitoringSchedule", awsfake.Failure{Status: 500, Code: "InternalFailure", Message: "oops", Times: 1})
	arts, err := r.collect(t)
	if connectors.Classify(err) != connectors.ClassUpstream {
		t.Fatalf("Collect error %v: class %q, want upstream", err, connectors.Classify(err))
	}
	// The shared client retries 5xx (here twice); the SDK must not retry on
	// top, or each call would make 3×5 attempts. The first endpoint's
	// failure is upstream, so the second endpoint is still tried.
	if n := countOps(r.fake.Requests(), "DescribeEndpoint"); n != 6 {
		t.Errorf("DescribeEndpoint called %d times, want 2 endpoints × 3 attempts", n)
	}
	if n := countOps(r.fake.Requests(), "DescribeMonitoringSchedule"); n != 3 {
		t.Errorf("DescribeMonitoringSchedule called %d times, want 3 (one retried 500, then two schedules)", n)
	}
	find(t, arts, "sagemaker.monitoring_schedule", arn("us-east-1", "monitoring-schedule/churn-prod-data-quality"))
}

func TestCollect_AccessDeniedNamesThePermission(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	r.fake.Fail("DescribeModelPackage", awsfake.Failure{Region: "eu-west-1", Status: 400, Code: "AccessDeniedException",
		Message: "User: " + awsfake.UserARN + " is not authorized to perform: sagemaker:DescribeModelPackage because no identity-based policy allows the sagemaker:DescribeModelPackage action"})
	arts, err := r.collect(t)
	if connectors.Classify(err) != connectors.ClassAuth {
		t.Fatalf("Collect error %v: class %q, want auth", err, connectors.Classify(err))
	}
	var ae *awsapi.APIError
	if !errors.As(err, &ae) || ae.Action() != "sagemaker:DescribeModelPackage" || ae.Region != "eu-west-1" {
		t.Fatalf("error %v: want an APIError for sagemaker:DescribeModelPackage in eu-west-1", err)
	}
	if !strings.Contains(err.Error(), "needs sagemaker:DescribeModelPackage in eu-west-1") {
		t.Errorf("error %q does not name the missing permission and region", err)
	}
	// us-east-1 is complete; in eu-west-1 the group was still stored.
	find(t, arts, "sagemaker.model_package", arn("us-east-1", "model-package/churn-model/2"))
	find(t, arts, "sagemaker.model_package_group", arn("eu-west-1", "model-package-group/eu-churn-model"))
}

func TestCollect_BrokenListingIsIncomplete(t *testing.T) {
	t.Parallel()
	r := newRun(t, "us-east-1")
	r.fake.Fail("ListModelPackages", awsfake.Failure{Status: 500, Code: "InternalFailure", Message: "oops"})
	r.fake.Fail("ListModelPackageGroups", awsfake.Failure{Status: 400, Code: "ValidationException", Message: "bad token", Times: 0})
	_, err := r.collect(t)
	if err == nil || !strings.Contains(err.Error(), "list model package groups") {
		t.Fatalf("Collect error %v, want the listing failure", err)
	}
}

func TestCollect_PartialListingMarksIncomplete(t *testing.T) {
	t.Parallel()
	r := newRun(t, "us-east-1")
	// Page 1 of the groups is read; page 2 fails.
	calls := 0
	r.transport = roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.Header.Get("X-Amz-Target") == "SageMaker.ListModelPackageGroups" {
			calls++
			if calls > 1 {
				return &http.Response{StatusCode: 400, Header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}},
					Body: io.NopCloser(strings.NewReader(`{"__type":"ValidationException","message":"The NextToken has expired"}`)), Request: req}, nil
			}
		}
		return http.DefaultTransport.RoundTrip(req)
	})
	arts, err := r.collect(t)
	if err == nil {
		t.Fatal("Collect succeeded with a broken listing")
	}
	g := find(t, arts, "sagemaker.model_package_group", arn("us-east-1", "model-package-group/churn-model"))
	if g.Provenance.Complete {
		t.Error("a group from a listing that broke off says complete")
	}
	// A group's versions listing itself was read in full.
	if p := find(t, arts, "sagemaker.model_package", arn("us-east-1", "model-package/churn-model/2")); !p.Provenance.Complete {
		t.Error("a version from a complete versions listing says incomplete")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestCollect_AssumesRoleWithExternalID(t *testing.T) {
	t.Parallel()
	r := newRun(t, "eu-west-1")
	r.cfg.RoleARN = awsfake.RoleARN
	r.cfg.ExternalID = config.Secret(awsfake.ExternalID)
	arts, err := r.collect(t)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	for _, a := range arts {
		if a.Provenance.Identity != awsfake.AssumedRoleSessionARN+" (account 123456789012)" {
			t.Errorf("%s: identity %q, want the assumed role session", a.Subject, a.Provenance.Identity)
		}
	}
	for _, q := range r.fake.Requests() {
		if q.Service == "sagemaker" && !q.Assumed {
			t.Errorf("%s signed with the base credentials, not the assumed role's", q.Operation)
		}
	}
	if strings.Contains(r.logs.String(), awsfake.ExternalID) {
		t.Error("the external id shows up in the logs")
	}

	bad := newRun(t, "eu-west-1")
	bad.cfg.RoleARN = awsfake.RoleARN
	bad.cfg.ExternalID = "wrong-external-id"
	_, err = bad.collect(t)
	var ae *awsapi.APIError
	if !errors.As(err, &ae) || ae.Action() != "sts:AssumeRole" || connectors.Classify(err) != connectors.ClassAuth {
		t.Fatalf("Collect with a wrong external id: %v, want an auth error naming sts:AssumeRole", err)
	}
}

func TestCollect_UnavailableRegionIsAConfigError(t *testing.T) {
	t.Parallel()
	r := newRun(t, "us-east-1", "ap-east-9")
	fakeURL, _ := url.Parse(r.fake.URL)
	r.cfg.Endpoint = "http://api.sagemaker.{region}.example.test/aws/"
	r.transport = roundTripFunc(func(req *http.Request) (*http.Response, error) {
		switch req.URL.Hostname() {
		case "api.sagemaker.us-east-1.example.test":
			req.Host = req.URL.Host // the Host header, which the signature covers, keeps the configured name
			req.URL.Host = fakeURL.Host
			return http.DefaultTransport.RoundTrip(req)
		case fakeURL.Hostname():
			return http.DefaultTransport.RoundTrip(req)
		}
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: req.URL.Hostname(), IsNotFound: true}}
	})
	arts, err := r.collect(t)
	if !errors.Is(err, awsapi.ErrRegionUnavailable) || !errors.Is(err, connectors.ErrConfig) {
		t.Fatalf("Collect error %v, want a config error for the unavailable region", err)
	}
	if !strings.Contains(err.Error(), "ap-east-9") || strings.Count(err.Error(), "ap-east-9") > 3 {
		t.Errorf("error %q should name the region once", err)
	}
	if !strings.Contains(r.logs.String(), "service not available in region") {
		t.Errorf("no log line for the unavailable region:\n%s", r.logs.String())
	}
	find(t, arts, "sagemaker.model_package", arn("us-east-1", "model-package/churn-model/2"))
}

func TestCollect_Canceled(t *testing.T) {
	t.Parallel()
	r := newRun(t, "us-east-1")
	c, err := New(r.cfg, connectors.Deps{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	n := 0
	err = c.Collect(ctx, func(a connectors.Artifact) error {
		n++
		if n == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 3 {
		t.Errorf("Collect = %v after %d artifacts, want context.Canceled after 3", err, n)
	}
}

func TestConfig_Validate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want []string
	}{
		{"ok", func(c *Config) {}, nil},
		{"no regions", func(c *Config) { c.Regions = nil }, []string{"regions is required"}},
		{"bad region", func(c *Config) { c.Regions = []string{"us-east-1", "US East", "us-east-1"} }, []string{`"US East" is not an AWS region`, `"us-east-1" is listed twice`}},
		{"bad role", func(c *Config) { c.RoleARN = "aimsvault-reader" }, []string{"role_arn"}},
		{"external id alone", func(c *Config) { c.ExternalID = "x" }, []string{"external_id is set without role_arn"}},
		{"endpoint", func(c *Config) { c.Endpoint = "vpce.example.com" }, []string{"endpoint must be an http(s) URL"}},
		{"lookback", func(c *Config) { c.Lookback = 0 }, []string{"lookback must be positive"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultConfig()
			c.Regions = []string{"us-east-1"}
			tc.edit(&c)
			err := c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Validate = %v, want it to say %q", err, w)
				}
			}
		})
	}
}

// builtin maps with the built-in rules (a nil Mapper).
var builtin *mapping.Mapper
