package github

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/nhiscan/nhiscan/collectors/github/githubfake"
)

// graphqlSchemaFile is GitHub's public GraphQL schema (introspection), as
// the pinned npm @octokit/graphql-schema ships it.
var graphqlSchemaFile = filepath.Join("conformance", "node_modules", "@octokit", "graphql-schema", "schema.json")

// selection is one field of a GraphQL query, with its arguments' names.
type selection struct {
	name   string
	args   []string
	fields []selection
}

// parseSelections reads the selection set of a query (the text from its
// first "{" after the variable definitions): names, arguments in
// parentheses, nested braces. Enough for the collector's one query.
func parseSelections(t *testing.T, q string) []selection {
	t.Helper()
	if i := strings.Index(q, ")"); i >= 0 && strings.HasPrefix(q, "query(") {
		q = q[i+1:]
	}
	toks := tokenize(q)
	pos := 0
	var set func() []selection
	set = func() []selection {
		if toks[pos] != "{" {
			t.Fatalf("query: want { at %q", toks[pos])
		}
		pos++
		var out []selection
		for toks[pos] != "}" {
			s := selection{name: toks[pos]}
			pos++
			if toks[pos] == "(" {
				depth := 0 // inside an input object value: its fields are not arguments
				for pos++; toks[pos] != ")"; pos++ {
					switch {
					case toks[pos] == "{":
						depth++
					case toks[pos] == "}":
						depth--
					case depth == 0 && toks[pos+1] == ":" && !strings.HasPrefix(toks[pos], "$"):
						s.args = append(s.args, toks[pos])
					}
				}
				pos++
			}
			if toks[pos] == "{" {
				s.fields = set()
			}
			out = append(out, s)
		}
		pos++
		return out
	}
	return set()
}

func tokenize(q string) []string {
	var toks []string
	for i := 0; i < len(q); {
		r := rune(q[i])
		switch {
		case unicode.IsSpace(r) || r == ',':
			i++
		case strings.ContainsRune("{}():!", r):
			toks = append(toks, string(r))
			i++
		default:
			j := i
			for j < len(q) && !unicode.IsSpace(rune(q[j])) && !strings.ContainsRune("{}():!,", rune(q[j])) {
				j++
			}
			toks = append(toks, q[i:j])
			i = j
		}
	}
	return toks
}

type gqlType struct {
	Kind   string     `json:"kind"`
	Name   string     `json:"name"`
	OfType *gqlType   `json:"ofType"`
	Fields []gqlField `json:"fields"`
}

type gqlField struct {
	Name string `json:"name"`
	Args []struct {
		Name string `json:"name"`
	} `json:"args"`
	Type gqlType `json:"type"`
}

func (t gqlType) named() string {
	for t.OfType != nil {
		t = *t.OfType
	}
	return t.Name
}

// TestGraphQLQueryAgainstSchema: every field and argument of the deploy
// key and environment query exists in GitHub's published GraphQL schema,
// on the type the field before it returns; and the fake's answer to it
// holds only fields the query asked for.
func TestGraphQLQueryAgainstSchema(t *testing.T) {
	b, err := os.ReadFile(graphqlSchemaFile)
	if err != nil {
		msg := fmt.Sprintf("GitHub's GraphQL schema: %v (run `npm ci` in collectors/github/conformance, as `make conformance` does)", err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var schema struct {
		Schema struct {
			Types []gqlType `json:"types"`
		} `json:"__schema"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	types := map[string]gqlType{}
	for _, ty := range schema.Schema.Types {
		types[ty.Name] = ty
	}
	sel := parseSelections(t, deployKeyQuery)
	var walk func(typeName string, sels []selection, at string)
	walk = func(typeName string, sels []selection, at string) {
		for _, s := range sels {
			f, ok := fieldOf(types[typeName], s.name)
			if !ok {
				t.Errorf("%s.%s: %s has no field %s", at, s.name, typeName, s.name)
				continue
			}
			for _, a := range s.args {
				if !hasArg(f, a) {
					t.Errorf("%s.%s: no argument %s", at, s.name, a)
				}
			}
			walk(f.Type.named(), s.fields, at+"."+s.name)
		}
	}
	walk("Query", sel, "query")
	if len(sel) != 1 || sel[0].name != "organization" || len(sel[0].fields) != 1 {
		t.Fatalf("parsed query %+v", sel)
	}
	checkFakeAnswer(t, sel)
}

func fieldOf(t gqlType, name string) (gqlField, bool) {
	for _, f := range t.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return gqlField{}, false
}

func hasArg(f gqlField, name string) bool {
	for _, a := range f.Args {
		if a.Name == name {
			return true
		}
	}
	return false
}

// checkFakeAnswer asks githubfake the query and checks that its answer
// holds only the fields asked for.
func checkFakeAnswer(t *testing.T, sel []selection) {
	t.Helper()
	srv := githubfake.New(githubfake.DemoWithKey(time.Now(), nil))
	defer srv.Close()
	body, _ := json.Marshal(map[string]any{"query": deployKeyQuery, "variables": map[string]any{"org": githubfake.DemoOrg, "cursor": nil}})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+githubfake.DemoToken)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct {
		Data map[string]any `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || answer.Data == nil {
		t.Fatalf("fake answer: %v", err)
	}
	var walk func(v any, sels []selection, at string)
	walk = func(v any, sels []selection, at string) {
		switch x := v.(type) {
		case []any:
			for i, e := range x {
				walk(e, sels, fmt.Sprintf("%s[%d]", at, i))
			}
		case map[string]any:
			asked := map[string][]selection{}
			for _, s := range sels {
				asked[s.name] = s.fields
			}
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				sub, ok := asked[k]
				if !ok {
					t.Errorf("githubfake: %s.%s was not asked for", at, k)
					continue
				}
				walk(x[k], sub, at+"."+k)
			}
		}
	}
	walk(answer.Data, sel, "data")
}
