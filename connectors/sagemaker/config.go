package sagemaker

import (
	"errors"
	"fmt"
	"time"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors/internal/awsapi"
)

// Config is the `sagemaker` connector's YAML block (beside name, type,
// schedule and timeout, which the config loader handles). See sample.yaml.
type Config struct {
	// Settings: regions (required), role_arn and external_id, profile,
	// endpoint and sts_endpoint. Credentials come from the SDK's default
	// chain, never from the YAML, except a simulator's static keys
	// (access_key_id, secret_access_key: tests and aimsvault demo only).
	awsapi.Settings `yaml:",inline"`

	// Lookback is how far back training jobs are collected, by creation
	// time ("90d"). Default 90 days. Model packages, model cards,
	// endpoints and monitoring schedules are collected whatever their age.
	Lookback config.Duration `yaml:"lookback"`
}

func defaultConfig() Config {
	return Config{Lookback: config.Duration(90 * 24 * time.Hour)}
}

// Validate reports every problem in c at once.
func (c Config) Validate() error {
	errs := c.Settings.Validate("sagemaker")
	if c.Lookback <= 0 {
		errs = append(errs, fmt.Errorf("sagemaker: lookback must be positive, e.g. 90d"))
	}
	return errors.Join(errs...)
}
