package textsafe_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/internal/textsafe"
	"github.com/nhiscan/nhiscan/internal/textsafe/textsafetest"
)

// Hostile are the shared payloads and a line-layout one.
var Hostile = append(append([]string(nil), textsafetest.Payloads...), "tab\tnl\ncr\r")

// bad reports whether s carries a character no output may show raw.
func bad(s string, keep bool) (string, bool) {
	r := textsafetest.Raw(s, keep)
	return r, r != ""
}

func TestTerm(t *testing.T) {
	for in, want := range map[string]string{
		"plain name":        "plain name",
		"\u202eevil#name18": `\u202eevil#name18`,
		"a\x1b[2Jb":         `a\x1b[2Jb`,
		"\u009b31m":         `\x9b31m`,
		"tab\tnl\n":         `tab\x09nl\x0a`,
		"bad\xff":           `bad\ufffd`,
		"x\u2066y\u2028":    `x\u2066y\u2028`,
		"café ☕ 日本":         "café ☕ 日本",
	} {
		if got := textsafe.Term(in); got != want {
			t.Errorf("Term(%q) = %q, want %q", in, got, want)
		}
	}
	for _, h := range Hostile {
		if r, ok := bad(textsafe.Term(h), false); ok {
			t.Errorf("Term(%q) carries %s", h, r)
		}
	}
}

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"plain":             "plain",
		"tab\tnl\ncr\r":     "tab\tnl\ncr\r",
		"\u202eevil#name18": `\u202eevil#name18`,
		"a\x1b[2J":          `a\x1b[2J`,
		"\u009b \u0085":     `\x9b \x85`,
		"nul\x00del\x7f":    `nul\x00del\x7f`,
		"bad\xff":           `bad\ufffd`,
		"日本 ☕":              "日本 ☕",
	} {
		if got := textsafe.Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
	for _, h := range Hostile {
		if r, ok := bad(textsafe.Text(h), true); ok {
			t.Errorf("Text(%q) carries %s", h, r)
		}
	}
}

func TestJSONKeepsTheValueAndDropsTheRawCharacters(t *testing.T) {
	for _, h := range Hostile {
		raw, err := json.Marshal(map[string]string{"name": h})
		if err != nil {
			t.Fatal(err)
		}
		got := textsafe.JSON(raw)
		if r, ok := bad(string(got), false); ok {
			t.Errorf("JSON(%q) carries %s: %s", h, r, got)
		}
		var back, want map[string]string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		_ = json.Unmarshal(raw, &want)
		if back["name"] != want["name"] {
			t.Errorf("JSON(%q) changed the value: %q, want %q", h, back["name"], want["name"])
		}
	}
	if got := string(textsafe.JSON([]byte(`{"a":"\u009b"}`))); got != `{"a":"\u009b"}` {
		t.Errorf("escaped input changed: %s", got)
	}
	if got := string(textsafe.JSON([]byte("{\"a\":\"\u202e\u009b\u007f\"}"))); got != `{"a":"\u202e\u009b\u007f"}` {
		t.Errorf("raw input: %s", got)
	}
}

func TestWritersMatchTheFunctionsWhateverTheSplit(t *testing.T) {
	in := strings.Join(Hostile, "|") + "日本\u202e"
	for split := range len(in) + 1 {
		var b bytes.Buffer
		w := textsafe.NewWriter(&b)
		for _, part := range []string{in[:split], in[split:]} {
			if n, err := w.Write([]byte(part)); err != nil || n != len(part) {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if want := textsafe.Text(in); b.String() != want {
			t.Fatalf("split at %d:\n got %q\nwant %q", split, b.String(), want)
		}
		b.Reset()
		jw := textsafe.NewJSONWriter(&b)
		js, _ := json.Marshal(in)
		js = append(js, []byte("\u202e")...) // a raw rune outside a string, as a log line could not carry
		for _, part := range [][]byte{js[:min(split, len(js))], js[min(split, len(js)):]} {
			if _, err := jw.Write(part); err != nil {
				t.Fatal(err)
			}
		}
		if want := string(textsafe.JSON(js)); b.String() != want {
			t.Fatalf("JSON split at %d:\n got %q\nwant %q", split, b.String(), want)
		}
	}
	// An incomplete character at the very end is escaped by Flush.
	var b bytes.Buffer
	w := textsafe.NewWriter(&b)
	_, _ = w.Write([]byte("x\xe2\x80"))
	if b.String() != "x" {
		t.Errorf("before Flush: %q", b.String())
	}
	_ = w.Flush()
	if b.String() != `x\ufffd\ufffd` {
		t.Errorf("after Flush: %q", b.String())
	}
}
