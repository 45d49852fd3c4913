package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// bootstrapInventory writes an estate with two groupable functions, a
// privileged grant, and a gap hiding one account's managed policies.
func bootstrapInventory(t *testing.T, dir string, at time.Time) string {
	t.Helper()
	inv := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: at,
		Scopes: []nhi.Scope{{Provider: nhi.AWS, ID: "111111111111"}, {Provider: nhi.AWS, ID: "222222222222"}},
		Gaps: []nhi.Gap{{Provider: nhi.AWS, Scope: "222222222222", Source: "iam:ListAttachedRolePolicies", Kind: nhi.GapDenied,
			Facets: []nhi.Facet{nhi.GrantsFacet("managed-policy")}}},
	}
	add := func(native, scope, name string, tags map[string]string, ents ...string) {
		id := nhi.Identity{ID: nhi.MakeID(nhi.AWS, native), Provider: nhi.AWS, Kind: nhi.KindAWSRole, NativeID: native, Name: name, Scope: scope,
			Status: nhi.StatusActive, Tags: tags, Usage: nhi.Usage{State: nhi.UsageNotReported}}
		for _, e := range ents {
			g := nhi.Grant{ID: "managed-policy:" + e, Kind: "managed-policy", Entitlement: e, Scope: scope, Privilege: nhi.PrivRead, Privileged: nhi.JudgedNotPrivileged}
			if strings.HasSuffix(e, "AdministratorAccess") {
				g.Privileged, g.Reason = nhi.JudgedPrivileged, "AdministratorAccess"
			}
			id.Grants = append(id.Grants, g)
		}
		inv.Identities = append(inv.Identities, id)
	}
	owner := func(o string) map[string]string { return map[string]string{"app": "orders", "owner": o} }
	add("AROA1", "111111111111", "orders-web-1", owner("alice@acme.example"), "arn:aws:iam::aws:policy/ReadOnlyAccess")
	add("AROA2", "111111111111", "orders-web-2", owner("alice@acme.example"), "arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/AdministratorAccess")
	add("AROA3", "222222222222", "orders-web-3", owner("alice@acme.example"), "arn:aws:iam::aws:policy/ReadOnlyAccess")
	add("AROA4", "111111111111", "billing-sync-1", nil, "arn:aws:iam::111111111111:policy/billing")
	add("AROA5", "111111111111", "billing-sync-2", nil, "arn:aws:iam::111111111111:policy/billing")
	add("AROA6", "111111111111", "platform-deployer", nil, "arn:aws:iam::aws:policy/ReadOnlyAccess")
	inv.Normalize()
	path := filepath.Join(dir, "estate.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := nhi.Encode(f, inv); err != nil {
		t.Fatal(err)
	}
	return path
}

func putFile(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCatalogSuggest drafts a catalog from a stored scan: it is written,
// loads, never overwrites, goes to standard output on request, resolves
// owners with --people, and proposes only additions with --merge.
func TestCatalogSuggest(t *testing.T) {
	c := newCLI(t)
	db := "--db=" + c.db()
	if code, _, errs := c.run("catalog", "suggest", db); code != exitUsage || !strings.Contains(errs, "does not exist") {
		t.Fatalf("suggest without a database = %d: %s", code, errs)
	}
	cat := "--catalog=" + testdata("catalog.yaml")
	if code, out, errs := c.run("scan", db, cat, "--inventory", bootstrapInventory(t, c.dir, c.now)); code != exitOK {
		t.Fatalf("scan = %d\n%s%s", code, out, errs)
	}
	people := putFile(t, filepath.Join(c.dir, "hr", "people.csv"), "email,status,team\nalice@acme.example,active,orders\n")
	draft := filepath.Join(c.dir, "drafts", "draft.yaml")
	if err := os.MkdirAll(filepath.Dir(draft), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, errs := c.run("catalog", "suggest", db, "--out", draft, "--people", people)
	if code != exitOK {
		t.Fatalf("suggest = %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"draft: 2 roles mapping 5 of 6 identities considered (83.3%)", "1 privileged", "written " + draft} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	body, err := os.ReadFile(draft)
	if err != nil {
		t.Fatal(err)
	}
	y := string(body)
	for _, want := range []string{`people_files: ["../hr/people.csv"]`, `- id: "orders"`, `business_owner: "alice@acme.example"`,
		`# - { provider: "aws", entitlement: "arn:aws:iam::aws:policy/AdministratorAccess", scope: "111111111111", privileged: true }`,
		"The grants of 1 member(s) were not fully observed", `"aws platform-deployer"`} {
		if !strings.Contains(y, want) {
			t.Errorf("draft lacks %q:\n%s", want, y)
		}
	}
	if code, out, errs := c.run("catalog", "validate", draft); code != exitOK {
		t.Errorf("the draft does not validate: %d\n%s%s", code, out, errs)
	}
	// Never overwrite: the draft stays as it was.
	if code, _, errs := c.run("catalog", "suggest", db, "--out", draft); code != exitUsage || !strings.Contains(errs, "never overwrites") {
		t.Errorf("second suggest = %d: %s", code, errs)
	}
	if again, _ := os.ReadFile(draft); string(again) != y {
		t.Error("the draft changed")
	}
	// Standard output: the YAML there, the summary on stderr.
	code, out, errs = c.run("catalog", "suggest", db, "--out", "-")
	if code != exitOK || !strings.HasPrefix(out, "# nhiscan catalog draft") || !strings.Contains(errs, "written to standard output") {
		t.Errorf("suggest --out - = %d\n%s\n%s", code, out, errs)
	}
	if _, err := catalog.LoadFS(os.DirFS(c.dir), c.now, writeRel(t, c.dir, "stdout.yaml", out)); err != nil {
		t.Errorf("the standard-output draft does not load: %v", err)
	}
}

func writeRel(t *testing.T, dir, name, body string) string {
	putFile(t, filepath.Join(dir, name), body)
	return name
}

func TestCatalogSuggestMerge(t *testing.T) {
	c := newCLI(t)
	db := "--db=" + c.db()
	catDir := filepath.Join(c.dir, "catalog")
	putFile(t, filepath.Join(catDir, "catalog.yaml"), `people:
  - { id: alice@acme.example, status: active, team: orders }
roles:
  - id: orders
    purpose: the orders web tier
    business_owner: alice@acme.example
    members: [{ provider: aws, tags: { app: orders } }]
`)
	if code, out, errs := c.run("scan", db, "--catalog", catDir, "--inventory", bootstrapInventory(t, c.dir, c.now)); code != exitOK {
		t.Fatalf("scan = %d\n%s%s", code, out, errs)
	}
	if code, _, errs := c.run("catalog", "suggest", db, "--merge", catDir, "--people", "x.csv"); code != exitUsage {
		t.Errorf("--merge with --people = %d: %s", code, errs)
	}
	code, out, errs := c.run("catalog", "suggest", db, "--merge", catDir, "--out", filepath.Join(c.dir, "additions.yaml"))
	if code != exitOK {
		t.Fatalf("suggest --merge = %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(out, "3 identities already mapped by the catalog were left out") || !strings.Contains(out, "draft: 1 roles mapping 2 of 3") {
		t.Errorf("merge summary:\n%s", out)
	}
	// Moved into the catalog, it loads and maps the rest.
	body, _ := os.ReadFile(filepath.Join(c.dir, "additions.yaml"))
	putFile(t, filepath.Join(catDir, "additions.yaml"), string(body))
	code, out, errs = c.run("catalog", "coverage", db, "--catalog", catDir, "--format", "json")
	if code != exitOK {
		t.Fatalf("coverage = %d\n%s", code, errs)
	}
	var cov struct {
		Total struct {
			Identities, Mapped int
		} `json:"total"`
	}
	if err := json.Unmarshal([]byte(out), &cov); err != nil {
		t.Fatal(err)
	}
	if cov.Total.Identities != 6 || cov.Total.Mapped != 5 {
		t.Errorf("with the additions %d of %d identities mapped, want 5 of 6", cov.Total.Mapped, cov.Total.Identities)
	}
}

// TestCatalogCoverage: counts, the trend over stored scans, what was not
// observed, and every format.
func TestCatalogCoverage(t *testing.T) {
	c := newCLI(t)
	db := "--db=" + c.db()
	cat := "--catalog=" + testdata("catalog.yaml")
	for i, inv := range []string{testdata("scan1.json"), bootstrapInventory(t, c.dir, c.now)} {
		if code, out, errs := c.run("scan", db, cat, "--inventory", inv); code != exitOK {
			t.Fatalf("scan %d = %d\n%s%s", i+1, code, out, errs)
		}
		c.now = c.now.Add(24 * time.Hour)
	}
	code, out, errs := c.run("catalog", "coverage", db, cat)
	if code != exitOK {
		t.Fatalf("coverage = %d\n%s", code, errs)
	}
	for _, want := range []string{"Catalog coverage of scan 2", "Only observed facets count", "all     6",
		"1/6 16.7%", // platform-deployer is the only mapped identity
		"scan 1 2026-11-26T12:00:00Z", "scan 2 2026-11-27T12:00:00Z",
		"aws 222222222222 grants:managed-policy: iam:ListAttachedRolePolicies denied"} {
		if !strings.Contains(out, want) {
			t.Errorf("coverage lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = c.run("catalog", "coverage", db, cat, "--format", "csv", "--scan", "1", "--trend", "0")
	if code != exitOK {
		t.Fatalf("coverage csv = %d", code)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 2 || rows[1][0] != "1" || rows[1][2] != "total" || rows[1][6] != "2" {
		t.Errorf("csv rows: %v", rows)
	}
	for _, args := range [][]string{
		{"catalog", "coverage", db, cat, "--format", "xml"},
		{"catalog", "coverage", db},
		{"catalog", "coverage", db, cat, "--scan", "9"},
		{"catalog", "coverage", db, cat, "--trend", "-1"},
	} {
		if code, _, errs := c.run(args...); code != exitUsage {
			t.Errorf("%v = %d, want %d: %s", args, code, exitUsage, errs)
		}
	}
	// The HTML report carries the same coverage.
	report := filepath.Join(c.dir, "report.html")
	if code, _, errs := c.run("report", db, cat, "--out", report); code != exitOK {
		t.Fatalf("report = %d: %s", code, errs)
	}
	html, _ := os.ReadFile(report)
	for _, want := range []string{`id="governance-h"`, "Identities mapped to a role", "16.7%", "Trend over stored scans"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
