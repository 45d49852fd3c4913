package analyzer_test

import (
	"math/rand/v2"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/synth"
	"github.com/nhiscan/nhiscan/rules"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

var govNow = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

const govCatalog = `
people:
  - { id: ann@x.example, status: active, team: web }
  - { id: dan@x.example, status: departed, departed: 2026-10-01, team: data }
roles:
  - id: web
    purpose: the web tier
    business_owner: ann@x.example
    team: web
    allowed:
      - { provider: aws, entitlement: "read-*" }
      - { provider: aws, entitlement: "arn:aws:iam::aws:policy/AdministratorAccess", privileged: true, scope: "111" }
    credentials: { max_age: 30d }
    members: [{ provider: aws, name: "web-*" }]
  - id: etl
    purpose: nightly loads
    business_owner: dan@x.example
    team: data
    allowed: [{ provider: aws, entitlement: "read-*" }]
    members: [{ provider: aws, name: "etl-*" }]
`

func govCatalogLoad(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.LoadFS(fstest.MapFS{"c.yaml": {Data: []byte(govCatalog)}}, govNow, "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func grant(kind, ent, scope string, priv nhi.Verdict) nhi.Grant {
	return nhi.Grant{ID: kind + ":" + ent + "@" + scope, Kind: kind, Entitlement: ent, Scope: scope, Privilege: nhi.PrivRead, Privileged: priv}
}

func key(id string) nhi.Credential {
	return nhi.Credential{ID: id, Type: nhi.CredAWSAccessKey, Status: nhi.StatusActive, Usage: nhi.Usage{State: nhi.UsageNeverUsed}}
}

// govInventory: scope 111 fully observed; scope 222 with its managed
// policies, access keys and ownership data hidden by gaps.
func govInventory() nhi.Inventory {
	no := nhi.JudgedNotPrivileged
	ident := func(scope, name string, grants []nhi.Grant, creds ...nhi.Credential) nhi.Identity {
		return nhi.Identity{ID: "aws:" + scope + name, Provider: nhi.AWS, Kind: nhi.KindAWSRole, NativeID: scope + name, Name: name, Scope: scope,
			Status: nhi.StatusActive, Usage: nhi.Usage{State: nhi.UsageNotReported}, Grants: grants, Credentials: creds}
	}
	inv := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: govNow,
		Scopes: []nhi.Scope{{Provider: nhi.AWS, ID: "111"}, {Provider: nhi.AWS, ID: "222"}},
		Gaps: []nhi.Gap{
			{Provider: nhi.AWS, Scope: "222", Source: "iam:ListAttachedRolePolicies", Kind: nhi.GapDenied, Facets: []nhi.Facet{nhi.GrantsFacet("managed-policy")}},
			{Provider: nhi.AWS, Scope: "222", Source: "iam:ListAccessKeys", Kind: nhi.GapThrottled, Facets: []nhi.Facet{nhi.CredentialsFacet(nhi.CredAWSAccessKey)}},
			{Provider: nhi.AWS, Scope: "222", Source: "iam:ListRoleTags", Kind: nhi.GapDenied, Facets: []nhi.Facet{nhi.FacetOwnership}},
		},
		Identities: []nhi.Identity{
			ident("111", "web-1", []nhi.Grant{
				grant("managed-policy", "read-s3", "111", no),                                                // within
				grant("managed-policy", "write-s3", "111", no),                                               // outside
				grant("managed-policy", "arn:aws:iam::aws:policy/AdministratorAccess", "111", nhi.NotJudged), // within, allowed as privileged
				grant("managed-policy", "arn:aws:iam::aws:policy/AdministratorAccess", "999", nhi.NotJudged), // outside: other scope
			}, key("K1"), key("K2"), nhi.Credential{ID: "S", Type: nhi.CredGCPSystemManagedKey, ProviderRotated: true, Status: nhi.StatusActive}),
			ident("111", "etl-1", []nhi.Grant{grant("inline-policy", "read-x", "111", nhi.JudgedPrivileged)}, key("K3")), // privileged, not allowed as such
			ident("111", "loose", []nhi.Grant{grant("managed-policy", "read-s3", "111", no)}, key("K4")),
			ident("222", "web-2", []nhi.Grant{grant("managed-policy", "read-s3", "222", no), grant("inline-policy", "write-db", "222", no)}, key("K5")),
			ident("222", "stray", []nhi.Grant{grant("inline-policy", "read-s3", "222", no)}),
		},
	}
	inv.Identities[2].Tags = map[string]string{"owner": "ann@x.example"}
	managed := ident("111", "AWSServiceRoleForSupport", []nhi.Grant{grant("managed-policy", "support", "111", no)})
	managed.ProviderManaged = true
	inv.Identities = append(inv.Identities, managed)
	inv.Normalize()
	return inv
}

func TestMeasureGovernance(t *testing.T) {
	inv := govInventory()
	g := analyzer.MeasureGovernance(&inv, govCatalogLoad(t), govNow)
	c := func(ids, mapped, owner, ownerUnknown, within, outside, noRole, entUnknown, creds, policy, credUnknown int) nhi.GovernanceCounts {
		return nhi.GovernanceCounts{Identities: ids, Mapped: mapped, OwnerActive: owner, OwnerUnknown: ownerUnknown,
			Entitlements: within + outside + noRole, WithinBaseline: within, OutsideBaseline: outside, NoRole: noRole, EntitlementsUnknown: entUnknown,
			Credentials: creds, UnderPolicy: policy, CredentialsUnknown: credUnknown}
	}
	scope111 := c(3, 2, 2, 0, 2, 3, 1, 0, 4, 2, 0)
	// 222: web-2's managed policy and access key are unknown, not outside
	// or unpoliced; stray's owner is unknown (ownership hidden), web-2's
	// comes from its role.
	scope222 := c(2, 1, 1, 1, 0, 1, 1, 1, 0, 0, 1)
	want := nhi.Governance{
		Total:      c(5, 3, 3, 1, 2, 4, 2, 1, 4, 2, 1),
		ByProvider: []nhi.GovernanceRow{{Provider: nhi.AWS, GovernanceCounts: c(5, 3, 3, 1, 2, 4, 2, 1, 4, 2, 1)}},
		ByScope: []nhi.GovernanceRow{
			{Provider: nhi.AWS, Scope: "111", GovernanceCounts: scope111},
			{Provider: nhi.AWS, Scope: "222", GovernanceCounts: scope222},
		},
		ByTeam: []nhi.GovernanceRow{
			{Team: nhi.NoTeam, GovernanceCounts: c(1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0)},
			// etl's owner has departed: mapped, no active owner, no policy.
			{Team: "data", GovernanceCounts: c(1, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0)},
			{Team: "web", GovernanceCounts: c(3, 2, 3, 0, 2, 3, 1, 1, 3, 2, 1)},
		},
		ProviderManaged: 1,
	}
	if diff := cmp.Diff(want, g, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".NotObserved" }, cmp.Ignore())); diff != "" {
		t.Errorf("governance (-want +got):\n%s", diff)
	}
	var cells []string
	for _, fs := range g.NotObserved {
		cells = append(cells, fs.Scope+" "+string(fs.Facet)+" "+fs.Why)
	}
	wantCells := []string{
		"222 credentials:aws-access-key iam:ListAccessKeys throttled",
		"222 grants:managed-policy iam:ListAttachedRolePolicies denied",
		"222 ownership iam:ListRoleTags denied",
	}
	if diff := cmp.Diff(wantCells, cells); diff != "" {
		t.Errorf("not observed (-want +got):\n%s", diff)
	}
	if got := g.Total.BaselinePct(); got != 25 {
		t.Errorf("baseline %% = %v, want 25 (2 of 8 observed entitlements)", got)
	}
	if got := g.Total.OwnerPct(); got != 75 {
		t.Errorf("owner %% = %v, want 75 (3 of the 4 identities whose owner could be judged)", got)
	}
	if got := (nhi.GovernanceCounts{}).MappedPct(); got != 0 {
		t.Errorf("empty MappedPct = %v", got)
	}
}

// TestGovernanceAgreesWithAnalyze: the counts and the findings judge the
// same way, because they share role resolution and baseline matching.
// Every mapped identity's grant outside its baseline is a grant finding,
// every unmapped identity an unmapped finding, and shuffling the input
// changes nothing.
func TestGovernanceAgreesWithAnalyze(t *testing.T) {
	p := synth.Default(3000, govNow)
	p.Roles, p.People, p.Hygiene = 200, 500, 60
	inv, cat := synth.Generate(p)
	g := analyzer.MeasureGovernance(&inv, cat, govNow)
	res := analyzer.Analyze(analyzer.Input{Inventory: inv, Catalog: cat, Now: govNow})
	outside, unmapped := 0, 0
	for _, f := range res.Findings {
		switch {
		case f.RoleID != "" && (f.RuleID == rules.RulePrivilegedGrant || f.RuleID == rules.RuleOutsideBaseline):
			outside++
		case f.RuleID == rules.RuleUnmapped:
			unmapped++
		}
	}
	if g.Total.OutsideBaseline != outside || g.Total.OutsideBaseline == 0 {
		t.Errorf("outside baseline %d, grant findings on mapped identities %d", g.Total.OutsideBaseline, outside)
	}
	if g.Total.Identities-g.Total.Mapped != unmapped {
		t.Errorf("unmapped %d, unmapped findings %d", g.Total.Identities-g.Total.Mapped, unmapped)
	}
	active := 0
	for _, o := range res.Ownership {
		if o.OwnerStatus == nhi.OwnerActive {
			active++
		}
	}
	if g.Total.OwnerActive != active {
		t.Errorf("active owners %d, analyzer says %d", g.Total.OwnerActive, active)
	}
	shuffled := inv.Clone()
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled.Identities), func(i, j int) {
		shuffled.Identities[i], shuffled.Identities[j] = shuffled.Identities[j], shuffled.Identities[i]
	})
	if diff := cmp.Diff(g, analyzer.MeasureGovernance(&shuffled, cat, govNow)); diff != "" {
		t.Errorf("shuffled input changes the result (-want +got):\n%s", diff)
	}
}

func TestResolverMatchesAnalyze(t *testing.T) {
	inv := govInventory()
	cat := govCatalogLoad(t)
	res := analyzer.Analyze(analyzer.Input{Inventory: inv, Catalog: cat, Now: govNow})
	r := analyzer.NewResolver(cat, govNow)
	for i := range inv.Identities {
		id := &inv.Identities[i]
		if diff := cmp.Diff(res.Ownership[id.ID], r.Resolve(id)); diff != "" {
			t.Errorf("%s (-Analyze +Resolve):\n%s", id.Name, diff)
		}
	}
	if o := analyzer.NewResolver(nil, govNow).Resolve(&inv.Identities[0]); o.RoleID != "" {
		t.Errorf("no catalog resolved a role: %+v", o)
	}
	if p, ok := r.ActivePerson(" ANN@x.example"); !ok || p.Team != "web" {
		t.Errorf("ActivePerson(ann) = %+v, %v", p, ok)
	}
	if _, ok := r.ActivePerson("dan@x.example"); ok {
		t.Error("a leaver is active")
	}
	if _, ok := r.ActivePerson("nobody@x.example"); ok {
		t.Error("an unknown person is active")
	}
}
