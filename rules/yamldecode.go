package rules

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// This file is a strict, schema-driven decoder over goccy/go-yaml's AST.
// goccy's own strict decoder stops at the first problem; the catalog must
// report every unknown key, wrong type and duplicate key at once, each with
// its position, so the loader parses with goccy's parser and walks the AST
// against the file-format structs itself.

// str is a scalar with its position. Set is false when the key was absent
// or null.
type str struct {
	V   string
	P   pos
	Set bool
}

// meta records where a mapping starts and where each of its keys' values
// is. Every file-format struct embeds it.
type meta struct {
	P    pos
	Keys map[string]pos
	// Bad are the keys whose value had the wrong shape (already reported).
	Bad map[string]bool
}

// absent reports whether a key is missing or null; a key whose value was
// reported as malformed is not absent, so no "missing" error follows it.
func (m meta) absent(key string) bool { return !m.has(key) && !m.Bad[key] }

// has reports whether the mapping had the key with a non-null value.
func (m meta) has(key string) bool { _, ok := m.Keys[key]; return ok }

func (m *meta) setMeta(x meta) { *m = x }

// at is the position of key's value, or of the mapping when absent.
func (m meta) at(key string) pos {
	if p, ok := m.Keys[key]; ok {
		return p
	}
	return m.P
}

// entry is one key/value pair of a string map.
type entry struct{ Key, Val str }

// strMap is a mapping of strings to strings in file order.
type strMap []entry

var (
	strType    = reflect.TypeOf(str{})
	strMapType = reflect.TypeOf(strMap(nil))
)

// maxNodes bounds the work one file may cause through alias expansion.
const maxNodes = 200_000

type decoder struct {
	file    string
	errs    *errorList
	anchors map[string][]ast.Node
	budget  int
}

// parseYAML parses one catalog file into doc, reporting every problem.
func parseYAML(file string, data []byte, doc any, errs *errorList) {
	f, err := parseBytes(data)
	if err != nil {
		var se *yaml.SyntaxError
		if errors.As(err, &se) && se.Token != nil && se.Token.Position != nil {
			errs.add(pos{file, se.Token.Position.Line, se.Token.Position.Column}, "yaml: %s", se.Message)
		} else {
			errs.add(pos{File: file}, "yaml: %v", err)
		}
		return
	}
	var bodies []ast.Node
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			bodies = append(bodies, d.Body)
		}
	}
	if len(bodies) == 0 {
		return
	}
	for _, b := range bodies[1:] {
		errs.add(nodePos(file, b), "more than one YAML document in a file; use one file per document")
	}
	d := &decoder{file: file, errs: errs, anchors: map[string][]ast.Node{}, budget: maxNodes}
	ast.Walk(anchorCollector(d.anchors), bodies[0])
	d.decode(bodies[0], reflect.ValueOf(doc).Elem(), "catalog file", pos{})
}

// parseBytes runs goccy's parser, turning a panic inside it into an error so
// a hostile file cannot crash the loader.
func parseBytes(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parser error: %v", r)
		}
	}()
	return parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
}

type anchorCollector map[string][]ast.Node

func (a anchorCollector) Visit(n ast.Node) ast.Visitor {
	if x, ok := n.(*ast.AnchorNode); ok && x.Name != nil && x.Value != nil {
		name := x.Name.GetToken().Value
		a[name] = append(a[name], x)
	}
	return a
}

func nodePos(file string, n ast.Node) pos {
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 {
		n = m.Values[0].Key
	}
	if mv, ok := n.(*ast.MappingValueNode); ok {
		n = mv.Key
	}
	if n == nil {
		return pos{File: file}
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return pos{File: file}
	}
	return pos{file, tk.Position.Line, tk.Position.Column}
}

func offset(n ast.Node) int {
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Offset
	}
	return 0
}

// resolve unwraps anchors, aliases and the tags the catalog accepts. It
// reports unknown aliases and unsupported tags and returns nil for them.
func (d *decoder) resolve(n ast.Node) (node ast.Node, forceStr, ok bool) {
	for hops := 0; n != nil; hops++ {
		if hops > 32 {
			d.errs.add(nodePos(d.file, n), "alias chain too long")
			return nil, false, false
		}
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
		case *ast.AliasNode:
			if x.Value == nil {
				d.errs.add(nodePos(d.file, n), "alias without a name")
				return nil, false, false
			}
			name := x.Value.GetToken().Value
			var target ast.Node
			for _, a := range d.anchors[name] {
				if offset(a) < offset(x) {
					target = a
				}
			}
			if target == nil {
				d.errs.add(nodePos(d.file, n), "unknown alias %q", "*"+name)
				return nil, false, false
			}
			n = target
		case *ast.TagNode:
			tag := x.Start.Value
			switch tag {
			case "!!str":
				forceStr = true
			case "!!map", "!!seq", "!!int", "!!bool", "!!null":
			default:
				d.errs.add(nodePos(d.file, n), "unsupported tag %q", tag)
				return nil, false, false
			}
			n = x.Value
		default:
			return n, forceStr, true
		}
	}
	return nil, forceStr, true
}

// scalar returns the text of a scalar node.
func scalar(n ast.Node) (string, bool) {
	switch x := n.(type) {
	case *ast.StringNode:
		return x.Value, true
	case *ast.LiteralNode:
		if x.Value == nil {
			return "", true
		}
		return x.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return n.GetToken().Value, true
	}
	return "", false
}

// describe names what a node is, for error messages.
func describe(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	}
	if s, ok := scalar(n); ok {
		if len(s) > 40 {
			s = s[:40] + "..."
		}
		return strconv.Quote(s)
	}
	return "a YAML " + strings.ToLower(n.Type().String()) + " node"
}

// pairs lists a mapping's key/value nodes, with merge keys ("<<") applied:
// explicit keys win over merged ones.
func (d *decoder) pairs(n ast.Node, depth int) []*ast.MappingValueNode {
	var vals []*ast.MappingValueNode
	switch x := n.(type) {
	case *ast.MappingNode:
		vals = x.Values
	case *ast.MappingValueNode:
		vals = []*ast.MappingValueNode{x}
	}
	var own, merged []*ast.MappingValueNode
	for _, mv := range vals {
		if _, ok := mv.Key.(*ast.MergeKeyNode); !ok {
			own = append(own, mv)
			continue
		}
		if depth > 8 {
			d.errs.add(nodePos(d.file, mv.Key), "merge keys nested too deeply")
			continue
		}
		src, _, _ := d.resolve(mv.Value)
		var srcs []ast.Node
		if seq, ok := src.(*ast.SequenceNode); ok {
			for _, s := range seq.Values {
				s, _, _ = d.resolve(s)
				srcs = append(srcs, s)
			}
		} else {
			srcs = append(srcs, src)
		}
		for _, s := range srcs {
			switch s.(type) {
			case *ast.MappingNode, *ast.MappingValueNode:
				merged = append(merged, d.pairs(s, depth+1)...)
			default:
				if s != nil {
					d.errs.add(nodePos(d.file, s), "merge key value must be a mapping, got %s", describe(s))
				}
			}
		}
	}
	if len(merged) == 0 {
		return own
	}
	seen := map[string]bool{}
	for _, mv := range own {
		if k, ok := scalar(mv.Key); ok {
			seen[k] = true
		}
	}
	out := own
	for _, mv := range merged {
		k, _ := scalar(mv.Key)
		if !seen[k] {
			seen[k] = true
			out = append(out, mv)
		}
	}
	return out
}

// decode decodes n into v; what names the value in messages; keyPos is the
// position of its key (used when the value is null).
func (d *decoder) decode(n ast.Node, v reflect.Value, what string, keyPos pos) bool {
	return d.decodeElem(n, v, what, what+" entry", keyPos)
}

// decodeElem is decode with the name of a list's elements. It reports
// whether n had the right shape (problems nested inside a mapping or list
// do not count), so a caller can tell a wrong value from a missing one.
func (d *decoder) decodeElem(n ast.Node, v reflect.Value, what, elemWhat string, keyPos pos) bool {
	if d.budget <= 0 {
		return false
	}
	d.budget--
	if d.budget == 0 {
		d.errs.add(nodePos(d.file, n), "document too large (alias expansion)")
		return false
	}
	n, forceStr, ok := d.resolve(n)
	if !ok {
		return false
	}
	if n == nil {
		return true
	}
	if _, ok := n.(*ast.NullNode); ok && !forceStr {
		if v.Type() == strType {
			v.Set(reflect.ValueOf(str{P: keyPos}))
		}
		return true
	}
	p := nodePos(d.file, n)
	t := v.Type()
	switch {
	case t == strType:
		s, ok := scalar(n)
		if _, null := n.(*ast.NullNode); null && forceStr {
			s, ok = "", true
		}
		if !ok {
			d.errs.add(p, "%s must be a string, got %s", what, describe(n))
			return false
		}
		v.Set(reflect.ValueOf(str{V: s, P: p, Set: true}))
	case t == strMapType:
		if !isMapping(n) {
			d.errs.add(p, "%s must be a mapping, got %s", what, describe(n))
			return false
		}
		var m strMap
		first := map[string]pos{}
		for _, mv := range d.pairs(n, 0) {
			kp := nodePos(d.file, mv.Key)
			k, ok := scalar(mv.Key)
			if !ok {
				d.errs.add(kp, "%s keys must be strings", what)
				continue
			}
			if fp, dup := first[k]; dup {
				d.errs.add(kp, "duplicate key %q in %s (first at line %d, col %d)", k, what, fp.Line, fp.Col)
				continue
			}
			first[k] = kp
			var val str
			d.decode(mv.Value, reflect.ValueOf(&val).Elem(), fmt.Sprintf("%s %q", what, k), kp)
			m = append(m, entry{Key: str{V: k, P: kp, Set: true}, Val: val})
		}
		v.Set(reflect.ValueOf(m))
	case t.Kind() == reflect.Struct:
		if !isMapping(n) {
			d.errs.add(p, "%s must be a mapping, got %s", what, describe(n))
			return false
		}
		d.decodeStruct(n, v, what, p)
	case t.Kind() == reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			d.errs.add(p, "%s must be a list, got %s", what, describe(n))
			return false
		}
		out := reflect.MakeSlice(t, 0, len(seq.Values))
		for _, e := range seq.Values {
			ev := reflect.New(t.Elem()).Elem()
			if d.decode(e, ev, elemWhat, nodePos(d.file, e)) {
				out = reflect.Append(out, ev)
			}
		}
		v.Set(out)
	case t.Kind() == reflect.Ptr:
		nv := reflect.New(t.Elem())
		if !d.decodeElem(n, nv.Elem(), what, elemWhat, keyPos) {
			return false
		}
		v.Set(nv)
	case t.Kind() == reflect.Bool:
		b, ok := n.(*ast.BoolNode)
		if !ok || forceStr {
			d.errs.add(p, "%s must be true or false, got %s", what, describe(n))
			return false
		}
		v.SetBool(b.Value)
	case t.Kind() == reflect.Int:
		x, ok := intValue(n)
		if !ok || forceStr {
			d.errs.add(p, "%s must be an integer, got %s", what, describe(n))
			return false
		}
		v.SetInt(x)
	default:
		panic(fmt.Sprintf("rules: unsupported file-format type %s", t))
	}
	return true
}

// intValue returns an integer node's value when it fits in 32 bits.
func intValue(n ast.Node) (int64, bool) {
	i, ok := n.(*ast.IntegerNode)
	if !ok {
		return 0, false
	}
	const limit = 1 << 31
	switch x := i.Value.(type) {
	case int64:
		return x, x > -limit && x < limit
	case uint64:
		return int64(x), x < limit
	}
	return 0, false
}

func isMapping(n ast.Node) bool {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return true
	}
	return false
}

type field struct {
	index []int
	what  string // the value's name in messages
	elem  string // a list element's name in messages
}

// fields lists a file-format struct's keys.
func fields(t reflect.Type) (map[string]field, []string) {
	m := map[string]field{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := f.Tag.Get("yaml")
		if name == "" || name == "-" {
			continue
		}
		fd := field{index: f.Index, what: strconv.Quote(name), elem: f.Tag.Get("what")}
		if fd.elem == "" {
			fd.elem = fd.what + " entry"
		}
		if k := f.Type.Kind(); k != reflect.Slice || f.Type == strMapType {
			if w := f.Tag.Get("what"); w != "" {
				fd.what = w
			}
		}
		m[name] = fd
		names = append(names, name)
	}
	sort.Strings(names)
	return m, names
}

func (d *decoder) decodeStruct(n ast.Node, v reflect.Value, what string, p pos) {
	fs, names := fields(v.Type())
	mt := meta{P: p, Keys: map[string]pos{}, Bad: map[string]bool{}}
	first := map[string]pos{}
	for _, mv := range d.pairs(n, 0) {
		kp := nodePos(d.file, mv.Key)
		k, ok := scalar(mv.Key)
		if !ok {
			d.errs.add(kp, "keys in %s must be strings, got %s", what, describe(mv.Key))
			continue
		}
		if fp, dup := first[k]; dup {
			d.errs.add(kp, "duplicate key %q in %s (first at line %d, col %d)", k, what, fp.Line, fp.Col)
			continue
		}
		first[k] = kp
		f, ok := fs[k]
		if !ok {
			if s := suggest(k, names); s != "" {
				d.errs.add(kp, "unknown key %q in %s (did you mean %q?)", k, what, s)
			} else {
				d.errs.add(kp, "unknown key %q in %s", k, what)
			}
			continue
		}
		// A null value counts as absent; strs keep the key's position.
		if val, _, _ := d.resolve(mv.Value); val != nil {
			if _, null := val.(*ast.NullNode); !null {
				mt.Keys[k] = nodePos(d.file, val)
			}
		}
		if !d.decodeElem(mv.Value, v.FieldByIndex(f.index), f.what, f.elem, kp) {
			mt.Bad[k] = true
		}
	}
	if ms, ok := v.Addr().Interface().(interface{ setMeta(meta) }); ok {
		ms.setMeta(mt)
	}
}

// suggest returns the known key closest to k when it is a likely typo.
func suggest(k string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(strings.ToLower(k), n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
