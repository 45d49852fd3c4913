package nhi_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

var t0 = time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)

func useInventory(u *nhi.GrantUse) nhi.Inventory {
	inv := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: t0, Scopes: []nhi.Scope{{Provider: nhi.AWS, ID: "111111111111"}}}
	inv.Identities = []nhi.Identity{{ID: "aws:AROA1", Provider: nhi.AWS, Kind: nhi.KindAWSRole, NativeID: "AROA1", Name: "r", Scope: "111111111111",
		Status: nhi.StatusActive, Usage: nhi.Usage{State: nhi.UsageUnknown},
		Grants: []nhi.Grant{{ID: "managed-policy:p", Kind: "managed-policy", Entitlement: "p", Scope: "111111111111", Privilege: nhi.PrivRead, Use: u}}}}
	return inv
}

// A grant's use survives the JSON form, and a malformed one is refused
// with its path.
func TestGrantUseRoundTripAndValidation(t *testing.T) {
	u := &nhi.GrantUse{State: nhi.UsageUsed, Source: nhi.SourceAccessAdvisor, WindowStart: t0.AddDate(0, 0, -400), WindowEnd: t0, LastUsed: t0.AddDate(0, 0, -3),
		Services: []nhi.ServiceUse{{Service: "sqs"}, {Service: "s3", LastUsed: t0.AddDate(0, 0, -3), Actions: []string{"s3:PutObject", "s3:GetObject"}}},
		Used:     []string{"s3:PutObject", "s3:GetObject"}}
	inv := useInventory(u)
	inv.Normalize()
	var b bytes.Buffer
	if err := nhi.Encode(&b, inv); err != nil {
		t.Fatal(err)
	}
	got, err := nhi.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	g := got.Identities[0].Grants[0].Use
	if g == nil || g.Services[0].Service != "s3" || g.Services[0].Actions[0] != "s3:GetObject" || !g.LastUsed.Equal(u.LastUsed) {
		t.Errorf("decoded use = %+v", g)
	}
	if fs := got.Identities[0].Facets(); !strings.Contains(strings.Join(facetStrings(fs), ","), "entitlement-usage:access-advisor") {
		t.Errorf("identity facets %v lack its grant's usage source", fs)
	}
	for _, bad := range []*nhi.GrantUse{
		{State: nhi.UsageUsed, Source: nhi.SourceAccessAdvisor},
		{State: nhi.UsageNeverUsed},
		{State: nhi.UsageNotReported, Source: nhi.SourceAccessAdvisor},
		{State: nhi.UsageNeverUsed, Source: nhi.SourceAccessAdvisor, WindowStart: t0, WindowEnd: t0.AddDate(0, 0, -1)},
	} {
		inv := useInventory(bad)
		if err := inv.Validate(); err == nil || !strings.Contains(err.Error(), "grant managed-policy:p: use:") {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

func facetStrings(fs []nhi.Facet) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f)
	}
	return out
}

// A grant keeps the first time a scan saw it while every scan holds it;
// one that was not in the previous scan is first seen now.
func TestStampFirstSeen(t *testing.T) {
	prev := useInventory(nil)
	prev.CollectedAt = t0.AddDate(0, 0, -30)
	nhi.StampFirstSeen(&prev, nil)
	if got := prev.Identities[0].Grants[0].FirstSeen; !got.Equal(prev.CollectedAt) {
		t.Fatalf("first scan: %s", got)
	}
	cur := useInventory(nil)
	cur.Identities[0].Grants = append(cur.Identities[0].Grants, nhi.Grant{ID: "inline-policy:new", Kind: "inline-policy", Entitlement: "inline:new", Scope: "111111111111", Privilege: nhi.PrivRead})
	nhi.StampFirstSeen(&cur, &prev)
	if got := cur.Identities[0].Grants[0].FirstSeen; !got.Equal(prev.CollectedAt) {
		t.Errorf("kept grant first seen %s, want %s", got, prev.CollectedAt)
	}
	if got := cur.Identities[0].Grants[1].FirstSeen; !got.Equal(t0) {
		t.Errorf("new grant first seen %s, want %s", got, t0)
	}
}

// A gap on one identity hides its facet for that identity only.
func TestIdentityGap(t *testing.T) {
	inv := useInventory(nil)
	f := nhi.EntitlementUsageFacet(nhi.SourceAccessAdvisor)
	inv.Gaps = []nhi.Gap{{Provider: nhi.AWS, Scope: "111111111111", Source: "iam:GetServiceLastAccessedDetails", Kind: nhi.GapTimeout, Facets: []nhi.Facet{f}, Identity: "aws:AROA1"}}
	cov := inv.Coverage()
	if !cov.Observed(nhi.AWS, "111111111111", f) {
		t.Error("an identity's gap hid the scope's facet")
	}
	if cov.IdentityGap(nhi.AWS, "111111111111", "aws:AROA1", f) == nil || cov.IdentityGap(nhi.AWS, "111111111111", "aws:AROA2", f) != nil {
		t.Error("IdentityGap names the wrong identity")
	}
}

// A grant's recommendation survives the JSON form (its replacements
// sorted), a malformed one is refused with its path, and a field the form
// does not define is refused by Decode.
func TestGrantRecommendationRoundTripAndValidation(t *testing.T) {
	inv := useInventory(nil)
	inv.Identities[0].Grants[0].Recommendation = &nhi.GrantRecommendation{Source: nhi.SourceGCPRecommender, Action: nhi.RecommendReplace,
		Subtype: "REPLACE_ROLE", Replace: []string{"roles/b", "roles/a"}, Name: "projects/1/locations/global/recommenders/r/recommendations/x",
		Priority: "P2", AsOf: t0.In(time.FixedZone("x", 3600))}
	inv.Normalize()
	var b bytes.Buffer
	if err := nhi.Encode(&b, inv); err != nil {
		t.Fatal(err)
	}
	raw := b.String()
	got, err := nhi.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	r := got.Identities[0].Grants[0].Recommendation
	if r == nil || r.Replace[0] != "roles/a" || r.AsOf.Location() != time.UTC || r.Priority != "P2" {
		t.Errorf("decoded recommendation = %+v", r)
	}
	if _, err := nhi.Decode(strings.NewReader(strings.Replace(raw, `"replace_with"`, `"replace_roles"`, 1))); err == nil {
		t.Error("an unknown recommendation field was accepted")
	}
	for _, bad := range []*nhi.GrantRecommendation{
		{Action: nhi.RecommendRemove, Name: "n"},
		{Source: nhi.SourceGCPRecommender, Action: nhi.RecommendRemove},
		{Source: nhi.SourceGCPRecommender, Action: nhi.RecommendReplace, Name: "n"},
		{Source: nhi.SourceGCPRecommender, Action: nhi.RecommendRemove, Name: "n", Replace: []string{"roles/a"}},
		{Source: nhi.SourceGCPRecommender, Action: "shrink", Name: "n"},
	} {
		inv := useInventory(nil)
		inv.Identities[0].Grants[0].Recommendation = bad
		if err := inv.Validate(); err == nil || !strings.Contains(err.Error(), "grant managed-policy:p: recommendation:") {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}
