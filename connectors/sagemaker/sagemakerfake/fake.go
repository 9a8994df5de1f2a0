// Package sagemakerfake is a fake AWS SageMaker API (and the STS it needs)
// for tests, spoken in SageMaker's own protocol, awsJson1_1: every call is a
// POST to the endpoint root with X-Amz-Target: SageMaker.<Operation> and a
// JSON body, answered from fixtures in testdata shaped as SageMaker's
// Describe*/List* output (times in epoch seconds). STS calls (query
// protocol: a form body with Action=...) are answered at the same root.
//
// The fake is mounted under /aws/, so a client that drops the endpoint's
// path fails. It checks what it receives: every request must carry a SigV4
// Authorization header that the fake can reproduce with the test secret
// (see awsfake), and the region in its credential scope picks the fixtures:
// testdata/<region>/<Operation>.json for listings (a missing file is an
// empty listing), testdata/<region>/<Operation>/<key>.json for Describe*
// calls, keyed by the name, or for a versioned model package by the
// <group>/<version> its ARN ends with. Listings are paged with NextToken,
// at most PageCap items a page (SageMaker's default page is 10, its
// MaxResults cap 100); ListTrainingJobs honours CreationTimeAfter.
// ListModelPackages without ModelPackageGroupName lists only unversioned
// packages, as SageMaker does.
//
// Fail forces AWS errors on an operation: AccessDeniedException,
// ThrottlingException (400 with __type, as SageMaker sends it), 5xx.
package sagemakerfake

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/aimsvault/aimsvault/connectors/internal/awsfake"
	"github.com/aimsvault/aimsvault/connectors/internal/fakeserver"
)

//go:embed all:testdata
var fixtures embed.FS

// Prefix is the path the fake is mounted under.
const Prefix = "/aws/"

// Options tune the fake.
type Options struct {
	// PageCap is the most items a listing page holds (default 2, so that
	// small fixtures page).
	PageCap int
}

// Request is what the fake received.
type Request struct {
	Service   string // "sagemaker" or "sts"
	Region    string
	Operation string
	Params    map[string]any
	Assumed   bool // signed with the assumed role's session
	Status    int
}

// Fake is a running fake.
type Fake struct {
	// URL is the endpoint to configure: the server root plus Prefix.
	URL      string
	close    func()
	failures awsfake.Failures
	pageCap  int

	mu       sync.Mutex
	requests []Request
}

// The credentials the fake accepts: configure them as the connector's
// access_key_id and secret_access_key (test and demo only).
const (
	AccessKeyID     = awsfake.AccessKeyID
	SecretAccessKey = awsfake.SecretAccessKey
)

// TB is the part of testing.TB that New uses (*testing.T satisfies it):
// this package does not import testing, as the aimsvault binary links it.
type TB = fakeserver.TB

// New starts a fake, closed when t ends.
func New(t TB, opts Options) *Fake {
	t.Helper()
	f, err := Start(opts)
	if err != nil {
		t.Fatalf("sagemakerfake: %v", err)
	}
	t.Cleanup(f.Close)
	return f
}

// Start starts a fake on a loopback port; Close stops it.
func Start(opts Options) (*Fake, error) {
	f := &Fake{pageCap: opts.PageCap}
	if f.pageCap <= 0 {
		f.pageCap = 2
	}
	srv, err := fakeserver.Start(http.HandlerFunc(f.serve))
	if err != nil {
		return nil, err
	}
	f.close = srv.Close
	f.URL = srv.URL + Prefix
	return f, nil
}

// Close stops the fake.
func (f *Fake) Close() { f.close() }

// Fail forces fl on every call of op ("DescribeModelPackage", or an STS
// action such as "GetCallerIdentity") that matches its region, fl.Times
// times (0: always).
func (f *Fake) Fail(op string, fl awsfake.Failure) { f.failures.Add(op, fl) }

// Requests returns what the fake received so far, in order.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

func (f *Fake) record(r Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r)
}

// statusWriter keeps the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
	w.ResponseWriter.WriteHeader(s)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (f *Fake) serve(rw http.ResponseWriter, r *http.Request) {
	w := &statusWriter{ResponseWriter: rw}
	if r.Method != http.MethodPost || strings.TrimSuffix(r.URL.Path, "/")+"/" != Prefix {
		http.Error(w, "not found: the fake answers POST "+Prefix, http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		f.serveSTS(w, r, body)
		return
	}
	caller, err := awsfake.VerifySigV4(r, body, "sagemaker")
	if err != nil {
		awsfake.WriteError(w, awsfake.JSON, 400, "InvalidSignatureException", err.Error())
		f.record(Request{Service: "sagemaker", Status: w.status})
		return
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "SageMaker.")
	if !ok || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		awsfake.WriteError(w, awsfake.JSON, 400, "UnknownOperationException", "want X-Amz-Target SageMaker.<Operation> and Content-Type application/x-amz-json-1.1")
		f.record(Request{Service: "sagemaker", Region: caller.Region, Status: w.status})
		return
	}
	params := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&params); err != nil {
		awsfake.WriteError(w, awsfake.JSON, 400, "SerializationException", err.Error())
		return
	}
	defer func() {
		f.record(Request{Service: "sagemaker", Region: caller.Region, Operation: op, Params: params, Assumed: caller.Assumed, Status: w.status})
	}()
	if fl, ok := f.failures.Take(op, caller.Region); ok {
		fl.Write(w, awsfake.JSON)
		return
	}
	if spec, ok := listings[op]; ok {
		f.list(w, caller.Region, op, spec, params)
		return
	}
	if key, ok := describes[op]; ok {
		f.describe(w, caller.Region, op, key, params)
		return
	}
	awsfake.WriteError(w, awsfake.JSON, 400, "UnknownOperationException", "the fake does not implement "+op)
}

func (f *Fake) serveSTS(w *statusWriter, r *http.Request, body []byte) {
	caller, err := awsfake.VerifySigV4(r, body, "sts")
	form, _ := awsfake.ParseForm(body)
	defer func() {
		f.record(Request{Service: "sts", Region: caller.Region, Operation: form.Get("Action"), Assumed: caller.Assumed, Status: w.status})
	}()
	if err != nil {
		awsfake.WriteError(w, awsfake.Query, 403, "SignatureDoesNotMatch", err.Error())
		return
	}
	awsfake.ServeSTS(w, form, caller, &f.failures)
}

// listing describes a List* operation: the output field holding the items,
// and the parameter that selects a fixture file, if any.
type listing struct {
	field   string
	fileKey string
}

var listings = map[string]listing{
	"ListModelPackageGroups":  {field: "ModelPackageGroupSummaryList"},
	"ListModelPackages":       {field: "ModelPackageSummaryList", fileKey: "ModelPackageGroupName"},
	"ListModelCards":          {field: "ModelCardSummaries"},
	"ListEndpoints":           {field: "Endpoints"},
	"ListMonitoringSchedules": {field: "MonitoringScheduleSummaries"},
	"ListTrainingJobs":        {field: "TrainingJobSummaries"},
}

// describes maps Describe* operations to the parameter naming the object.
var describes = map[string]string{
	"DescribeModelPackageGroup":  "ModelPackageGroupName",
	"DescribeModelPackage":       "ModelPackageName",
	"DescribeModelCard":          "ModelCardName",
	"DescribeEndpoint":           "EndpointName",
	"DescribeEndpointConfig":     "EndpointConfigName",
	"DescribeMonitoringSchedule": "MonitoringScheduleName",
	"DescribeTrainingJob":        "TrainingJobName",
}

func (f *Fake) list(w http.ResponseWriter, region, op string, spec listing, params map[string]any) {
	file := path.Join("testdata", region, op+".json")
	if spec.fileKey != "" {
		if k, _ := params[spec.fileKey].(string); k != "" {
			file = path.Join("testdata", region, op, k+".json")
		}
	}
	var items []json.RawMessage
	if b, err := fs.ReadFile(fixtures, file); err == nil {
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(b, &doc); err != nil {
			awsfake.WriteError(w, awsfake.JSON, 500, "InternalFailure", "fixture "+file+": "+err.Error())
			return
		}
		if err := json.Unmarshal(doc[spec.field], &items); err != nil {
			awsfake.WriteError(w, awsfake.JSON, 500, "InternalFailure", "fixture "+file+": "+err.Error())
			return
		}
	}
	if after, ok := number(params["CreationTimeAfter"]); ok {
		kept := items[:0:0]
		for _, it := range items {
			var s struct{ CreationTime float64 }
			if json.Unmarshal(it, &s) == nil && s.CreationTime > after {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	max := 0
	if n, ok := number(params["MaxResults"]); ok {
		if n < 1 || n > 100 {
			awsfake.WriteError(w, awsfake.JSON, 400, "ValidationException", "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100")
			return
		}
		max = int(n)
	}
	token, _ := params["NextToken"].(string)
	listingKey := region + "/" + op + "/" + fmt.Sprint(params[spec.fileKey])
	page, next, err := awsfake.Page(items, listingKey, token, max, 10, f.pageCap)
	if err != nil {
		awsfake.WriteError(w, awsfake.JSON, 400, "ValidationException", "invalid NextToken: "+err.Error())
		return
	}
	out := map[string]any{spec.field: page}
	if next != "" {
		out["NextToken"] = next
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

func (f *Fake) describe(w http.ResponseWriter, region, op, keyParam string, params map[string]any) {
	key, _ := params[keyParam].(string)
	if key == "" {
		awsfake.WriteError(w, awsfake.JSON, 400, "ValidationException", keyParam+" is required")
		return
	}
	name := key
	if strings.HasPrefix(key, "arn:") {
		parts := strings.SplitN(key, ":", 6)
		if len(parts) != 6 || parts[3] != region {
			awsfake.WriteError(w, awsfake.JSON, 400, "ValidationException", "ARN "+key+" is not of this region")
			return
		}
		_, name, _ = strings.Cut(parts[5], "/")
	}
	b, err := fs.ReadFile(fixtures, path.Join("testdata", region, op, name+".json"))
	if err != nil || strings.Contains(name, "..") {
		awsfake.WriteError(w, awsfake.JSON, 400, "ValidationException", fmt.Sprintf("Could not find %s %q.", strings.TrimPrefix(op, "Describe"), key))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Write(b)
}

func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// AddKey makes the AWS fakes also accept requests signed with secret under
// accessKeyID, so a test can use credentials of its own.
func AddKey(accessKeyID, secret string) { awsfake.AddKey(accessKeyID, secret) }
