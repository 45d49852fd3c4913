package suggest

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
)

// FuzzQuote: every valid UTF-8 string survives a trip through quote and
// the YAML parser the catalog loader uses, and a quoted comment value never
// holds a line break.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "plain", `a"b\c`, "line\nbreak", "tab\tx", "\u2028\u2029\u0085\ufeff", "# not a comment", "key: value", "- item", "*alias", "&anchor", "!!tag", "{}[]", "\x00\x1f\x7f", "é😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			t.Skip()
		}
		var got map[string]string
		if err := yaml.Unmarshal([]byte("x: "+quote(s)+"\n"), &got); err != nil {
			t.Fatalf("quote(%q) = %s does not parse: %v", s, quote(s), err)
		}
		if got["x"] != s {
			t.Fatalf("quote(%q) = %s reads back as %q", s, quote(s), got["x"])
		}
		if c := ascii(s); strings.ContainsAny(c, "\r\n\u2028\u2029\u0085") {
			t.Fatalf("ascii(%q) = %q holds a line break", s, c)
		}
	})
}
