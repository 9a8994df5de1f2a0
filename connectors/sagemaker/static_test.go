package sagemaker

import (
	"strings"
	"testing"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors/sagemaker/sagemakerfake"
)

// TestStaticSimulatorKeys runs against the fake with its keys in the
// config, as `aimsvault demo` does, while the environment names other keys
// and a profile that does not exist: none of it is read. Not parallel: it
// sets the environment.
func TestStaticSimulatorKeys(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG0")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrongwrongwrongwrongwrongwrongwrongwrong")
	t.Setenv("AWS_PROFILE", "aimsvault-no-such-profile")
	r := newRun(t)
	r.cfg.AccessKeyID = sagemakerfake.AccessKeyID
	r.cfg.SecretAccessKey = config.Secret(sagemakerfake.SecretAccessKey)
	if err := r.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	gs, err := r.collect(t)
	if err != nil {
		t.Fatalf("collect with static keys: %v\n%s", err, r.logs.String())
	}
	if len(gs) == 0 {
		t.Fatal("no artifacts")
	}

	// Without them the environment is read, and its keys are refused.
	r = newRun(t)
	if _, err := r.collect(t); err == nil {
		t.Error("collect with the environment's keys: no error")
	}
}

func TestStaticSimulatorKeys_Validate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no endpoints", func(c *Config) { c.Endpoint, c.STSEndpoint = "", "" }, "for a simulator only"},
		{"no secret", func(c *Config) { c.SecretAccessKey = "" }, "go together"},
		{"no key id", func(c *Config) { c.AccessKeyID = "" }, "go together"},
		{"profile", func(c *Config) { c.Profile = "audit" }, "exclude each other"},
	} {
		c := defaultConfig()
		c.Regions = []string{"us-east-1"}
		c.Endpoint, c.STSEndpoint = "http://127.0.0.1:1/aws/", "http://127.0.0.1:1/aws/"
		c.AccessKeyID, c.SecretAccessKey = sagemakerfake.AccessKeyID, config.Secret(sagemakerfake.SecretAccessKey)
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate = %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}
