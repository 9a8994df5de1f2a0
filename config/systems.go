package config

import (
	"fmt"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// AISystem is one entry of `ai_systems:`: an AI system in the AIMS scope
// (ISO/IEC 42001 4.3, A.4) and how to recognise its evidence.
type AISystem struct {
	// ID is unique, [a-z0-9][a-z0-9_-]*: `--system ID` names it.
	ID string `yaml:"id"`
	// Name is what people call it. Required.
	Name string `yaml:"name"`
	// Owner is the accountable person or team. Required.
	Owner string `yaml:"owner"`
	// RiskLevel is low, medium, high or critical. Required.
	RiskLevel string `yaml:"risk_level"`
	// Lifecycle is inception, design, development, validation, deployment,
	// operation or retired. Required.
	Lifecycle string `yaml:"lifecycle"`
	// Match says which evidence belongs to the system; at least one matcher.
	Match SystemMatch `yaml:"match"`
	// Line is the line of the entry in the file.
	Line int `yaml:"-"`
}

// SystemMatch holds a system's matchers per source. Lists of names take
// path.Match globs ("example-org/fraud-*"), except endpoint_prefixes
// (prefixes), topics, projects and labels (exact).
type SystemMatch struct {
	GitHub struct {
		Repos  []string `yaml:"repos"`  // owner/name globs
		Topics []string `yaml:"topics"` // repository topics
	} `yaml:"github"`
	SageMaker struct {
		ModelPackageGroups []string `yaml:"model_package_groups"`
		EndpointPrefixes   []string `yaml:"endpoint_prefixes"`
	} `yaml:"sagemaker"`
	Bedrock struct {
		CustomModels []string `yaml:"custom_models"`
		Guardrails   []string `yaml:"guardrails"`
	} `yaml:"bedrock"`
	Jira struct {
		Projects []string `yaml:"projects"` // project keys
		Labels   []string `yaml:"labels"`
	} `yaml:"jira"`
	Files struct {
		Paths []string `yaml:"paths"` // globs over the files connector's paths
	} `yaml:"files"`
}

// Findings tunes the findings engine.
type Findings struct {
	Checks []FindingCheck `yaml:"checks"`
}

// FindingCheck tunes a built-in check (its id names one) or adds a check
// (a new id, with kind, where and controls).
type FindingCheck struct {
	ID string `yaml:"id"`
	// Enabled false turns the check off.
	Enabled *bool  `yaml:"enabled"`
	Title   string `yaml:"title"`
	// Kind is a new check's artifact kind or glob.
	Kind string `yaml:"kind"`
	// Where are attribute conditions: "Approved", "a|b", "!x", "*", "!*",
	// ">0", "<=3". On a built-in check they replace the conditions of the
	// same attributes (a threshold).
	Where    map[string]string `yaml:"where"`
	Controls []string          `yaml:"controls"`
	// Severity is low, medium, high or critical.
	Severity string `yaml:"severity"`
	// MaxAge: only evidence collected within it counts as latest.
	MaxAge Duration `yaml:"max_age"`
	// SLA is the time allowed before an item is overdue (overdue checks).
	SLA Duration `yaml:"sla"`
	// Line is the line of the entry in the file.
	Line int `yaml:"-"`
}

var (
	systemID    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	riskLevels  = []string{"low", "medium", "high", "critical"}
	lifecycles  = []string{"inception", "design", "development", "validation", "deployment", "operation", "retired"}
	severities  = []string{"low", "medium", "high", "critical"}
	checkIDExpr = systemID
)

// seqOf resolves a section that must be a list; nil (and a problem) if not.
func (d *decoder) seqOf(n ast.Node, key, want string) []ast.Node {
	r := d.resolve(n)
	if _, ok := r.(*ast.NullNode); ok || r == nil {
		return nil
	}
	seq, ok := r.(*ast.SequenceNode)
	if !ok {
		d.add(nodeLine(n), key, fmt.Sprintf("want a list of %s, got %s", want, describe(r)))
		return nil
	}
	return seq.Values
}

// lineIn returns the line of kp.key, or of the closest enclosing key
// decoded so far, or def.
func (d *decoder) lineIn(kp, key string, def int) int {
	for k := kp + "." + key; len(k) > len(kp); {
		if l, ok := d.lines[k]; ok {
			return l
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return def
}

func (d *decoder) decodeSystems(n ast.Node, cfg *Config) {
	first := map[string]int{}
	for i, el := range d.seqOf(n, "ai_systems", "AI systems") {
		kp := fmt.Sprintf("ai_systems[%d]", i)
		s := AISystem{Line: nodeLine(d.resolve(el))}
		before := len(d.errs)
		d.decodeStruct(el, reflect.ValueOf(&s).Elem(), kp)
		if len(d.errs) == before {
			d.checkSystem(&s, kp, first)
		}
		cfg.AISystems = append(cfg.AISystems, s)
	}
}

func (d *decoder) checkSystem(s *AISystem, kp string, first map[string]int) {
	bad := func(key, format string, args ...any) {
		k := kp
		if key != "" {
			k += "." + key
		}
		d.add(d.lineIn(kp, key, s.Line), k, fmt.Sprintf(format, args...))
	}
	switch {
	case s.ID == "":
		bad("", "id is required: a unique id such as fraud-scoring ([a-z0-9][a-z0-9_-]*)")
	case !systemID.MatchString(s.ID):
		bad("id", "want lower-case letters, digits, '-' and '_', starting with a letter or digit")
	default:
		if l, dup := first[s.ID]; dup {
			bad("id", "duplicate AI system id %q (first at line %d)", s.ID, l)
		} else {
			first[s.ID] = s.Line
		}
	}
	if strings.TrimSpace(s.Name) == "" {
		bad("", "name is required: what people call the system")
	}
	if strings.TrimSpace(s.Owner) == "" {
		bad("", "owner is required: the accountable person or team")
	}
	if s.RiskLevel == "" {
		bad("", "risk_level is required (allowed: %s)", strings.Join(riskLevels, ", "))
	} else if !slices.Contains(riskLevels, s.RiskLevel) {
		bad("risk_level", "unknown risk level %q (allowed: %s)", s.RiskLevel, strings.Join(riskLevels, ", "))
	}
	if s.Lifecycle == "" {
		bad("", "lifecycle is required (allowed: %s)", strings.Join(lifecycles, ", "))
	} else if !slices.Contains(lifecycles, s.Lifecycle) {
		bad("lifecycle", "unknown lifecycle stage %q (allowed: %s)", s.Lifecycle, strings.Join(lifecycles, ", "))
	}
	m := &s.Match
	total := 0
	for _, l := range []struct {
		key   string
		vals  []string
		globs bool
	}{
		{"match.github.repos", m.GitHub.Repos, true},
		{"match.github.topics", m.GitHub.Topics, false},
		{"match.sagemaker.model_package_groups", m.SageMaker.ModelPackageGroups, true},
		{"match.sagemaker.endpoint_prefixes", m.SageMaker.EndpointPrefixes, false},
		{"match.bedrock.custom_models", m.Bedrock.CustomModels, true},
		{"match.bedrock.guardrails", m.Bedrock.Guardrails, true},
		{"match.jira.projects", m.Jira.Projects, false},
		{"match.jira.labels", m.Jira.Labels, false},
		{"match.files.paths", m.Files.Paths, true},
	} {
		total += len(l.vals)
		for j, v := range l.vals {
			key := fmt.Sprintf("%s[%d]", l.key, j)
			if strings.TrimSpace(v) == "" {
				bad(key, "must not be empty")
			} else if _, err := path.Match(v, ""); l.globs && err != nil {
				bad(key, "bad glob pattern %q: use * and ? as in path.Match", v)
			}
		}
	}
	if total == 0 {
		bad("", "match is empty: give at least one matcher (github repos or topics, sagemaker model_package_groups or endpoint_prefixes, bedrock custom_models or guardrails, jira projects or labels, files paths), or the system can have no evidence")
	}
}

func (d *decoder) decodeFindings(n ast.Node, cfg *Config) {
	ents, ok := d.asMapping(n, "findings")
	if !ok {
		return
	}
	for _, mv := range ents {
		k := keyString(mv.Key)
		if k != "checks" {
			d.add(nodeLine(mv.Key), "findings."+k, unknownKey(k, []string{"checks"}, nil))
			continue
		}
		first := map[string]int{}
		for i, el := range d.seqOf(mv.Value, "findings.checks", "checks") {
			kp := fmt.Sprintf("findings.checks[%d]", i)
			c := FindingCheck{Line: nodeLine(d.resolve(el))}
			before := len(d.errs)
			d.decodeStruct(el, reflect.ValueOf(&c).Elem(), kp)
			if len(d.errs) == before {
				d.checkFinding(&c, kp, first)
			}
			cfg.Findings.Checks = append(cfg.Findings.Checks, c)
		}
	}
}

func (d *decoder) checkFinding(c *FindingCheck, kp string, first map[string]int) {
	bad := func(key, format string, args ...any) {
		k := kp
		if key != "" {
			k += "." + key
		}
		d.add(d.lineIn(kp, key, c.Line), k, fmt.Sprintf(format, args...))
	}
	switch {
	case c.ID == "":
		bad("", "id is required: a built-in check's id to tune it, or a new id ([a-z0-9][a-z0-9_-]*)")
		return
	case !checkIDExpr.MatchString(c.ID):
		bad("id", "want lower-case letters, digits, '-' and '_', starting with a letter or digit")
		return
	}
	if l, dup := first[c.ID]; dup {
		bad("id", "check %q is listed twice (first at line %d)", c.ID, l)
	} else {
		first[c.ID] = c.Line
	}
	builtin := d.opts.BuiltinCheck != nil && d.opts.BuiltinCheck(c.ID)
	off := c.Enabled != nil && !*c.Enabled
	switch {
	case builtin && c.Kind != "":
		bad("kind", "%s is a built-in check: tune it with where, severity, max_age or sla, or give a new check its own id", c.ID)
	case !builtin && !off && (c.Kind == "" || len(c.Controls) == 0 || len(c.Where) == 0):
		bad("", "%q is not a built-in check (see `aimsvault findings --checks`): a new check needs kind, where and controls", c.ID)
	}
	if c.Kind != "" {
		if _, err := path.Match(c.Kind, ""); err != nil {
			bad("kind", "bad glob pattern: want a kind such as sagemaker.model_card or a path.Match glob")
		}
	}
	for _, k := range sortedKeys(c.Where) {
		if k == "" {
			bad("where", "an attribute name is empty")
			continue
		}
		if d.opts.CheckCondition != nil {
			if err := d.opts.CheckCondition(c.Where[k]); err != nil {
				bad("where."+k, "%v", err)
			}
		}
	}
	for i, id := range c.Controls {
		if d.opts.KnownControl != nil && !d.opts.KnownControl(id) {
			bad(fmt.Sprintf("controls[%d]", i), "unknown control %q: write IDs as in the catalog (aimsvault controls), e.g. A.6.2.8 or 7.2", id)
		}
	}
	if c.Severity != "" && !slices.Contains(severities, c.Severity) {
		bad("severity", "unknown severity %q (allowed: %s)", c.Severity, strings.Join(severities, ", "))
	}
	if c.MaxAge < 0 {
		bad("max_age", "must not be negative")
	}
	if c.SLA < 0 {
		bad("sla", "must not be negative")
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
