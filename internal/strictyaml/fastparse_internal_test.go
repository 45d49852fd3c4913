package strictyaml

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml/ast"
)

// The fast path must build what goccy's parser builds, as far as the
// decoder can see: each node's kind, scalar text, typed value and
// position. These tests hold it to that on every YAML file of the
// repository and on the fuzzer's inputs.

// observe renders what the decoder reads of a tree.
func observe(n ast.Node, b *strings.Builder, indent string) {
	pos := nodePos("f", n)
	switch x := n.(type) {
	case *ast.MappingValueNode:
		observe(&ast.MappingNode{Values: []*ast.MappingValueNode{x}}, b, indent)
	case *ast.MappingNode:
		fmt.Fprintf(b, "%smapping %s\n", indent, pos)
		for _, mv := range x.Values {
			k, _ := scalar(mv.Key)
			fmt.Fprintf(b, "%s key %q %T %s\n", indent, k, mv.Key, nodePos("f", mv.Key))
			if _, null := mv.Value.(*ast.NullNode); null {
				// The decoder places a null value at its key.
				fmt.Fprintf(b, "%s  null\n", indent)
				continue
			}
			observe(mv.Value, b, indent+"  ")
		}
	case *ast.SequenceNode:
		fmt.Fprintf(b, "%slist %s\n", indent, pos)
		for _, e := range x.Values {
			observe(e, b, indent+"  ")
		}
	default:
		s, ok := scalar(n)
		v, isInt := intValue(n)
		bv, isBool := n.(*ast.BoolNode)
		fmt.Fprintf(b, "%s%T %q %v int=%v,%v bool=%v %s\n", indent, n, s, ok, v, isInt, isBool && bv.Value, pos)
	}
}

// agree checks that when the fast path takes text, goccy parses it without
// a problem into a tree the decoder reads alike.
func agree(t *testing.T, name string, text []byte) {
	t.Helper()
	agreeWithin(t, name, text, DefaultLimits)
}

// agreeWithin is agree under limits lim: a document the fast path takes
// is within every limit goccy's limiter holds it to.
func agreeWithin(t *testing.T, name string, text []byte, lim Limits) {
	t.Helper()
	fast, ok := fastParse(text, lim)
	if !ok {
		return
	}
	var errs List
	exact := exactParse("f", text, lim, &errs)
	if len(errs.Errs) > 0 || exact == nil {
		t.Fatalf("%s: the fast path took a document goccy refuses: %v", name, errs.Errs)
	}
	var a, b strings.Builder
	observe(fast, &a, "")
	observe(exact, &b, "")
	if a.String() != b.String() {
		t.Fatalf("%s: the fast path reads the document otherwise than goccy\nfast:\n%s\ngoccy:\n%s", name, a.String(), b.String())
	}
}

func TestFastPathAgreesOnRepositoryFiles(t *testing.T) {
	n := 0
	err := filepath.WalkDir("../..", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && (e.Name() == "node_modules" || e.Name() == ".git") {
			return filepath.SkipDir
		}
		if ext := filepath.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		text, e2 := checkText(p, data)
		if e2 != nil {
			return nil
		}
		agree(t, p, text)
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("only %d YAML files found", n)
	}
}

func TestFastPathAgreesOnEdgeCases(t *testing.T) {
	for _, s := range []string{
		"a: 1\nb: 0x1F\nc: 0o17\nd: 1_000\ne: 1e3\nf: .inf\ng: -.Inf\nh: .nan\ni: ~\nj:\nk: null\nl: True\nm: yes\nn: 2147483648\n",
		"a: 'q''uoted'\nb: \"esc\\taped \\u00e9\"\nc: |\n  literal\n  text\nd: >-\n  folded\n  text\n\ne: plain\n  continued\n",
		"é: ünïcödé\nlist:\n- x\n- y:  z\n  w: [1, {a: b}]\n-   - nested\n",
		"a: {b: c, d: [e, f]}\n\"quoted key\": 1\n? explicit\n: value\n",
		"a:\r\n  b: c\r\n",
		"---\na: b\n...\n",
		"a: b # comment\n# only\nc: d\n",
		"a: 'x'\nb: \"\"\nc: ''\n",
		"a:\n  - {id: x, v: 1}\n  - {id: y, v: true}\n",
		"a:\t1\n",
		"\"1\": a\n2: b\ntrue: c\n",
	} {
		agree(t, fmt.Sprintf("%q", s), []byte(s))
	}
}

// FuzzFastPathAgrees holds the fast path to goccy on arbitrary input.
func FuzzFastPathAgrees(f *testing.F) {
	for _, s := range []string{
		"a: 1\nb: [x, {c: d}]\n",
		"a: |\n  x\n\n  y\nb: >\n  z\n",
		"a: 'x'\n\"b\": \"y\\n\"\n",
		"- a\n- b\n",
		"a:\n- b: c\n  d: e\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		text, e := checkText("f", data)
		if e != nil || prescan("f", text, DefaultLimits) != nil {
			return
		}
		agree(t, "input", text)
		agreeWithin(t, "input (small limits)", text, Limits{Depth: 4, Tokens: DefaultLimits.Tokens, Keys: 3, AliasExpansion: 2})
	})
}

// TestFastPathTakesCatalogs: the shapes of a large catalog (block lists of
// mappings, flow mappings, quoted strings, block scalars) take the fast
// path; otherwise a 100,000-role file would be parsed by goccy again.
func TestFastPathTakesCatalogs(t *testing.T) {
	for _, s := range []string{
		"people:\n  - { id: p@acme.example, name: P, status: active, team: t }\n",
		"roles:\n  - id: r\n    purpose: |\n      Deploys.\n    allowed:\n      - { provider: aws, entitlement: \"arn:aws:iam::aws:policy/P\" }\n" +
			"    members:\n      - { provider: aws, kind: aws-iam-role, name: \"svc-*\" }\n",
	} {
		if _, ok := fastParse([]byte(s), DefaultLimits); !ok {
			t.Errorf("the fast path refused %q", s)
		}
	}
}

// TestFastPathProblemLeavesTheDocAsGoccyWould: a document whose fast decode
// finds a problem is decoded again by goccy into the doc as the caller
// passed it (fields set beforehand stay unless the file sets them).
func TestFastPathProblemLeavesTheDocAsGoccyWould(t *testing.T) {
	type item struct {
		Meta
		Name Str `yaml:"name"`
	}
	type doc struct {
		Meta
		Owner Str    `yaml:"owner"`
		Items []item `yaml:"items"`
	}
	src := []byte("items:\n  - name: a\n  - nmae: b\n")
	if _, ok := fastParse(src, DefaultLimits); !ok {
		t.Fatal("the fast path refused the document")
	}
	d := doc{Owner: Str{V: "preset", Set: true}}
	errs := Decode("f.yaml", src, &d)
	if len(errs) != 1 || errs[0].Line != 3 || errs[0].Col != 5 {
		t.Fatalf("errors = %v, want one at 3:5", errs)
	}
	if d.Owner.V != "preset" || len(d.Items) != 2 || d.Items[0].Name.V != "a" {
		t.Fatalf("doc = %+v", d)
	}
}
