package strictyaml

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/goccy/go-yaml/token"
)

// FuzzPrescanIsAnUpperBound: on any text checkText lets through,
// prescan's token count is never below the number of tokens goccy's
// scanner makes, so the token limit holds before the scanner allocates
// them.
func FuzzPrescanIsAnUpperBound(f *testing.F) {
	files, _ := filepath.Glob("../../rules/catalog/testdata/catalog/*/*.yaml")
	more, _ := filepath.Glob("../config/testdata/*.yaml")
	for _, p := range append(files, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"[:::::]", "{a:a:a:a, b:b}", "- - - - x", "a: 'it''s' # c\nb: \"q\\\"x\" #d\n",
		"? a\n: b\n", "x: |\n  one two\n  three\n", "[a, [b, {c: d}], e]\n", "&a x: *a\n",
		"!!str a: !t b\n", "--- # doc\n...\n", "a:b: c\n", "{? a : b}", "[-1, - 2, -]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		data, e := checkText("f.yaml", data)
		if e != nil {
			return // never scanned
		}
		p := newPrescanner(data)
		for p.i < len(data) {
			p.step()
		}
		tokens, _ := lex(data, func(*token.Token) *Error { return nil })
		if n := len(tokens); n > p.tokens {
			t.Fatalf("prescan counted %d tokens, the lexer made %d", p.tokens, n)
		}
	})
}
