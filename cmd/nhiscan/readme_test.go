package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEExamples keeps the README true: its configuration example
// loads, and its catalog example validates with the demo's HR export as
// hr/people.csv.
func TestREADMEExamples(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	if len(blocks) < 2 {
		t.Fatalf("README has %d yaml blocks, want the configuration and the catalog", len(blocks))
	}
	c := newCLI(t)
	cfg := filepath.Join(c.dir, "nhiscan.yaml")
	writeFile(t, cfg, blocks[0][1])
	// findings loads the configuration first; the database it names does
	// not exist here, which is the only complaint expected.
	if code, _, errs := c.run("findings", "--config", cfg); code != exitUsage || !strings.Contains(errs, "/var/lib/nhiscan/nhiscan.db does not exist") {
		t.Errorf("README configuration example: exit %d\n%s", code, errs)
	}
	people, err := os.ReadFile(filepath.Join("demo", "people.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(c.dir, "hr"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(c.dir, "hr", "people.csv"), string(people))
	catalog := filepath.Join(c.dir, "catalog.yaml")
	writeFile(t, catalog, blocks[1][1])
	if code, out, errs := c.run("catalog", "validate", catalog); code != exitOK {
		t.Errorf("README catalog example: exit %d\n%s%s", code, out, errs)
	}
}
