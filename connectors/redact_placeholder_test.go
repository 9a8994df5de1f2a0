package connectors

import "testing"

func TestRedact_KeepsConfigPlaceholders(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		// A config problem names the variable; it holds no value.
		"aimsvault.yaml:9: connectors[1] (gh).token: ${GITHUB_TOKEN} is not set": "aimsvault.yaml:9: connectors[1] (gh).token: ${GITHUB_TOKEN} is not set",
		// Values are still redacted, also ones starting with $.
		"token: $3cr3t":    "token: REDACTED",
		"token: $$${X}":    "token: REDACTED",
		"password=hunter2": "password=REDACTED",
	}
	for in, want := range cases {
		if got := NewRedactor().String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}
