package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// expand replaces ${VAR} in every scalar value under n (keys are left alone),
// recording a problem, with n's key path and line, for each unset variable.
// Aliases are not followed, so a value shared through an anchor is expanded
// once, where it is written.
func (d *decoder) expand(n ast.Node, keyPath string) {
	switch x := n.(type) {
	case *ast.DocumentNode:
		d.expand(x.Body, keyPath)
	case *ast.MappingNode:
		for _, mv := range x.Values {
			d.expand(mv, keyPath)
		}
	case *ast.MappingValueNode:
		if k := keyString(x.Key); k == "<<" {
			d.expand(x.Value, keyPath)
		} else {
			d.expand(x.Value, join(keyPath, k))
		}
	case *ast.SequenceNode:
		for i, el := range x.Values {
			p := fmt.Sprintf("%s[%d]", keyPath, i)
			if keyPath == "connectors" {
				// Expand the name first: messages name the connector by it.
				if m, ok := d.resolve(el).(*ast.MappingNode); ok {
					for _, mv := range m.Values {
						if keyString(mv.Key) == "name" {
							d.expand(mv.Value, p+".name")
						}
					}
				}
				p = connectorLabel(i, el, d)
			}
			d.expand(el, p)
		}
	case *ast.AnchorNode:
		d.expand(x.Value, keyPath)
	case *ast.TagNode:
		d.expand(x.Value, keyPath)
	case *ast.StringNode:
		d.expandString(x, x, keyPath)
	case *ast.LiteralNode:
		if x.Value != nil {
			d.expandString(x.Value, x, keyPath)
		}
	}
}

func (d *decoder) expandString(s *ast.StringNode, at ast.Node, keyPath string) {
	if d.done[s] || !strings.Contains(s.Value, "$") {
		return
	}
	d.done[s] = true
	out, vars, unset, problems := expandVars(s.Value, d.lookup)
	for _, p := range problems {
		d.add(nodeLine(at), keyPath, p)
	}
	for _, name := range unset {
		e := d.add(nodeLine(at), keyPath, unsetMsg(name))
		// Inside a connector block, an unset variable breaks that connector
		// only (Connector.Err); anywhere else it fails the file.
		if strings.HasPrefix(keyPath, "connectors[") {
			d.soft[e] = true
		}
	}
	if len(unset) > 0 {
		d.unset[s] = unset
		d.unset[at] = unset
	}
	s.Value = out
	if s.Token != nil {
		s.Token.Value = out
	}
	if len(vars) > 0 {
		d.expanded[s] = vars
		d.expanded[at] = vars
	}
}

func unsetMsg(name string) string {
	if strings.HasPrefix(name, filePrefix) {
		return fmt.Sprintf("${%s} cannot be read: create the file (mode 0600) or remove the key", name)
	}
	return fmt.Sprintf("${%s} is not set: export it or remove the key", name)
}

// filePrefix marks a reference to a file holding a secret: ${file:PATH}.
const filePrefix = "file:"

// lookup resolves a reference: an environment variable, or ${file:PATH}, the
// contents of a file (a mounted secret, say), its path relative to the
// config file's folder and one trailing newline dropped. An unreadable file
// counts as unset; its contents are never put in a message.
func (d *decoder) lookup(name string) (string, bool) {
	path, ok := strings.CutPrefix(name, filePrefix)
	if !ok {
		return d.opts.LookupEnv(name)
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(d.dir, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	v := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(v, "\r"), true
}

// expandVars expands ${NAME} and ${file:PATH} in s with lookup; $${ is a
// literal ${. It
// returns the names it expanded, those of them that are unset (expanded to
// nothing), and a message per other problem. Messages name variables but
// never hold a value.
func expandVars(s string, lookup func(string) (string, bool)) (out string, vars, unset, problems []string) {
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				problems = append(problems, "unterminated ${: close it with }, or write $${ for a literal ${")
				b.WriteString(s[i:])
				i = len(s)
				continue
			}
			name := s[i+2 : i+2+end]
			i += 3 + end
			if path, isFile := strings.CutPrefix(name, filePrefix); isFile && path == "" || !isFile && !validVarName(name) {
				problems = append(problems, "bad variable reference: want ${NAME}, NAME made of letters, digits and _, or ${file:PATH} (write $${ for a literal ${)")
				continue
			}
			vars = append(vars, name)
			val, ok := lookup(name)
			if !ok {
				unset = append(unset, name)
				continue
			}
			b.WriteString(val)
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), vars, unset, problems
}

func validVarName(name string) bool {
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		return false
	}
	for _, r := range name {
		if r != '_' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
