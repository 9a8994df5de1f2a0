package config

import (
	"slices"
	"testing"
)

func TestSecretsOf_FindsNestedSecrets(t *testing.T) {
	t.Parallel()
	type inner struct{ Key Secret }
	type settings struct {
		Token   Secret
		Name    string
		Inner   *inner
		Many    []Secret
		ByName  map[string]Secret
		private Secret
	}
	s := &settings{Token: "tok-1", Name: "not-a-secret", Inner: &inner{Key: "key-2"}, Many: []Secret{"m-3", ""},
		ByName: map[string]Secret{"a": "map-4"}, private: "priv-5"}
	got := SecretsOf(s)
	slices.Sort(got)
	want := []string{"key-2", "m-3", "map-4", "priv-5", "tok-1"}
	if !slices.Equal(got, want) {
		t.Fatalf("SecretsOf = %v, want %v", got, want)
	}
}
