package catalog_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestLoadFullExample(t *testing.T) {
	c, err := catalog.LoadFS(os.DirFS("testdata/catalog/valid"), evalTime, "full")
	if err != nil {
		t.Fatal(err)
	}
	want := &catalog.Catalog{
		Defaults: catalog.Defaults{
			DormantAfter:         90 * duration.Day,
			MaxCredentialAge:     90 * duration.Day,
			NeverUsedGrace:       7 * duration.Day,
			ExpiringSoon:         30 * duration.Day,
			UsageFreshness:       36 * time.Hour,
			MaxExceptionDuration: 180 * duration.Day,
			UnusedWindow:         90 * duration.Day,
			UnusedGrantGrace:     14 * duration.Day,
			OwnerTagKeys:         []string{"owner", "team-owner"},
			Severity: map[string]nhi.Severity{
				rules.RuleUnmapped:        nhi.SevLow,
				rules.RulePrivilegedGrant: nhi.SevCritical,
			},
		},
		People: map[string]nhi.Person{
			"alice@acme.example": {ID: "alice@acme.example", Name: "Alice Adams", Status: "active", Manager: "carol@acme.example", Team: "platform", Aliases: []string{"alice-gh"}},
			"dan@acme.example":   {ID: "dan@acme.example", Status: "departed", Departed: day(2026, 9, 30), Team: "platform"},
			"carol@acme.example": {ID: "carol@acme.example", Name: "Carol Chen", Status: "active", Team: "platform", Aliases: []string{"carol-c"}},
			"liam@acme.example":  {ID: "liam@acme.example", Name: "Liam Lee", Status: "active", Manager: "carol@acme.example", Team: "payments"},
			"grace@acme.example": {ID: "grace@acme.example", Name: "Grace Gupta", Status: "active", Manager: "carol@acme.example", Team: "security", Aliases: []string{"grace-sec"}},
			"erin@acme.example":  {ID: "erin@acme.example", Name: "Erin Ek", Status: "departed", Departed: day(2026, 8, 15), Manager: "carol@acme.example", Team: "payments"},
		},
		Roles: []catalog.Role{
			{
				ID: "payments-ci-deployer", Purpose: "Deploys the payments service from CI",
				BusinessOwner: "liam@acme.example", TechnicalOwner: "platform", Team: "payments",
				Allowed: []catalog.Entitlement{
					{Provider: nhi.AWS, Pattern: "arn:aws:iam::aws:policy/AmazonECS_FullAccess", Scope: "2222*"},
					{Provider: nhi.AWS, Pattern: "arn:aws:iam::aws:policy/AdministratorAccess", Privileged: true},
				},
				Credentials: catalog.CredentialPolicy{MaxAge: 30 * duration.Day, ExpiryRequired: true, DormantAfter: 14 * duration.Day, RequireWorkloadIdentity: true, MaxActiveKeys: 1},
				Members: []catalog.Selector{
					{Provider: nhi.AWS, Scope: "222222222222", Kind: nhi.KindAWSRole, Name: "payments-*", Tags: map[string]string{"team": "payments"}},
					{Provider: nhi.GitHub, Kind: nhi.KindGitHubActions, Name: "acme/payments"},
				},
				Pos: "full/catalog.yaml:28:5",
			},
			{
				ID: "data-pipeline", Purpose: "Nightly ETL from the warehouse",
				BusinessOwner: "grace@acme.example", TechnicalOwner: "carol@acme.example", Team: "data",
				Allowed: []catalog.Entitlement{{Provider: nhi.GCP, Pattern: "roles/bigquery.dataEditor", Scope: "projects/acme-data-*"}},
				// static_keys: false alone; the other fields fall back to Defaults.
				Credentials: catalog.CredentialPolicy{},
				Members: []catalog.Selector{
					{Provider: nhi.GCP, Scope: "acme-data-prod", Name: "etl-*@acme-data-prod.iam.gserviceaccount.com"},
					// A merge key (<<) reuses the anchored selector with another scope.
					{Provider: nhi.GCP, Scope: "acme-data-dev", Name: "etl-*@acme-data-prod.iam.gserviceaccount.com"},
				},
				Pos: "full/roles-gcp.yml:2:5",
			},
		},
		Exceptions: []catalog.Exception{
			{ID: "EX-2026-014", Rule: rules.RulePrivilegedGrant, Selector: catalog.Selector{Provider: nhi.GCP, Name: "legacy-*"},
				Reason: "Vendor migration until Q1", ApprovedBy: "grace@acme.example", Expires: day(2026, 12, 31), Pos: "full/roles-gcp.yml:15:5"},
			// Already expired: not a load error; it simply stops suppressing.
			{ID: "EX-2026-001", Rule: rules.RuleCredentialTooOld, Selector: catalog.Selector{Provider: nhi.AWS, ID: "aws:AIDAEXAMPLE0001"},
				Reason: "Expired last month; kept for the record", ApprovedBy: "carol@acme.example", Expires: time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC), Pos: "full/roles-gcp.yml:21:5"},
			// A role selector names a role defined in another file.
			{ID: "EX-2026-020", Rule: rules.RuleCredentialTooOld, Selector: catalog.Selector{Provider: nhi.AWS, Role: "payments-ci-deployer"},
				Reason: "Rotation automation ships in November", ApprovedBy: "liam@acme.example", Expires: day(2026, 11, 30), Pos: "full/roles-gcp.yml:27:5"},
		},
		Files: []string{"full/catalog.yaml", "full/hr/people.csv", "full/roles-gcp.yml"},
	}
	if len(c.Hash) != 64 {
		t.Errorf("hash %q is not hex SHA-256", c.Hash)
	}
	c.Hash = ""
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("catalog (-want +got):\n%s", diff)
	}
}

func TestLoadMinimalUsesDefaults(t *testing.T) {
	c, err := catalog.LoadFS(os.DirFS("testdata/catalog/valid"), evalTime, "minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(catalog.DefaultDefaults, c.Defaults); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	want := []catalog.Role{{
		ID: "ci", Purpose: "CI deploys", BusinessOwner: "owner@example.com",
		Credentials: catalog.CredentialPolicy{StaticKeysAllowed: true},
		Members:     []catalog.Selector{{Provider: nhi.GitHub}},
		Pos:         "minimal.yaml:4:5",
	}}
	if diff := cmp.Diff(want, c.Roles); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	// The returned defaults must not alias the package variable.
	c.Defaults.OwnerTagKeys[0] = "changed"
	if catalog.DefaultDefaults.OwnerTagKeys[0] == "changed" {
		t.Error("Catalog.Defaults.OwnerTagKeys aliases DefaultDefaults")
	}
}

// TestLoadFromDisk checks Load over real directories and files agrees with
// LoadFS, and that the hash depends on content, not on where the files are.
func TestLoadFromDisk(t *testing.T) {
	dir := filepath.Join("testdata", "catalog", "valid", "full")
	disk, err := catalog.Load(evalTime, dir)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := catalog.LoadFS(os.DirFS("testdata/catalog/valid"), evalTime, "full")
	if err != nil {
		t.Fatal(err)
	}
	if disk.Hash != mem.Hash {
		t.Errorf("hash differs between Load (%s) and LoadFS (%s)", disk.Hash, mem.Hash)
	}
	if diff := cmp.Diff(mem.Roles, disk.Roles, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Pos" }, cmp.Ignore())); diff != "" {
		t.Errorf("roles differ (-LoadFS +Load):\n%s", diff)
	}
	wantFiles := []string{filepath.Join(dir, "catalog.yaml"), filepath.Join(dir, "hr", "people.csv"), filepath.Join(dir, "roles-gcp.yml")}
	if diff := cmp.Diff(wantFiles, disk.Files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	// Files given one by one load the same catalog as their directory.
	byFile, err := catalog.Load(evalTime, wantFiles[0], wantFiles[2])
	if err != nil {
		t.Fatal(err)
	}
	if byFile.Hash != disk.Hash {
		t.Errorf("hash of files given one by one differs from the directory's")
	}
}

func TestHashFollowsContent(t *testing.T) {
	const base = "people: [{ id: a@x.example, status: active }]\nroles: [{ id: r, purpose: p, business_owner: a@x.example, members: [{ provider: aws }] }]\n"
	load := func(body string) string {
		t.Helper()
		c, err := catalog.LoadFS(fstest.MapFS{"c.yaml": {Data: []byte(body)}}, evalTime, "c.yaml")
		if err != nil {
			t.Fatal(err)
		}
		return c.Hash
	}
	if first, second := load(base), load(base); first != second {
		t.Error("hash is not deterministic")
	}
	if load(base) == load(base+"# a comment\n") {
		t.Error("hash ignores a change to the file")
	}
}

func TestExceptionExpiryLimit(t *testing.T) {
	cat := func(expires string) fstest.MapFS {
		return fstest.MapFS{"c.yaml": {Data: []byte(`
defaults: { max_exception_duration: 30d }
people: [{ id: a@x.example, status: active }]
exceptions:
  - { id: E1, rule: dormant-identity, selector: { provider: aws }, reason: r, approved_by: a@x.example, expires: "` + expires + `" }
`)}}
	}
	for _, tc := range []struct {
		expires string
		ok      bool
	}{
		{"2026-10-31T09:00:00Z", true}, // exactly now + 30d
		{"2026-10-31T09:00:01Z", false},
		{"2026-11-01", false},
		{"2020-01-01", true}, // long expired: loads, stops suppressing
	} {
		c, err := catalog.LoadFS(cat(tc.expires), evalTime, "c.yaml")
		if tc.ok != (err == nil) {
			t.Errorf("expires %s: err = %v, want ok=%v", tc.expires, err, tc.ok)
			continue
		}
		if err == nil && len(c.Exceptions) != 1 {
			t.Errorf("expires %s: %d exceptions", tc.expires, len(c.Exceptions))
		}
		if err != nil && !strings.Contains(err.Error(), "c.yaml:5:") {
			t.Errorf("expires %s: error lacks the position: %v", tc.expires, err)
		}
	}
}

func TestStaticKeysDefault(t *testing.T) {
	for _, tc := range []struct {
		creds      string
		static, wi bool
	}{
		{"{}", true, false},
		{"{ static_keys: false }", false, false},
		{"{ workload_identity_required: true }", false, true},
		{"{ static_keys: false, workload_identity_required: true }", false, true},
	} {
		fsys := fstest.MapFS{"c.yaml": {Data: []byte("people: [{ id: a@x.example, status: active }]\nroles: [{ id: r, purpose: p, business_owner: a@x.example, credentials: " + tc.creds + ", members: [{ provider: aws }] }]\n")}}
		c, err := catalog.LoadFS(fsys, evalTime, "c.yaml")
		if err != nil {
			t.Fatalf("%s: %v", tc.creds, err)
		}
		got := c.Roles[0].Credentials
		if got.StaticKeysAllowed != tc.static || got.RequireWorkloadIdentity != tc.wi {
			t.Errorf("%s: static=%v wi=%v, want %v %v", tc.creds, got.StaticKeysAllowed, got.RequireWorkloadIdentity, tc.static, tc.wi)
		}
	}
}

func TestLoadPathErrors(t *testing.T) {
	fsys := fstest.MapFS{"empty/readme.txt": {Data: []byte("x")}}
	for _, tc := range []struct {
		paths []string
		want  string
	}{
		{nil, "catalog: no catalog files given"},
		{[]string{"nope.yaml"}, "nope.yaml: no such file or directory"},
		{[]string{"empty"}, "empty: directory holds no .yaml or .yml file"},
		{[]string{"/abs.yaml"}, `/abs.yaml: invalid path "/abs.yaml" for an fs.FS`},
	} {
		_, err := catalog.LoadFS(fsys, evalTime, tc.paths...)
		var es *catalog.Errors
		if !errors.As(err, &es) {
			t.Fatalf("%v: error %T %v, want *catalog.Errors", tc.paths, err, err)
		}
		if err.Error() != tc.want {
			t.Errorf("%v: got %q, want %q", tc.paths, err.Error(), tc.want)
		}
	}
}

func TestPeopleCSVMustStayInsideFS(t *testing.T) {
	fsys := fstest.MapFS{"cat/c.yaml": {Data: []byte("people_csv: ../../etc/passwd\n")}}
	_, err := catalog.LoadFS(fsys, evalTime, "cat/c.yaml")
	want := `cat/c.yaml:1:13: people_csv "../../etc/passwd" leaves the catalog's file system`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestErrorsFormat(t *testing.T) {
	es := catalog.Errors{{File: "a.yaml", Line: 3, Col: 5, Msg: "bad"}, {File: "b.csv", Msg: "unreadable"}}
	if got, want := es.Error(), "a.yaml:3:5: bad\nb.csv: unreadable"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
