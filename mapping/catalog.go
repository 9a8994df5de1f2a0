// Package mapping knows ISO/IEC 42001:2023: its catalog of clauses and Annex A
// controls (embedded data, IDs and short titles only), the rules that turn an
// artifact's kind and attributes into control IDs, and coverage: which controls
// have fresh evidence now and over an audit period.
//
// The package is pure. It imports nothing from the rest of aimsvault and does no
// I/O beyond reading its embedded catalog: artifact metadata in, control IDs out;
// records in, coverage out. Catalog, rules and Mapper are safe for concurrent use.
package mapping

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/goccy/go-yaml"
)

// The catalog is our own data file: IDs, short official titles, our evidence
// hints and crosswalks, never ISO body text (see its header comment).
//
//go:embed catalog/iso42001.yaml
var catalogYAML []byte

// Entry kinds.
const (
	KindClause  = "clause"
	KindControl = "control"
)

// Entry is one item of the ISO/IEC 42001:2023 catalog: a clause (4.1 … 10.2)
// or an Annex A control (A.2.2 … A.10.4).
type Entry struct {
	ID    string // "6.1.2", "A.6.2.8"
	Title string // the short official title
	Kind  string // KindClause or KindControl

	// Parent is the enclosing clause of a clause: "4" for 4.1, "6.1" for 6.1.2.
	Parent string
	// Objective is a control's objective, ID and title: "A.2 Policies related to AI".
	Objective string
	// Group is the sub-group inside objective A.6 ("A.6.1 Management guidance
	// for AI system development", "A.6.2 AI system life cycle"); empty elsewhere.
	Group string
	// Heading marks 6.1, 7.5, 9.2 and 9.3: they group sub-clauses and carry no
	// evidence of their own, so coverage never lists them.
	Heading bool

	// EvidenceHint says, in our words, what an auditor typically expects.
	EvidenceHint string
	// Sources are the connector families that can supply evidence: github,
	// aws_sagemaker, aws_bedrock, jira, hr_training, files.
	Sources []string
	// Automatable is true when a system-of-record connector (not only files)
	// yields core evidence; AutomationNote says why or why not, when it needs saying.
	Automatable    bool
	AutomationNote string

	// Crosswalks, each with its basis ("ms-airc-crosswalk", "judgment",
	// "harmonized-structure", …). NISTAIRMFGuess holds our own guess where the
	// published crosswalk maps nothing; it is kept apart so nobody mistakes it
	// for the published pairing.
	NISTAIRMF, EUAIAct, ISO27001                []string
	NISTAIRMFBasis, EUAIActBasis, ISO27001Basis string
	NISTAIRMFGuess                              []string
}

// catalogFile mirrors iso42001.yaml. Decoding is strict so that a typo in a key
// of our own data file fails the tests instead of silently dropping a field.
type catalogFile struct {
	Standard string `yaml:"standard"`
	Counts   struct {
		ClausesRequirement int `yaml:"clauses_requirement"`
		ClausesHeading     int `yaml:"clauses_heading"`
		Controls           int `yaml:"controls"`
		ControlObjectives  int `yaml:"control_objectives"`
	} `yaml:"counts"`
	Entries []struct {
		ID             string              `yaml:"id"`
		Title          string              `yaml:"title"`
		Kind           string              `yaml:"kind"`
		Parent         string              `yaml:"parent"`
		Objective      string              `yaml:"objective"`
		Group          string              `yaml:"group"`
		Heading        bool                `yaml:"heading"`
		EvidenceHint   string              `yaml:"evidence_hint"`
		Sources        []string            `yaml:"sources"`
		Automatable    bool                `yaml:"automatable"`
		AutomationNote string              `yaml:"automation_note"`
		Artifacts      map[string][]string `yaml:"artifacts"`
		NISTAIRMF      []string            `yaml:"nist_ai_rmf"`
		NISTAIRMFBasis string              `yaml:"nist_ai_rmf_basis"`
		NISTAIRMFGuess []string            `yaml:"nist_ai_rmf_guess"`
		EUAIAct        []string            `yaml:"eu_ai_act"`
		EUAIActBasis   string              `yaml:"eu_ai_act_basis"`
		ISO27001       []string            `yaml:"iso27001_2022"`
		ISO27001Basis  string              `yaml:"iso27001_2022_basis"`
		TitleSources   []string            `yaml:"title_sources"`
		CrosswalkNote  string              `yaml:"crosswalk_note"`
	} `yaml:"entries"`
}

// knownSources are the connector families the catalog may name.
var knownSources = []string{"github", "aws_sagemaker", "aws_bedrock", "jira", "hr_training", "files"}

// catalogData is the parsed catalog plus the indexes Lookup and Expand need.
type catalogData struct {
	entries []Entry
	index   map[string]int      // ID -> position in entries
	groups  map[string][]string // "6", "A.6", "A.6.2", "9.3" -> requirement IDs, in order
}

// loadCatalog parses the embedded file once. A broken embedded file is a
// programmer error that every test run catches, so it panics rather than
// making every caller handle an error that can never happen in a release.
var loadCatalog = sync.OnceValue(func() *catalogData { return mustParseCatalog(catalogYAML) })

func mustParseCatalog(data []byte) *catalogData {
	c, err := parseCatalog(data)
	if err != nil {
		panic("mapping: embedded catalog: " + err.Error())
	}
	return c
}

// parseCatalog decodes and checks a catalog file: every problem is reported.
func parseCatalog(data []byte) (*catalogData, error) {
	var f catalogFile
	if err := yaml.UnmarshalWithOptions(data, &f, yaml.Strict()); err != nil {
		return nil, err
	}
	c := &catalogData{index: map[string]int{}, groups: map[string][]string{}}
	var errs []error
	var reqClauses, headings, controls int
	objectives := map[string]bool{}
	for i, e := range f.Entries {
		where := fmt.Sprintf("entries[%d] (id %q)", i, e.ID)
		if e.ID == "" || e.Title == "" {
			errs = append(errs, fmt.Errorf("%s: id and title are required", where))
		}
		if _, dup := c.index[e.ID]; dup {
			errs = append(errs, fmt.Errorf("%s: duplicate id", where))
		}
		for _, s := range e.Sources {
			if !slices.Contains(knownSources, s) {
				errs = append(errs, fmt.Errorf("%s: unknown source %q", where, s))
			}
		}
		switch e.Kind {
		case KindClause:
			if e.Parent == "" || !strings.HasPrefix(e.ID, e.Parent+".") {
				errs = append(errs, fmt.Errorf("%s: clause needs a parent that prefixes its id, got %q", where, e.Parent))
			}
			if e.Heading {
				headings++
			} else {
				reqClauses++
			}
		case KindControl:
			obj, _, _ := strings.Cut(e.Objective, " ")
			if obj == "" || !strings.HasPrefix(e.ID, obj+".") {
				errs = append(errs, fmt.Errorf("%s: control needs an objective that prefixes its id, got %q", where, e.Objective))
			}
			if grp, _, _ := strings.Cut(e.Group, " "); e.Group != "" && !strings.HasPrefix(e.ID, grp+".") {
				errs = append(errs, fmt.Errorf("%s: group %q does not prefix the id", where, e.Group))
			}
			if e.Heading {
				errs = append(errs, fmt.Errorf("%s: a control cannot be a heading", where))
			}
			objectives[obj] = true
			controls++
		default:
			errs = append(errs, fmt.Errorf("%s: kind %q, want %q or %q", where, e.Kind, KindClause, KindControl))
		}
		c.index[e.ID] = len(c.entries)
		c.entries = append(c.entries, Entry{
			ID: e.ID, Title: e.Title, Kind: e.Kind,
			Parent: e.Parent, Objective: e.Objective, Group: e.Group, Heading: e.Heading,
			EvidenceHint: e.EvidenceHint, Sources: e.Sources,
			Automatable: e.Automatable, AutomationNote: e.AutomationNote,
			NISTAIRMF: e.NISTAIRMF, EUAIAct: e.EUAIAct, ISO27001: e.ISO27001,
			NISTAIRMFBasis: e.NISTAIRMFBasis, EUAIActBasis: e.EUAIActBasis, ISO27001Basis: e.ISO27001Basis,
			NISTAIRMFGuess: e.NISTAIRMFGuess,
		})
	}
	// The header's counts are what the file claims; holding the entries to
	// them catches a lost or duplicated entry when the file is edited.
	if reqClauses != f.Counts.ClausesRequirement || headings != f.Counts.ClausesHeading ||
		controls != f.Counts.Controls || len(objectives) != f.Counts.ControlObjectives {
		errs = append(errs, fmt.Errorf("counts say %d requirement clauses, %d headings, %d controls in %d objectives; entries have %d, %d, %d in %d",
			f.Counts.ClausesRequirement, f.Counts.ClausesHeading, f.Counts.Controls, f.Counts.ControlObjectives,
			reqClauses, headings, controls, len(objectives)))
	}
	for _, e := range c.entries {
		if e.Kind == KindClause && strings.Contains(e.Parent, ".") {
			if p, ok := c.index[e.Parent]; !ok || !c.entries[p].Heading {
				errs = append(errs, fmt.Errorf("entry %q: parent %q is not a heading in the catalog", e.ID, e.Parent))
			}
		}
		if e.Heading {
			continue
		}
		for _, g := range groupsOf(e) {
			c.groups[g] = append(c.groups[g], e.ID)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// groupsOf lists the names Expand accepts for a requirement item besides its
// own ID: its clause number and heading, or its objective and A.6 sub-group.
func groupsOf(e Entry) []string {
	if e.Kind == KindControl {
		obj, _, _ := strings.Cut(e.Objective, " ")
		if grp, _, _ := strings.Cut(e.Group, " "); grp != "" {
			return []string{obj, grp}
		}
		return []string{obj}
	}
	top, _, _ := strings.Cut(e.ID, ".")
	if e.Parent != top {
		return []string{top, e.Parent}
	}
	return []string{top}
}

func cloneEntry(e Entry) Entry {
	e.Sources = slices.Clone(e.Sources)
	e.NISTAIRMF = slices.Clone(e.NISTAIRMF)
	e.EUAIAct = slices.Clone(e.EUAIAct)
	e.ISO27001 = slices.Clone(e.ISO27001)
	e.NISTAIRMFGuess = slices.Clone(e.NISTAIRMFGuess)
	return e
}

// Catalog returns all 74 entries (clauses, headings and controls) in the
// catalog's order. The result is a copy the caller may change.
func Catalog() []Entry {
	c := loadCatalog()
	out := make([]Entry, len(c.entries))
	for i, e := range c.entries {
		out[i] = cloneEntry(e)
	}
	return out
}

// Requirements returns the 70 items that take evidence (every entry but the
// four headings), in catalog order. Coverage lists exactly these.
func Requirements() []Entry {
	c := loadCatalog()
	out := make([]Entry, 0, len(c.entries))
	for _, e := range c.entries {
		if !e.Heading {
			out = append(out, cloneEntry(e))
		}
	}
	return out
}

// Lookup returns the entry with this exact ID ("A.6.2.8", "9.3").
func Lookup(id string) (Entry, bool) {
	c := loadCatalog()
	i, ok := c.index[id]
	if !ok {
		return Entry{}, false
	}
	return cloneEntry(c.entries[i]), true
}

// Known reports whether id is one of the 74 catalog IDs, headings included.
func Known(id string) bool {
	_, ok := loadCatalog().index[id]
	return ok
}

// Expand turns a name a person may write into the requirement IDs it stands
// for, in catalog order:
//   - a requirement ID ("4.1", "A.6.2.8") -> itself;
//   - a heading ("9.3") -> its sub-clauses (9.3.1, 9.3.2, 9.3.3);
//   - a clause number ("6") -> every requirement item under it;
//   - an objective ("A.6") or A.6 sub-group ("A.6.2") -> its controls.
//
// Anything else is an error that points at `aimsvault controls`.
func Expand(id string) ([]string, error) {
	c := loadCatalog()
	if i, ok := c.index[id]; ok && !c.entries[i].Heading {
		return []string{id}, nil
	}
	if ids := c.groups[id]; len(ids) > 0 {
		return slices.Clone(ids), nil
	}
	return nil, fmt.Errorf("%w %q: see `aimsvault controls`", ErrUnknownControl, id)
}

// CompareIDs orders control IDs as the standard does (catalog order, so 4.1
// before 10.1 and A.2.2 before A.10.2); IDs not in the catalog sort after all
// known ones, by string. It suits slices.SortFunc.
func CompareIDs(a, b string) int {
	idx := loadCatalog().index
	ia, oka := idx[a]
	ib, okb := idx[b]
	switch {
	case oka && okb:
		return ia - ib
	case oka:
		return -1
	case okb:
		return 1
	}
	return strings.Compare(a, b)
}
