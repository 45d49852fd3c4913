package catalog_test

import (
	"bytes"
	"os"
	"regexp"
	"testing"
	"testing/fstest"

	"github.com/nhiscan/nhiscan/rules/catalog"
)

// TestDocumentedExample keeps docs/catalog.md true: the files of its
// "Complete example" load without error as a catalog.
func TestDocumentedExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/catalog.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)`catalog/([^`]+)`:\n\n```[a-z]*\n(.*?)```").FindAllSubmatch(doc, -1)
	fsys := fstest.MapFS{}
	for _, b := range blocks {
		fsys["catalog/"+string(b[1])] = &fstest.MapFile{Data: b[2]}
	}
	for _, want := range []string{"catalog/catalog.yaml", "catalog/hr/people.csv", "catalog/roles-gcp.yml"} {
		if fsys[want] == nil {
			t.Fatalf("docs/catalog.md has no %s block (found %d blocks)", want, len(blocks))
		}
	}
	c, err := catalog.LoadFS(fsys, evalTime, "catalog")
	if err != nil {
		t.Fatalf("the documented example does not load:\n%v", err)
	}
	if len(c.Roles) != 2 || len(c.Exceptions) != 1 || len(c.People) != 6 {
		t.Errorf("documented example loaded %d roles, %d exceptions, %d people", len(c.Roles), len(c.Exceptions), len(c.People))
	}
}

// TestDocumentedSCIMExample keeps the SCIM example of docs/catalog.md
// readable.
func TestDocumentedSCIMExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/catalog.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)### SCIM JSON export.*?```json\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/catalog.md has no SCIM JSON example")
	}
	people, err := catalog.ReadPeopleJSON("people.json", bytes.NewReader(m[1]))
	if err != nil {
		t.Fatalf("the documented SCIM example does not read:\n%v", err)
	}
	if len(people) != 2 || people[1].Manager != "carol@acme.example" || people[1].Status != "departed" {
		t.Errorf("documented SCIM example read as %+v", people)
	}
}
