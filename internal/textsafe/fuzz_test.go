package textsafe_test

import (
	"encoding/json"
	"testing"

	"github.com/nhiscan/nhiscan/internal/textsafe"
	"github.com/nhiscan/nhiscan/internal/textsafe/textsafetest"
)

// FuzzTextsafe: whatever the input, Term and Text carry nothing raw, and
// JSON keeps the value encoding/json wrote while carrying nothing raw.
func FuzzTextsafe(f *testing.F) {
	for _, p := range textsafetest.Payloads {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if r := textsafetest.Raw(textsafe.Term(s), false); r != "" {
			t.Fatalf("Term(%q) carries %s", s, r)
		}
		if r := textsafetest.Raw(textsafe.Text(s), true); r != "" {
			t.Fatalf("Text(%q) carries %s", s, r)
		}
		raw, _ := json.Marshal(s)
		safe := textsafe.JSON(raw)
		if r := textsafetest.Raw(string(safe), false); r != "" {
			t.Fatalf("JSON(%q) carries %s", s, r)
		}
		var a, b string
		if json.Unmarshal(raw, &a) != nil || json.Unmarshal(safe, &b) != nil || a != b {
			t.Fatalf("JSON(%q) changed the value: %q, %q", s, a, b)
		}
	})
}
