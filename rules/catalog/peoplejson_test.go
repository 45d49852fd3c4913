package catalog_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// scimExport is a ListResponse as an identity provider writes it: mixed
// case attribute names, ignored core attributes (a password included),
// a vendor extension, managers given by SCIM id and by email.
const scimExport = `{
  "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
  "totalResults": 3,
  "Resources": [
    {
      "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
      "id": "2819c223",
      "userName": "carol",
      "name": {"givenName": "Carol", "familyName": "Chen"},
      "emails": [{"value": "Carol@Acme.example", "type": "work", "primary": true}, {"value": "cc@old.example"}],
      "active": true,
      "password": "never-read",
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "platform", "employeeNumber": "7"},
      "urn:nhiscan:params:scim:schemas:extension:hr:2.0:User": {"githubLogin": "Carol-C"}
    },
    {
      "id": "9a1b",
      "UserName": "erin@acme.example",
      "displayName": "Erin Ek",
      "ACTIVE": false,
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "payments", "manager": {"value": "2819c223", "displayName": "Carol"}},
      "urn:nhiscan:params:scim:schemas:extension:hr:2.0:User": {"departedOn": "2026-08-15"},
      "urn:example:vendor:2.0:User": {"anything": [1, 2]}
    },
    {
      "userName": "liam@acme.example",
      "name": {"formatted": "Liam Lee"},
      "active": true,
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "carol@acme.example"}},
      "urn:nhiscan:params:scim:schemas:extension:hr:2.0:User": {"departedOn": "2026-12-31"}
    }
  ]
}`

func TestReadPeopleJSON(t *testing.T) {
	got, err := catalog.ReadPeopleJSON("people.json", strings.NewReader(scimExport))
	if err != nil {
		t.Fatal(err)
	}
	want := []nhi.Person{
		{ID: "carol@acme.example", Name: "Carol Chen", Status: "active", Team: "platform", Aliases: []string{"carol-c", "cc@old.example", "carol"}},
		{ID: "erin@acme.example", Name: "Erin Ek", Status: "departed", Departed: day(2026, 8, 15), Manager: "carol@acme.example", Team: "payments"},
		// Still active in the directory, leaving at the end of the year.
		{ID: "liam@acme.example", Name: "Liam Lee", Status: "departed", Departed: day(2026, 12, 31), Manager: "carol@acme.example"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("people (-want +got):\n%s", diff)
	}
	// A bare array of users reads the same.
	_, rest, _ := strings.Cut(scimExport, `"Resources": `)
	bare := strings.TrimSuffix(strings.TrimSpace(rest), "}")
	got2, err := catalog.ReadPeopleJSON("people.json", strings.NewReader(bare))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got2); diff != "" {
		t.Errorf("bare array (-want +got):\n%s", diff)
	}
	if strings.Contains(err2s(err), "never-read") {
		t.Error("password value printed")
	}
}

func err2s(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestReadPeopleJSONErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"syntax", "[{\"userName\": \"a@x.example\",\n \"active\": tru}]", []string{
			`p.json:2:15: JSON syntax error: invalid character '}' in literal true (expecting 'e')`,
		}},
		{"truncated", `[{"userName": "a@x.example"`, []string{`p.json:1:28: JSON syntax error: unexpected end of file`}},
		{"trailing", `[] []`, []string{`p.json:1:4: unexpected data after the top-level value`}},
		{"not a list", `"x"`, []string{`p.json:1:1: $: want an object, got string`}},
		{"one page", `{"totalResults": 2, "Resources": [{"userName": "a@x.example", "active": true}]}`, []string{
			`p.json:1:1: totalResults: the export holds 1 of 2 users: it is one page of a paged response; export every page into one file`,
		}},
		{"duplicate key", `[{"active": true, "Active": false}]`, []string{
			`p.json:1:19: duplicate key "Active" (first at byte 2; SCIM attribute names are case-insensitive)`,
		}},
		{"too deep", strings.Repeat("[", 20) + strings.Repeat("]", 20), []string{`p.json:1:17: nested deeper than 16 levels`}},
		{"users", `[
 {"userName": "a@x.example", "active": "yes", "nickName": 3},
 {"emails": [{"value": "nope"}], "active": true},
 {"userName": "c@x.example", "active": false},
 {"userName": "d@x.example", "active": true, "shoeSize": 44,
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "42"}, "grade": "A"},
  "urn:nhiscan:params:scim:schemas:extension:hr:2.0:User": {"departedOn": "31/12/2026"}},
 {"userName": "a@x.example", "active": true, "emails": [{"value": "a@x.example", "primary": true}, {"value": "b@x.example", "primary": true}]},
 {"userName": "e@x.example", "active": true, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "ghost@x.example"}}},
 7
]`, []string{
			`p.json:2:2: [0]: user has no "active" attribute (true or false)`,
			`p.json:2:40: [0].active: want a boolean, got string`,
			`p.json:3:2: [1]: user has no email (emails[].value, or userName as an email address)`,
			`p.json:3:14: [1].emails[0].value: "nope" is not an email address`,
			`p.json:4:2: [2]: user is not active but has no urn:nhiscan:params:scim:schemas:extension:hr:2.0:User departedOn date`,
			`p.json:5:46: [3]: unknown SCIM user attribute "shoeSize"`,
			`p.json:6:87: [3]: manager "42" is neither the id of a user in this file nor an email address`,
			`p.json:6:94: [3].urn:ietf:params:scim:schemas:extension:enterprise:2.0:User: unknown enterprise attribute "grade"`,
			`p.json:7:75: [3]: departedOn: bad date "31/12/2026" (use YYYY-MM-DD or RFC 3339)`,
			`p.json:8:67: duplicate person id "a@x.example" (first defined at p.json:2:15)`,
			`p.json:8:136: [4].emails[1].primary: more than one primary email`,
			`p.json:9:130: manager "ghost@x.example" is not a known person`,
			`p.json:10:2: [6]: want an object, got number`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := catalog.ReadPeopleJSON("p.json", strings.NewReader(tc.in))
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

func TestReadPeopleJSONSizeBound(t *testing.T) {
	big := strings.NewReader("[" + strings.Repeat(" ", 64<<20) + "]")
	_, err := catalog.ReadPeopleJSON("p.json", big)
	if err == nil || !strings.Contains(err.Error(), "over the size limit of 64 MiB") {
		t.Errorf("got %v", err)
	}
}

// TestPeopleFiles loads people from several exports, CSV and JSON, beside
// people_csv and inline people; managers may be in another file.
func TestPeopleFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"cat/c.yaml": {Data: []byte(`people:
  - { id: grace@acme.example, status: active }
people_csv: hr/old.csv
people_files: [hr/people.json, hr/contractors.CSV]
roles:
  - { id: r, purpose: p, business_owner: erin@acme.example, technical_owner: bob@acme.example, members: [{ provider: aws }] }
`)},
		"cat/hr/old.csv":         {Data: []byte("email,status\nold@acme.example,active\n")},
		"cat/hr/contractors.CSV": {Data: []byte("email,status,manager_email\nbob@acme.example,active,erin@acme.example\n")},
		"cat/hr/people.json":     {Data: []byte(`[{"userName": "erin@acme.example", "active": true, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "grace@acme.example"}}}]`)},
	}
	c, err := catalog.LoadFS(fsys, evalTime, "cat")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for id := range c.People {
		ids = append(ids, id)
	}
	if diff := cmp.Diff([]string{"bob@acme.example", "erin@acme.example", "grace@acme.example", "old@acme.example"}, sorted(ids)); diff != "" {
		t.Errorf("people (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"cat/c.yaml", "cat/hr/old.csv", "cat/hr/people.json", "cat/hr/contractors.CSV"}, c.Files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

func TestPeopleFilesErrors(t *testing.T) {
	fsys := fstest.MapFS{
		"c.yaml": {Data: []byte(`people_files: [a.json, a.json, people.xlsx, ../x.csv, missing.csv, people: 3]
`)},
		"a.json": {Data: []byte(`[{"userName": "a@x.example", "active": true, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "z@x.example"}}}]`)},
	}
	_, err := catalog.LoadFS(fsys, evalTime, "c.yaml")
	want := []string{
		`a.json:1:130: manager "z@x.example" is not a known person`,
		`c.yaml:1:24: people file "a.json" already listed at c.yaml:1:16`,
		`c.yaml:1:32: people file "people.xlsx": want a .csv (HR CSV) or .json (SCIM users) file`,
		`c.yaml:1:45: people_files "../x.csv" leaves the catalog's file system`,
		`c.yaml:1:55: read missing.csv: no such file or directory`,
		`c.yaml:1:68: people file must be a string, got a mapping`,
	}
	if diff := cmp.Diff(want, strings.Split(err2s(err), "\n")); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// FuzzPeopleJSON feeds arbitrary bytes to the SCIM reader: it must never
// panic, and every problem it reports has a position inside the file.
func FuzzPeopleJSON(f *testing.F) {
	f.Add([]byte(scimExport))
	f.Add([]byte(`[{"userName": "a@x.example", "active": true}]`))
	f.Add([]byte(`{"Resources": [{"emails": [{"value": 1}]}], "totalResults": "x"}`))
	f.Add([]byte("[\n\"\\u00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		people, err := catalog.ReadPeopleJSON("p.json", strings.NewReader(string(data)))
		if err == nil {
			for _, p := range people {
				if p.ID == "" || (p.Status != nhi.PersonActive && p.Status != nhi.PersonDeparted) {
					t.Fatalf("bad person %+v", p)
				}
			}
			return
		}
		var es *catalog.Errors
		if !errors.As(err, &es) || len(*es) == 0 {
			t.Fatalf("error %T %v", err, err)
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, e := range *es {
			if e.File != "p.json" || e.Line > lines || e.Line < 0 || (e.Line == 0) != (e.Col == 0) {
				t.Fatalf("bad position: %v (%d lines)", e, lines)
			}
		}
	})
}
