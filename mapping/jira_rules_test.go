package mapping

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The jira connector emits jira.<query kind>, plus jira.status_history and
// jira.attachment; a query's kind maps whatever the issue types are called,
// and a resolution adds the controls that need the work done.
func TestBuiltinRules_JiraKinds(t *testing.T) {
	t.Parallel()
	m, err := NewMapper(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		kind  string
		attrs map[string]string
		want  []string
	}{
		{"open risk", "jira.risk", map[string]string{"jira.status": "Assessed"}, []string{"6.1.2", "8.2"}},
		{"treated risk", "jira.risk", map[string]string{"jira.resolution": "Done"}, []string{"6.1.2", "8.2", "8.3"}},
		{"risk issue type, resolved", "jira.issue", map[string]string{"jira.issuetype": "Risk", "jira.resolution": "Done"}, []string{"6.1.2", "8.2", "8.3"}},
		{"incident", "jira.incident", nil, []string{"10.2", "A.6.2.6", "A.8.4"}},
		{"impact assessment", "jira.impact_assessment", nil, []string{"8.4", "A.5.3"}},
		{"change", "jira.change", nil, []string{"6.3", "8.1"}},
		{"open corrective action", "jira.corrective_action", nil, []string{"10.2"}},
		{"closed corrective action", "jira.corrective_action", map[string]string{"jira.resolution": "Fixed"}, []string{"10.1", "10.2"}},
		{"corrective action issue type", "jira.issue", map[string]string{"jira.issuetype": "Corrective Action"}, []string{"10.2"}},
		{"status history maps nothing itself", "jira.status_history", map[string]string{"jira.issuetype": "Risk"}, []string{}},
		{"attachment maps nothing itself", "jira.attachment", map[string]string{"jira.issuetype": "Risk"}, []string{}},
		{"query controls", "jira.issue", map[string]string{"controls": "A.5.4"}, []string{"A.5.4"}},
	} {
		got, err := m.Map(tc.kind, tc.attrs)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: controls (-want +got):\n%s", tc.name, diff)
		}
		if !m.Handles(tc.kind) {
			t.Errorf("%s: kind %s not handled", tc.name, tc.kind)
		}
	}
}
