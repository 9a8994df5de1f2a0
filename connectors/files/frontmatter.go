package files

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// maxFrontMatter bounds how much of a Markdown file is read to find its front
// matter; the rest of the file is only ever streamed.
const maxFrontMatter = 64 << 10

// frontMatter holds the keys the connector uses. Other keys are allowed and
// ignored: documents carry their own. Values are kept as written (see text),
// so "version: 1.10" stays "1.10" rather than becoming the number 1.1.
type frontMatter struct {
	Kind        text     `yaml:"kind"`
	Title       text     `yaml:"title"`
	Owner       text     `yaml:"owner"`
	Version     text     `yaml:"version"`
	Status      text     `yaml:"status"`
	Controls    controls `yaml:"controls"`
	EffectiveAt text     `yaml:"effective_at"`
	Approved    text     `yaml:"approved"`
	Reviewed    text     `yaml:"reviewed"`
	Date        text     `yaml:"date"`
}

// lineError is a front matter problem at a line of the file.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("front matter line %d: %s", e.line, e.msg) }

// text is a scalar front matter value exactly as written (quotes removed),
// with the line it sits on in the YAML. A list or mapping where a scalar
// belongs is an error.
type text struct {
	s    string
	line int
}

func (t *text) UnmarshalYAML(n ast.Node) error {
	s, err := scalarText(n)
	if err != nil {
		return err
	}
	line := 0
	if n != nil {
		line = n.GetToken().Position.Line
	}
	*t = text{s: strings.TrimSpace(s), line: line}
	return nil
}

// controls accepts a YAML list ([5.2, A.2.2]) or a comma-separated string
// ("5.2, A.2.2"); entries are trimmed and empty ones dropped.
type controls []string

func (c *controls) UnmarshalYAML(n ast.Node) error {
	var raw []string
	switch n := unwrapTag(n).(type) {
	case *ast.SequenceNode:
		for _, v := range n.Values {
			s, err := scalarText(v)
			if err != nil {
				return err
			}
			raw = append(raw, s)
		}
	default:
		s, err := scalarText(n)
		if err != nil {
			return err
		}
		raw = []string{s}
	}
	var out controls
	for _, r := range raw {
		for _, id := range strings.Split(r, ",") {
			if id = strings.TrimSpace(id); id != "" {
				out = append(out, id)
			}
		}
	}
	*c = out
	return nil
}

func unwrapTag(n ast.Node) ast.Node {
	for {
		t, ok := n.(*ast.TagNode)
		if !ok {
			return n
		}
		n = t.Value
	}
}

// scalarText returns a scalar node's value as written: the unquoted string,
// or the literal token text for numbers, booleans and dates.
func scalarText(n ast.Node) (string, error) {
	n = unwrapTag(n)
	if n == nil {
		return "", nil
	}
	line := n.GetToken().Position.Line
	switch n := n.(type) {
	case *ast.NullNode:
		return "", nil
	case *ast.StringNode:
		return n.Value, nil
	case *ast.LiteralNode:
		return n.Value.Value, nil
	case *ast.AliasNode, *ast.AnchorNode:
		return "", &lineError{line: line, msg: "anchors and aliases are not supported here"}
	case ast.ScalarNode:
		return n.GetToken().Value, nil
	default:
		return "", &lineError{line: line, msg: fmt.Sprintf("want a single value, got a %s", strings.ToLower(n.Type().String()))}
	}
}

// splitFrontMatter finds front matter at the start of head: a first line of
// exactly "---" and YAML up to the next "---" line. atEOF says head holds the
// whole file. It returns the YAML and whether there was front matter.
func splitFrontMatter(head []byte, atEOF bool) ([]byte, bool, error) {
	head = bytes.TrimPrefix(head, []byte("\ufeff"))
	first, rest, ok := cutLine(head, atEOF)
	if !ok || string(first) != "---" {
		return nil, false, nil
	}
	body := rest
	off := 0
	for len(rest) > 0 {
		line, next, ok := cutLine(rest, atEOF)
		if !ok {
			break
		}
		if string(line) == "---" {
			return body[:off], true, nil
		}
		off += len(rest) - len(next)
		rest = next
	}
	return nil, true, &lineError{line: 1, msg: fmt.Sprintf("no closing --- line within the first %d KiB", maxFrontMatter>>10)}
}

// cutLine splits off b's first line, without its "\n" or "\r\n". The last
// line counts only if it ends in "\n" or the file ends there.
func cutLine(b []byte, atEOF bool) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		if !atEOF || len(b) == 0 {
			return nil, b, false
		}
		return bytes.TrimSuffix(b, []byte("\r")), nil, true
	}
	return bytes.TrimSuffix(b[:i], []byte("\r")), b[i+1:], true
}

// parseFrontMatter decodes the YAML between the --- lines. Line numbers in
// errors are the file's (the YAML starts on line 2).
func parseFrontMatter(src []byte) (frontMatter, error) {
	var fm frontMatter
	if len(bytes.TrimSpace(src)) == 0 {
		return fm, nil
	}
	err := yaml.Unmarshal(src, &fm)
	if err == nil {
		return fm, nil
	}
	var le *lineError
	if errors.As(err, &le) {
		return fm, &lineError{line: le.line + 1, msg: le.msg}
	}
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil {
		return fm, &lineError{line: ye.GetToken().Position.Line + 1, msg: ye.GetMessage()}
	}
	return fm, fmt.Errorf("front matter: %w", err)
}

// effectiveAt returns the first date present among effective_at, approved,
// reviewed and date, in that order; zero when none is.
func (fm frontMatter) effectiveAt() (time.Time, error) {
	for _, f := range []struct {
		key string
		v   text
	}{{"effective_at", fm.EffectiveAt}, {"approved", fm.Approved}, {"reviewed", fm.Reviewed}, {"date", fm.Date}} {
		if f.v.s == "" {
			continue
		}
		if t, err := time.Parse(time.DateOnly, f.v.s); err == nil {
			return t.UTC(), nil
		}
		if t, err := time.Parse(time.RFC3339Nano, f.v.s); err == nil {
			return t.UTC(), nil
		}
		return time.Time{}, &lineError{line: f.v.line + 1, msg: fmt.Sprintf("%s %q is not a date: use YYYY-MM-DD or RFC 3339 (2026-11-01T09:00:00Z)", f.key, f.v.s)}
	}
	return time.Time{}, nil
}
