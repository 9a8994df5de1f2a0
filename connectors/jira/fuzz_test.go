package jira

import (
	"encoding/json"
	"os"
	"testing"
	"unicode/utf8"

	"github.com/aimsvault/aimsvault/connectors"
)

// FuzzIssue feeds hostile bytes where one issue of a search answer goes:
// canonicalised, decoded and turned into attributes, a time and the
// status-history content, as emitIssue does. Nothing may panic, and what
// is emitted must be valid: UTF-8 attributes and JSON content.
func FuzzIssue(f *testing.F) {
	for _, name := range []string{"jirafake/testdata/issues_cloud.json", "jirafake/testdata/issues_datacenter.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		var issues []json.RawMessage
		if err := json.Unmarshal(b, &issues); err != nil {
			f.Fatal(err)
		}
		for _, is := range issues {
			f.Add([]byte(is))
		}
	}
	f.Add([]byte(`{"key":"X-1","fields":{"created":"2026-13-45T99:00:00.000+0000","labels":[null,1]},"changelog":{"total":-1,"histories":[{"id":"x","created":"","items":[{"field":"status"}]}]}}`))
	f.Add([]byte(`{"fields":null,"changelog":null}`))
	f.Add([]byte(`[]`))
	q := Query{Name: "risks", JQL: "project = AIRISK", Kind: "risk"}
	f.Fuzz(func(t *testing.T, raw []byte) {
		canon, err := connectors.CanonicalJSON(json.RawMessage(raw))
		if err != nil {
			return
		}
		var is issueView
		if err := json.Unmarshal(canon, &is); err != nil {
			return
		}
		for k, v := range is.attributes(q) {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				t.Errorf("attribute %q = %q is not UTF-8", k, v)
			}
		}
		is.effectiveAt()
		hist, _, err := is.statusHistory(q)
		if err == nil && !json.Valid(hist) {
			t.Errorf("status history is not JSON: %s", hist)
		}
	})
}
