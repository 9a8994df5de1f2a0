package inventory

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Candidate reports whether a record is about something that is an AI
// system of its own, and names it: a SageMaker endpoint or model package
// group, a Bedrock custom model, a GitHub repository with a model card.
// Such evidence that no declared system claims is "undeclared".
func Candidate(it *Item) (name string, ok bool) {
	switch it.Kind {
	case "sagemaker.endpoint":
		name = EndpointName(it)
	case "sagemaker.model_package_group":
		name = it.Attributes["model_package_group"]
	case "bedrock.custom_model":
		name = bedrockName(it, "model_name", "custom_model")
	case "github.model_card":
		name = repository(it)
	}
	return name, name != ""
}

// SystemStatus is one row of `aimsvault systems --format json`.
type SystemStatus struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Owner     string `json:"owner"`
	RiskLevel string `json:"risk_level"`
	Lifecycle string `json:"lifecycle"`
	// EvidenceCount is how many records belong to the system; BySource
	// splits them by kind family (github, sagemaker, jira, file, ...).
	EvidenceCount int            `json:"evidence_count"`
	BySource      map[string]int `json:"evidence_by_source"`
	// LastEvidence is the newest evidence time (effective, else collected);
	// null when the system has no evidence.
	LastEvidence *time.Time `json:"last_evidence"`
	// OpenFindings counts the findings that name the system.
	OpenFindings int `json:"open_findings"`
}

// Undeclared is evidence of an AI system that no declared system claims.
type Undeclared struct {
	Kind          string    `json:"kind"` // the candidate record's kind
	Name          string    `json:"name"` // endpoint, group, model or repository
	Connector     string    `json:"connector"`
	EvidenceCount int       `json:"evidence_count"`
	LastSeen      time.Time `json:"last_seen"` // newest collection time
	Record        string    `json:"record"`    // the newest record showing it
}

// Tally accumulates, record by record, what `aimsvault systems` shows. Its
// memory grows with the number of systems and candidates, not of records.
type Tally struct {
	inv        *Inventory
	systems    map[string]*SystemStatus
	undeclared map[[2]string]*Undeclared
}

// NewTally starts a tally over inv's systems.
func (inv *Inventory) NewTally() *Tally {
	t := &Tally{inv: inv, systems: map[string]*SystemStatus{}, undeclared: map[[2]string]*Undeclared{}}
	for _, s := range inv.systems {
		t.systems[s.ID] = &SystemStatus{ID: s.ID, Name: s.Name, Owner: s.Owner, RiskLevel: s.RiskLevel, Lifecycle: s.Lifecycle, BySource: map[string]int{}}
	}
	return t
}

// Add counts one record, which belongs to systems (from Link).
func (t *Tally) Add(it *Item, systems []string) {
	for _, id := range systems {
		st, ok := t.systems[id]
		if !ok {
			continue
		}
		st.EvidenceCount++
		family, _, _ := strings.Cut(it.Kind, ".")
		st.BySource[family]++
		if tm := it.Time().UTC(); st.LastEvidence == nil || tm.After(*st.LastEvidence) {
			st.LastEvidence = &tm
		}
	}
	if len(systems) > 0 {
		return
	}
	name, ok := Candidate(it)
	if !ok {
		return
	}
	k := [2]string{it.Kind, name}
	u, ok := t.undeclared[k]
	if !ok {
		u = &Undeclared{Kind: it.Kind, Name: name}
		t.undeclared[k] = u
	}
	u.EvidenceCount++
	if !it.CollectedAt.Before(u.LastSeen) {
		u.LastSeen, u.Record, u.Connector = it.CollectedAt.UTC(), it.ID, it.Connector
	}
}

// Systems returns each declared system's status in config order;
// openFindings gives each system's open findings count.
func (t *Tally) Systems(openFindings map[string]int) []SystemStatus {
	out := make([]SystemStatus, 0, len(t.inv.systems))
	for _, s := range t.inv.systems {
		st := *t.systems[s.ID]
		st.OpenFindings = openFindings[s.ID]
		out = append(out, st)
	}
	return out
}

// Undeclared returns the undeclared candidates, by kind then name.
func (t *Tally) Undeclared() []Undeclared {
	out := make([]Undeclared, 0, len(t.undeclared))
	for _, u := range t.undeclared {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b Undeclared) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	return out
}
