package conformance_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// descriptionFile is GitHub Enterprise Cloud's REST description, as the
// pinned @octokit/openapi ships it.
var descriptionFile = filepath.Join("node_modules", "@octokit", "openapi", "generated", "ghec.json")

// need skips the test, or fails it in CI, when what it needs is missing.
func need(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("%s: %v (run `npm ci` in collectors/github/conformance, as `make conformance` does)", what, err)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// description is the parsed REST description.
type description struct {
	doc  map[string]any
	ops  map[string]operation // by operationId
	list []operation
}

type operation struct {
	ID, Method, Path string
	re               *regexp.Regexp
	node             map[string]any
}

var (
	descOnce sync.Once
	desc     *description
	descErr  error
)

// loadDescription reads the description once for the package's tests.
func loadDescription(t *testing.T) *description {
	t.Helper()
	descOnce.Do(func() {
		var b []byte
		if b, descErr = os.ReadFile(descriptionFile); descErr != nil {
			return
		}
		d := &description{ops: map[string]operation{}}
		if descErr = json.Unmarshal(b, &d.doc); descErr != nil {
			return
		}
		paths, _ := d.doc["paths"].(map[string]any)
		for p, item := range paths {
			methods, _ := item.(map[string]any)
			for m, o := range methods {
				node, ok := o.(map[string]any)
				id, _ := node["operationId"].(string)
				if !ok || id == "" {
					continue
				}
				re := regexp.MustCompile("^" + regexp.MustCompile(`\\\{[^}]+\\\}`).ReplaceAllString(regexp.QuoteMeta(p), `[^/]+`) + "$")
				op := operation{ID: id, Method: strings.ToUpper(m), Path: p, re: re, node: node}
				d.ops[id] = op
				d.list = append(d.list, op)
			}
		}
		sort.Slice(d.list, func(i, j int) bool { return d.list[i].Path < d.list[j].Path })
		desc = d
	})
	need(t, "GitHub's REST description "+descriptionFile, descErr)
	return desc
}

// match finds the operation serving method and path (literal path
// segments win over parameters: /orgs/{org}/installation is not
// /orgs/{org}/{anything}).
func (d *description) match(method, path string) (operation, bool) {
	var best operation
	found := false
	for _, op := range d.list {
		if op.Method != method || !op.re.MatchString(path) {
			continue
		}
		if !found || strings.Count(op.Path, "{") < strings.Count(best.Path, "{") {
			best, found = op, true
		}
	}
	return best, found
}

// resolve follows a local $ref ("#/components/...").
func (d *description) resolve(node map[string]any) map[string]any {
	for i := 0; i < 32; i++ {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node
		}
		var cur any = d.doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			m, _ := cur.(map[string]any)
			cur = m[strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")]
		}
		next, ok := cur.(map[string]any)
		if !ok {
			return map[string]any{}
		}
		node = next
	}
	return node
}

// hasStatus reports whether the description lists status for op.
func (d *description) hasStatus(op operation, status int) bool {
	responses, _ := op.node["responses"].(map[string]any)
	_, ok := responses[fmt.Sprint(status)]
	return ok
}

// responseSchema is the JSON schema of op's answer with status.
func (d *description) responseSchema(op operation, status int) (map[string]any, bool) {
	responses, _ := op.node["responses"].(map[string]any)
	r, ok := responses[fmt.Sprint(status)].(map[string]any)
	if !ok {
		return nil, false
	}
	r = d.resolve(r)
	content, _ := r["content"].(map[string]any)
	media, ok := content["application/json"].(map[string]any)
	if !ok {
		return nil, false
	}
	schema, ok := media["schema"].(map[string]any)
	return schema, ok
}

// subset writes a description holding only the operations named (the
// whole path item of each, the methods named) and every component they
// reach, for Prism: the full description references files it does not
// ship (server statistics examples) and takes long to load.
func (d *description) subset(t *testing.T, ids []string) string {
	t.Helper()
	paths := map[string]any{}
	for _, id := range ids {
		op, ok := d.ops[id]
		if !ok {
			t.Fatalf("operation %s is not in the description", id)
		}
		item, _ := paths[op.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[op.Path] = item
			orig, _ := d.doc["paths"].(map[string]any)[op.Path].(map[string]any)
			if params, ok := orig["parameters"]; ok {
				item["parameters"] = params
			}
		}
		item[strings.ToLower(op.Method)] = op.node
	}
	components := map[string]any{}
	var reach func(any)
	reach = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok && strings.HasPrefix(ref, "#/components/") {
				parts := strings.SplitN(strings.TrimPrefix(ref, "#/components/"), "/", 2)
				section, _ := components[parts[0]].(map[string]any)
				if section == nil {
					section = map[string]any{}
					components[parts[0]] = section
				}
				if _, done := section[parts[1]]; !done {
					target := d.doc["components"].(map[string]any)[parts[0]].(map[string]any)[parts[1]]
					section[parts[1]] = target
					reach(target)
				}
			}
			for _, e := range x {
				reach(e)
			}
		case []any:
			for _, e := range x {
				reach(e)
			}
		}
	}
	reach(paths)
	out := map[string]any{"openapi": d.doc["openapi"], "info": d.doc["info"], "servers": d.doc["servers"], "paths": paths, "components": components}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ghec-subset.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// conform checks a JSON value against a schema and returns what the
// description does not describe: a property no schema of the value names
// (where additional properties are not allowed), or a value of another
// JSON type. A oneOf/anyOf value must fit one alternative; allOf merges.
func (d *description) conform(schema map[string]any, v any, at string) []string {
	schema = d.resolve(schema)
	if v == nil {
		if schema["nullable"] == true || schema["type"] == nil {
			return nil
		}
		return []string{at + ": null where the description says " + fmt.Sprint(schema["type"]) + " (not nullable)"}
	}
	for _, key := range []string{"oneOf", "anyOf"} {
		if alts, ok := schema[key].([]any); ok {
			var first []string
			for i, a := range alts {
				probs := d.conform(a.(map[string]any), v, at)
				if len(probs) == 0 {
					return nil
				}
				if i == 0 {
					first = probs
				}
			}
			return append([]string{at + ": fits no alternative of " + key}, first...)
		}
	}
	if all, ok := schema["allOf"].([]any); ok {
		merged := map[string]any{"properties": map[string]any{}}
		for _, a := range all {
			part := d.resolve(a.(map[string]any))
			for k, p := range part {
				if k == "properties" {
					for name, ps := range p.(map[string]any) {
						merged["properties"].(map[string]any)[name] = ps
					}
					continue
				}
				merged[k] = p
			}
		}
		return d.conform(merged, v, at)
	}
	if probs := typeProblem(schema, v, at); probs != nil {
		return probs
	}
	switch x := v.(type) {
	case map[string]any:
		return d.conformObject(schema, x, at)
	case []any:
		items, _ := schema["items"].(map[string]any)
		var probs []string
		for i, e := range x {
			if items != nil {
				probs = append(probs, d.conform(items, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
		return probs
	}
	return nil
}

func (d *description) conformObject(schema, x map[string]any, at string) []string {
	props, _ := schema["properties"].(map[string]any)
	extra, extraOK := schema["additionalProperties"]
	var probs []string
	for _, k := range sortedKeys(x) {
		ps, ok := props[k].(map[string]any)
		switch {
		case ok:
			probs = append(probs, d.conform(ps, x[k], at+"."+k)...)
		case extraOK && extra != false:
			if es, ok := extra.(map[string]any); ok {
				probs = append(probs, d.conform(es, x[k], at+"."+k)...)
			}
		case props == nil && !extraOK:
			// A free-form object: anything goes.
		default:
			probs = append(probs, at+"."+k+": not in the description")
		}
	}
	return probs
}

// typeProblem checks v's JSON type against the schema's type.
func typeProblem(schema map[string]any, v any, at string) []string {
	want, _ := schema["type"].(string)
	var ok bool
	switch want {
	case "":
		return nil
	case "object":
		_, ok = v.(map[string]any)
	case "array":
		_, ok = v.([]any)
	case "string":
		_, ok = v.(string)
	case "boolean":
		_, ok = v.(bool)
	case "integer":
		f, isNum := v.(float64)
		ok = isNum && f == float64(int64(f))
	case "number":
		_, ok = v.(float64)
	default:
		return nil
	}
	if !ok {
		return []string{fmt.Sprintf("%s: %T where the description says %s", at, v, want)}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// example is the value of the first example the description gives op's
// answer with status (what Prism serves in static mode).
func (d *description) example(t *testing.T, id string, status int) any {
	t.Helper()
	op, ok := d.ops[id]
	if !ok {
		t.Fatalf("no operation %s", id)
	}
	responses, _ := op.node["responses"].(map[string]any)
	r, _ := responses[fmt.Sprint(status)].(map[string]any)
	content, _ := d.resolve(r)["content"].(map[string]any)
	media, _ := content["application/json"].(map[string]any)
	if ex, ok := media["example"]; ok {
		return ex
	}
	examples, _ := media["examples"].(map[string]any)
	for _, k := range sortedKeys(examples) {
		if e, ok := examples[k].(map[string]any); ok {
			return d.resolve(e)["value"]
		}
	}
	t.Fatalf("%s %d has no example", id, status)
	return nil
}

// items is the example list of a list operation (wrapKey "" for a bare
// array).
func (d *description) items(t *testing.T, id, wrapKey string) []map[string]any {
	t.Helper()
	v := d.example(t, id, 200)
	if wrapKey != "" {
		v = v.(map[string]any)[wrapKey]
	}
	var out []map[string]any
	for _, e := range v.([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

// hasLink reports whether op's 200 answer carries a Link header.
func (d *description) hasLink(id string) bool {
	responses, _ := d.ops[id].node["responses"].(map[string]any)
	r, _ := responses["200"].(map[string]any)
	h, _ := d.resolve(r)["headers"].(map[string]any)
	_, ok := h["Link"]
	return ok
}
