package findings

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
)

// A condition on one attribute, written as a string so that checks are
// plain data (in Go and in the config):
//
//	"Approved"     equals (case-sensitive)
//	"a|b"          equals one of
//	"!Approved"    differs from (absent counts as different); "!a|b" none of
//	"*"            present and not empty
//	"!*"           absent or empty
//	">0" ">=3" "<1" "<=0.95"  a number compared (absent or not a number: false)
type condition struct {
	op   string // "eq", "ne", "set", "unset", ">", ">=", "<", "<="
	vals []string
	num  float64
}

func parseCondition(s string) (condition, error) {
	switch {
	case s == "*":
		return condition{op: "set"}, nil
	case s == "!*":
		return condition{op: "unset"}, nil
	case strings.HasPrefix(s, ">=") || strings.HasPrefix(s, "<="):
		return numCond(s[:2], s[2:])
	case strings.HasPrefix(s, ">") || strings.HasPrefix(s, "<"):
		return numCond(s[:1], s[1:])
	case strings.HasPrefix(s, "!"):
		return condition{op: "ne", vals: strings.Split(s[1:], "|")}, nil
	}
	return condition{op: "eq", vals: strings.Split(s, "|")}, nil
}

func numCond(op, v string) (condition, error) {
	n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return condition{}, fmt.Errorf("%q after %s is not a number", v, op)
	}
	return condition{op: op, num: n}, nil
}

func (c condition) holds(v string, ok bool) bool {
	switch c.op {
	case "set":
		return ok && v != ""
	case "unset":
		return !ok || v == ""
	case "eq":
		return ok && slices.Contains(c.vals, v)
	case "ne":
		return !ok || !slices.Contains(c.vals, v)
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if !ok || err != nil {
		return false
	}
	switch c.op {
	case ">":
		return n > c.num
	case ">=":
		return n >= c.num
	case "<":
		return n < c.num
	default:
		return n <= c.num
	}
}

// Match selects records: a kind (exact or path.Match glob, "github.*_alert")
// from Kinds, and every Where condition holding on the attributes.
type Match struct {
	Kinds []string
	Where map[string]string
}

// compiled is a Match ready to evaluate.
type compiled struct {
	kinds []string
	where map[string]condition
}

func compileMatch(m Match) (compiled, error) {
	var errs []error
	if len(m.Kinds) == 0 {
		errs = append(errs, errors.New("no kind"))
	}
	for _, k := range m.Kinds {
		if _, err := path.Match(k, ""); k == "" || err != nil {
			errs = append(errs, fmt.Errorf("kind %q is not a kind or glob", k))
		}
	}
	c := compiled{kinds: m.Kinds, where: map[string]condition{}}
	for k, v := range m.Where {
		if k == "" {
			errs = append(errs, errors.New("an attribute name is empty"))
			continue
		}
		cond, err := parseCondition(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("where %s: %w", k, err))
			continue
		}
		c.where[k] = cond
	}
	return c, errors.Join(errs...)
}

func (c *compiled) kindMatches(kind string) bool {
	for _, k := range c.kinds {
		if ok, _ := path.Match(k, kind); ok {
			return true
		}
	}
	return false
}

func (c *compiled) matches(kind string, attrs map[string]string) bool {
	if !c.kindMatches(kind) {
		return false
	}
	for k, cond := range c.where {
		v, ok := attrs[k]
		if !cond.holds(v, ok) {
			return false
		}
	}
	return true
}

// CheckCondition says what is wrong with a condition string, or nil: the
// config loader's check of `where` values.
func CheckCondition(s string) error {
	_, err := parseCondition(s)
	return err
}
