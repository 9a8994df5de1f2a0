package connectors

import (
	"fmt"
	"sort"
)

// Type describes one kind of source: its `type` name in the config, a sample
// config block, and how to build a connector from a decoded config.
//
// Build a Type with Define so that no connector author handles `any`.
type Type struct {
	// Name is the `type` value in the config ("github", "files").
	Name string
	// Source is the catalog source this type supplies evidence as
	// ("github", "aws_sagemaker", "hr_training", "files"); coverage uses it to
	// tell "missing" from "manual".
	Source string
	// Sample is a commented YAML block documenting every key.
	Sample string
	// NewConfig returns a pointer to a config struct holding the defaults,
	// ready to be decoded into. If the struct has a `Validate() error` method,
	// the config loader calls it after decoding.
	NewConfig func() any
	// New builds a connector from a config returned by NewConfig and decoded.
	New func(cfg any, deps Deps) (Connector, error)
}

// Define builds a Type from a typed config constructor and builder.
// def returns the defaults; build receives the decoded config.
func Define[C any](name, source, sample string, def func() C, build func(C, Deps) (Connector, error)) Type {
	return Type{
		Name:   name,
		Source: source,
		Sample: sample,
		NewConfig: func() any {
			c := def()
			return &c
		},
		New: func(cfg any, deps Deps) (Connector, error) {
			c, ok := cfg.(*C)
			if !ok {
				return nil, fmt.Errorf("connector type %s: config is %T, want *%T", name, cfg, *new(C))
			}
			return build(*c, deps)
		},
	}
}

// Registry maps type names to Types. It is built explicitly (see
// connectors/all), so tests can build one that holds only what they need.
type Registry struct {
	types map[string]Type
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{types: make(map[string]Type)}
}

// Register adds t. It panics on an empty or duplicate name, or a Type without
// NewConfig or New: those are programmer errors, caught at start-up.
func (r *Registry) Register(t Type) {
	if t.Name == "" || t.NewConfig == nil || t.New == nil {
		panic(fmt.Sprintf("connectors: incomplete type %q", t.Name))
	}
	if _, dup := r.types[t.Name]; dup {
		panic(fmt.Sprintf("connectors: type %q registered twice", t.Name))
	}
	r.types[t.Name] = t
}

// Lookup returns the Type registered under name.
func (r *Registry) Lookup(name string) (Type, bool) {
	t, ok := r.types[name]
	return t, ok
}

// NewConfig returns a fresh config, holding the defaults, for the type named
// typ; the config loader decodes a connector block into it.
func (r *Registry) NewConfig(typ string) (any, bool) {
	t, ok := r.types[typ]
	if !ok {
		return nil, false
	}
	return t.NewConfig(), true
}

// Names returns the registered type names, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.types))
	for n := range r.types {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
