package files

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// pattern is a compiled glob over slash-separated paths relative to the
// connector's root. A segment "**" matches any number of directories,
// including none; every other segment is a path.Match pattern, so "*" never
// crosses a "/".
type pattern struct {
	text string
	segs []string
}

func compilePattern(p string) (pattern, error) {
	switch {
	case p == "":
		return pattern{}, errors.New("empty pattern")
	case strings.HasPrefix(p, "/"):
		return pattern{}, errors.New("patterns are relative to path: drop the leading /")
	case strings.Contains(p, `\`):
		return pattern{}, errors.New(`use / as the separator; \ is not allowed`)
	}
	segs := strings.Split(p, "/")
	for _, s := range segs {
		switch {
		case s == "" || s == "." || s == "..":
			return pattern{}, fmt.Errorf("segment %q is not allowed", s)
		case s == "**":
		case strings.Contains(s, "**"):
			return pattern{}, fmt.Errorf("segment %q: ** must be a whole path segment, as in docs/**/*.md", s)
		default:
			// path.Match reports a bad pattern only when it gets that far in
			// the name, so check each segment against an empty name.
			if _, err := path.Match(s, ""); err != nil {
				return pattern{}, fmt.Errorf("segment %q: %w", s, err)
			}
		}
	}
	return pattern{text: p, segs: segs}, nil
}

// match reports whether the slash-separated relative path name matches.
func (p pattern) match(name string) bool {
	return matchSegs(p.segs, strings.Split(name, "/"))
}

func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for len(pat) > 0 && pat[0] == "**" {
				pat = pat[1:]
			}
			if len(pat) == 0 {
				return true
			}
			for i := range len(name) + 1 {
				if matchSegs(pat, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

func matchAny(ps []pattern, name string) bool {
	for _, p := range ps {
		if p.match(name) {
			return true
		}
	}
	return false
}
