package reduce_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/reduce"
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
