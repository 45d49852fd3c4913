package catalog_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/nhiscan/nhiscan/rules/catalog"
)

// loadErrs loads paths and returns the problems, failing unless there
// are some.
func loadErrs(t *testing.T, paths ...string) []string {
	t.Helper()
	_, err := catalog.Load(evalTime, paths...)
	var es *catalog.Errors
	if !errors.As(err, &es) {
		t.Fatalf("Load(%v) = %v, want *catalog.Errors", paths, err)
	}
	var out []string
	for _, e := range *es {
		out = append(out, e.Error())
	}
	return out
}

func wantOne(t *testing.T, got []string, want string) {
	t.Helper()
	if len(got) != 1 || got[0] != want {
		t.Errorf("errors %q, want [%q]", got, want)
	}
}

func TestCatalogFilesOverTheSizeLimitAreRefused(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// A sparse file: no disk space, but 65 MiB to read.
	if err := f.Truncate(catalog.MaxFileSize + 1<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	wantOne(t, loadErrs(t, big), big+": read "+big+": over the size limit of 64 MiB for one catalog or HR CSV file (it is 65 MiB)")
	_, err = catalog.ReadPeopleCSV("hr.csv", &zeros{})
	if err == nil || err.Error() != "hr.csv: read: over the size limit of 64 MiB for one catalog or HR CSV file" {
		t.Errorf("ReadPeopleCSV of an endless stream: %v", err)
	}
}

// zeros is an endless stream of zero bytes, as /dev/zero reads.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestHRCSVMustBeUTF8TextWithoutNUL(t *testing.T) {
	for in, want := range map[string]string{
		"email,status\na@x.example,act\x00ive\n":       "hr.csv:2:16: NUL byte: the file must be text",
		"email,status\nb@x.example,active\n\xff,\n":    "hr.csv:3:1: invalid UTF-8 (byte 0xff): the file must be UTF-8 text",
		"\xef\xbb\xbfemail,status\nJos\xe9@x,active\n": "hr.csv:2:4: invalid UTF-8 (byte 0xe9): the file must be UTF-8 text",
	} {
		_, err := catalog.ReadPeopleCSV("hr.csv", strings.NewReader(in))
		if err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %s", in, err, want)
		}
	}
	// Through a catalog, with a BOM in both files.
	fsys := fstest.MapFS{
		"c.yaml": {Data: []byte("\xef\xbb\xbfpeople_csv: hr.csv\n")},
		"hr.csv": {Data: []byte("\xef\xbb\xbfemail,status\nal\x00ice@x.example,active\n")},
	}
	_, err := catalog.LoadFS(fsys, evalTime, "c.yaml")
	if err == nil || err.Error() != "hr.csv:2:3: NUL byte: the file must be text" {
		t.Errorf("LoadFS: %v", err)
	}
}

func TestCatalogYAMLMustBeUTF8TextWithoutNUL(t *testing.T) {
	for in, want := range map[string]string{
		"roles: []\x00\n":                 "c.yaml:1:10: NUL byte: a YAML file is text",
		"roles:\n  - id: caf\xe9\n":       "c.yaml:2:12: invalid UTF-8 (byte 0xe9): a YAML file must be UTF-8",
		"\xef\xbb\xbfroles: [\xc0\xaf]\n": "c.yaml:1:9: invalid UTF-8 (byte 0xc0): a YAML file must be UTF-8",
	} {
		_, err := catalog.LoadFS(fstest.MapFS{"c.yaml": {Data: []byte(in)}}, evalTime, "c.yaml")
		if err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %s", in, err, want)
		}
	}
	c, err := catalog.LoadFS(fstest.MapFS{"c.yaml": {Data: []byte("\xef\xbb\xbfroles: []\n")}}, evalTime, "c.yaml")
	if err != nil || c == nil {
		t.Errorf("a BOM: %v", err)
	}
}

func TestCatalogNestingIsRefusedQuickly(t *testing.T) {
	// 100,000 nested brackets took 52 s and 14.7 GB in goccy's parser.
	src := "roles: " + strings.Repeat("[", 100_000)
	_, err := catalog.LoadFS(fstest.MapFS{"c.yaml": {Data: []byte(src)}}, evalTime, "c.yaml")
	if err == nil || err.Error() != "c.yaml:1:71: mappings and lists nested more than 64 levels deep: over the nesting limit" {
		t.Errorf("%v", err)
	}
}
