package awsapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"

	"github.com/aimsvault/aimsvault/connectors"
)

// Options are what a connector hands Open beside its settings.
type Options struct {
	// HTTP is the hub's shared client (connectors.Deps.HTTP): it retries
	// connection errors, 429 and 5xx itself, logs each attempt and redacts.
	HTTP *http.Client
	// Backoff is the wait before the SDK retries a throttled call; nil is
	// the SDK's exponential backoff with jitter (up to 20s). Tests shorten it.
	Backoff retry.BackoffDelayer
	// NoClientRateLimit turns adaptive mode's client-side rate limiting
	// off, leaving the standard retryer with the same choices of what to
	// retry. Adaptive mode sleeps seconds after throttles; tests that force
	// throttles set it.
	NoClientRateLimit bool
}

// maxAttempts bounds the SDK's own attempts at a throttled call.
const maxAttempts = 5

// Identity is who the credentials belong to, as STS GetCallerIdentity says.
type Identity struct {
	Account string
	ARN     string
}

// Session is one run's AWS configuration: credentials resolved through the
// default chain (and the role, if any), the shared HTTP client, the retryer,
// and the caller's identity. It is safe for concurrent use.
type Session struct {
	settings Settings
	cfg      aws.Config
	Identity Identity
}

// Open loads the SDK's default configuration, assumes the role if one is
// set, and asks STS who the caller is. Nothing is read from the YAML but
// the profile, the role and the endpoints: credentials come from the chain,
// except a simulator's static keys (Settings.Static), with which the
// default configuration is not loaded at all.
func Open(ctx context.Context, s Settings, o Options) (*Session, error) {
	if len(s.Regions) == 0 {
		return nil, errNoRegions
	}
	hc := o.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	var cfg aws.Config
	if s.Static() {
		// A simulator's keys: nothing is read from the machine.
		cfg = aws.Config{
			Region:     s.Regions[0],
			HTTPClient: hc,
			Retryer:    func() aws.Retryer { return newRetryer(o) },
			Credentials: aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey.Reveal(), Source: "aimsvault static simulator keys"}, nil
			})),
		}
	} else {
		loadOpts := []func(*awsconfig.LoadOptions) error{
			awsconfig.WithRegion(s.Regions[0]),
			awsconfig.WithHTTPClient(hc),
			awsconfig.WithRetryer(func() aws.Retryer { return newRetryer(o) }),
		}
		if s.Profile != "" {
			loadOpts = append(loadOpts, awsconfig.WithSharedConfigProfile(s.Profile))
		}
		var err error
		cfg, err = awsconfig.LoadDefaultConfig(ctx, loadOpts...)
		if err != nil {
			var pe awsconfig.SharedConfigProfileNotExistError
			if errors.As(err, &pe) {
				return nil, connectors.ConfigErrorf("profile %q is not in the shared config or credentials file: fix profile, or remove it to use the default chain", s.Profile)
			}
			return nil, connectors.ConfigErrorf("load AWS configuration: %v", err)
		}
	}
	ss := &Session{settings: s, cfg: cfg}
	region := s.Regions[0]
	if s.RoleARN != "" {
		stsc := sts.NewFromConfig(cfg, ss.stsOptions(region))
		prov := stscreds.NewAssumeRoleProvider(stsc, s.RoleARN, func(ao *stscreds.AssumeRoleOptions) {
			ao.RoleSessionName = "aimsvault"
			if s.ExternalID != "" {
				ao.ExternalID = aws.String(s.ExternalID.Reveal())
			}
		})
		ss.cfg.Credentials = aws.NewCredentialsCache(prov)
	}
	out, err := sts.NewFromConfig(ss.cfg, ss.stsOptions(region)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, Wrap("sts", region, "identify the caller", err)
	}
	ss.Identity = Identity{Account: aws.ToString(out.Account), ARN: aws.ToString(out.Arn)}
	return ss, nil
}

func (ss *Session) stsOptions(region string) func(*sts.Options) {
	return func(o *sts.Options) {
		o.Region = region
		if ss.settings.STSEndpoint != "" {
			o.BaseEndpoint = aws.String(endpointFor(ss.settings.STSEndpoint, region))
		}
	}
}

// Config returns the SDK configuration for region. Service clients built
// from it must also apply ClientOptions.
func (ss *Session) Config(region string) aws.Config {
	c := ss.cfg.Copy()
	c.Region = region
	return c
}

// Endpoint is the endpoint override for region, nil for the SDK's own.
func (ss *Session) Endpoint(region string) *string {
	if ss.settings.Endpoint == "" {
		return nil
	}
	return aws.String(endpointFor(ss.settings.Endpoint, region))
}

// APIOptions are the middleware every service client gets: the capture of
// each successful response's own body (see RawOf).
func APIOptions() []func(*middleware.Stack) error {
	return []func(*middleware.Stack) error{addCapture}
}

// newRetryer is the SDK retryer for clients that send through the shared
// HTTP client. That client already retries connection errors, 429, 500,
// 502, 503 and 504, with backoff and Retry-After; were the SDK to retry them
// too, one failing call would make up to 5×5 attempts. So the SDK retries
// only what the shared client cannot recognise: throttling that AWS reports
// with a 400 status and an error code (SageMaker's and STS's
// ThrottlingException, Throttling, RequestLimitExceeded...). It runs in
// adaptive mode, so throttles also slow the client's later requests. A call
// still throttled after 5 attempts fails as rate_limited.
func newRetryer(o Options) aws.Retryer {
	standard := func(so *retry.StandardOptions) {
		so.MaxAttempts = maxAttempts
		so.Retryables = []retry.IsErrorRetryable{retry.NoRetryCanceledError{}, throttleOnly{}}
		so.RateLimiter = ratelimit.None
		if o.Backoff != nil {
			so.Backoff = o.Backoff
		}
	}
	if o.NoClientRateLimit {
		return retry.NewStandard(standard)
	}
	return retry.NewAdaptiveMode(func(ao *retry.AdaptiveModeOptions) {
		ao.StandardOptions = append(ao.StandardOptions, standard)
	})
}

// throttleOnly retries throttling error codes on statuses the shared
// client does not retry, and nothing else.
type throttleOnly struct{}

func (throttleOnly) IsErrorRetryable(err error) aws.Ternary {
	if status, ok := httpStatus(err); ok && sharedClientRetries(status) {
		return aws.FalseTernary
	}
	if _, ok := retry.DefaultThrottleErrorCodes[errorCode(err)]; ok {
		return aws.TrueTernary
	}
	return aws.FalseTernary
}

// sharedClientRetries lists the statuses connectors.NewHTTPClient retries.
func sharedClientRetries(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// String names the session's identity for provenance.
func (id Identity) String() string {
	if id.ARN == "" {
		return ""
	}
	return fmt.Sprintf("%s (account %s)", id.ARN, id.Account)
}
