package config

import (
	"os"
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/internal/strictyaml"
)

// TestEnvVarsDocumented: every variable Load reads has the NHISCAN_ prefix,
// names a key of the file format, and appears in docs/configuration.md.
func TestEnvVarsDocumented(t *testing.T) {
	data, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	seen := map[string]bool{}
	for _, e := range envVars {
		if !strings.HasPrefix(e.name, "NHISCAN_") {
			t.Errorf("%s lacks the NHISCAN_ prefix", e.name)
		}
		if seen[e.name] {
			t.Errorf("%s is listed twice", e.name)
		}
		seen[e.name] = true
		if !strings.Contains(doc, "`"+e.name+"`") {
			t.Errorf("%s is not documented in docs/configuration.md", e.name)
		}
		// apply panics on a path that is not a key of the file format.
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: %v", e.name, r)
				}
			}()
			var fc fileConfig
			var errs strictyaml.List
			e.apply(&fc, str{V: "true", Set: true}, &errs)
		}()
	}
}
