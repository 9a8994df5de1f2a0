package api

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/mapping"
	"github.com/aimsvault/aimsvault/server/access"
)

// TestCoverage_FastPathMatchesStreaming fills a vault with varied records
// (kinds whose rules test attributes, declared controls, effective times in
// the future and past) and checks that /api/v1/coverage, which aggregates in
// SQL for an unscoped token, answers exactly what adding every record to
// mapping.Coverage gives, and that a scoped token (streaming) agrees on its
// controls.
func TestCoverage_FastPathMatchesStreaming(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(3, 4))
	type variant struct {
		kind     string
		attrs    map[string]string
		controls []string
	}
	variants := []variant{
		{"sagemaker.model_package", map[string]string{"approval_status": "Approved", "model_metrics": "true"}, []string{"A.6.2.4", "A.6.2.5"}},
		{"sagemaker.model_package", map[string]string{"approval_status": "Approved"}, []string{"A.6.2.5"}},
		{"jira.issue", map[string]string{"jira.issuetype": "Risk", "jira.resolution": "Done"}, []string{"6.1.2", "8.2", "8.3"}},
		{"jira.issue", map[string]string{"jira.issuetype": "Risk"}, []string{"6.1.2", "8.2"}},
		{"github.branch_protection", map[string]string{"enabled": "true"}, []string{"A.6.2.4"}},
		{"file.ai_policy", map[string]string{"controls": "A.2.3"}, []string{"5.2", "A.2.2", "A.2.3"}},
		{"file.ai_policy", map[string]string{}, []string{"5.2", "A.2.2"}},
		{"bedrock.invocation_logging", map[string]string{"enabled": "true"}, []string{"A.6.2.8"}},
	}
	for i := range 400 {
		v := variants[rng.IntN(len(variants))]
		attrs := map[string]string{"title": fmt.Sprint("item ", i)}
		for k, val := range v.attrs {
			attrs[k] = val
		}
		in := evidence.Input{Run: e.run, Connector: "src", Type: "files", Kind: v.kind, Subject: fmt.Sprint("s", i),
			Attributes: attrs, Controls: v.controls, Content: bytes.NewReader([]byte(fmt.Sprint("c", i)))}
		switch rng.IntN(3) {
		case 0:
			at := t0.Add(time.Duration(rng.IntN(90*24)) * time.Hour) // after now
			in.EffectiveAt = at
		case 1:
			at := t0.Add(-time.Duration(rng.IntN(500*24)) * time.Hour)
			in.EffectiveAt = at
		}
		e.clock.Set(t0.Add(-time.Duration(rng.IntN(400*24)) * time.Hour))
		if v.kind == "bedrock.invocation_logging" { // only old: stale
			in.EffectiveAt = time.Time{}
			e.clock.Set(t0.Add(-time.Duration(31+rng.IntN(300)) * 24 * time.Hour))
		}
		if _, _, err := e.vault.Append(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Set(t0)
	e.sign() // commits the batch

	stream := mapping.NewCoverage(nil, []string{"files"}, t0)
	if err := e.vault.Records(ctx, evidence.Filter{}, func(r *evidence.Record) error {
		ev := mapping.Evidence{Kind: r.Kind, Attributes: r.Attributes, Controls: r.Controls, CollectedAt: r.CollectedAt}
		if r.EffectiveAt != nil {
			ev.EffectiveAt = *r.EffectiveAt
		}
		stream.Add(ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := stream.Result()
	var got []mapping.ControlStatus
	e.get(e.token(access.NewToken{Name: "c", Role: access.Compliance}), "/api/v1/coverage", &got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fast coverage differs from streaming (-streaming +fast):\n%s", diff)
	}
	statuses := map[mapping.Status]int{}
	for _, r := range want {
		statuses[r.Status]++
	}
	if statuses[mapping.Covered] == 0 || statuses[mapping.Stale] == 0 {
		t.Errorf("the vault should leave some items covered and some stale: %v", statuses)
	}
}
