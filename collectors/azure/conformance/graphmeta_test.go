package conformance

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"unicode"
)

// graphMeta is Graph's metadata for one API version, read from the
// TypeScript interfaces Microsoft generates from the CSDL.
type graphMeta struct {
	version string
	types   map[string]*graphType // by interface name (EntityType, ComplexType)
	aliases map[string]bool       // enums and other type aliases (strings on the wire)
}

type graphType struct {
	name  string
	bases []string
	props map[string]string // property -> TypeScript type
}

var (
	reInterface = regexp.MustCompile(`^export interface (\w+)(?: extends ([\w, ]+))? \{(\})?$`)
	reProperty  = regexp.MustCompile(`^    "?([\w@.]+)"?\??: (.+);$`)
	reAlias     = regexp.MustCompile(`^export type (\w+)\b`)
)

// loadGraphMeta parses a microsoft-graph.d.ts: its top-level interfaces
// (the namespaced ones, indented, are other workloads) and type aliases.
func loadGraphMeta(path, version string) (*graphMeta, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := &graphMeta{version: version, types: map[string]*graphType{}, aliases: map[string]bool{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var cur *graphType
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if cur != nil {
			if line == "}" {
				cur = nil
			} else if p := reProperty.FindStringSubmatch(line); p != nil {
				cur.props[p[1]] = p[2]
			}
			continue
		}
		if a := reAlias.FindStringSubmatch(line); a != nil {
			m.aliases[a[1]] = true
			continue
		}
		i := reInterface.FindStringSubmatch(line)
		if i == nil {
			continue
		}
		t := &graphType{name: i[1], props: map[string]string{}}
		for _, b := range strings.Split(i[2], ",") {
			if b = strings.TrimSpace(b); b != "" {
				t.bases = append(t.bases, b)
			}
		}
		m.types[t.name] = t
		if i[3] == "" {
			cur = t
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(m.types) < 500 || m.types["Application"] == nil {
		return nil, fmt.Errorf("%s: %d interfaces, no Application: not Graph's metadata", path, len(m.types))
	}
	return m, nil
}

// tsName turns a Graph type name ("unifiedRoleDefinition",
// "#microsoft.graph.user") into its interface name.
func tsName(graphType string) string {
	s := strings.TrimPrefix(graphType, "#")
	s = strings.TrimPrefix(s, "microsoft.graph.")
	if s == "" {
		return ""
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// prop returns the type of a property of t or of one of its bases.
func (m *graphMeta) prop(t, name string) (string, bool) {
	for t != "" {
		gt := m.types[t]
		if gt == nil {
			return "", false
		}
		if typ, ok := gt.props[name]; ok {
			return typ, true
		}
		if len(gt.bases) == 0 {
			return "", false
		}
		t = gt.bases[0]
	}
	return "", false
}

// derives reports whether t is base or derives from it.
func (m *graphMeta) derives(t, base string) bool {
	for t != "" {
		if t == base {
			return true
		}
		gt := m.types[t]
		if gt == nil || len(gt.bases) == 0 {
			return false
		}
		t = gt.bases[0]
	}
	return false
}

// parseType reads a TypeScript property type: NullableOption<T>, T[].
func parseType(ts string) (name string, array bool) {
	ts = strings.TrimSpace(ts)
	if strings.HasPrefix(ts, "NullableOption<") && strings.HasSuffix(ts, ">") {
		ts = strings.TrimSuffix(strings.TrimPrefix(ts, "NullableOption<"), ">")
	}
	if strings.HasSuffix(ts, "[]") {
		return strings.TrimSuffix(ts, "[]"), true
	}
	return ts, false
}

// checker walks JSON values with one version's metadata and collects
// what the metadata does not describe.
type checker struct {
	m    *graphMeta
	errs []string
}

func (c *checker) fail(path, format string, args ...any) {
	c.errs = append(c.errs, path+": "+fmt.Sprintf(format, args...))
}

// collection checks an OData collection page of entities of type t.
func (c *checker) collection(path string, body map[string]any, t string) {
	for k, v := range body {
		switch {
		case isAnnotation(k):
		case k == "value":
			items, ok := v.([]any)
			if !ok {
				c.fail(path, "value is not an array")
				continue
			}
			for i, it := range items {
				c.value(fmt.Sprintf("%s.value[%d]", path, i), it, t, false)
			}
		default:
			c.fail(path, "collection page has property %q", k)
		}
	}
}

// isAnnotation reports whether a JSON key is an OData annotation
// (@odata.type, @odata.nextLink, owners@odata.navigationLink).
func isAnnotation(k string) bool {
	return strings.HasPrefix(k, "@") || strings.Contains(k, "@odata.")
}

// value checks one JSON value against a TypeScript type name.
func (c *checker) value(path string, v any, t string, array bool) {
	if v == nil {
		return
	}
	if array {
		items, ok := v.([]any)
		if !ok {
			c.fail(path, "want an array of %s, got %T", t, v)
			return
		}
		for i, it := range items {
			c.value(fmt.Sprintf("%s[%d]", path, i), it, t, false)
		}
		return
	}
	switch t {
	case "string":
		c.kind(path, v, "string", func() bool { _, ok := v.(string); return ok })
	case "boolean":
		c.kind(path, v, "boolean", func() bool { _, ok := v.(bool); return ok })
	case "number":
		c.kind(path, v, "number", func() bool { _, ok := v.(float64); return ok })
	case "any":
	default:
		if c.m.aliases[t] {
			c.kind(path, v, t+" (a string)", func() bool { _, ok := v.(string); return ok })
			return
		}
		if c.m.types[t] == nil {
			c.fail(path, "type %s is not in the %s metadata", t, c.m.version)
			return
		}
		obj, ok := v.(map[string]any)
		if !ok {
			c.fail(path, "want a %s object, got %T", t, v)
			return
		}
		c.object(path, obj, t)
	}
}

func (c *checker) kind(path string, v any, want string, ok func() bool) {
	if !ok() {
		c.fail(path, "want %s, got %T %v", want, v, v)
	}
}

// object checks the properties of an object of type t (or of the derived
// type its @odata.type names).
func (c *checker) object(path string, obj map[string]any, t string) {
	if ot, ok := obj["@odata.type"].(string); ok {
		d := tsName(ot)
		if !c.m.derives(d, t) {
			c.fail(path, "@odata.type %s does not derive from %s", ot, t)
			return
		}
		t = d
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if isAnnotation(k) {
			continue
		}
		typ, ok := c.m.prop(t, k)
		if !ok {
			c.fail(path, "property %q is not in microsoft.graph.%s (%s)", k, t, c.m.version)
			continue
		}
		name, array := parseType(typ)
		c.value(path+"."+k, obj[k], name, array)
	}
}
