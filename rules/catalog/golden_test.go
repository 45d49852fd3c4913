package catalog_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/rules/catalog"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// evalTime is the evaluation time every catalog test loads with.
var evalTime = time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)

// TestInvalidGolden loads each testdata/catalog/invalid entry (a YAML file
// or a directory) and compares the complete error output with its .golden
// file.
func TestInvalidGolden(t *testing.T) {
	const dir = "testdata/catalog/invalid"
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fsys := os.DirFS(dir)
	n := 0
	for _, e := range ents {
		name := e.Name()
		if !e.IsDir() && !strings.HasSuffix(name, ".yaml") {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			c, err := catalog.LoadFS(fsys, evalTime, name)
			if err == nil {
				t.Fatalf("loaded %d roles; want errors", len(c.Roles))
			}
			var es *catalog.Errors
			if !errors.As(err, &es) {
				t.Fatalf("error is %T, want *catalog.Errors: %v", err, err)
			}
			got := err.Error() + "\n"
			golden := filepath.Join(dir, strings.TrimSuffix(name, ".yaml")+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("errors differ from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
	if n < 5 {
		t.Fatalf("found %d invalid examples; the testdata is missing", n)
	}
}
