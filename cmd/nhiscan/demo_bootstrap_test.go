package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoCatalogBootstrap: the demo prints catalog coverage, and
// 'nhiscan catalog suggest' works on the demo database, from zero (with the
// demo's HR export) and beside the demo catalog; both drafts load.
func TestDemoCatalogBootstrap(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo")
	}
	c := newCLI(t)
	out := filepath.Join(c.dir, "demo")
	code, stdout, stderr := c.run("demo", "--out", out)
	if code != exitOK {
		t.Fatalf("demo = %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"catalog coverage (only observed facets count):", "identities mapped to a role", "with an active accountable owner",
		"entitlements within a baseline", "credentials under a credential policy", "since scan 1: mapped", "nhiscan catalog suggest --db"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, stdout)
		}
	}
	db := "--db=" + filepath.Join(out, "nhiscan.db")
	catDir := filepath.Join(out, "catalog")

	draft := filepath.Join(out, "catalog-draft.yaml")
	code, so, se := c.run("catalog", "suggest", db, "--people", filepath.Join(catDir, "people.csv"), "--out", draft)
	if code != exitOK {
		t.Fatalf("suggest from zero = %d\n%s%s", code, so, se)
	}
	if !strings.Contains(so, "draft: ") || strings.Contains(so, "draft: 0 roles") {
		t.Errorf("suggest from zero proposed nothing:\n%s", so)
	}
	body, _ := os.ReadFile(draft)
	for _, want := range []string{`- id: "nhiscan-audit"`, `business_owner: "grace.kim@acme.example"`, `people_files: ["catalog/people.csv"]`, "# TODO decide: privileged"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("draft lacks %q", want)
		}
	}
	if code, so, se := c.run("catalog", "validate", draft); code != exitOK {
		t.Errorf("the demo draft does not validate: %d\n%s%s", code, so, se)
	}
	// The draft as the catalog: coverage with it runs, and every identity
	// it maps has a role.
	code, so, se = c.run("catalog", "coverage", db, "--catalog", draft, "--format", "json")
	if code != exitOK {
		t.Fatalf("coverage with the draft = %d\n%s", code, se)
	}
	var cov struct {
		Total struct{ Identities, Mapped, OwnerActive int } `json:"total"`
	}
	if err := json.Unmarshal([]byte(so), &cov); err != nil {
		t.Fatal(err)
	}
	if cov.Total.Mapped == 0 || cov.Total.Mapped >= cov.Total.Identities {
		t.Errorf("the demo draft maps %d of %d identities", cov.Total.Mapped, cov.Total.Identities)
	}

	additions := filepath.Join(out, "catalog-additions.yaml")
	if code, so, se := c.run("catalog", "suggest", db, "--merge", catDir, "--out", additions); code != exitOK || !strings.Contains(so, "already mapped by the catalog") {
		t.Fatalf("suggest --merge = %d\n%s%s", code, so, se)
	}
	if code, so, se := c.run("catalog", "validate", catDir, additions); code != exitOK {
		t.Errorf("the demo catalog with the additions does not validate: %d\n%s%s", code, so, se)
	}
}
