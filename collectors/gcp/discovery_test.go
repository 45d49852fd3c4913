package gcp_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// This file reads Google's discovery documents, the official descriptions
// of the REST APIs, as google.golang.org/api ships them beside each
// generated package, and checks HTTP exchanges against them: the request
// must name a method of the description (path and HTTP method), pass only
// the parameters it declares, and send a body of its request schema; a
// successful response must carry only fields its response schema has,
// with the declared JSON types and enum values.

// discoveryAPIs are the descriptions the gcp collector and its controls
// are checked against, by the name the collector's Endpoints use.
var discoveryAPIs = map[string]string{
	"cloudasset":           "cloudasset/v1/cloudasset-api.json",
	"iam":                  "iam/v1/iam-api.json",
	"policyanalyzer":       "policyanalyzer/v1/policyanalyzer-api.json",
	"recommender":          "recommender/v1/recommender-api.json",
	"apikeys":              "apikeys/v2/apikeys-api.json",
	"cloudresourcemanager": "cloudresourcemanager/v3/cloudresourcemanager-api.json",
	"storage":              "storage/v1/storage-api.json",
	// Cloud Asset's project assets carry Resource Manager v1 projects.
	"cloudresourcemanager/v1": "cloudresourcemanager/v1/cloudresourcemanager-api.json",
}

type discoDoc struct {
	Name        string
	ServicePath string                    `json:"servicePath"`
	Parameters  map[string]*discoParam    `json:"parameters"`
	Schemas     map[string]*schema        `json:"schemas"`
	Resources   map[string]*discoResource `json:"resources"`
	methods     []*discoMethod
}

type discoResource struct {
	Methods   map[string]*discoMethod   `json:"methods"`
	Resources map[string]*discoResource `json:"resources"`
}

type discoMethod struct {
	ID         string                 `json:"id"`
	Path       string                 `json:"path"`
	FlatPath   string                 `json:"flatPath"`
	HTTPMethod string                 `json:"httpMethod"`
	Parameters map[string]*discoParam `json:"parameters"`
	Request    *schema                `json:"request"`
	Response   *schema                `json:"response"`
	re         *regexp.Regexp
}

type discoParam struct {
	Type     string   `json:"type"`
	Location string   `json:"location"`
	Enum     []string `json:"enum"`
	Repeated bool     `json:"repeated"`
}

type schema struct {
	ID                   string             `json:"id"`
	Type                 string             `json:"type"`
	Ref                  string             `json:"$ref"`
	Format               string             `json:"format"`
	Enum                 []string           `json:"enum"`
	Properties           map[string]*schema `json:"properties"`
	Items                *schema            `json:"items"`
	AdditionalProperties *schema            `json:"additionalProperties"`
}

var (
	discoOnce sync.Once
	discoDocs map[string]*discoDoc
	discoErr  error
)

// loadDiscovery reads every description once, from the module cache copy
// of the google.golang.org/api version go.mod names.
func loadDiscovery(t testing.TB) map[string]*discoDoc {
	t.Helper()
	discoOnce.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "google.golang.org/api").Output()
		if err != nil {
			discoErr = fmt.Errorf("go list -m google.golang.org/api: %w", err)
			return
		}
		dir := strings.TrimSpace(string(out))
		discoDocs = map[string]*discoDoc{}
		for name, rel := range discoveryAPIs {
			d, err := readDiscovery(filepath.Join(dir, rel))
			if err != nil {
				discoErr = err
				return
			}
			d.Name = name
			discoDocs[name] = d
		}
	})
	if discoErr != nil {
		t.Fatal(discoErr)
	}
	return discoDocs
}

func readDiscovery(file string) (*discoDoc, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("discovery document: %w", err)
	}
	var d discoDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("discovery document %s: %w", file, err)
	}
	var walk func(r map[string]*discoResource)
	walk = func(rs map[string]*discoResource) {
		for _, r := range rs {
			for _, m := range r.Methods {
				m.re = pathPattern(m)
				d.methods = append(d.methods, m)
			}
			walk(r.Resources)
		}
	}
	walk(d.Resources)
	// More literal segments first, so that the most specific template wins.
	sort.SliceStable(d.methods, func(i, j int) bool {
		return literalLen(d.methods[i]) > literalLen(d.methods[j])
	})
	return &d, nil
}

func template(m *discoMethod) string {
	if m.FlatPath != "" {
		return m.FlatPath
	}
	return m.Path
}

var placeholder = regexp.MustCompile(`\{\+?[^}]+\}`)

// pathPattern turns a path template into a pattern: "{x}" is one segment,
// "{+x}" any number of them.
func pathPattern(m *discoMethod) *regexp.Regexp {
	tpl := template(m)
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, loc := range placeholder.FindAllStringIndex(tpl, -1) {
		b.WriteString(regexp.QuoteMeta(tpl[last:loc[0]]))
		if strings.HasPrefix(tpl[loc[0]:], "{+") {
			b.WriteString(`.+`)
		} else {
			b.WriteString(`[^/:]+`)
		}
		last = loc[1]
	}
	b.WriteString(regexp.QuoteMeta(tpl[last:]))
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func literalLen(m *discoMethod) int { return len(placeholder.ReplaceAllString(template(m), "")) }

// method finds the method a request names: its HTTP method and its path
// (without the leading slash and the service path).
func (d *discoDoc) method(httpMethod, path string) *discoMethod {
	path = strings.TrimPrefix(strings.TrimPrefix(path, "/"), d.ServicePath)
	for _, m := range d.methods {
		if m.HTTPMethod == httpMethod && m.re.MatchString(path) {
			return m
		}
	}
	return nil
}

// checkQuery reports every query parameter the method does not declare,
// and every value outside a declared enum.
func (d *discoDoc) checkQuery(m *discoMethod, q map[string][]string) []string {
	var bad []string
	for k, vs := range q {
		p := m.Parameters[k]
		if p == nil {
			p = d.Parameters[k]
		}
		switch {
		case p == nil:
			bad = append(bad, fmt.Sprintf("query parameter %q is not a parameter of %s", k, m.ID))
		case p.Location != "" && p.Location != "query":
			bad = append(bad, fmt.Sprintf("parameter %q of %s belongs in the %s, not the query", k, m.ID, p.Location))
		case len(vs) > 1 && !p.Repeated:
			bad = append(bad, fmt.Sprintf("parameter %q of %s is not repeated but was sent %d times", k, m.ID, len(vs)))
		case len(p.Enum) > 0:
			for _, v := range vs {
				if !slices.Contains(p.Enum, v) {
					bad = append(bad, fmt.Sprintf("parameter %q of %s: %q is not one of %v", k, m.ID, v, p.Enum))
				}
			}
		}
	}
	sort.Strings(bad)
	return bad
}

// check walks a decoded JSON value with a schema and reports every field
// the schema lacks and every value of the wrong JSON type or outside an
// enum, by its path.
func (d *discoDoc) check(path string, v any, s *schema) []string {
	if s == nil {
		return nil
	}
	if s.Ref != "" {
		ref, ok := d.Schemas[s.Ref]
		if !ok {
			return []string{fmt.Sprintf("%s: the description has no schema %q", path, s.Ref)}
		}
		return d.check(path, v, ref)
	}
	if v == nil {
		return nil // JSON null: an absent value
	}
	switch s.Type {
	case "any", "":
		return nil
	case "object":
		return d.checkObject(path, v, s)
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, the description says array", path, v)}
		}
		var bad []string
		for i, x := range arr {
			bad = append(bad, d.check(fmt.Sprintf("%s[%d]", path, i), x, s.Items)...)
		}
		return bad
	}
	return checkScalar(path, v, s)
}

func (d *discoDoc) checkObject(path string, v any, s *schema) []string {
	obj, ok := v.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s: %T, the description says object", path, v)}
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var bad []string
	for _, k := range keys {
		sub, ok := s.Properties[k]
		switch {
		case ok:
			bad = append(bad, d.check(path+"."+k, obj[k], sub)...)
		case s.AdditionalProperties != nil:
			bad = append(bad, d.check(path+"."+k, obj[k], s.AdditionalProperties)...)
		default:
			name := s.ID
			if name == "" {
				name = "its schema"
			}
			bad = append(bad, fmt.Sprintf("%s.%s: field not in %s", path, k, name))
		}
	}
	return bad
}

// checkScalar checks a string, integer, number or boolean. 64-bit
// integers travel as strings in Google's JSON.
func checkScalar(path string, v any, s *schema) []string {
	want := s.Type
	if want == "integer" && (s.Format == "int64" || s.Format == "uint64") {
		want = "string"
	}
	ok := false
	switch want {
	case "string":
		var str string
		str, ok = v.(string)
		if ok && len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
			return []string{fmt.Sprintf("%s: %q is not one of %v", path, str, s.Enum)}
		}
	case "integer", "number":
		_, ok = v.(float64)
	case "boolean":
		_, ok = v.(bool)
	}
	if !ok {
		return []string{fmt.Sprintf("%s: %T, the description says %s", path, v, want)}
	}
	return nil
}
