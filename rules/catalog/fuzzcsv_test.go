package catalog_test

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/nhiscan/nhiscan/rules/catalog"
)

// FuzzReadPeopleCSV feeds arbitrary bytes to the HR CSV reader. It must
// never panic, and must return either people or *catalog.Errors whose
// every entry names the file with a sane position. Plain `go test` runs
// only the seeds; `make fuzz` searches.
func FuzzReadPeopleCSV(f *testing.F) {
	if b, err := os.ReadFile("testdata/catalog/valid/full/hr/people.csv"); err == nil {
		f.Add(b)
	}
	if b, err := os.ReadFile("testdata/catalog/invalid/csv/hr.csv"); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		"",
		"email,status\n",
		"\xef\xbb\xbfEmail,STATUS,manager_email\r\na@x.example,active,b@x.example\r\nb@x.example,departed,\r\n",
		"email,status,departed_on\na@x.example,departed,2026-13-40\n\"unterminated\n",
		"email,email,status\na,b,c,d\n",
		"email,status\nal\x00ice@x,active\n\xff,\n",
		"email,status,github_login\na@x.example,active,\u202eevil\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		people, err := catalog.ReadPeopleCSV("hr.csv", bytes.NewReader(data))
		if err == nil {
			for i := 1; i < len(people); i++ {
				if people[i-1].ID >= people[i].ID {
					t.Fatalf("people not sorted by id: %q, %q", people[i-1].ID, people[i].ID)
				}
			}
			return
		}
		var es *catalog.Errors
		if !errors.As(err, &es) || len(*es) == 0 {
			t.Fatalf("error %T is not a non-empty *catalog.Errors: %v", err, err)
		}
		for _, e := range *es {
			if e.File != "hr.csv" || e.Line < 0 || e.Col < 0 || (e.Line == 0) != (e.Col == 0) {
				t.Fatalf("bad error: %#v", e)
			}
		}
	})
}
