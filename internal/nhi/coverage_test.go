package nhi_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

func TestFacetCovers(t *testing.T) {
	for _, tc := range []struct {
		f, g   nhi.Facet
		covers bool
	}{
		{nhi.FacetUsage, nhi.UsageFacet("signin-report"), true},
		{nhi.UsageFacet("signin-report"), nhi.FacetUsage, false},
		{nhi.UsageFacet("a"), nhi.UsageFacet("a"), true},
		{nhi.UsageFacet("a"), nhi.UsageFacet("b"), false},
		{nhi.FacetGrants, nhi.UsageFacet("a"), false},
		{nhi.FacetLogin, nhi.FacetLogin, true},
	} {
		if got := tc.f.Covers(tc.g); got != tc.covers {
			t.Errorf("%q.Covers(%q) = %v, want %v", tc.f, tc.g, got, tc.covers)
		}
	}
	for f, want := range map[nhi.Facet]bool{"usage": true, "usage:x": true, "usage:": false, "bogus": false, "bogus:x": false, "": false} {
		if got := f.Valid(); got != want {
			t.Errorf("%q.Valid() = %v, want %v", f, got, want)
		}
	}
}

// TestCoverageByFacet: a failed call hides only the facets it names in its
// scope; a gap without facets hides the whole scope; a provider-wide gap
// hides every scope of the provider.
func TestCoverageByFacet(t *testing.T) {
	keys := nhi.CredentialsFacet(nhi.CredAWSAccessKey)
	ssc := nhi.CredentialsFacet(nhi.CredAWSServiceSpecific)
	inv := nhi.Inventory{
		Scopes: []nhi.Scope{
			{Provider: nhi.AWS, ID: "111", Facets: []nhi.Facet{nhi.FacetIdentities, nhi.FacetCredentials, nhi.FacetGrants, nhi.FacetUsage}},
			{Provider: nhi.AWS, ID: "222"},
			{Provider: nhi.AWS, ID: "333"},
			{Provider: nhi.GCP, ID: "p1"},
		},
		Gaps: []nhi.Gap{
			{Provider: nhi.AWS, Scope: "111", Source: "iam:ListServiceSpecificCredentials", Kind: nhi.GapError, Facets: []nhi.Facet{ssc}},
			{Provider: nhi.AWS, Scope: "222", Source: "sts:AssumeRole", Kind: nhi.GapDenied},
			{Provider: nhi.AWS, Scope: "333", Source: "old", Kind: nhi.GapDenied, UsageOnly: true},
			{Provider: nhi.GCP, Source: "cloudasset", Kind: nhi.GapUnavailable, Facets: []nhi.Facet{nhi.UsageFacet("activity-analyzer")}},
		},
	}
	c := inv.Coverage()
	for _, tc := range []struct {
		p     nhi.Provider
		scope string
		f     nhi.Facet
		want  bool
	}{
		{nhi.AWS, "111", keys, true},
		{nhi.AWS, "111", ssc, false},
		{nhi.AWS, "111", nhi.FacetCredentials, false}, // a class asks about every type
		{nhi.AWS, "111", nhi.GrantsFacet("inline-policy"), true},
		{nhi.AWS, "111", nhi.FacetLogin, false}, // not read there
		{nhi.AWS, "222", keys, false},
		{nhi.AWS, "333", keys, true},
		{nhi.AWS, "333", nhi.UsageFacet("credential-report"), false},
		{nhi.AWS, "444", keys, false},
		{nhi.GCP, "p1", nhi.UsageFacet("activity-analyzer"), false},
		{nhi.GCP, "p1", nhi.CredentialsFacet(nhi.CredGCPUserManagedKey), true},
	} {
		if got := c.Observed(tc.p, tc.scope, tc.f); got != tc.want {
			g, why := c.Why(tc.p, tc.scope, tc.f)
			t.Errorf("Observed(%s %s %s) = %v, want %v (gap %v, %q)", tc.p, tc.scope, tc.f, got, tc.want, g, why)
		}
	}
	if _, why := c.Why(nhi.AWS, "444", keys); why != nhi.WhyNotCollected {
		t.Errorf("uncollected scope: why %q", why)
	}
	if _, why := c.Why(nhi.AWS, "111", nhi.FacetLogin); why != nhi.WhyNotRead {
		t.Errorf("unread facet: why %q", why)
	}
	m := c.Matrix(&inv)
	var cells []string
	for _, s := range m {
		if s.Provider == nhi.AWS && s.Scope == "111" {
			cells = append(cells, string(s.Facet)+"="+map[bool]string{true: "ok", false: "gap"}[s.Observed])
		}
	}
	if got, want := strings.Join(cells, " "), "credentials=gap grants=ok identities=ok usage=ok"; got != want {
		t.Errorf("matrix for 111: %s, want %s", got, want)
	}
}

func TestVerdictJSON(t *testing.T) {
	for _, tc := range []struct {
		v    nhi.Verdict
		want string
	}{
		{nhi.NotJudged, `{"id":"g","kind":"k","entitlement":"e","scope":"","privilege":"read"}`},
		{nhi.JudgedPrivileged, `{"id":"g","kind":"k","entitlement":"e","scope":"","privilege":"read","privileged":true}`},
		{nhi.JudgedNotPrivileged, `{"id":"g","kind":"k","entitlement":"e","scope":"","privilege":"read","privileged":false}`},
	} {
		g := nhi.Grant{ID: "g", Kind: "k", Entitlement: "e", Privilege: nhi.PrivRead, Privileged: tc.v}
		b, err := json.Marshal(g)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("%v: %s, want %s", tc.v, b, tc.want)
		}
		var back nhi.Grant
		if err := json.Unmarshal(b, &back); err != nil || back.Privileged != tc.v {
			t.Errorf("%v: read back %v (%v)", tc.v, back.Privileged, err)
		}
	}
	var g nhi.Grant
	if err := json.Unmarshal([]byte(`{"privileged":"yes"}`), &g); err == nil {
		t.Error(`"privileged":"yes" accepted`)
	}
}

// TestFacetsRoundTrip: scope and gap facets survive Encode and Decode, and
// an unknown facet is an error.
func TestFacetsRoundTrip(t *testing.T) {
	inv := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Scopes: []nhi.Scope{{Provider: nhi.AWS, ID: "1", Facets: []nhi.Facet{nhi.FacetUsage, nhi.FacetGrants, nhi.FacetUsage}}},
		Gaps:   []nhi.Gap{{Provider: nhi.AWS, Scope: "1", Source: "x", Kind: nhi.GapDenied, Facets: []nhi.Facet{nhi.FacetLogin}}}}
	var b bytes.Buffer
	if err := nhi.Encode(&b, inv); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	back, err := nhi.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Scopes[0].Facets; len(got) != 2 || got[0] != nhi.FacetGrants {
		t.Errorf("scope facets %v: want sorted, deduplicated [grants usage]", got)
	}
	bad := strings.Replace(text, `"login"`, `"logon"`, 1)
	if _, err := nhi.Decode(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), `unknown facet "logon"`) {
		t.Errorf("unknown facet: %v", err)
	}
}

func TestNotEvaluated(t *testing.T) {
	prev := nhi.Inventory{Scopes: []nhi.Scope{{Provider: nhi.AWS, ID: "1", Facets: []nhi.Facet{nhi.FacetIdentities, nhi.FacetGrants}}},
		Gaps: []nhi.Gap{{Provider: nhi.AWS, Scope: "1", Source: "gaad", Kind: nhi.GapThrottled, Facets: []nhi.Facet{nhi.FacetGrants}}}}
	cur := nhi.Inventory{Scopes: []nhi.Scope{{Provider: nhi.AWS, ID: "1", Facets: []nhi.Facet{nhi.FacetIdentities, nhi.FacetGrants}}, {Provider: nhi.AWS, ID: "2"}},
		Gaps: []nhi.Gap{{Provider: nhi.AWS, Scope: "2", Source: "sts:AssumeRole", Kind: nhi.GapDenied}}}
	var got []string
	for _, c := range nhi.NotEvaluated(&prev, &cur) {
		got = append(got, c.Scope+" "+string(c.Facet)+": "+c.Why)
	}
	want := []string{"1 grants: previous scan: gaad throttled", "2 identities: this scan: sts:AssumeRole denied"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("NotEvaluated:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := len(nhi.NotEvaluated(nil, &prev)); n != 1 {
		t.Errorf("first scan: %d cells, want 1", n)
	}
}

// TestValidateScopeFacetsCoverKinds: a scope that lists its facets must
// list the identity list each of its identities comes from, or every
// finding on them would be dropped as unobserved.
func TestValidateScopeFacetsCoverKinds(t *testing.T) {
	inv := nhi.Inventory{Version: nhi.SchemaVersion,
		Scopes: []nhi.Scope{{Provider: nhi.AWS, ID: "1", Facets: []nhi.Facet{nhi.IdentitiesFacet(nhi.KindAWSRole)}}},
		Identities: []nhi.Identity{{ID: "aws:AIDA1", Provider: nhi.AWS, Kind: nhi.KindAWSUser, NativeID: "AIDA1", Scope: "1",
			Status: nhi.StatusActive, Usage: nhi.Usage{State: nhi.UsageUnknown}}}}
	if err := inv.Validate(); err == nil || !strings.Contains(err.Error(), "identities:aws-iam-user") {
		t.Errorf("Validate: %v", err)
	}
	inv.Scopes[0].Facets = append(inv.Scopes[0].Facets, nhi.FacetIdentities)
	if err := inv.Validate(); err != nil {
		t.Errorf("Validate with the class listed: %v", err)
	}
}
