package strictyaml_test

import (
	"testing"

	"github.com/nhiscan/nhiscan/internal/strictyaml"
)

// FuzzDecode feeds arbitrary bytes to the decoder with small limits, so
// the fuzzer reaches them. It must never panic, and every problem must
// name the file with a sane position. Plain `go test` runs only the
// seeds; `make fuzz` searches.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"servers:\n  - host: a\n    port: 1\n    tags: {a: b}\n    names: [x, y]\nowner: me\n",
		"owner: &a x\nservers: [{host: *a, <<: {port: 2}}]\n",
		"a: &a [1]\nb: &b [*a, *a]\nservers: [*b, *b]\n",
		"servers: [[[[[[[[[[",
		"a: 1\nb: 2\nc: 3\nd: 4\ne: 5\n",
		"\xef\xbb\xbfowner: \x00\n",
		"--- \nowner: x\n---\nowner: y\n",
		"owner: !!binary AAAA\nservers: !!str [x]\n",
		"? a\n: b\n- c\n",
	} {
		f.Add([]byte(s))
	}
	dec := strictyaml.Decoder{Root: "doc", Limits: strictyaml.Limits{Depth: 6, Tokens: 400, Keys: 4, AliasExpansion: 2}}
	f.Fuzz(func(t *testing.T, data []byte) {
		var d doc
		for _, e := range dec.Decode("f.yaml", data, &d) {
			if e.File != "f.yaml" || e.Line < 0 || e.Col < 0 || (e.Line == 0) != (e.Col == 0) {
				t.Fatalf("bad error: %#v", e)
			}
		}
	})
}
