package all

import (
	"testing"

	"github.com/aimsvault/aimsvault/mapping"
)

// Every registered type names a catalog source, so coverage can tell
// "missing" from "manual" for it.
func TestRegistry_TypesNameCatalogSources(t *testing.T) {
	t.Parallel()
	known := map[string]bool{}
	for _, e := range mapping.Catalog() {
		for _, s := range e.Sources {
			known[s] = true
		}
	}
	r := Registry()
	if len(r.Names()) == 0 {
		t.Fatal("no connector types registered")
	}
	for _, name := range r.Names() {
		typ, _ := r.Lookup(name)
		if !known[typ.Source] {
			t.Errorf("type %s: source %q is not a catalog source", name, typ.Source)
		}
		if typ.Sample == "" {
			t.Errorf("type %s has no sample config", name)
		}
	}
}
