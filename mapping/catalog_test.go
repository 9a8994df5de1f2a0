package mapping

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCatalog_Counts(t *testing.T) {
	t.Parallel()
	all := Catalog()
	if len(all) != 74 {
		t.Fatalf("Catalog() has %d entries, want 74", len(all))
	}
	var headings []string
	var clauses, controls int
	for _, e := range all {
		switch {
		case e.Heading:
			headings = append(headings, e.ID)
		case e.Kind == KindClause:
			clauses++
		case e.Kind == KindControl:
			controls++
		}
	}
	if diff := cmp.Diff([]string{"6.1", "7.5", "9.2", "9.3"}, headings); diff != "" {
		t.Errorf("headings (-want +got):\n%s", diff)
	}
	if clauses != 32 || controls != 38 {
		t.Errorf("got %d requirement clauses and %d controls, want 32 and 38", clauses, controls)
	}
	reqs := Requirements()
	if len(reqs) != 70 {
		t.Fatalf("Requirements() has %d entries, want 70", len(reqs))
	}
	for _, e := range reqs {
		if e.Heading {
			t.Errorf("Requirements() lists heading %s", e.ID)
		}
	}
	if reqs[0].ID != "4.1" || reqs[len(reqs)-1].ID != "A.10.4" {
		t.Errorf("Requirements() runs %s..%s, want 4.1..A.10.4 (catalog order)", reqs[0].ID, reqs[len(reqs)-1].ID)
	}
}

func TestLookup_KnownEntries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ id, title, kind, parentOrObjective string }{
		{"A.6.2.8", "AI system recording of event logs", KindControl, "A.6 AI system life cycle"},
		{"9.3.2", "Management review inputs", KindClause, "9.3"},
		{"4.1", "Understanding the organization and its context", KindClause, "4"},
		{"A.10.4", "Customers", KindControl, "A.10 Third-party and customer relationships"},
		{"A.5.4", "Assessing AI system impact on individuals or groups of individuals", KindControl, "A.5 Assessing impacts of AI systems"},
	} {
		e, ok := Lookup(tc.id)
		if !ok {
			t.Errorf("Lookup(%q) not found", tc.id)
			continue
		}
		got := e.Parent + e.Objective
		if e.Title != tc.title || e.Kind != tc.kind || got != tc.parentOrObjective {
			t.Errorf("Lookup(%q) = %q %s %q, want %q %s %q", tc.id, e.Title, e.Kind, got, tc.title, tc.kind, tc.parentOrObjective)
		}
	}
	e, _ := Lookup("A.6.2.8")
	if diff := cmp.Diff([]string{"A.8.15"}, e.ISO27001); diff != "" || e.ISO27001Basis != "judgment" || e.EUAIActBasis != "judgment" {
		t.Errorf("A.6.2.8 crosswalk: ISO27001 %v (%s), EU AI Act basis %s", e.ISO27001, e.ISO27001Basis, e.EUAIActBasis)
	}
	if e.Group != "A.6.2 AI system life cycle" || !e.Automatable || len(e.NISTAIRMF) != 3 {
		t.Errorf("A.6.2.8: group %q automatable %v nist %v", e.Group, e.Automatable, e.NISTAIRMF)
	}
	e, _ = Lookup("4.2")
	if len(e.NISTAIRMF) != 0 || cmp.Diff([]string{"GOVERN 1.1", "MAP 1.1"}, e.NISTAIRMFGuess) != "" {
		t.Errorf("4.2: published %v, guess %v; want none published and the guess kept apart", e.NISTAIRMF, e.NISTAIRMFGuess)
	}
}

func TestKnown(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{
		"4.1": true, "6.1": true, "9.3": true, "A.10.4": true, "A.6.2.8": true,
		// .1 holds the objective statement: A.6.1.1 and A.2.1 are not controls.
		"A.6.1.1": false, "A.2.1": false, "A.6": false, "6": false, "": false, "a.2.2": false, "B.2.2": false,
	} {
		if got := Known(id); got != want {
			t.Errorf("Known(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestCatalog_ReturnsCopies(t *testing.T) {
	t.Parallel()
	all := Catalog()
	all[0].Title = "changed"
	all[0].Sources[0] = "changed"
	e, _ := Lookup(all[0].ID)
	if e.Title == "changed" || e.Sources[0] == "changed" {
		t.Errorf("changing Catalog()'s result changed the catalog: %+v", e)
	}
}

func TestExpand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"A.6", []string{"A.6.1.2", "A.6.1.3", "A.6.2.2", "A.6.2.3", "A.6.2.4", "A.6.2.5", "A.6.2.6", "A.6.2.7", "A.6.2.8"}},
		{"A.6.1", []string{"A.6.1.2", "A.6.1.3"}},
		{"A.6.2", []string{"A.6.2.2", "A.6.2.3", "A.6.2.4", "A.6.2.5", "A.6.2.6", "A.6.2.7", "A.6.2.8"}},
		{"A.10", []string{"A.10.2", "A.10.3", "A.10.4"}},
		{"A.2", []string{"A.2.2", "A.2.3", "A.2.4"}},
		{"9.3", []string{"9.3.1", "9.3.2", "9.3.3"}},
		{"6.1", []string{"6.1.1", "6.1.2", "6.1.3", "6.1.4"}},
		{"6", []string{"6.1.1", "6.1.2", "6.1.3", "6.1.4", "6.2", "6.3"}},
		{"10", []string{"10.1", "10.2"}},
		{"4.1", []string{"4.1"}},
		{"A.6.2.8", []string{"A.6.2.8"}},
	} {
		got, err := Expand(tc.in)
		if err != nil {
			t.Errorf("Expand(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Expand(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
	for _, in := range []string{"", "A", "A.1", "A.11", "A.6.1.1", "3", "11", "4.5", "9.3.4"} {
		if got, err := Expand(in); !errors.Is(err, ErrUnknownControl) {
			t.Errorf("Expand(%q) = %v, %v; want ErrUnknownControl", in, got, err)
		}
	}
}

func TestCompareIDs(t *testing.T) {
	t.Parallel()
	ids := []string{"A.10.2", "zz", "10.1", "A.2.2", "4.1", "9.3.1", "A.99"}
	want := []string{"4.1", "9.3.1", "10.1", "A.2.2", "A.10.2", "A.99", "zz"}
	sortIDs(ids)
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("sorted (-want +got):\n%s", diff)
	}
}

func TestParseCatalog_RejectsBrokenFiles(t *testing.T) {
	t.Parallel()
	good := string(catalogYAML)
	for name, tc := range map[string]struct{ data, want string }{
		"not yaml":       {"entries: [", ""},
		"unknown key":    {strings.Replace(good, "    evidence_hint:", "    evidence_hnit:", 1), "evidence_hnit"},
		"duplicate id":   {strings.Replace(good, `id: "4.2"`, `id: "4.1"`, 1), "duplicate id"},
		"unknown source": {strings.Replace(good, `sources: ["files"]`, `sources: ["filez"]`, 1), `unknown source "filez"`},
		"count mismatch": {strings.Replace(good, "controls: 38", "controls: 39", 1), "counts say"},
		"bad kind":       {strings.Replace(good, "kind: control", "kind: contrl", 1), `kind "contrl"`},
		"lost parent":    {strings.Replace(good, `parent: "6.1"`, `parent: "6.9"`, 1), "parent"},
	} {
		if _, err := parseCatalog([]byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: parseCatalog error = %v, want one mentioning %q", name, err, tc.want)
		}
	}
	if _, err := parseCatalog(catalogYAML); err != nil {
		t.Fatalf("embedded catalog: %v", err)
	}
}

func TestMustParseCatalog_PanicsOnBrokenFile(t *testing.T) {
	t.Parallel()
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "mapping: embedded catalog") {
			t.Errorf("recovered %v, want a panic naming the embedded catalog", r)
		}
	}()
	mustParseCatalog([]byte("entries: ["))
}
