package reduce_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/reduce"
	"github.com/nhiscan/nhiscan/rules"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

var now = time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)

func days(n int) time.Time { return now.AddDate(0, 0, -n) }

func policy(arn string, svcs ...nhi.ServiceUse) nhi.Grant {
	u := &nhi.GrantUse{State: nhi.UsageNeverUsed, Source: nhi.SourceAccessAdvisor, WindowStart: days(400), WindowEnd: days(1), Services: svcs}
	for _, s := range svcs {
		if s.LastUsed.After(u.LastUsed) {
			u.State, u.LastUsed = nhi.UsageUsed, s.LastUsed
		}
	}
	return nhi.Grant{ID: "managed-policy:" + arn, Kind: "managed-policy", Entitlement: arn, Scope: "111111111111", Privilege: nhi.PrivWrite,
		Privileged: nhi.JudgedNotPrivileged, Created: days(500), Use: u}
}

func inventory() nhi.Inventory {
	inv := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: now, Scopes: []nhi.Scope{{Provider: nhi.AWS, ID: "111111111111"}}}
	inv.Identities = []nhi.Identity{{ID: "aws:AROA1", Provider: nhi.AWS, Kind: nhi.KindAWSRole, NativeID: "AROA1", Name: "deployer",
		Scope: "111111111111", Status: nhi.StatusActive, Created: days(600), Tags: map[string]string{"app": "deploy"},
		Usage: nhi.Usage{State: nhi.UsageUsed, LastUsed: days(1), Source: "role-last-used", AsOf: now},
		Grants: []nhi.Grant{
			policy("arn:aws:iam::aws:policy/AmazonS3FullAccess", nhi.ServiceUse{Service: "s3"}),
			policy("arn:aws:iam::111111111111:policy/deploy", nhi.ServiceUse{Service: "ecs", LastUsed: days(2), Actions: []string{"ecs:UpdateService"}},
				nhi.ServiceUse{Service: "sqs"}),
			policy("arn:aws:iam::111111111111:policy/billing", nhi.ServiceUse{Service: "ce", LastUsed: days(80)}),
		}}}
	inv.Normalize()
	return inv
}

func TestSuggest(t *testing.T) {
	inv := inventory()
	cat := &catalog.Catalog{Roles: []catalog.Role{{ID: "deployers", BusinessOwner: "alice@acme.example",
		Members: []catalog.Selector{{Provider: nhi.AWS, Tags: map[string]string{"app": "deploy"}}}}}}
	res := analyzer.Analyze(analyzer.Input{Inventory: inv, Catalog: cat, Now: now})
	out := reduce.Suggest(reduce.Input{Inventory: &inv, Findings: res.Findings, Ownership: res.Ownership, Now: now, Window: 90 * 24 * time.Hour})
	if len(out.Identities) != 1 {
		t.Fatalf("identities = %+v", out.Identities)
	}
	s := out.Identities[0]
	if len(s.Remove) != 1 || s.Remove[0].Entitlement != "arn:aws:iam::aws:policy/AmazonS3FullAccess" {
		t.Errorf("remove = %+v", s.Remove)
	}
	if len(s.Narrow) != 1 || strings.Join(s.Narrow[0].Unused, ",") != "sqs" || strings.Join(s.Narrow[0].Used, ",") != "ecs" {
		t.Errorf("narrow = %+v", s.Narrow)
	}
	// Used once a quarter (80 days ago, window 90): kept, and in the policy.
	for _, want := range []string{`"ce:*"`, `"ecs:UpdateService"`} {
		if !strings.Contains(s.Policy, want) {
			t.Errorf("policy lacks %s:\n%s", want, s.Policy)
		}
	}
	for _, not := range []string{"s3", "sqs"} {
		if strings.Contains(s.Policy, `"`+not+`:`) {
			t.Errorf("policy allows unused %s:\n%s", not, s.Policy)
		}
	}
	if len(out.Roles) != 1 || out.Roles[0].RoleID != "deployers" || len(out.Roles[0].Used) != 2 || len(out.Roles[0].Unused) != 1 {
		t.Errorf("roles = %+v", out.Roles)
	}
}

// A policy grant whose use is unknown: no least-privilege document (what
// the identity needs cannot be shown), and the role says a member's use
// is unknown.
func TestUnknownUseGivesNoPolicy(t *testing.T) {
	inv := inventory()
	g := &inv.Identities[0].Grants[0]
	g.Use = &nhi.GrantUse{State: nhi.UsageUnknown, Source: nhi.SourceAccessAdvisor, Reason: "job timed out"}
	cat := &catalog.Catalog{Roles: []catalog.Role{{ID: "deployers", BusinessOwner: "alice@acme.example",
		Members: []catalog.Selector{{Provider: nhi.AWS, Tags: map[string]string{"app": "deploy"}}}}}}
	res := analyzer.Analyze(analyzer.Input{Inventory: inv, Catalog: cat, Now: now})
	out := reduce.Suggest(reduce.Input{Inventory: &inv, Findings: res.Findings, Ownership: res.Ownership, Now: now, Window: 90 * 24 * time.Hour})
	if len(out.Identities) != 1 || out.Identities[0].Policy != "" || !strings.Contains(out.Identities[0].PolicyNote, "unknown") {
		t.Errorf("identities = %+v", out.Identities)
	}
	for _, r := range out.Identities[0].Remove {
		if r.GrantID == g.ID {
			t.Error("a grant whose use is unknown suggested for removal")
		}
	}
	if out.Roles[0].Unknown != 1 {
		t.Errorf("roles = %+v", out.Roles)
	}
}

// gcpInventory: a service account with three project bindings the IAM
// recommender has role recommendations on: dataEditor to replace
// (partly used), a custom role to remove (never used, but too young for
// the unused-entitlement rule), and jobUser to remove although its use is
// unknown.
func gcpInventory() nhi.Inventory {
	const proj = "projects/acme-data-prod"
	rec := func(action, subtype string, replace ...string) *nhi.GrantRecommendation {
		return &nhi.GrantRecommendation{Source: nhi.SourceGCPRecommender, Action: action, Subtype: subtype, Replace: replace,
			Name: "projects/1/locations/global/recommenders/google.iam.policy.Recommender/recommendations/" + subtype, AsOf: days(1)}
	}
	insight := func(state nhi.UsageState, last time.Time) *nhi.GrantUse {
		return &nhi.GrantUse{State: state, Source: nhi.SourceGCPRecommender, WindowStart: days(91), WindowEnd: days(1), LastUsed: last}
	}
	binding := func(role string, use *nhi.GrantUse, r *nhi.GrantRecommendation) nhi.Grant {
		return nhi.Grant{ID: "role-binding:" + proj + ":" + role, Kind: "role-binding", Entitlement: role, Scope: proj, Privilege: nhi.PrivWrite,
			Privileged: nhi.JudgedNotPrivileged, FirstSeen: days(10), Use: use, Recommendation: r}
	}
	inv := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: now, Scopes: []nhi.Scope{{Provider: nhi.GCP, ID: "acme-data-prod"}}}
	inv.Identities = []nhi.Identity{{ID: "gcp:1001", Provider: nhi.GCP, Kind: nhi.KindGCPServiceAccount, NativeID: "1001",
		Name: "etl@acme-data-prod.iam.gserviceaccount.com", Scope: "acme-data-prod", Status: nhi.StatusActive, Created: days(600),
		Usage: nhi.Usage{State: nhi.UsageUsed, LastUsed: days(1), Source: "activity-analyzer", AsOf: now},
		Grants: []nhi.Grant{
			binding("roles/bigquery.dataEditor", insight(nhi.UsageUsed, days(1)), rec(nhi.RecommendReplace, "REPLACE_ROLE", "roles/bigquery.dataViewer")),
			binding("projects/acme-data-prod/roles/reportingAdmin", insight(nhi.UsageNeverUsed, time.Time{}), rec(nhi.RecommendRemove, "REMOVE_ROLE")),
			binding("roles/bigquery.jobUser", &nhi.GrantUse{State: nhi.UsageUnknown, Source: nhi.SourceGCPRecommender, Reason: "denied"},
				rec(nhi.RecommendRemove, "REMOVE_ROLE")),
		}}}
	inv.Normalize()
	return inv
}

// A REPLACE_ROLE recommendation is suggested as "replace X with Y", a
// REMOVE_ROLE as a removal, each with the recommendation as its evidence;
// a removal is never suggested for a grant whose use is unknown.
func TestRecommendations(t *testing.T) {
	inv := gcpInventory()
	if err := inv.Validate(); err != nil {
		t.Fatal(err)
	}
	res := analyzer.Analyze(analyzer.Input{Inventory: inv, Now: now})
	out := reduce.Suggest(reduce.Input{Inventory: &inv, Findings: res.Findings, Ownership: res.Ownership, Now: now, Window: 90 * 24 * time.Hour})
	if len(out.Identities) != 1 {
		t.Fatalf("identities = %+v", out.Identities)
	}
	s := out.Identities[0]
	if len(s.Replace) != 1 || s.Replace[0].Entitlement != "roles/bigquery.dataEditor" || strings.Join(s.Replace[0].ReplaceWith, ",") != "roles/bigquery.dataViewer" ||
		s.Replace[0].RecommendationSubtype != "REPLACE_ROLE" || !strings.HasSuffix(s.Replace[0].Recommendation, "/REPLACE_ROLE") ||
		s.Replace[0].Source != nhi.SourceGCPRecommender || s.Replace[0].Window != "90 days" {
		t.Errorf("replace = %+v", s.Replace)
	}
	if len(s.Remove) != 1 || s.Remove[0].Entitlement != "projects/acme-data-prod/roles/reportingAdmin" || s.Remove[0].RecommendationSubtype != "REMOVE_ROLE" ||
		s.Remove[0].LastUsed != "never" || len(s.Remove[0].ReplaceWith) != 0 || s.Remove[0].Finding != "" {
		t.Errorf("remove = %+v", s.Remove)
	}
}

// A grant an unused-entitlement finding already suggests removing carries
// the provider's recommendation as added evidence, once.
func TestRecommendationOnAFinding(t *testing.T) {
	inv := gcpInventory()
	for i := range inv.Identities[0].Grants {
		inv.Identities[0].Grants[i].FirstSeen = days(400) // old enough for the rule
	}
	res := analyzer.Analyze(analyzer.Input{Inventory: inv, Now: now})
	out := reduce.Suggest(reduce.Input{Inventory: &inv, Findings: res.Findings, Ownership: res.Ownership, Now: now, Window: 90 * 24 * time.Hour})
	if len(out.Identities) != 1 {
		t.Fatalf("identities = %+v", out.Identities)
	}
	var n int
	for _, g := range out.Identities[0].Remove {
		if g.Entitlement == "projects/acme-data-prod/roles/reportingAdmin" {
			n++
			if g.Finding == "" || g.RecommendationSubtype != "REMOVE_ROLE" {
				t.Errorf("remove = %+v", g)
			}
		}
	}
	if n != 1 {
		t.Errorf("reportingAdmin suggested %d times: %+v", n, out.Identities[0].Remove)
	}
}

// A grant whose unused finding an exception suppresses is not suggested
// for removal on the recommendation either.
func TestRecommendationOnASuppressedFinding(t *testing.T) {
	inv := gcpInventory()
	for i := range inv.Identities[0].Grants {
		inv.Identities[0].Grants[i].FirstSeen = days(400)
	}
	res := analyzer.Analyze(analyzer.Input{Inventory: inv, Now: now})
	found := false
	for i := range res.Findings {
		if f := &res.Findings[i]; f.RuleID == rules.RuleUnusedEntitlement && strings.HasSuffix(f.GrantID, "reportingAdmin") {
			f.Suppressed, found = true, true
		}
	}
	if !found {
		t.Fatal("no unused finding on reportingAdmin")
	}
	out := reduce.Suggest(reduce.Input{Inventory: &inv, Findings: res.Findings, Ownership: res.Ownership, Now: now, Window: 90 * 24 * time.Hour})
	for _, s := range out.Identities {
		for _, g := range s.Remove {
			if strings.HasSuffix(g.GrantID, "reportingAdmin") {
				t.Errorf("suggested despite the exception: %+v", g)
			}
		}
	}
}
