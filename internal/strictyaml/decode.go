// Package strictyaml is a strict, schema-driven YAML decoder over goccy/go-yaml's
// AST (built by goccy's parser, or for a plain document rebuilt from
// go.yaml.in/yaml/v3's faster one: fastparse.go). goccy's own strict decoder stops at the first problem; this one reports
// every unknown key (with a "did you mean"), wrong type, duplicate key, bad
// alias and unsupported tag at once, each with its file:line:col, so a user
// fixes a whole file in one pass. It decodes into file-format structs built
// from Str, StrMap, bool, int, pointers, slices and structs that embed Meta;
// callers validate those raw values into their own types. It does no I/O.
//
// Before anything is parsed, a file must be UTF-8 text without NUL bytes
// (a leading byte order mark is dropped), its bytes are held to the token
// limit and its tokens to the nesting and keys-per-mapping limits
// (Limits), so a hostile file costs no more than a file within the limits. Aliases and merge keys are bounded by what they expand to
// (Limits.AliasExpansion), never by the document's size.
//
// A struct field's `yaml` tag is its key; an optional `what` tag names the
// value (or, for a list, each element) in messages.
package strictyaml

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Str is a scalar with its position. Set is false when the key was absent
// or null; P is then the key's position (or zero when the key was absent).
type Str struct {
	V   string
	P   Pos
	Set bool
}

// Meta records where a mapping starts and where each of its keys' values
// is. Every file-format struct embeds it; Decode fills it in.
type Meta struct {
	P    Pos
	Keys map[string]Pos
	// Bad are the keys whose value had the wrong shape (already reported).
	Bad map[string]bool
}

// Absent reports whether a key is missing or null; a key whose value was
// reported as malformed is not absent, so no "missing" error follows it.
func (m Meta) Absent(key string) bool { return !m.Has(key) && !m.Bad[key] }

// Has reports whether the mapping had the key with a non-null value.
func (m Meta) Has(key string) bool { _, ok := m.Keys[key]; return ok }

func (m *Meta) setMeta(x Meta) { *m = x }

// At is the position of key's value, or of the mapping when absent.
func (m Meta) At(key string) Pos {
	if p, ok := m.Keys[key]; ok {
		return p
	}
	return m.P
}

// Entry is one key/value pair of a string map.
type Entry struct{ Key, Val Str }

// StrMap is a mapping of strings to strings in file order.
type StrMap []Entry

var (
	strType    = reflect.TypeOf(Str{})
	strMapType = reflect.TypeOf(StrMap(nil))
)

// Decoder holds the options of a decode; the zero value is ready to use.
type Decoder struct {
	// Root names the whole document in messages ("catalog file"); empty
	// means "document".
	Root string
	// UnknownKey, when set, is asked about every unknown key before the
	// generic "unknown key" message is reported; a non-empty result
	// replaces that message. in names the mapping the key is in. The key's
	// value is never decoded or quoted, so a hook can reject keys that
	// would hold secrets without echoing them.
	UnknownKey func(key, in string) string
	// Limits bound the work one file may cause; zero fields take
	// DefaultLimits.
	Limits Limits
}

// Decode parses one YAML document with the zero Decoder.
func Decode(file string, data []byte, doc any) Errors {
	return Decoder{}.Decode(file, data, doc)
}

// Decode parses data (one YAML document, named file in messages) into doc,
// a pointer to a file-format struct, and returns every problem found,
// sorted. doc holds whatever could be decoded even when there are errors.
func (o Decoder) Decode(file string, data []byte, doc any) Errors {
	var errs List
	parseYAML(o, file, data, doc, &errs)
	return Sort(errs.Errs)
}

type decoder struct {
	Decoder
	file    string
	errs    *List
	anchors map[string][]ast.Node
	// budget is how many more nodes may be decoded (see
	// Limits.AliasExpansion); over is set once it ran out.
	budget int
	nodes  int // the document's own nodes
	over   bool
}

// parseYAML parses one file into doc, reporting every problem. The text
// and the limits are checked first: a file that fails them is not parsed.
// A plain document takes the fast path (fastparse.go); one the fast path
// leaves, or whose decode found a problem, is parsed and decoded again by
// goccy, so every problem is reported as goccy's tree places it.
func parseYAML(o Decoder, file string, data []byte, doc any, errs *List) {
	lim := o.Limits.withDefaults()
	o.Limits = lim
	text, e := checkText(file, data)
	if e == nil {
		e = prescan(file, text, lim)
	}
	if e != nil {
		errs.Errs = append(errs.Errs, *e)
		return
	}
	if body, ok := fastParse(text, lim); ok {
		// The decode sets fields, never changes what they pointed to: a
		// shallow copy restores doc as the caller passed it.
		v := reflect.ValueOf(doc).Elem()
		before := reflect.New(v.Type()).Elem()
		before.Set(v)
		var fast List
		decodeBody(o, file, body, doc, &fast)
		if len(fast.Errs) == 0 {
			return
		}
		v.Set(before)
	}
	body := exactParse(file, text, lim, errs)
	if body != nil {
		decodeBody(o, file, body, doc, errs)
	}
}

// exactParse parses text with goccy, reporting a syntax error, a limit
// reached or a second document, and returns the first document's body
// (nil when there is none to decode).
func exactParse(file string, text []byte, lim Limits, errs *List) ast.Node {
	f, err := parseText(file, text, lim)
	var le *Error
	if errors.As(err, &le) {
		errs.Errs = append(errs.Errs, *le)
		return nil
	}
	if err != nil {
		var se *yaml.SyntaxError
		if errors.As(err, &se) && se.Token != nil && se.Token.Position != nil {
			errs.Add(Pos{file, se.Token.Position.Line, se.Token.Position.Column}, "yaml: %s", se.Message)
		} else {
			errs.Add(Pos{File: file}, "yaml: %v", err)
		}
		return nil
	}
	var bodies []ast.Node
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			bodies = append(bodies, d.Body)
		}
	}
	if len(bodies) == 0 {
		return nil
	}
	for _, b := range bodies[1:] {
		errs.Add(nodePos(file, b), "more than one YAML document in a file; use one file per document")
	}
	return bodies[0]
}

// decodeBody decodes a document's body into doc.
func decodeBody(o Decoder, file string, body ast.Node, doc any, errs *List) {
	root := o.Root
	if root == "" {
		root = "document"
	}
	d := &decoder{Decoder: o, file: file, errs: errs, anchors: map[string][]ast.Node{}}
	ast.Walk(&anchorCollector{anchors: d.anchors, nodes: &d.nodes}, body)
	d.budget = d.nodes + max(d.nodes*o.Limits.AliasExpansion, minAliasNodes)
	d.decode(body, reflect.ValueOf(doc).Elem(), root, Pos{})
}

// parseText tokenises text within the limits (a *Error when over one) and
// runs goccy's parser on the tokens, turning a panic inside either into
// an error so a hostile file cannot crash the loader.
func parseText(file string, text []byte, lim Limits) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parser error: %v", r)
		}
	}()
	tokens, e := scanTokens(file, text, lim)
	if e != nil {
		return nil, e
	}
	return parser.Parse(tokens, 0, parser.AllowDuplicateMapKey())
}

// anchorCollector lists every anchor by name, in document order, and
// counts the document's nodes.
type anchorCollector struct {
	anchors map[string][]ast.Node
	nodes   *int
}

func (a *anchorCollector) Visit(n ast.Node) ast.Visitor {
	*a.nodes++
	if x, ok := n.(*ast.AnchorNode); ok && x.Name != nil && x.Value != nil {
		name := x.Name.GetToken().Value
		a.anchors[name] = append(a.anchors[name], x)
	}
	return a
}

// spend charges n nodes decoded to the budget and reports whether the
// decode may go on. The first overrun is reported once; after it nothing
// more is decoded (the document expands itself without bound).
func (d *decoder) spend(at ast.Node, n int) bool {
	if d.over {
		return false
	}
	d.budget -= n
	if d.budget >= 0 {
		return true
	}
	d.over = true
	d.errs.Add(nodePos(d.file, at), "aliases and merge keys expand this document's %d nodes to more than %d: over the limit on alias expansion (%d times the document's own nodes, at least %d)",
		d.nodes, d.nodes+max(d.nodes*d.Limits.AliasExpansion, minAliasNodes), d.Limits.AliasExpansion, minAliasNodes)
	return false
}

func nodePos(file string, n ast.Node) Pos {
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 {
		n = m.Values[0].Key
	}
	if mv, ok := n.(*ast.MappingValueNode); ok {
		n = mv.Key
	}
	if n == nil {
		return Pos{File: file}
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return Pos{File: file}
	}
	return Pos{file, tk.Position.Line, tk.Position.Column}
}

func offset(n ast.Node) int {
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Offset
	}
	return 0
}

// resolve unwraps anchors, aliases and the standard tags. It
// reports unknown aliases and unsupported tags and returns nil for them.
func (d *decoder) resolve(n ast.Node) (node ast.Node, forceStr, ok bool) {
	for hops := 0; n != nil; hops++ {
		if hops > 32 {
			d.errs.Add(nodePos(d.file, n), "alias chain too long")
			return nil, false, false
		}
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
		case *ast.AliasNode:
			if x.Value == nil {
				d.errs.Add(nodePos(d.file, n), "alias without a name")
				return nil, false, false
			}
			name := x.Value.GetToken().Value
			// The alias names the last anchor of that name before it.
			as := d.anchors[name]
			i := sort.Search(len(as), func(i int) bool { return offset(as[i]) >= offset(x) })
			if i == 0 {
				d.errs.Add(nodePos(d.file, n), "unknown alias %q", "*"+name)
				return nil, false, false
			}
			n = as[i-1]
		case *ast.TagNode:
			tag := x.Start.Value
			switch tag {
			case "!!str":
				forceStr = true
			case "!!map", "!!seq", "!!int", "!!bool", "!!null":
			default:
				d.errs.Add(nodePos(d.file, n), "unsupported tag %q", tag)
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
			d.errs.Add(nodePos(d.file, mv.Key), "merge keys nested too deeply")
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
				ps := d.pairs(s, depth+1)
				if !d.spend(s, len(ps)) {
					return own
				}
				merged = append(merged, ps...)
			default:
				if s != nil {
					d.errs.Add(nodePos(d.file, s), "merge key value must be a mapping, got %s", describe(s))
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
func (d *decoder) decode(n ast.Node, v reflect.Value, what string, keyPos Pos) bool {
	return d.decodeElem(n, v, what, what+" entry", keyPos)
}

// decodeElem is decode with the name of a list's elements. It reports
// whether n had the right shape (problems nested inside a mapping or list
// do not count), so a caller can tell a wrong value from a missing one.
func (d *decoder) decodeElem(n ast.Node, v reflect.Value, what, elemWhat string, keyPos Pos) bool {
	if !d.spend(n, 1) {
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
			v.Set(reflect.ValueOf(Str{P: keyPos}))
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
			d.errs.Add(p, "%s must be a string, got %s", what, describe(n))
			return false
		}
		v.Set(reflect.ValueOf(Str{V: s, P: p, Set: true}))
	case t == strMapType:
		if !isMapping(n) {
			d.errs.Add(p, "%s must be a mapping, got %s", what, describe(n))
			return false
		}
		v.Set(reflect.ValueOf(d.strMap(n, what)))
	case t.Kind() == reflect.Struct:
		if !isMapping(n) {
			d.errs.Add(p, "%s must be a mapping, got %s", what, describe(n))
			return false
		}
		d.decodeStruct(n, v, what, p)
	case t.Kind() == reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			d.errs.Add(p, "%s must be a list, got %s", what, describe(n))
			return false
		}
		v.Set(d.slice(seq, t, elemWhat))
	case t.Kind() == reflect.Ptr:
		nv := reflect.New(t.Elem())
		if !d.decodeElem(n, nv.Elem(), what, elemWhat, keyPos) {
			return false
		}
		v.Set(nv)
	case t.Kind() == reflect.Bool:
		b, ok := n.(*ast.BoolNode)
		if !ok || forceStr {
			d.errs.Add(p, "%s must be true or false, got %s", what, describe(n))
			return false
		}
		v.SetBool(b.Value)
	case t.Kind() == reflect.Int:
		x, ok := intValue(n)
		if !ok || forceStr {
			d.errs.Add(p, "%s must be an integer, got %s", what, describe(n))
			return false
		}
		v.SetInt(x)
	default:
		panic(fmt.Sprintf("strictyaml: unsupported file-format type %s", t))
	}
	return true
}

// strMap decodes a mapping of strings.
func (d *decoder) strMap(n ast.Node, what string) StrMap {
	var m StrMap
	first := map[string]Pos{}
	for _, mv := range d.pairs(n, 0) {
		kp := nodePos(d.file, mv.Key)
		k, ok := scalar(mv.Key)
		if !ok {
			d.errs.Add(kp, "%s keys must be strings", what)
			continue
		}
		if fp, dup := first[k]; dup {
			d.errs.Add(kp, "duplicate key %q in %s (first at line %d, col %d)", k, what, fp.Line, fp.Col)
			continue
		}
		first[k] = kp
		var val Str
		d.decode(mv.Value, reflect.ValueOf(&val).Elem(), fmt.Sprintf("%s %q", what, k), kp)
		m = append(m, Entry{Key: Str{V: k, P: kp, Set: true}, Val: val})
	}
	return m
}

// slice decodes a list into a slice of type t, keeping the elements that
// had the right shape.
func (d *decoder) slice(seq *ast.SequenceNode, t reflect.Type, elemWhat string) reflect.Value {
	out := reflect.MakeSlice(t, 0, len(seq.Values))
	for _, e := range seq.Values {
		ev := reflect.New(t.Elem()).Elem()
		if d.decode(e, ev, elemWhat, nodePos(d.file, e)) {
			out = reflect.Append(out, ev)
		}
	}
	return out
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

type structFields struct {
	byKey map[string]field
	names []string // sorted
}

// fieldCache holds fields' result by type: a large file decodes the same
// few structs hundreds of thousands of times.
var fieldCache sync.Map // reflect.Type -> structFields

// fields lists a file-format struct's keys.
func fields(t reflect.Type) (map[string]field, []string) {
	if f, ok := fieldCache.Load(t); ok {
		sf := f.(structFields)
		return sf.byKey, sf.names
	}
	m, names := listFields(t)
	fieldCache.Store(t, structFields{m, names})
	return m, names
}

func listFields(t reflect.Type) (map[string]field, []string) {
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

func (d *decoder) decodeStruct(n ast.Node, v reflect.Value, what string, p Pos) {
	fs, names := fields(v.Type())
	mt := Meta{P: p, Keys: map[string]Pos{}, Bad: map[string]bool{}}
	first := map[string]Pos{}
	for _, mv := range d.pairs(n, 0) {
		kp := nodePos(d.file, mv.Key)
		k, ok := scalar(mv.Key)
		if !ok {
			d.errs.Add(kp, "keys in %s must be strings, got %s", what, describe(mv.Key))
			continue
		}
		if fp, dup := first[k]; dup {
			d.errs.Add(kp, "duplicate key %q in %s (first at line %d, col %d)", k, what, fp.Line, fp.Col)
			continue
		}
		first[k] = kp
		f, ok := fs[k]
		if !ok {
			if d.UnknownKey != nil {
				if msg := d.UnknownKey(k, what); msg != "" {
					d.errs.Add(kp, "%s", msg)
					continue
				}
			}
			if s := suggest(k, names); s != "" {
				d.errs.Add(kp, "unknown key %q in %s (did you mean %q?)", k, what, s)
			} else {
				d.errs.Add(kp, "unknown key %q in %s", k, what)
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
	if ms, ok := v.Addr().Interface().(interface{ setMeta(Meta) }); ok {
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
