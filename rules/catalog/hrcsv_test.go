package catalog_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

func TestReadPeopleCSV(t *testing.T) {
	// Columns in another order, a BOM, CRLF line ends, mixed-case emails and
	// statuses, as HR exports come.
	in := "\xef\xbb\xbfteam,Email,status,manager_email,departed_on,github_login,name\r\n" +
		"platform,Carol@Acme.example,Active,,,Carol-C,Carol Chen\r\n" +
		"payments,erin@acme.example,departed,CAROL@acme.example,2026-08-15,,Erin Ek\r\n"
	got, err := catalog.ReadPeopleCSV("hr.csv", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []nhi.Person{
		{ID: "carol@acme.example", Name: "Carol Chen", Status: "active", Team: "platform", Aliases: []string{"carol-c"}},
		{ID: "erin@acme.example", Name: "Erin Ek", Status: "departed", Departed: day(2026, 8, 15), Manager: "carol@acme.example", Team: "payments"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("people (-want +got):\n%s", diff)
	}
}

func TestReadPeopleCSVErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"empty", "", []string{"hr.csv: empty HR CSV: a header row is required (email,name,status,departed_on,manager_email,team,github_login)"}},
		{"missing columns", "name,team\nA,b\n", []string{
			`hr.csv:1:1: HR CSV has no "email" column`,
			`hr.csv:1:1: HR CSV has no "status" column`,
		}},
		{"unknown and duplicate columns", "email,status,e-mail,status\na@x.example,active,,active\n", []string{
			`hr.csv:1:14: unknown HR CSV column "e-mail" (known: email, name, status, departed_on, manager_email, team, github_login)`,
			`hr.csv:1:21: duplicate HR CSV column "status"`,
		}},
		{"rows", "email,status,departed_on,manager_email\n" +
			"a@x.example,active,,b@x.example\n" +
			"a@x.example,active,,\n" +
			"c@x.example,departed,,\n" +
			"d@x.example,departed,2026-13-01,\n" +
			"e@x.example,,,\n" +
			"nope,active,,\n", []string{
			`hr.csv:2:21: manager "b@x.example" is not a known person`,
			`hr.csv:3:1: duplicate person id "a@x.example" (first defined at hr.csv:2:1)`,
			`hr.csv:4:22: departed person has no departed_on date`,
			`hr.csv:5:22: bad date "2026-13-01" (use YYYY-MM-DD or RFC 3339)`,
			`hr.csv:6:13: person has no status (active or departed)`,
			`hr.csv:7:1: email "nope" is not an email address`,
		}},
		{"field count", "email,status\na@x.example\nb@x.example,active\n", []string{
			`hr.csv:2:1: csv: wrong number of fields`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := catalog.ReadPeopleCSV("hr.csv", strings.NewReader(tc.in))
			var es *catalog.Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T %v, want *catalog.Errors", err, err)
			}
			if diff := cmp.Diff(tc.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}
