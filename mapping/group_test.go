package mapping

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestAddGroup_SameResultAsAddingEachRecord feeds varied records (kinds
// whose rules test attributes, declared controls, duplicate controls, times
// before and after now) one by one to one Coverage, and grouped by kind,
// controls and the AttributeKeys values to another: Result must be equal.
func TestAddGroup_SameResultAsAddingEachRecord(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	m, err := NewMapper([]Rule{{Kind: "file.custom", Attributes: map[string]string{"tier": "gold"}, Controls: []string{"A.6.2.4"}, Freshness: 7 * day}})
	if err != nil {
		t.Fatal(err)
	}
	kinds := []struct {
		kind  string
		attrs []map[string]string
	}{
		{"sagemaker.model_package", []map[string]string{{"approval_status": "Approved"}, {"approval_status": "Approved", "model_metrics": "true"}, {"approval_status": "Rejected"}}},
		{"jira.issue", []map[string]string{{"jira.issuetype": "Risk"}, {"jira.issuetype": "Risk", "jira.resolution": "Done"}, {"jira.issuetype": "Risk", "jira.resolution": ""}, {"jira.issuetype": "Incident"}}},
		{"github.branch_protection", []map[string]string{{}, {"enabled": "true"}}},
		{"file.ai_policy", []map[string]string{{}, {"controls": "A.2.3, 9.2.1"}, {"controls": "A.2.3"}}},
		{"file.custom", []map[string]string{{"tier": "gold"}, {"tier": "silver", "controls": "A.6.2.4"}}},
		{"bedrock.invocation_logging", []map[string]string{{"enabled": "true"}}}, // only old: stale
	}
	ctrlSets := [][]string{{"A.6.2.4"}, {"A.6.2.5", "A.6.2.4"}, {"6.1.2", "8.2", "8.3"}, {"10.2", "A.8.4"}, {"5.2", "A.2.2", "A.2.3", "9.2.1"}, {"A.6.2.4", "A.6.2.4"}, {"4.1", "not-a-control"}, {}}
	rng := rand.New(rand.NewPCG(1, 2))
	one := NewCoverage(m, []string{"files", "github"}, now)
	grouped := NewCoverage(m, []string{"files", "github"}, now)
	type group struct {
		e                  Evidence
		n                  int
		newest, newestAsOf time.Time
	}
	groups := map[string]*group{}
	keys := m.AttributeKeys()
	for i := range 5000 {
		k := kinds[rng.IntN(len(kinds))]
		attrs := map[string]string{"title": fmt.Sprint("doc ", i)} // not a key rules read
		for key, v := range k.attrs[rng.IntN(len(k.attrs))] {
			attrs[key] = v
		}
		e := Evidence{Kind: k.kind, Attributes: attrs, Controls: ctrlSets[rng.IntN(len(ctrlSets))],
			CollectedAt: now.Add(-time.Duration(rng.IntN(800*24)) * time.Hour)}
		switch rng.IntN(4) {
		case 0:
			e.EffectiveAt = now.Add(time.Duration(rng.IntN(60*24)) * time.Hour) // in the future
		case 1:
			e.EffectiveAt = now.Add(-time.Duration(rng.IntN(400*24)) * time.Hour)
		}
		if e.Kind == "bedrock.invocation_logging" {
			e.Controls = []string{"A.6.2.8"}
			e.CollectedAt, e.EffectiveAt = now.Add(-time.Duration(31+rng.IntN(300))*24*time.Hour), time.Time{}
		}
		one.Add(e)

		reduced := map[string]string{}
		for _, key := range keys {
			if v, ok := attrs[key]; ok {
				reduced[key] = v
			}
		}
		id := fmt.Sprintf("%s|%q|%v", e.Kind, e.Controls, reduced)
		g := groups[id]
		if g == nil {
			g = &group{e: Evidence{Kind: e.Kind, Controls: e.Controls, Attributes: reduced}}
			groups[id] = g
		}
		g.n++
		if t := e.Time(); t.After(g.newest) {
			g.newest = t
		}
		if t := e.Time(); !t.After(now) && t.After(g.newestAsOf) {
			g.newestAsOf = t
		}
	}
	ids := make([]string, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		g := groups[id]
		grouped.AddGroup(g.e, g.n, g.newest, g.newestAsOf)
	}
	want, got := one.Result(), grouped.Result()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("grouped result differs (-one by one +grouped):\n%s", diff)
	}
	statuses := map[Status]int{}
	for _, r := range want {
		statuses[r.Status]++
	}
	if statuses[Covered] == 0 || statuses[Stale] == 0 {
		t.Errorf("the records should leave some items covered and some stale: %v", statuses)
	}
	if len(groups) >= 1000 || !strings.Contains(strings.Join(keys, ","), "jira.issuetype") {
		t.Errorf("%d groups from keys %v: grouping should collapse the records", len(groups), keys)
	}
}
