package catalog_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/nhiscan/nhiscan/rules/catalog"
)

// FuzzLoad feeds arbitrary bytes to the loader as a catalog file (and as the
// HR CSV it may name). It must never panic, and must return either a
// catalog or *catalog.Errors whose every entry names a file. Plain `go test`
// runs only the seeds; run `go test -fuzz FuzzLoad ./rules` to search.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/catalog/*/*.yaml")
	more, _ := filepath.Glob("testdata/catalog/*/*/*.y*ml")
	csv, _ := os.ReadFile("testdata/catalog/valid/full/hr/people.csv")
	for _, p := range append(seeds, more...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, csv)
	}
	f.Add([]byte("people_csv: hr.csv\n"), []byte("email,status\na@x.example,active\n"))
	f.Add([]byte("roles: &r [*r]\n"), []byte{})
	f.Add([]byte("a: &a [1]\nb: &b [*a, *a]\nroles: [*b, *b]\n"), []byte{})
	f.Add([]byte("roles: [{ <<: *x }]\n"), []byte("\"\n"))
	f.Fuzz(func(t *testing.T, yamlData, csvData []byte) {
		fsys := fstest.MapFS{
			"c.yaml": {Data: yamlData},
			"hr.csv": {Data: csvData},
		}
		c, err := catalog.LoadFS(fsys, evalTime, "c.yaml")
		if err == nil {
			if c == nil || len(c.Files) == 0 || c.Hash == "" {
				t.Fatalf("nil error but catalog %+v", c)
			}
			return
		}
		var es *catalog.Errors
		if !errors.As(err, &es) {
			t.Fatalf("error %T is not *catalog.Errors: %v", err, err)
		}
		if c != nil {
			t.Fatal("both a catalog and errors")
		}
		if len(*es) == 0 {
			t.Fatal("empty *catalog.Errors")
		}
		for _, e := range *es {
			if e.File != "c.yaml" && e.File != "hr.csv" {
				t.Fatalf("error names file %q: %v", e.File, e)
			}
			if e.Line < 0 || e.Col < 0 || (e.Line == 0) != (e.Col == 0) {
				t.Fatalf("bad position: %v", e)
			}
		}
	})
}
