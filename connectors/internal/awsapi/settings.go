// Package awsapi is what the AWS connectors (sagemaker, bedrock) share: the
// account settings of their YAML blocks, an SDK configuration built on the
// default credential chain and the hub's shared HTTP client, the capture of
// each response's own body, the caller's identity, and the translation of
// SDK errors into the hub's error classes.
package awsapi

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/aimsvault/aimsvault/config"
)

// Settings are the keys every AWS connector block has. An account's
// credentials never appear here: they come from the SDK's default chain
// (environment, shared config and credentials files, web identity,
// container and instance metadata), optionally narrowed by Profile and then
// RoleARN. Only a simulator's keys may be written here (AccessKeyID).
type Settings struct {
	// Regions are the AWS regions collected, in order ("us-east-1").
	// Required, at least one.
	Regions []string `yaml:"regions"`

	// RoleARN, when set, is assumed through STS (AssumeRole) with the
	// credentials the default chain finds; ExternalID is passed with it
	// when the role's trust policy asks for one.
	RoleARN    string        `yaml:"role_arn"`
	ExternalID config.Secret `yaml:"external_id"`

	// Profile selects a profile of the shared config and credentials
	// files (~/.aws/config, ~/.aws/credentials). Default: the chain's
	// own choice (AWS_PROFILE, else "default").
	Profile string `yaml:"profile"`

	// Endpoint overrides the service root, for a VPC (PrivateLink)
	// endpoint or a test fake: https://vpce-0abc.api.sagemaker.us-east-1.vpce.amazonaws.com.
	// "{region}" in it is replaced by each region. Default: the SDK's
	// regional endpoint.
	Endpoint string `yaml:"endpoint"`

	// STSEndpoint overrides the STS root used for GetCallerIdentity and
	// AssumeRole, likewise. Default: the SDK's regional STS endpoint.
	STSEndpoint string `yaml:"sts_endpoint"`

	// AccessKeyID and SecretAccessKey are static keys for a simulator,
	// never for an AWS account: the tests and `aimsvault demo` set them
	// with endpoint and sts_endpoint (both required with them). With them
	// nothing else of the machine is read: no environment, no shared
	// files, no profile, no instance metadata.
	AccessKeyID     string        `yaml:"access_key_id"`
	SecretAccessKey config.Secret `yaml:"secret_access_key"`
}

// Static reports whether s names static simulator keys.
func (s Settings) Static() bool { return s.AccessKeyID != "" || s.SecretAccessKey != "" }

var (
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	roleARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)
)

// Validate reports every problem in s, each prefixed with the connector
// type ("sagemaker: regions is required ...").
func (s Settings) Validate(typ string) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(typ+": "+format, args...)) }
	if len(s.Regions) == 0 {
		bad("regions is required: one or more AWS regions, e.g. [us-east-1]")
	}
	seen := map[string]bool{}
	for i, r := range s.Regions {
		switch {
		case !regionRE.MatchString(r):
			bad("regions[%d] %q is not an AWS region name such as us-east-1", i, r)
		case seen[r]:
			bad("regions[%d] %q is listed twice", i, r)
		}
		seen[r] = true
	}
	if s.RoleARN != "" && !roleARNRE.MatchString(s.RoleARN) {
		bad("role_arn %q is not an IAM role ARN such as arn:aws:iam::123456789012:role/aimsvault-reader", s.RoleARN)
	}
	if s.ExternalID != "" && s.RoleARN == "" {
		bad("external_id is set without role_arn: it is only sent when assuming a role")
	}
	if s.Static() {
		switch {
		case s.AccessKeyID == "" || s.SecretAccessKey == "":
			bad("access_key_id and secret_access_key go together")
		case s.Endpoint == "" || s.STSEndpoint == "":
			bad("access_key_id and secret_access_key are for a simulator only (tests, aimsvault demo): set endpoint and sts_endpoint to it, or remove them and use the default credential chain")
		case s.Profile != "":
			bad("profile and access_key_id exclude each other: remove access_key_id and secret_access_key")
		}
	}
	for _, e := range []struct{ key, val string }{{"endpoint", s.Endpoint}, {"sts_endpoint", s.STSEndpoint}} {
		if e.val == "" {
			continue
		}
		u, err := url.Parse(strings.ReplaceAll(e.val, "{region}", "us-east-1"))
		switch {
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
			bad("%s must be an http(s) URL with a host, e.g. https://vpce-0abc.api.sagemaker.us-east-1.vpce.amazonaws.com", e.key)
		case u.User != nil || u.RawQuery != "":
			bad("%s must not hold credentials or a query", e.key)
		}
	}
	return errs
}

// endpointFor is the endpoint override for region, or "" for the SDK's own.
func endpointFor(tmpl, region string) string {
	return strings.ReplaceAll(tmpl, "{region}", region)
}

// errNoRegions guards Open against a config that skipped Validate.
var errNoRegions = errors.New("no regions configured")
