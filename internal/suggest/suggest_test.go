package suggest_test

import (
	"bytes"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/suggest"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.yaml")

// org builds a small estate that exercises every grouping path.
type org struct {
	inv    nhi.Inventory
	people map[string]nhi.Person
	n      int
}

func newOrg() *org {
	o := &org{people: map[string]nhi.Person{}}
	for _, p := range []nhi.Person{
		{ID: "ann@x.example", Status: nhi.PersonActive, Team: "orders", Aliases: []string{"ann-gh"}},
		{ID: "bob@x.example", Status: nhi.PersonActive, Team: "orders", Aliases: []string{"bobby"}},
		{ID: "cat@x.example", Status: nhi.PersonActive, Team: "search"},
		{ID: "dan@x.example", Status: nhi.PersonDeparted, Departed: qualityNow.AddDate(0, -1, 0), Team: "search"},
	} {
		o.people[p.ID] = p
	}
	o.inv = nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: qualityNow}
	for _, sc := range []nhi.Scope{{Provider: nhi.AWS, ID: "111"}, {Provider: nhi.AWS, ID: "222"}, {Provider: nhi.GitHub, ID: "acme"}, {Provider: nhi.GCP, ID: "proj"}} {
		o.inv.Scopes = append(o.inv.Scopes, sc)
	}
	return o
}

type idOpt func(*nhi.Identity)

func tags(kv ...string) idOpt {
	return func(id *nhi.Identity) {
		if id.Tags == nil {
			id.Tags = map[string]string{}
		}
		for i := 0; i < len(kv); i += 2 {
			id.Tags[kv[i]] = kv[i+1]
		}
	}
}

func grants(ents ...string) idOpt {
	return func(id *nhi.Identity) {
		for _, e := range ents {
			g := nhi.Grant{Kind: "managed-policy", Entitlement: e, Scope: id.Scope, Privilege: nhi.PrivRead, Privileged: nhi.JudgedNotPrivileged}
			if strings.HasPrefix(e, "admin") {
				g.Privileged, g.Reason = nhi.JudgedPrivileged, "administrator"
			}
			g.ID = g.Kind + ":" + e
			id.Grants = append(id.Grants, g)
		}
	}
}

func hint(source, value string) idOpt {
	return func(id *nhi.Identity) {
		id.OwnerHints = append(id.OwnerHints, nhi.OwnerHint{Source: source, Value: value})
	}
}

func (o *org) add(p nhi.Provider, kind nhi.IdentityKind, scope, name string, opts ...idOpt) {
	o.n++
	native := string(rune('A'+o.n/26)) + string(rune('a'+o.n%26)) + "-" + strings.Repeat("0", 3)
	id := nhi.Identity{ID: nhi.MakeID(p, native), Provider: p, Kind: kind, NativeID: native, Name: name, Scope: scope,
		Status: nhi.StatusActive, Usage: nhi.Usage{State: nhi.UsageNotReported}}
	for _, f := range opts {
		f(&id)
	}
	o.inv.Identities = append(o.inv.Identities, id)
}

// estate is the golden estate: orders-api by role tag (one member
// untagged, joining by its name stem); search-indexer split by a naming
// suffix (web, worker) and rejoined as siblings with the same grants;
// an off-pattern member joining by grants; two identities with the same
// grants; two with the same owner; a loner; hostile names; a
// provider-managed role.
func estate() *org {
	o := newOrg()
	aws, role := nhi.AWS, nhi.KindAWSRole
	api := []idOpt{tags("app", "orders-api", "team", "orders", "owner", "ann@x.example"), grants("read-orders", "write-queue")}
	o.add(aws, role, "111", "orders-api-web-1", api...)
	o.add(aws, role, "111", "orders-api-web-2", append(api, grants("admin-all"))...)
	o.add(aws, role, "222", "orders-api-web-3", append(api, hint("description", "bob@x.example"))...)
	o.add(aws, role, "111", "orders-api-web-4", tags("team", "orders"), grants("read-orders", "write-queue", "read-rare"))
	idx := []idOpt{tags("team", "search"), grants("search-read", "search-write", "logs"), hint("tag", "cat@x.example")}
	o.add(aws, role, "111", "search-indexer-web-1", idx...)
	o.add(aws, role, "111", "search-indexer-web-2", idx...)
	o.add(aws, role, "111", "search-indexer-worker-1", idx...)
	o.add(aws, role, "111", "search-indexer-worker-2", append(idx, hint("tag", "dan@x.example"))...)
	o.add(aws, role, "111", "legacy-thing", grants("search-read", "search-write", "logs"))
	o.add(aws, nhi.KindAWSUser, "222", "ci-bot", grants("deploy-x", "deploy-y"))
	o.add(aws, nhi.KindAWSUser, "222", "release-agent", grants("deploy-x", "deploy-y"))
	o.add(nhi.GitHub, nhi.KindGitHubDeployKey, "acme", "laptop key", hint("github-added-by", "bobby"), grants("contents:read"))
	o.add(nhi.GitHub, nhi.KindGitHubFineGrainedPAT, "acme", "export token", hint("token-owner", "bobby"), grants("metadata:read"))
	o.add(nhi.GitHub, nhi.KindGitHubFineGrainedPAT, "acme", "alone", grants("issues:write"))
	// Hostile names still select exactly, and never break the YAML.
	evil := []idOpt{tags("app", "x\"\n  - id: injected"), grants("weird[glob]", "star*ent")}
	o.add(nhi.GCP, nhi.KindGCPServiceAccount, "proj", "evil\u2028# name: \"quoted\"\n@proj.iam.gserviceaccount.com", evil...)
	o.add(nhi.GCP, nhi.KindGCPServiceAccount, "proj", "evil\u2028# other@proj.iam.gserviceaccount.com", evil...)
	managed := nhi.Identity{ID: "aws:AROAMANAGED", Provider: aws, Kind: role, NativeID: "AROAMANAGED", Name: "orders-api-web-9", Scope: "111",
		Status: nhi.StatusActive, ProviderManaged: true, Usage: nhi.Usage{State: nhi.UsageNotReported}}
	o.inv.Identities = append(o.inv.Identities, managed)
	o.inv.Normalize()
	return o
}

func draftOf(t *testing.T, o *org, opt suggest.Options) (*suggest.Draft, []byte) {
	t.Helper()
	if opt.Now.IsZero() {
		opt.Now = qualityNow
	}
	d := suggest.Suggest(&o.inv, opt)
	var b bytes.Buffer
	if err := d.WriteYAML(&b); err != nil {
		t.Fatal(err)
	}
	return d, b.Bytes()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

// TestSuggestGolden: the whole draft of the estate, which must load as a
// catalog and map exactly the identities each role proposed.
func TestSuggestGolden(t *testing.T) {
	o := estate()
	d, y := draftOf(t, o, suggest.Options{People: o.people, PeopleFiles: []string{"people.csv"}, Source: "scan 7 of nhiscan.db"})
	golden(t, "draft.golden.yaml", y)
	cat, err := catalog.LoadFS(fstest.MapFS{"draft.yaml": {Data: y}, "people.csv": {Data: peopleCSV(t, o.people)}}, qualityNow, "draft.yaml")
	if err != nil {
		t.Fatalf("draft does not load:\n%v", err)
	}
	checkMapsExactly(t, &o.inv, d, cat)
	roles := map[string]suggest.Role{}
	for _, r := range d.Roles {
		roles[r.ID] = r
	}
	api := roles["orders-api"]
	if len(api.Members) != 4 || api.BusinessOwner != "ann@x.example" || api.Team != "orders" || api.Evidence[suggest.ByStemPeers] != 1 {
		t.Errorf("orders-api: %+v", api)
	}
	idx := roles["search-indexer"]
	if len(idx.Members) != 5 || idx.Evidence[suggest.BySiblingStem] == 0 || idx.Evidence[suggest.ByGrants] != 1 {
		t.Errorf("search-indexer: %+v", idx)
	}
	// Three of four name cat, one a leaver: a strict majority agrees.
	if idx.BusinessOwner != "cat@x.example" {
		t.Errorf("search-indexer owner %q", idx.BusinessOwner)
	}
	for _, r := range d.Roles {
		for _, a := range r.Baseline {
			if a.Privileged && a.Decision == suggest.Allow {
				t.Errorf("%s allows privileged %s silently", r.ID, a.Entitlement)
			}
		}
	}
	if diff := cmp.Diff([]string{"github alone"}, d.Unassigned); diff != "" {
		t.Errorf("unassigned (-want +got):\n%s", diff)
	}
	if d.ProviderManaged != 1 || d.Considered != 16 {
		t.Errorf("managed %d, considered %d", d.ProviderManaged, d.Considered)
	}
	// The YAML is the same whatever order the inventory came in.
	shuffled := *o
	shuffled.inv = o.inv.Clone()
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled.inv.Identities), func(i, j int) {
		shuffled.inv.Identities[i], shuffled.inv.Identities[j] = shuffled.inv.Identities[j], shuffled.inv.Identities[i]
	})
	if _, y2 := draftOf(t, &shuffled, suggest.Options{People: o.people, PeopleFiles: []string{"people.csv"}, Source: "scan 7 of nhiscan.db"}); !bytes.Equal(y, y2) {
		t.Error("the draft depends on the inventory's order")
	}
}

// TestSuggestWithoutPeople: with no people list, no owner is a known
// person: every role has the placeholder owner, and the draft still loads
// on its own.
func TestSuggestWithoutPeople(t *testing.T) {
	o := estate()
	d, y := draftOf(t, o, suggest.Options{})
	for _, r := range d.Roles {
		if r.BusinessOwner != suggest.Placeholder {
			t.Errorf("%s owned by %q without a people list", r.ID, r.BusinessOwner)
		}
	}
	cat, err := catalog.LoadFS(fstest.MapFS{"draft.yaml": {Data: y}}, qualityNow, "draft.yaml")
	if err != nil {
		t.Fatalf("draft does not load:\n%v", err)
	}
	p := cat.People[suggest.Placeholder]
	if p.Status != nhi.PersonDeparted || p.Departed.After(qualityNow) {
		t.Errorf("placeholder %+v is not a leaver", p)
	}
	checkMapsExactly(t, &o.inv, d, cat)
}

// TestSuggestMerge: proposed additions to an existing catalog leave out
// what it maps, avoid its role ids, use its people (and its placeholder,
// when it has one), and load together with it.
func TestSuggestMerge(t *testing.T) {
	o := estate()
	existing := fstest.MapFS{
		"cat/catalog.yaml": {Data: []byte(`people_csv: people.csv
people:
  - { id: "owner-to-be-decided@nhiscan.invalid", status: departed, departed: 1970-01-01 }
roles:
  - id: orders-api
    purpose: the orders API
    business_owner: ann@x.example
    members: [{ provider: aws, tags: { app: orders-api } }]
  - id: ci-bot
    purpose: something else called ci-bot
    business_owner: ann@x.example
    members: [{ provider: azure, name: nothing }]
`)},
		"cat/people.csv": {Data: peopleCSV(t, o.people)},
	}
	cat, err := catalog.LoadFS(existing, qualityNow, "cat")
	if err != nil {
		t.Fatal(err)
	}
	d, y := draftOf(t, o, suggest.Options{Existing: cat, People: map[string]nhi.Person{"ignored@x.example": {}}, PeopleFiles: []string{"ignored.csv"}})
	if d.AlreadyMapped != 3 || !d.Merge || d.DefinePlaceholder || len(d.PeopleFiles) != 0 {
		t.Errorf("merge draft: mapped %d, merge %v, placeholder %v, people files %v", d.AlreadyMapped, d.Merge, d.DefinePlaceholder, d.PeopleFiles)
	}
	for _, r := range d.Roles {
		if r.ID == "orders-api" || r.ID == "ci-bot" {
			t.Errorf("role id %s clashes with the catalog's", r.ID)
		}
	}
	existing["cat/suggested.yaml"] = &fstest.MapFile{Data: y}
	both, err := catalog.LoadFS(existing, qualityNow, "cat")
	if err != nil {
		t.Fatalf("catalog with the merge draft does not load:\n%v\n%s", err, y)
	}
	// Now every identity is mapped by exactly what proposed it: the
	// catalog's roles for the three tagged orders-api members, the draft's
	// for the rest.
	want := map[string]string{}
	for _, r := range d.Roles {
		for _, id := range r.Members {
			want[id] = r.ID
		}
	}
	res := map[string]string{}
	for i := range o.inv.Identities {
		id := &o.inv.Identities[i]
		for _, r := range both.Roles {
			if role := matchRole(r, id); role != "" {
				res[id.ID] = role
				break
			}
		}
	}
	for id, role := range want {
		if res[id] != role {
			t.Errorf("%s: mapped to %q, the draft proposed %q", id, res[id], role)
		}
	}
	if !strings.Contains(string(y), "proposed additions to an existing catalog") {
		t.Error("merge draft does not say what it is")
	}
}

func matchRole(r catalog.Role, id *nhi.Identity) string {
	for _, s := range r.Members {
		if s.Matches(id) {
			return r.ID
		}
	}
	return ""
}

func TestEmptyInventory(t *testing.T) {
	o := newOrg()
	d, y := draftOf(t, o, suggest.Options{})
	if len(d.Roles) != 0 || d.Covered() != 0 {
		t.Errorf("roles from nothing: %+v", d.Roles)
	}
	if _, err := catalog.LoadFS(fstest.MapFS{"d.yaml": {Data: y}}, qualityNow, "d.yaml"); err != nil {
		t.Errorf("empty draft does not load: %v", err)
	}
}
