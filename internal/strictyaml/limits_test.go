package strictyaml_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/strictyaml"
)

// one decodes src into a doc and returns the single error it expects.
func one(t *testing.T, dec strictyaml.Decoder, src string) strictyaml.Error {
	t.Helper()
	var d doc
	errs := dec.Decode("f.yaml", []byte(src), &d)
	if len(errs) != 1 {
		t.Fatalf("%d errors, want 1: %v", len(errs), errs)
	}
	return errs[0]
}

func TestNULAndInvalidUTF8AreRefusedWithTheirPosition(t *testing.T) {
	for src, want := range map[string]strictyaml.Error{
		"owner: a\x00b\n":             {File: "f.yaml", Line: 1, Col: 9, Msg: "NUL byte: a YAML file is text"},
		"owner: é\nservers: [\xff]\n": {File: "f.yaml", Line: 2, Col: 11, Msg: "invalid UTF-8 (byte 0xff): a YAML file must be UTF-8"},
		"\xef\xbb\xbfowner: \xc3\n":   {File: "f.yaml", Line: 1, Col: 8, Msg: "invalid UTF-8 (byte 0xc3): a YAML file must be UTF-8"},
	} {
		if diff := cmp.Diff(want, one(t, strictyaml.Decoder{}, src)); diff != "" {
			t.Errorf("%q (-want +got):\n%s", src, diff)
		}
	}
}

func TestAByteOrderMarkIsAccepted(t *testing.T) {
	var d doc
	if errs := strictyaml.Decode("f.yaml", []byte("\xef\xbb\xbfowner: me\n"), &d); len(errs) != 0 {
		t.Fatal(errs)
	}
	if d.Owner.V != "me" || d.Owner.P.Line != 1 || d.Owner.P.Col != 8 {
		t.Errorf("owner = %+v", d.Owner)
	}
}

func TestNestingDeeperThanTheLimitIsRefusedBeforeParsing(t *testing.T) {
	dec := strictyaml.Decoder{Limits: strictyaml.Limits{Depth: 5}}
	for name, tc := range map[string]struct {
		src       string
		line, col int
	}{
		"flow lists":    {"owner: " + strings.Repeat("[", 10), 1, 12},
		"flow mappings": {"owner: " + strings.Repeat("{a: ", 10), 1, 24},
		"block":         {"a:\n b:\n  c:\n   d:\n    e:\n     f:\n      g: 1\n", 6, 6},
		"block lists":   {"a:\n- - - - - x\n", 2, 9},
	} {
		got := one(t, dec, tc.src)
		want := strictyaml.Error{File: "f.yaml", Line: tc.line, Col: tc.col, Msg: "mappings and lists nested more than 5 levels deep: over the nesting limit"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	// Five levels are fine.
	var d doc
	if errs := dec.Decode("f.yaml", []byte("servers:\n  - tags: {a: b}\n    names: [x]\n"), &d); len(errs) != 0 {
		t.Errorf("within the limit: %v", errs)
	}
}

func TestKeysPerMappingAreLimited(t *testing.T) {
	dec := strictyaml.Decoder{Limits: strictyaml.Limits{Keys: 3}}
	want := "more than 3 keys in one mapping: over the limit for a mapping"
	for name, tc := range map[string]struct {
		src       string
		line, col int
	}{
		"block":           {"a: 1\nb: 2\nc: 3\nd: 4\n", 4, 1},
		"flow":            {"servers: [{a: 1, b: 2, c: 3, d: 4}]\n", 1, 31},
		"in a list entry": {"servers:\n  - host: a\n    port: 1\n    tls: true\n    tags: {}\n", 5, 5},
	} {
		got := one(t, dec, tc.src)
		if diff := cmp.Diff(strictyaml.Error{File: "f.yaml", Line: tc.line, Col: tc.col, Msg: want}, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	// Many list entries of few keys each, and the keys of sibling
	// mappings, do not add up.
	var b strings.Builder
	b.WriteString("servers:\n")
	for i := range 50 {
		fmt.Fprintf(&b, "  - host: h%d\n    port: %d\n    tags: {a: b, c: d}\n  - {host: x, port: 1, tls: true}\n", i, i)
	}
	b.WriteString("owner: me\n")
	var d doc
	if errs := dec.Decode("f.yaml", []byte(b.String()), &d); len(errs) != 0 {
		t.Errorf("many small mappings: %v", errs)
	}
	if len(d.Servers) != 100 || d.Owner.V != "me" {
		t.Errorf("decoded %d servers, owner %q", len(d.Servers), d.Owner.V)
	}
}

func TestTokensAreLimited(t *testing.T) {
	dec := strictyaml.Decoder{Limits: strictyaml.Limits{Tokens: 10}}
	got := one(t, dec, "servers: [a, b, c, d, e, f]\n")
	want := strictyaml.Error{File: "f.yaml", Line: 1, Col: 20, Msg: "more than 10 YAML tokens: over the limit for one file (split it into several files)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestAliasExpansionIsLimitedByWhatItExpands(t *testing.T) {
	// A billion laughs: nine levels of ten aliases each.
	var b strings.Builder
	b.WriteString("a0: &a0 [x]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d,", i-1), 10), ","))
	}
	b.WriteString("names: *a9\n")
	var deep struct {
		strictyaml.Meta
		Names [][][][][][][][][][]strictyaml.Str `yaml:"names"`
	}
	dec := strictyaml.Decoder{UnknownKey: func(string, string) string { return "" }}
	errs := dec.Decode("f.yaml", []byte(b.String()), &deep)
	var over []strictyaml.Error
	for _, e := range errs {
		if strings.Contains(e.Msg, "over the limit on alias expansion") {
			over = append(over, e)
		}
	}
	if len(over) != 1 {
		t.Fatalf("want one alias-expansion error, got %v", errs)
	}
	if !strings.Contains(over[0].Msg, "to more than 100") {
		t.Errorf("error = %v", over[0])
	}

	// Merge keys count too.
	b.Reset()
	b.WriteString("m0: &m0 {k0: 1, k1: 1, k2: 1, k3: 1, k4: 1, k5: 1, k6: 1, k7: 1, k8: 1, k9: 1}\n")
	for i := 1; i < 8; i++ {
		fmt.Fprintf(&b, "m%d: &m%d {<<: [%s]}\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*m%d,", i-1), 10), ","))
	}
	b.WriteString("servers: [{<<: *m7, host: h}]\n")
	var dd doc
	errs = dec.Decode("f.yaml", []byte(b.String()), &dd)
	found := false
	for _, e := range errs {
		found = found || strings.Contains(e.Msg, "over the limit on alias expansion")
	}
	if !found {
		t.Errorf("merge-key expansion not limited: %v", errs)
	}
}

func TestAnchorsReusedWithinTheLimitDecode(t *testing.T) {
	// A valid file without aliases decodes whatever its size, and one that
	// reuses an anchor in every entry is still far within the limit.
	var b strings.Builder
	b.WriteString("owner: &o me\nservers:\n")
	for i := range 5_000 {
		fmt.Fprintf(&b, "  - {host: h%d, tags: &t%d {a: b}, names: [*o]}\n", i, i)
	}
	var d doc
	if errs := strictyaml.Decode("f.yaml", []byte(b.String()), &d); len(errs) != 0 {
		t.Fatalf("%d errors, first %v", len(errs), errs[0])
	}
	if len(d.Servers) != 5_000 || d.Servers[4_999].Names[0].V != "me" {
		t.Errorf("decoded %d servers", len(d.Servers))
	}
}

func TestAnAliasNamesTheLastAnchorBeforeIt(t *testing.T) {
	var d doc
	src := "servers:\n  - {host: &h one, names: [*h]}\n  - {host: &h two, names: [*h]}\n"
	if errs := strictyaml.Decode("f.yaml", []byte(src), &d); len(errs) != 0 {
		t.Fatal(errs)
	}
	if d.Servers[0].Names[0].V != "one" || d.Servers[1].Names[0].V != "two" {
		t.Errorf("names %v %v", d.Servers[0].Names, d.Servers[1].Names)
	}
	errs := strictyaml.Decode("f.yaml", []byte("owner: *h\nservers: [{host: &h x}]\n"), &d)
	if len(errs) != 1 || errs[0].Msg != `unknown alias "*h"` {
		t.Errorf("alias before its anchor: %v", errs)
	}
}

func TestALargeDocumentWithoutAliasesDecodes(t *testing.T) {
	// The limit on alias expansion used to be a limit on every document's
	// size: 200,000 decoded nodes, which refused valid catalogs of 40,000
	// inline people or 120,000 roles.
	if testing.Short() {
		t.Skip("decodes 250,000 nodes")
	}
	src := "names: [" + strings.Repeat("x, ", 250_000) + "y]\n"
	var d struct {
		strictyaml.Meta
		Names []strictyaml.Str `yaml:"names"`
	}
	if errs := strictyaml.Decode("f.yaml", []byte(src), &d); len(errs) != 0 {
		t.Fatal(errs)
	}
	if len(d.Names) != 250_001 {
		t.Errorf("%d names", len(d.Names))
	}
}
