package config

import (
	"encoding"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// decoder gathers every problem in one file.
type decoder struct {
	file string // as named to Load, for messages
	dir  string // absolute folder of the file
	opts Options
	errs []*Error

	anchors  map[string]ast.Node
	expanded map[ast.Node][]string    // scalar nodes that held ${VAR}, and the names
	unset    map[ast.Node][]string    // scalar nodes that held an unset ${VAR}, and its names
	soft     map[*Error]bool          // problems that break one connector, not the file
	done     map[*ast.StringNode]bool // scalars already expanded
	lines    map[string]int           // key path -> line, for validate

	mergeDepth int // guards against an anchor merged into itself
}

func (d *decoder) add(line int, key, msg string) *Error {
	e := &Error{File: d.file, Line: line, Key: key, Msg: msg}
	d.errs = append(d.errs, e)
	return e
}

// fatal reports whether any problem fails the whole file. Problems that only
// break one connector (an unset ${VAR} in its block) do not, unless there are
// others; then all are reported.
func (d *decoder) fatal() bool {
	for _, e := range d.errs {
		if !d.soft[e] {
			return true
		}
	}
	return false
}

func (d *decoder) result() *Errors {
	sortErrors(d.errs)
	return &Errors{File: d.file, List: d.errs}
}

func sortErrors(list []*Error) {
	sort.SliceStable(list, func(i, j int) bool { return list[i].Line < list[j].Line })
}

// commonKeys are the keys of a connector block that are not the type's own.
var commonKeys = []string{"name", "type", "schedule", "timeout"}

var topKeys = []string{"vault", "server", "log", "defaults", "scheduler", "connectors", "mapping", "ai_systems", "findings"}

func (d *decoder) load(src []byte, cfg *Config) {
	f, err := parser.ParseBytes(src, 0)
	if err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) {
			d.add(tokenLine(ye), "", "yaml: "+ye.GetMessage())
		} else {
			d.add(0, "", "yaml: "+err.Error())
		}
		return
	}
	var bodies []ast.Node
	for _, doc := range f.Docs {
		if doc != nil && doc.Body != nil {
			bodies = append(bodies, doc.Body)
		}
	}
	var body ast.Node
	if len(bodies) > 0 {
		body = bodies[0]
	}
	if len(bodies) > 1 {
		d.add(nodeLine(bodies[1]), "", "more than one YAML document (---): put everything in one")
	}
	d.anchors = map[string]ast.Node{}
	d.expanded = map[ast.Node][]string{}
	d.unset = map[ast.Node][]string{}
	d.soft = map[*Error]bool{}
	d.done = map[*ast.StringNode]bool{}
	d.lines = map[string]int{}
	if body != nil {
		ast.Walk(anchorCollector(d.anchors), body)
		d.expand(body, "")
		d.decodeTop(body, cfg)
	}
	d.validate(cfg)
	resolvePaths(reflect.ValueOf(cfg), d.dir)
}

type anchorCollector map[string]ast.Node

func (a anchorCollector) Visit(n ast.Node) ast.Visitor {
	if an, ok := n.(*ast.AnchorNode); ok && an.Name != nil {
		a[an.Name.GetToken().Value] = an.Value
	}
	return a
}

// resolve looks through anchors, aliases and tags to the node that holds the
// value.
func (d *decoder) resolve(n ast.Node) ast.Node {
	for range 64 { // bounded: an alias cycle is a YAML error anyway
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
		case *ast.AliasNode:
			if x.Value == nil {
				return n
			}
			target, ok := d.anchors[x.Value.GetToken().Value]
			if !ok {
				return n
			}
			n = target
		case *ast.TagNode:
			// Look through container tags; scalar tags (!!str) are goccy's.
			if tk := x.GetToken(); tk == nil || (tk.Value != "!!map" && tk.Value != "!!seq") {
				return n
			}
			n = x.Value
		default:
			return n
		}
	}
	return n
}

func tokenLine(e yaml.Error) int {
	if tk := e.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line
	}
	return 0
}

func nodeLine(n ast.Node) int {
	if n == nil {
		return 0
	}
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 {
		return nodeLine(m.Values[0].Key)
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line
	}
	return 0
}

func keyString(k ast.MapKeyNode) string {
	if s, ok := k.(*ast.StringNode); ok {
		return s.Value
	}
	if tk := k.GetToken(); tk != nil {
		return tk.Value
	}
	return k.String()
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// entries returns a mapping's key/value pairs with YAML merge keys (<<)
// applied: merged entries come first, and a key written in the mapping itself
// wins over a merged one.
func (d *decoder) entries(m *ast.MappingNode, keyPath string) []*ast.MappingValueNode {
	d.mergeDepth++
	defer func() { d.mergeDepth-- }()
	if d.mergeDepth > 32 {
		d.add(nodeLine(m), keyPath, "merge keys (<<) nest too deep: is an anchor merged into itself?")
		return nil
	}
	var own, merged []*ast.MappingValueNode
	have := map[string]bool{}
	for _, mv := range m.Values {
		if _, ok := mv.Key.(*ast.MergeKeyNode); ok || keyString(mv.Key) == "<<" {
			var srcs []ast.Node
			switch v := d.resolve(mv.Value).(type) {
			case *ast.MappingNode:
				srcs = append(srcs, v)
			case *ast.SequenceNode:
				srcs = append(srcs, v.Values...)
			default:
				d.add(nodeLine(mv.Value), keyPath, "merge key << wants a mapping or a list of mappings")
			}
			for _, s := range srcs {
				if sm, ok := d.resolve(s).(*ast.MappingNode); ok {
					merged = append(merged, d.entries(sm, keyPath)...)
				} else {
					d.add(nodeLine(s), keyPath, "merge key << wants a mapping or a list of mappings")
				}
			}
			continue
		}
		own = append(own, mv)
		have[keyString(mv.Key)] = true
	}
	var out []*ast.MappingValueNode
	seen := map[string]bool{}
	for _, mv := range merged {
		k := keyString(mv.Key)
		if have[k] || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, mv)
	}
	return append(out, own...)
}

// asMapping resolves n to a mapping's entries; ok is false (and a problem is
// recorded) when n is something else. A null is an empty mapping.
func (d *decoder) asMapping(n ast.Node, keyPath string) ([]*ast.MappingValueNode, bool) {
	switch v := d.resolve(n).(type) {
	case nil, *ast.NullNode:
		return nil, true
	case *ast.MappingNode:
		return d.entries(v, keyPath), true
	case *ast.MappingValueNode:
		return d.entries(&ast.MappingNode{BaseNode: v.BaseNode, Values: []*ast.MappingValueNode{v}}, keyPath), true
	default:
		d.add(nodeLine(n), keyPath, fmt.Sprintf("want a mapping of keys, got %s", describe(v)))
		return nil, false
	}
}

func describe(n ast.Node) string {
	switch n.(type) {
	case *ast.SequenceNode:
		return "a list"
	case *ast.MappingNode:
		return "a mapping"
	case *ast.NullNode:
		return "nothing"
	default:
		return "a single value"
	}
}

func (d *decoder) decodeTop(body ast.Node, cfg *Config) {
	ents, ok := d.asMapping(body, "")
	if !ok {
		return
	}
	sections := map[string]ast.Node{}
	for _, mv := range ents {
		k := keyString(mv.Key)
		if !slices.Contains(topKeys, k) {
			d.add(nodeLine(mv.Key), k, unknownKey(k, topKeys, nil))
			continue
		}
		sections[k] = mv.Value
		d.lines[k] = nodeLine(mv.Key)
	}
	// Fixed order: connectors need defaults.
	rv := reflect.ValueOf(cfg).Elem()
	for _, k := range []string{"vault", "server", "log", "defaults", "scheduler"} {
		if n, ok := sections[k]; ok {
			d.decodeStruct(n, rv.FieldByIndex(fieldIndex(rv.Type(), k)), k)
		}
	}
	if n, ok := sections["connectors"]; ok {
		d.decodeConnectors(n, cfg)
	}
	if n, ok := sections["mapping"]; ok {
		d.decodeMapping(n, cfg)
	}
	if n, ok := sections["ai_systems"]; ok {
		d.decodeSystems(n, cfg)
	}
	if n, ok := sections["findings"]; ok {
		d.decodeFindings(n, cfg)
	}
}

func unknownKey(k string, allowed, also []string) string {
	msg := fmt.Sprintf("unknown key %q (allowed: %s", k, strings.Join(allowed, ", "))
	if len(allowed) == 0 {
		msg = fmt.Sprintf("unknown key %q (this type has no keys of its own", k)
	}
	if len(also) > 0 {
		msg += "; and " + strings.Join(also, ", ")
	}
	return msg + ")"
}

// fieldIndex finds the field tagged yaml:"key" in struct type t.
func fieldIndex(t reflect.Type, key string) []int {
	for _, f := range yamlFields(t) {
		if f.name == key {
			return f.index
		}
	}
	panic("config: no field " + key)
}

type yamlField struct {
	name  string
	index []int
}

// yamlFields lists the keys a struct accepts, following goccy/go-yaml's
// rules: the yaml tag's name, else the lower-cased field name; "-" skips;
// ",inline" flattens an embedded struct.
func yamlFields(t reflect.Type) []yamlField {
	var out []yamlField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if (strings.Contains(opts, "inline") || f.Anonymous && name == "") && ft.Kind() == reflect.Struct && f.Type.Kind() == reflect.Struct {
			for _, sub := range yamlFields(ft) {
				out = append(out, yamlField{name: sub.name, index: append([]int{i}, sub.index...)})
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out = append(out, yamlField{name: name, index: []int{i}})
	}
	return out
}

func fieldNames(fs []yamlField) []string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	return names
}

// decodeStruct decodes a mapping into the struct v (addressable), one key at
// a time, so that every unknown key and every bad value is reported.
func (d *decoder) decodeStruct(n ast.Node, v reflect.Value, keyPath string) {
	ents, ok := d.asMapping(n, keyPath)
	if !ok {
		return
	}
	d.decodeEntries(ents, v, keyPath, nil)
}

// decodeEntries decodes ents into struct v; also lists further keys that are
// allowed (handled elsewhere) for the unknown-key message.
func (d *decoder) decodeEntries(ents []*ast.MappingValueNode, v reflect.Value, keyPath string, also []string) {
	fields := yamlFields(v.Type())
	for _, mv := range ents {
		k := keyString(mv.Key)
		kp := join(keyPath, k)
		i := slices.IndexFunc(fields, func(f yamlField) bool { return f.name == k })
		if i < 0 {
			d.add(nodeLine(mv.Key), kp, unknownKey(k, fieldNames(fields), also))
			continue
		}
		d.lines[kp] = nodeLine(mv.Key)
		fv, ok := fieldByIndexAlloc(v, fields[i].index)
		if !ok {
			d.add(nodeLine(mv.Key), kp, "cannot set this key")
			continue
		}
		d.decodeValue(mv.Value, fv, kp)
	}
}

// fieldByIndexAlloc is FieldByIndex that allocates nil embedded pointers.
func fieldByIndexAlloc(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, false
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, v.CanSet()
}

var (
	bytesUnmarshaler     = reflect.TypeFor[yaml.BytesUnmarshaler]()
	interfaceUnmarshaler = reflect.TypeFor[yaml.InterfaceUnmarshaler]()
	nodeUnmarshaler      = reflect.TypeFor[yaml.NodeUnmarshaler]()
	textUnmarshaler      = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// custom reports whether t decodes itself, so its value is decoded whole.
func custom(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	for _, it := range []reflect.Type{bytesUnmarshaler, interfaceUnmarshaler, nodeUnmarshaler, textUnmarshaler} {
		if t.Implements(it) || pt.Implements(it) {
			return true
		}
	}
	return false
}

// decodeValue decodes n into v (settable). Structs, pointers to structs and
// lists of structs are walked key by key; anything else is decoded strictly
// by goccy/go-yaml. A null leaves the default in place.
func (d *decoder) decodeValue(n ast.Node, v reflect.Value, keyPath string) {
	r := d.resolve(n)
	if _, isNull := r.(*ast.NullNode); isNull || r == nil {
		return
	}
	t := v.Type()
	if t.Kind() == reflect.Pointer {
		// Decode into a fresh value (a copy of the current one), then point
		// at it.
		p := reflect.New(t.Elem())
		if !v.IsNil() {
			p.Elem().Set(v.Elem())
		}
		before := len(d.errs)
		d.decodeValue(n, p.Elem(), keyPath)
		if len(d.errs) == before {
			v.Set(p)
		}
		return
	}
	if !custom(t) {
		switch {
		case t.Kind() == reflect.Struct:
			d.decodeStruct(r, v, keyPath)
			return
		case t.Kind() == reflect.Slice && needsWalk(t.Elem()):
			seq, ok := r.(*ast.SequenceNode)
			if !ok {
				d.add(nodeLine(n), keyPath, fmt.Sprintf("want a list, got %s", describe(r)))
				return
			}
			out := reflect.MakeSlice(t, len(seq.Values), len(seq.Values))
			for i, el := range seq.Values {
				d.decodeValue(el, out.Index(i), fmt.Sprintf("%s[%d]", keyPath, i))
			}
			v.Set(out)
			return
		}
	}
	if seq, ok := r.(*ast.SequenceNode); ok {
		for i, el := range seq.Values {
			d.lines[fmt.Sprintf("%s[%d]", keyPath, i)] = nodeLine(el)
		}
	}
	// Decode into a copy, so a bad value leaves the default alone and a list
	// or map in the file replaces the default rather than adding to it.
	tmp := reflect.New(t)
	if k := t.Kind(); k != reflect.Slice && k != reflect.Map {
		tmp.Elem().Set(v)
	}
	if err := yaml.NodeToValue(r, tmp.Interface(), yaml.Strict()); err != nil {
		d.decodeError(err, r, keyPath, t)
		return
	}
	v.Set(tmp.Elem())
}

func needsWalk(t reflect.Type) bool {
	if custom(t) {
		return false
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
		if custom(t) {
			return false
		}
	}
	return t.Kind() == reflect.Struct
}

// decodeError records err from decoding n. When n's value came from the
// environment the message does not say what the value was.
func (d *decoder) decodeError(err error, n ast.Node, keyPath string, t reflect.Type) {
	if len(d.unsetIn(n)) > 0 {
		return // the unset variable is the problem, and is reported already
	}
	line := nodeLine(n)
	msg := err.Error()
	var ye yaml.Error
	if errors.As(err, &ye) {
		if l := tokenLine(ye); l > 0 {
			line = l
		}
		msg = ye.GetMessage()
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msg = fmt.Sprintf("want %s, got %s", typeName(te.DstType), te.SrcType)
	}
	if vars := d.varsIn(n); len(vars) > 0 {
		msg = fmt.Sprintf("the value of %s does not fit here (want %s)", strings.Join(vars, ", "), typeName(t))
	}
	d.add(line, keyPath, msg)
}

func typeName(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Duration]():
		return "a duration such as 15m, 36h or 90d"
	case reflect.TypeFor[Secret](), reflect.TypeFor[Path]():
		return "a string"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return t.String()
}

// varsIn lists the ${VAR}s expanded anywhere inside n.
func (d *decoder) varsIn(n ast.Node) []string {
	var vars []string
	ast.Walk(visitFunc(func(x ast.Node) {
		for _, v := range d.expanded[x] {
			vars = append(vars, "${"+v+"}")
		}
	}), n)
	return vars
}

// unsetIn lists the unset ${VAR}s inside n, following aliases: a block that
// merges or aliases a value holding an unset variable is broken too.
func (d *decoder) unsetIn(n ast.Node) []string {
	var names []string
	seen := map[ast.Node]bool{}
	var visit visitFunc
	visit = func(x ast.Node) {
		if seen[x] {
			return
		}
		seen[x] = true
		names = append(names, d.unset[x]...)
		if a, ok := x.(*ast.AliasNode); ok && a.Value != nil {
			if target, ok := d.anchors[a.Value.GetToken().Value]; ok && len(seen) < 1<<16 {
				ast.Walk(visit, target)
			}
		}
	}
	ast.Walk(visit, n)
	slices.Sort(names)
	return slices.Compact(names)
}

type visitFunc func(ast.Node)

func (f visitFunc) Visit(n ast.Node) ast.Visitor { f(n); return f }

// connectorLabel names the i-th connector block in messages:
// "connectors[1] (github-ml)".
func connectorLabel(i int, block ast.Node, d *decoder) string {
	label := fmt.Sprintf("connectors[%d]", i)
	if m, ok := d.resolve(block).(*ast.MappingNode); ok {
		for _, mv := range m.Values {
			if keyString(mv.Key) != "name" {
				continue
			}
			// The expansion pass expands the name before it asks, so both
			// passes label alike.
			if s, ok := d.resolve(mv.Value).(*ast.StringNode); ok && s.Value != "" {
				label += " (" + s.Value + ")"
			}
		}
	}
	return label
}

func (d *decoder) decodeConnectors(n ast.Node, cfg *Config) {
	r := d.resolve(n)
	if _, ok := r.(*ast.NullNode); ok || r == nil {
		return
	}
	seq, ok := r.(*ast.SequenceNode)
	if !ok {
		d.add(nodeLine(n), "connectors", fmt.Sprintf("want a list of connector blocks, got %s", describe(r)))
		return
	}
	firstLine := map[string]int{}
	for i, el := range seq.Values {
		label := connectorLabel(i, el, d)
		c := Connector{Line: nodeLine(d.resolve(el))}
		ents, ok := d.asMapping(el, label)
		if !ok {
			continue
		}
		var rest []*ast.MappingValueNode
		var schedNode ast.Node
		cv := reflect.ValueOf(&c).Elem()
		for _, mv := range ents {
			k := keyString(mv.Key)
			if !slices.Contains(commonKeys, k) {
				rest = append(rest, mv)
				continue
			}
			if k == "schedule" {
				schedNode = mv.Value
			}
			d.lines[label+"."+k] = nodeLine(mv.Key)
			d.decodeValue(mv.Value, cv.FieldByIndex(fieldIndex(cv.Type(), k)), label+"."+k)
		}
		lineOf := func(key string) int {
			if l, ok := d.lines[label+"."+key]; ok {
				return l
			}
			return c.Line
		}

		switch {
		case c.Name == "":
			d.add(c.Line, label, "name is required: a unique name such as github-ml ([a-z0-9][a-z0-9_-]*)")
		case !connectorName.MatchString(c.Name):
			d.add(lineOf("name"), label+".name", "want lower-case letters, digits, '-' and '_', starting with a letter or digit")
		default:
			if first, dup := firstLine[c.Name]; dup {
				d.add(lineOf("name"), label+".name", fmt.Sprintf("duplicate connector name %q (first at line %d)", c.Name, first))
			} else {
				firstLine[c.Name] = c.Line
			}
		}
		if c.Timeout < 0 {
			d.add(lineOf("timeout"), label+".timeout", "must not be negative")
		}
		if c.Schedule != "" {
			if _, err := ParseSchedule(c.Schedule); err != nil {
				msg := fmt.Sprintf("bad schedule: %v (%s)", err, scheduleHelp)
				if vars := d.varsIn(schedNode); len(vars) > 0 {
					msg = fmt.Sprintf("the value of %s is not a schedule (%s)", strings.Join(vars, ", "), scheduleHelp)
				}
				d.add(lineOf("schedule"), label+".schedule", msg)
			}
		}

		var names []string
		if d.opts.Types != nil {
			names = d.opts.Types.Names()
		}
		known := "none are registered"
		if len(names) > 0 {
			known = strings.Join(names, ", ")
		}
		if c.Type == "" {
			d.add(c.Line, label, "type is required (known types: "+known+")")
		} else if d.opts.Types == nil {
			d.add(lineOf("type"), label+".type", fmt.Sprintf("unknown type %q (known types: %s)", c.Type, known))
		} else if settings, ok := d.opts.Types.NewConfig(c.Type); !ok {
			d.add(lineOf("type"), label+".type", fmt.Sprintf("unknown type %q (known types: %s)", c.Type, known))
		} else if sv := reflect.ValueOf(settings); sv.Kind() != reflect.Pointer || sv.IsNil() || sv.Elem().Kind() != reflect.Struct {
			d.add(c.Line, label+".type", fmt.Sprintf("type %q has a config of type %T, want a pointer to a struct (a bug in the connector)", c.Type, settings))
		} else {
			d.decodeEntries(rest, sv.Elem(), label, commonKeys)
			resolvePaths(sv, d.dir) // now, so that Validate sees absolute paths
			c.Settings = settings
			// Validate only a cleanly decoded block: on top of decode
			// problems it would mostly repeat them.
			if val, ok := settings.(interface{ Validate() error }); ok && d.countUnder(label) == 0 {
				for _, e := range splitErrors(val.Validate()) {
					d.add(c.Line, label, e.Error())
				}
			}
		}

		// An unset ${VAR} breaks this connector only: its runs fail with
		// these problems, and the other connectors run.
		if d.countUnder(label) == 0 {
			if names := d.unsetIn(el); len(names) > 0 {
				// Reached only through an alias: say so where the block is.
				for _, name := range names {
					d.soft[d.add(c.Line, label, unsetMsg(name)+" (used through an alias)")] = true
				}
			}
		}
		var broken []*Error
		for _, e := range d.errs {
			if d.soft[e] && (e.Key == label || strings.HasPrefix(e.Key, label+".") || strings.HasPrefix(e.Key, label+"[")) {
				broken = append(broken, e)
			}
		}
		if len(broken) > 0 {
			sortErrors(broken)
			c.Err = &Errors{File: d.file, List: broken}
		}

		if c.Schedule == "" {
			c.Schedule = cfg.Defaults.Schedule
		}
		if c.Timeout == 0 {
			c.Timeout = cfg.Defaults.Timeout
		}
		cfg.Connectors = append(cfg.Connectors, c)
	}
}

// countUnder counts the problems recorded so far for label or its keys.
func (d *decoder) countUnder(label string) int {
	n := 0
	for _, e := range d.errs {
		if e.Key == label || strings.HasPrefix(e.Key, label+".") || strings.HasPrefix(e.Key, label+"[") {
			n++
		}
	}
	return n
}

func splitErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, splitErrors(e)...)
		}
		return out
	}
	return []error{err}
}

func (d *decoder) decodeMapping(n ast.Node, cfg *Config) {
	ents, ok := d.asMapping(n, "mapping")
	if !ok {
		return
	}
	for _, mv := range ents {
		k := keyString(mv.Key)
		if k != "rules" {
			d.add(nodeLine(mv.Key), "mapping."+k, unknownKey(k, []string{"rules"}, nil))
			continue
		}
		r := d.resolve(mv.Value)
		if _, ok := r.(*ast.NullNode); ok || r == nil {
			continue
		}
		seq, ok := r.(*ast.SequenceNode)
		if !ok {
			d.add(nodeLine(mv.Value), "mapping.rules", fmt.Sprintf("want a list of rules, got %s", describe(r)))
			continue
		}
		for i, el := range seq.Values {
			kp := fmt.Sprintf("mapping.rules[%d]", i)
			rule := Rule{Line: nodeLine(d.resolve(el))}
			d.decodeStruct(el, reflect.ValueOf(&rule).Elem(), kp)
			d.checkRule(&rule, kp)
			cfg.Mapping.Rules = append(cfg.Mapping.Rules, rule)
		}
	}
}

func (d *decoder) checkRule(r *Rule, kp string) {
	line := func(key string) int {
		for k := kp + "." + key; ; {
			if l, ok := d.lines[k]; ok {
				return l
			}
			i := strings.LastIndexAny(k, ".[")
			if i <= len(kp) {
				break
			}
			k = k[:i]
		}
		return r.Line
	}
	if r.Kind == "" {
		d.add(r.Line, kp, "kind is required: an artifact kind such as github.branch_protection, github.* or a glob")
	} else if _, err := path.Match(r.Kind, ""); err != nil {
		d.add(line("kind"), kp+".kind", "bad glob pattern: want a kind such as github.branch_protection, github.* or a path.Match glob")
	}
	if len(r.Controls) == 0 {
		d.add(r.Line, kp, "controls is required: at least one control ID such as A.6.2.8 or 7.2")
	}
	for i, id := range r.Controls {
		if d.opts.KnownControl != nil && !d.opts.KnownControl(id) {
			d.add(line(fmt.Sprintf("controls[%d]", i)), fmt.Sprintf("%s.controls[%d]", kp, i), fmt.Sprintf("unknown control %q: write IDs as in the catalog (aimsvault controls), e.g. A.6.2.8 or 7.2", id))
		}
	}
	if r.Freshness < 0 {
		d.add(line("freshness"), kp+".freshness", "must not be negative")
	}
}

var pathType = reflect.TypeFor[Path]()

// resolvePaths makes every relative Path reachable from v absolute against dir.
func resolvePaths(v reflect.Value, dir string) {
	seen := map[uintptr]bool{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		if !v.IsValid() {
			return
		}
		if v.Type() == pathType {
			if p := v.String(); p != "" && !filepath.IsAbs(p) && v.CanSet() {
				v.SetString(filepath.Join(dir, p))
			}
			return
		}
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() || seen[v.Pointer()] {
				return
			}
			seen[v.Pointer()] = true
			walk(v.Elem())
		case reflect.Interface:
			if !v.IsNil() && v.Elem().Kind() == reflect.Pointer {
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		case reflect.Map:
			if v.IsNil() {
				return
			}
			et := v.Type().Elem()
			iter := v.MapRange()
			for iter.Next() {
				// Map values are not addressable: work on a copy, store it back.
				cp := reflect.New(et).Elem()
				cp.Set(iter.Value())
				walk(cp)
				v.SetMapIndex(iter.Key(), cp)
			}
		}
	}
	walk(v)
}
