package strictyaml_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/strictyaml"
)

type server struct {
	strictyaml.Meta
	Host  strictyaml.Str    `yaml:"host"`
	Port  *int              `yaml:"port"`
	TLS   *bool             `yaml:"tls"`
	Tags  strictyaml.StrMap `yaml:"tags" what:"tags"`
	Names []strictyaml.Str  `yaml:"names" what:"name"`
}

type doc struct {
	strictyaml.Meta
	Servers []server       `yaml:"servers" what:"server"`
	Owner   strictyaml.Str `yaml:"owner"`
}

func TestDecodeReportsEverything(t *testing.T) {
	const src = `servers:
  - host: a.example
    port: 8080
    tls: true
    tags: {env: prod}
    names: [x, y]
  - hots: b.example
    port: eighty
    tls: "yes"
    host: c
    host: d
owner: [me]
extra: 1
password: hunter2
`
	var d doc
	dec := strictyaml.Decoder{Root: "config", UnknownKey: func(k, in string) string {
		if k == "password" {
			return "inline " + k + " in " + in + " is not allowed"
		}
		return ""
	}}
	got := dec.Decode("f.yaml", []byte(src), &d)
	want := strictyaml.Errors{
		{File: "f.yaml", Line: 7, Col: 5, Msg: `unknown key "hots" in server (did you mean "host"?)`},
		{File: "f.yaml", Line: 8, Col: 11, Msg: `"port" must be an integer, got "eighty"`},
		{File: "f.yaml", Line: 9, Col: 10, Msg: `"tls" must be true or false, got "yes"`},
		{File: "f.yaml", Line: 11, Col: 5, Msg: `duplicate key "host" in server (first at line 10, col 5)`},
		{File: "f.yaml", Line: 12, Col: 8, Msg: `"owner" must be a string, got a list`},
		{File: "f.yaml", Line: 13, Col: 1, Msg: `unknown key "extra" in config`},
		{File: "f.yaml", Line: 14, Col: 1, Msg: `inline password in config is not allowed`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if strings.Contains((&got).Error(), "hunter2") {
		t.Error("a rejected key's value leaked into the errors")
	}
	if len(d.Servers) != 2 {
		t.Fatalf("decoded %d servers, want 2", len(d.Servers))
	}
	s := d.Servers[0]
	if s.Host.V != "a.example" || s.Host.P != (strictyaml.Pos{File: "f.yaml", Line: 2, Col: 11}) || *s.Port != 8080 || !*s.TLS {
		t.Errorf("first server = %+v", s)
	}
	if len(s.Tags) != 1 || s.Tags[0].Key.V != "env" || s.Tags[0].Val.V != "prod" || len(s.Names) != 2 {
		t.Errorf("first server tags/names = %+v %+v", s.Tags, s.Names)
	}
	if !s.Has("port") || s.Absent("port") || !d.Servers[1].Bad["port"] || d.Servers[1].Absent("port") {
		t.Errorf("meta wrong: %+v / %+v", s.Meta, d.Servers[1].Meta)
	}
	if d.Servers[1].Host.V != "c" {
		t.Errorf("second server host = %q, want the first of the duplicates", d.Servers[1].Host.V)
	}
	if !d.Absent("nothing") || d.At("nothing") != d.P || d.At("owner").Line != 12 {
		t.Errorf("Absent/At on a missing key: %+v", d.Meta)
	}
}

func TestDecodeSyntaxAndRoot(t *testing.T) {
	var d doc
	got := strictyaml.Decode("s.yaml", []byte("servers: [a\nowner: b\n"), &d)
	if len(got) != 1 || got[0].Line == 0 || !strings.HasPrefix(got[0].Msg, "yaml: ") {
		t.Errorf("syntax error = %v", got)
	}
	got = strictyaml.Decode("r.yaml", []byte("- a\n"), &d)
	want := strictyaml.Errors{{File: "r.yaml", Line: 1, Col: 1, Msg: "document must be a mapping, got a list"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("root error (-want +got):\n%s", diff)
	}
	if got := strictyaml.Decode("e.yaml", nil, &d); len(got) != 0 {
		t.Errorf("empty file: %v", got)
	}
}

func TestSortAndList(t *testing.T) {
	var l strictyaml.List
	if l.Err() != nil {
		t.Fatal("empty list returned an error")
	}
	l.Add(strictyaml.Pos{File: "b"}, "unreadable")
	l.Add(strictyaml.Pos{File: "a", Line: 2, Col: 1}, "second %d", 2)
	l.Add(strictyaml.Pos{File: "a", Line: 1, Col: 9}, "first")
	l.Add(strictyaml.Pos{File: "a", Line: 1, Col: 9}, "first")
	err := l.Err()
	want := "a:1:9: first\na:2:1: second 2\nb: unreadable"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

// TestSizeBudget: a large file without aliases decodes whatever its size,
// while aliases that multiply the work (a "billion laughs" file) stop at
// the budget with a positioned error.
func TestSizeBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString("servers:\n")
	for i := range 40_000 { // about 240,000 values
		b.WriteString("  - { host: h" + strings.Repeat("x", i%3) + ", names: [a, b, c] }\n")
	}
	var d doc
	if errs := strictyaml.Decode("big.yaml", []byte(b.String()), &d); len(errs) > 0 {
		t.Fatalf("large file: %v", errs[0])
	}
	if len(d.Servers) != 40_000 {
		t.Fatalf("decoded %d servers", len(d.Servers))
	}
	// 2,000 servers each naming one 2,000-name list: 4,000,000 values
	// from about 10,000 written.
	bomb := "owner: &a [" + strings.TrimSuffix(strings.Repeat("x, ", 2000), ", ") + "]\nservers:\n" +
		strings.Repeat("  - { names: *a }\n", 2000)
	var d2 doc
	errs := strictyaml.Decode("bomb.yaml", []byte(bomb), &d2)
	found := false
	for _, e := range errs {
		found = found || strings.Contains(e.Msg, "over the limit on alias expansion")
	}
	if !found {
		t.Errorf("alias bomb decoded without hitting the budget: %v", errs)
	}
}
