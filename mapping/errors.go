package mapping

import (
	"errors"
	"fmt"
	"strings"
)

// Error categories callers branch on with errors.Is (the config loader turns
// both into a config error; the API into 400).
var (
	// ErrUnknownControl: an ID that is not in the catalog.
	ErrUnknownControl = errors.New("unknown control ID")
	// ErrHeading: a heading (6.1, 7.5, 9.2, 9.3) named where evidence goes;
	// headings carry no evidence of their own, their sub-clauses do.
	ErrHeading = errors.New("is a heading")
)

// RuleError is one problem with one rule passed to NewMapper. Index is the
// rule's position in the extra rules (the config's mapping.rules list), so the
// config loader can point at the line; it is -1 for a built-in rule.
type RuleError struct {
	Index int
	Kind  string
	Err   error
}

func (e *RuleError) Error() string {
	if e.Index < 0 {
		return fmt.Sprintf("built-in rule for kind %q: %v", e.Kind, e.Err)
	}
	return fmt.Sprintf("mapping rule %d (kind %q): %v", e.Index, e.Kind, e.Err)
}

func (e *RuleError) Unwrap() error { return e.Err }

// checkControl says why id cannot carry evidence, or nil. where names the
// place the ID came from ("in controls", "in the rule").
func checkControl(id, where string) error {
	c := loadCatalog()
	i, ok := c.index[id]
	if !ok {
		return fmt.Errorf("%w %q %s: see `aimsvault controls`", ErrUnknownControl, id, where)
	}
	if c.entries[i].Heading {
		return fmt.Errorf("control %q %s %w: name one of its sub-clauses instead (%s)", id, where, ErrHeading, strings.Join(c.groups[id], ", "))
	}
	return nil
}
