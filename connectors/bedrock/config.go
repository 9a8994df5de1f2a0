package bedrock

import (
	"errors"
	"fmt"
	"time"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors/internal/awsapi"
)

// Config is the `bedrock` connector's YAML block (beside name, type,
// schedule and timeout, which the config loader handles). See sample.yaml.
type Config struct {
	// Settings: regions (required), role_arn and external_id, profile,
	// endpoint and sts_endpoint. Credentials come from the SDK's default
	// chain, never from the YAML, except a simulator's static keys
	// (access_key_id, secret_access_key: tests and aimsvault demo only).
	awsapi.Settings `yaml:",inline"`

	// Lookback is how far back model customization jobs and evaluation
	// jobs are collected, by creation time ("90d"). Default 90 days.
	// Guardrails, custom models and the logging configuration are
	// collected whatever their age.
	Lookback config.Duration `yaml:"lookback"`
}

func defaultConfig() Config {
	return Config{Lookback: config.Duration(90 * 24 * time.Hour)}
}

// Validate reports every problem in c at once.
func (c Config) Validate() error {
	errs := c.Settings.Validate("bedrock")
	if c.Lookback <= 0 {
		errs = append(errs, fmt.Errorf("bedrock: lookback must be positive, e.g. 90d"))
	}
	return errors.Join(errs...)
}
