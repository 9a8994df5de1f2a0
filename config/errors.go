package config

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is the category of every config problem: each *Error matches it
// with errors.Is, and so does the *Errors that Load returns.
var ErrInvalid = errors.New("invalid config")

// Error is one problem in a config file.
type Error struct {
	// File is the config file as it was named to Load; empty when the problem
	// is the file itself (not found, unreadable).
	File string
	// Line is the 1-based line the problem is on; 0 when it has none.
	Line int
	// Key is the path to the offending key: "vault.name",
	// "connectors[0] (github-ml).repoz", "mapping.rules[2].controls[1]".
	Key string
	// Msg says what is wrong and what is allowed. It never holds the value of
	// an environment variable or a secret.
	Msg string

	err error // cause, for errors.Is/As (fs.ErrNotExist for a missing file)
}

// Error formats the problem as "file:line: key: msg".
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is reports whether target is ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.err }

// Errors is every problem found in one config file, sorted by line.
type Errors struct {
	File string
	List []*Error
}

// Error returns one problem per line.
func (e *Errors) Error() string {
	lines := make([]string, len(e.List))
	for i, x := range e.List {
		lines[i] = x.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns each problem, so errors.Is and errors.As see all of them.
func (e *Errors) Unwrap() []error {
	out := make([]error, len(e.List))
	for i, x := range e.List {
		out[i] = x
	}
	return out
}
