// Package inventory is the AI system inventory: the systems the config
// declares (ISO/IEC 42001 clause 4.3 scope, A.4 resources), which evidence
// records belong to each, and the evidence that looks like an AI system but
// belongs to none ("undeclared", shadow AI the scope statement misses).
//
// Membership is computed when records are read, from the config's matchers:
// records are signed and never rewritten, so a change of scope applies to old
// evidence as well as new, and what was signed stays exactly as it was.
//
// The package is pure: records' metadata in, system ids out. It does no I/O;
// where a fact lives only in a record's content (a repository's topics, a
// Jira issue's creation date), ContentAttributes derives it from bytes the
// caller read.
package inventory

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
)

// Risk levels a system may be rated at.
var RiskLevels = []string{"low", "medium", "high", "critical"}

// Lifecycle stages, after ISO/IEC 22989's AI system life cycle (ISO/IEC
// 42001 A.6.2): inception, design, development, validation, deployment,
// operation, retired.
var LifecycleStages = []string{"inception", "design", "development", "validation", "deployment", "operation", "retired"}

// System is one declared AI system.
type System struct {
	ID        string // unique, [a-z0-9][a-z0-9_-]*
	Name      string
	Owner     string
	RiskLevel string // one of RiskLevels
	Lifecycle string // one of LifecycleStages
	Match     Matchers
}

// Matchers say how to recognise a system's evidence. Every list holds
// path.Match globs ("example-org/fraud-*"), except the prefixes. A record
// belongs to the system when any matcher of its source matches.
type Matchers struct {
	// GitHubRepos are owner/name globs; a repository's evidence (settings,
	// branch protection, pull requests, workflow runs, alerts, files) is
	// linked through its "repository" attribute.
	GitHubRepos []string
	// GitHubTopics link every repository carrying one of these topics
	// (exact, case-insensitive), as its latest github.repository record says.
	GitHubTopics []string
	// SageMakerModelPackageGroups link model package groups and their
	// packages.
	SageMakerModelPackageGroups []string
	// SageMakerEndpointPrefixes link endpoints whose name starts with one of
	// them, with their endpoint configs, data capture and monitoring
	// schedules.
	SageMakerEndpointPrefixes []string
	// BedrockCustomModels and BedrockGuardrails are name globs.
	BedrockCustomModels []string
	BedrockGuardrails   []string
	// JiraProjects are project keys (exact); JiraLabels link issues that
	// carry one of the labels.
	JiraProjects []string
	JiraLabels   []string
	// Files are globs over the files connector's paths (the record subject,
	// relative to its folder): "impact/fraud-*.md".
	Files []string
}

// Item is one evidence record as the inventory and the findings read it.
type Item struct {
	ID        string
	Connector string
	Kind      string
	Subject   string
	// Attributes are the record's own, plus any ContentAttributes derived
	// at read time (never stored).
	Attributes  map[string]string
	CollectedAt time.Time
	EffectiveAt time.Time // zero when the record has none
}

// Time is the evidence time: EffectiveAt if set, else CollectedAt.
func (it *Item) Time() time.Time {
	if !it.EffectiveAt.IsZero() {
		return it.EffectiveAt
	}
	return it.CollectedAt
}

// Inventory is the declared systems and what links evidence to them. Build
// it with New, then (when a system matches GitHub topics) LearnTopics for
// each github.repository record; after that Link is safe for concurrent use.
type Inventory struct {
	systems []System
	topics  map[string][]string // repository -> its latest topics, lower case
}

// New checks systems and returns their inventory. The config loader has
// checked the same things with line numbers; this guards other callers.
func New(systems []System) (*Inventory, error) {
	seen := map[string]bool{}
	for i, s := range systems {
		if s.ID == "" {
			return nil, fmt.Errorf("ai_systems[%d]: id is empty", i)
		}
		if seen[s.ID] {
			return nil, fmt.Errorf("ai_systems[%d]: id %q is used twice", i, s.ID)
		}
		seen[s.ID] = true
		for _, g := range s.Match.globs() {
			if _, err := path.Match(g, ""); err != nil {
				return nil, fmt.Errorf("ai_systems[%d] (%s): bad pattern %q: %v", i, s.ID, g, err)
			}
		}
	}
	return &Inventory{systems: slices.Clone(systems), topics: map[string][]string{}}, nil
}

func (m Matchers) globs() []string {
	var out []string
	for _, l := range [][]string{m.GitHubRepos, m.SageMakerModelPackageGroups, m.BedrockCustomModels, m.BedrockGuardrails, m.Files} {
		out = append(out, l...)
	}
	return out
}

// Systems returns the declared systems in config order.
func (inv *Inventory) Systems() []System { return slices.Clone(inv.systems) }

// System returns the declared system with this id.
func (inv *Inventory) System(id string) (System, bool) {
	for _, s := range inv.systems {
		if s.ID == id {
			return s, true
		}
	}
	return System{}, false
}

// UsesTopics reports whether some system is matched by GitHub topics, so
// that the caller must feed LearnTopics before linking.
func (inv *Inventory) UsesTopics() bool {
	return slices.ContainsFunc(inv.systems, func(s System) bool { return len(s.Match.GitHubTopics) > 0 })
}

// LearnTopics records a repository's topics from one of its
// github.repository records; feed them in log order, so the latest wins.
// The topics are those ContentAttributes puts in the "topics" attribute.
func (inv *Inventory) LearnTopics(it *Item) {
	if it.Kind != "github.repository" {
		return
	}
	repo := repository(it)
	if repo == "" {
		return
	}
	v, ok := it.Attributes[AttrTopics]
	if !ok {
		return // content not read: keep what is known
	}
	inv.topics[repo] = splitList(v)
}

func splitList(v string) []string {
	var out []string
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// repository is the GitHub repository a record is about.
func repository(it *Item) string {
	if r := it.Attributes["repository"]; r != "" {
		return r
	}
	if it.Kind == "github.repository" {
		return it.Subject
	}
	return ""
}

// EndpointName is the SageMaker endpoint a record is about: the "endpoint"
// attribute (endpoint configs, data capture, monitoring schedules), else the
// name ending an endpoint ARN subject (arn:…:endpoint/NAME).
func EndpointName(it *Item) string {
	if e := it.Attributes["endpoint"]; e != "" {
		return e
	}
	if it.Kind == "sagemaker.endpoint" || it.Kind == "sagemaker.data_capture_config" {
		if _, name, ok := strings.Cut(it.Subject, ":endpoint/"); ok {
			return name
		}
	}
	return ""
}

// bedrockName is the name of a Bedrock custom model or guardrail: a name
// attribute when the connector gives one, else the subject's last segment
// (ARN resource or plain name).
func bedrockName(it *Item, attrs ...string) string {
	for _, a := range attrs {
		if v := it.Attributes[a]; v != "" {
			return v
		}
	}
	s := it.Subject
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 && !strings.HasPrefix(it.Subject, "arn:") {
		s = s[:i] // "name:version"
	}
	return s
}

func globAny(globs []string, v string) bool {
	if v == "" {
		return false
	}
	for _, g := range globs {
		if ok, _ := path.Match(g, v); ok {
			return true
		}
	}
	return false
}

func foldAny(list []string, v string) bool {
	return v != "" && slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, v) })
}

// Link returns the ids of the systems it belongs to, in config order; nil
// when none.
func (inv *Inventory) Link(it *Item) []string {
	var out []string
	for i := range inv.systems {
		if inv.matches(&inv.systems[i], it) {
			out = append(out, inv.systems[i].ID)
		}
	}
	return out
}

func (inv *Inventory) matches(s *System, it *Item) bool {
	m := &s.Match
	family, _, _ := strings.Cut(it.Kind, ".")
	switch family {
	case "github":
		repo := repository(it)
		if globAny(m.GitHubRepos, repo) {
			return true
		}
		for _, t := range inv.topics[repo] {
			if foldAny(m.GitHubTopics, t) {
				return true
			}
		}
	case "sagemaker":
		if globAny(m.SageMakerModelPackageGroups, it.Attributes["model_package_group"]) {
			return true
		}
		if ep := EndpointName(it); ep != "" {
			for _, p := range m.SageMakerEndpointPrefixes {
				if strings.HasPrefix(strings.ToLower(ep), strings.ToLower(p)) {
					return true
				}
			}
		}
	case "bedrock":
		switch it.Kind {
		case "bedrock.custom_model":
			return globAny(m.BedrockCustomModels, bedrockName(it, "model_name", "custom_model"))
		case "bedrock.guardrail":
			return globAny(m.BedrockGuardrails, bedrockName(it, "guardrail_name", "name"))
		}
		// Other Bedrock evidence names its custom model or guardrail in
		// attributes, when the connector gives them.
		return globAny(m.BedrockCustomModels, it.Attributes["custom_model"]) ||
			globAny(m.BedrockCustomModels, it.Attributes["model_name"]) ||
			globAny(m.BedrockGuardrails, it.Attributes["guardrail_name"])
	case "jira":
		if foldAny(m.JiraProjects, it.Attributes["jira.project"]) {
			return true
		}
		for _, l := range strings.Split(it.Attributes["jira.labels"], ",") {
			if foldAny(m.JiraLabels, strings.TrimSpace(l)) {
				return true
			}
		}
	case "file":
		return globAny(m.Files, it.Subject)
	}
	return false
}
