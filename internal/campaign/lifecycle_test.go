package campaign_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

func routedItems(t *testing.T) ([]campaign.Item, campaign.People) {
	t.Helper()
	in := testBuildInput()
	people := campaign.NewPeople(in.Catalog.People)
	items, unrouted := route(t, campaign.Router{People: people, Fallback: "grace@acme.example", Now: t0}, in)
	if len(unrouted) > 0 {
		t.Fatal(unrouted)
	}
	return items, people
}

func TestValidate(t *testing.T) {
	items, people := routedItems(t)
	byID := func(n int) *campaign.Item { return &items[n-1] }
	carol, liam, bob := "carol@acme.example", "liam@acme.example", "bob@acme.example"
	for _, tc := range []struct {
		name string
		item int
		d    campaign.Decision
		want error // nil, or the sentinel
	}{
		{"certify with justification", 1, campaign.Decision{Reviewer: carol, Kind: campaign.Certify, Justification: "deploys prod"}, nil},
		{"reviewer case-insensitive", 1, campaign.Decision{Reviewer: "Carol@Acme.example", Kind: campaign.Certify, Justification: "x"}, nil},
		{"privileged item needs a justification", 1, campaign.Decision{Reviewer: carol, Kind: campaign.Certify}, campaign.ErrJustification},
		{"white space is no justification", 1, campaign.Decision{Reviewer: carol, Kind: campaign.Revoke, Justification: "  "}, campaign.ErrJustification},
		{"item with findings needs one", 3, campaign.Decision{Reviewer: carol, Kind: campaign.Revoke}, campaign.ErrJustification},
		{"plain item needs none", 7, campaign.Decision{Reviewer: bob, Kind: campaign.Certify}, nil},
		{"don't know needs none", 1, campaign.Decision{Reviewer: carol, Kind: campaign.DontKnow}, nil},
		{"reassign needs none", 1, campaign.Decision{Reviewer: carol, Kind: campaign.Reassign, ReassignTo: "alice@acme.example"}, nil},
		{"reassign by alias", 7, campaign.Decision{Reviewer: bob, Kind: campaign.Reassign, ReassignTo: "carol@acme.example"}, nil},
		{"another reviewer", 1, campaign.Decision{Reviewer: bob, Kind: campaign.Certify, Justification: "x"}, campaign.ErrNotReviewer},
		{"the conflicted reviewer", 11, campaign.Decision{Reviewer: bob, Kind: campaign.Certify}, campaign.ErrNotReviewer},
		{"the second reviewer", 11, campaign.Decision{Reviewer: liam, Kind: campaign.Certify}, nil},
		{"certify until the future", 7, campaign.Decision{Reviewer: bob, Kind: campaign.Certify, Until: t0.AddDate(0, 6, 0)}, nil},
		{"certify until the past", 7, campaign.Decision{Reviewer: bob, Kind: campaign.Certify, Until: t0.AddDate(0, 0, -1)}, campaign.ErrInvalid},
		{"until on revoke", 7, campaign.Decision{Reviewer: bob, Kind: campaign.Revoke, Until: t0.AddDate(0, 6, 0)}, campaign.ErrInvalid},
		{"revoke a credential", 2, campaign.Decision{Reviewer: carol, Kind: campaign.Revoke, Justification: "x"}, nil},
		{"revoke a grant", 8, campaign.Decision{Reviewer: bob, Kind: campaign.Revoke}, campaign.ErrInvalid},
		{"reduce an identity's grants", 1, campaign.Decision{Reviewer: carol, Kind: campaign.Reduce, Justification: "x",
			Grants: []string{"managed-policy:arn:aws:iam::aws:policy/AdministratorAccess"}}, nil},
		{"reduce without grants", 1, campaign.Decision{Reviewer: carol, Kind: campaign.Reduce, Justification: "x"}, campaign.ErrInvalid},
		{"reduce a grant it does not hold", 1, campaign.Decision{Reviewer: carol, Kind: campaign.Reduce, Justification: "x", Grants: []string{"nope"}}, campaign.ErrInvalid},
		{"reduce a grant item", 8, campaign.Decision{Reviewer: bob, Kind: campaign.Reduce}, nil},
		{"reduce a credential", 2, campaign.Decision{Reviewer: carol, Kind: campaign.Reduce, Justification: "x"}, campaign.ErrInvalid},
		{"grants on certify", 1, campaign.Decision{Reviewer: carol, Kind: campaign.Certify, Justification: "x", Grants: []string{"g"}}, campaign.ErrInvalid},
		{"reassign to a leaver", 1, campaign.Decision{Reviewer: carol, Kind: campaign.Reassign, ReassignTo: "dan@acme.example"}, campaign.ErrInvalid},
		{"reassign to a stranger", 1, campaign.Decision{Reviewer: carol, Kind: campaign.Reassign, ReassignTo: "eve@evil.example"}, campaign.ErrInvalid},
		{"reassign to oneself", 1, campaign.Decision{Reviewer: carol, Kind: campaign.Reassign, ReassignTo: carol}, campaign.ErrInvalid},
		{"reassign a credential", 2, campaign.Decision{Reviewer: carol, Kind: campaign.Reassign, ReassignTo: "alice@acme.example"}, campaign.ErrInvalid},
		{"don't know on a grant", 4, campaign.Decision{Reviewer: carol, Kind: campaign.DontKnow}, campaign.ErrInvalid},
		{"leaver claimed by certify", 5, campaign.Decision{Reviewer: carol, Kind: campaign.Certify, Justification: "I own it now"}, nil},
		{"unknown kind", 7, campaign.Decision{Reviewer: bob, Kind: "approve"}, campaign.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it := byID(tc.item)
			err := campaign.Validate(&tc.d, it, campaign.Children(items, it.ID), people, t0)
			if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("Validate = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParseKind(t *testing.T) {
	for in, want := range map[string]campaign.DecisionKind{"certify": campaign.Certify, " REVOKE ": campaign.Revoke,
		"don't know": campaign.DontKnow, "dont_know": campaign.DontKnow, "dont-know": campaign.DontKnow} {
		if got, err := campaign.ParseKind(in); err != nil || got != want {
			t.Errorf("ParseKind(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "approve", "unanswered"} {
		if _, err := campaign.ParseKind(bad); err == nil {
			t.Errorf("ParseKind(%q): want an error", bad)
		}
	}
}

func decision(id int64, item int, kind campaign.DecisionKind, mods ...func(*campaign.Decision)) campaign.Decision {
	d := campaign.Decision{ID: id, ItemID: item, Kind: kind, At: t0.Add(time.Duration(id) * time.Minute)}
	for _, m := range mods {
		m(&d)
	}
	return d
}

func TestKPIsAndDefaults(t *testing.T) {
	items, _ := routedItems(t)
	items[10].Escalated = true // bob-release-token escalated
	ds := []campaign.Decision{
		decision(1, 1, campaign.Certify),                                // deployer and its 3 children certified...
		decision(2, 3, campaign.Revoke),                                 // ...but its old key revoked
		decision(3, 7, campaign.Reassign),                               // payments-runtime reassigned, then
		decision(4, 7, campaign.Reduce),                                 // reduced by the new reviewer
		decision(5, 9, campaign.DontKnow),                               // payments-deploy: don't know
		decision(6, 5, campaign.Revoke),                                 // the leaver's identity revoked (with its key)
		decision(7, 12, campaign.Certify),                               // one token credential certified
		decision(8, 1, campaign.Certify),                                // a second certify supersedes the first
		decision(9, 4, campaign.Reduce),                                 // the admin grant removed
		decision(10, 8, campaign.DontKnow, func(*campaign.Decision) {}), // ignored: its identity is reduced
	}
	at := deadline.Add(time.Hour)
	got := campaign.ComputeKPIs(items, ds, at)
	want := campaign.KPIs{Items: 12, Identities: 5, Reviewers: 3,
		Certified:  3, // deployer, AKIANEW, token credential
		Revoked:    3, // AKIAOLD, dan-scripts, AKIADAN
		Reduced:    3, // admin grant, payments-runtime and its grant
		Reassigned: 2, Unanswered: 3, Overdue: 3, Conflicts: 4, Escalated: 2, Leavers: 1, DontKnow: 1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("KPIs (-want +got):\n%s", diff)
	}

	c := &campaign.Campaign{ID: 3, Policy: campaign.Policy{Unanswered: campaign.DefaultRevoke, LeaverUnanswered: campaign.DefaultDisable}}
	defs := campaign.Defaults(c, items, campaign.Last(ds), at)
	var gotDefs []string
	for _, d := range defs {
		gotDefs = append(gotDefs, items[d.ItemID-1].Label()+"="+string(d.Default))
		if d.Kind != campaign.Unanswered || d.Reviewer != campaign.Actor || d.Source != "close" || d.At != at {
			t.Errorf("default %+v", d)
		}
	}
	wantDefs := []string{"payments-deploy=revoke", "payments-deploy / github-deploy-key 9=none", "bob-release-token=revoke"}
	if diff := cmp.Diff(wantDefs, gotDefs); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	// The defaults count as defaulted, unanswered items in the KPIs.
	for i := range defs {
		defs[i].ID = int64(100 + i) // as the store numbers them
	}
	got = campaign.ComputeKPIs(items, append(ds, defs...), at)
	if got.Unanswered != 3 || got.Defaulted != 2 || got.DontKnow != 0 {
		t.Errorf("after defaults: unanswered %d defaulted %d dont-know %d; want 3, 2, 0", got.Unanswered, got.Defaulted, got.DontKnow)
	}
}

func TestReminderAndEscalationDue(t *testing.T) {
	p := &campaign.Policy{Reminders: []time.Duration{7 * 24 * time.Hour, 24 * time.Hour}, EscalateAfter: 2 * 24 * time.Hour}
	for _, tc := range []struct {
		at   time.Time
		want time.Duration
		ok   bool
	}{
		{deadline.AddDate(0, 0, -8), 0, false},
		{deadline.AddDate(0, 0, -7), 7 * 24 * time.Hour, true},
		{deadline.AddDate(0, 0, -2), 7 * 24 * time.Hour, true},
		{deadline.AddDate(0, 0, -1), 24 * time.Hour, true},
		{deadline.Add(-time.Second), 24 * time.Hour, true},
		{deadline, 0, false},
	} {
		got, ok := campaign.ReminderDue(p, deadline, tc.at)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ReminderDue at %v = %v, %v; want %v, %v", tc.at, got, ok, tc.want, tc.ok)
		}
	}
	it := &campaign.Item{ID: 1, Deadline: deadline}
	for _, tc := range []struct {
		at        time.Time
		escalated bool
		want      bool
	}{
		{deadline, false, false},
		{deadline.AddDate(0, 0, 2).Add(-time.Second), false, false},
		{deadline.AddDate(0, 0, 2), false, true},
		{deadline.AddDate(0, 0, 9), true, false},
	} {
		it.Escalated = tc.escalated
		if got := campaign.EscalationDue(p, it, tc.at); got != tc.want {
			t.Errorf("EscalationDue at %v (escalated %v) = %v", tc.at, tc.escalated, got)
		}
	}
	child := &campaign.Item{ID: 2, ParentID: 1, Deadline: deadline}
	if campaign.EscalationDue(p, child, deadline.AddDate(1, 0, 0)) {
		t.Error("a credential item escalates on its own; want only identity items")
	}
}

func TestCertification(t *testing.T) {
	items, _ := routedItems(t)
	inv := testInventory()
	inv.Normalize()
	prev := &nhi.Certification{At: t0.AddDate(0, -3, 0),
		Grants:      map[string][]string{"aws:AIDAOLD": {"old"}, "aws:AROAPAY": {"was"}, "github:deploy-key:9": {"kept"}, "outside:campaign": {"x"}},
		Credentials: map[string][]string{"aws:AIDAOLD": {"AKIADAN"}},
	}
	ds := []campaign.Decision{
		decision(1, 1, campaign.Certify), // deployer certified
		decision(2, 3, campaign.Revoke),  // less its old key
		decision(3, 4, campaign.Reduce),  // and its admin grant
		decision(4, 5, campaign.Revoke),  // the leaver's identity revoked
		decision(5, 7, campaign.Reduce, func(d *campaign.Decision) {
			d.Grants = []string{"managed-policy:arn:aws:iam::aws:policy/ReadOnlyAccess"}
		}),
		decision(6, 10, campaign.Certify), // a child certified, its identity unanswered: no change
	}
	at := deadline
	got := campaign.Certification(prev, &inv, items, campaign.Last(ds), at)
	want := nhi.Certification{At: at,
		Grants: map[string][]string{
			"aws:AIDADEPLOY":      {},
			"aws:AROAPAY":         {},
			"github:deploy-key:9": {"kept"},
			"outside:campaign":    {"x"},
		},
		Credentials: map[string][]string{"aws:AIDADEPLOY": {"AKIANEW"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("certification (-want +got):\n%s", diff)
	}
	if prev.Grants["aws:AIDAOLD"] == nil {
		t.Error("Certification changed the previous certification")
	}
}

// Where grants were not observed, previously certified grants stay
// certified beside the approved ones: a gap never becomes drift.
func TestCertificationKeepsUnobservedGrants(t *testing.T) {
	items, _ := routedItems(t)
	inv := testInventory()
	inv.Gaps = append(inv.Gaps, nhi.Gap{Provider: nhi.AWS, Scope: "222222222222", Source: "iam:ListRolePolicies", Kind: nhi.GapDenied,
		Facets: []nhi.Facet{nhi.GrantsFacet("inline-policy")}})
	inv.Normalize()
	prev := &nhi.Certification{At: t0.AddDate(0, -3, 0), Grants: map[string][]string{"aws:AROAPAY": {"inline-policy:unseen"}}}
	got := campaign.Certification(prev, &inv, items, campaign.Last([]campaign.Decision{decision(1, 7, campaign.Certify)}), deadline)
	want := []string{"inline-policy:unseen", "managed-policy:arn:aws:iam::aws:policy/ReadOnlyAccess"}
	if diff := cmp.Diff(want, got.Grants["aws:AROAPAY"]); diff != "" {
		t.Errorf("certified grants (-want +got):\n%s", diff)
	}
}

func TestRemediation(t *testing.T) {
	ds := []campaign.Decision{
		decision(1, 1, campaign.Revoke), decision(2, 1, campaign.Certify),
		decision(3, 2, campaign.Reduce), decision(4, 3, campaign.Certify),
		decision(5, 4, campaign.Unanswered, func(d *campaign.Decision) { d.Default = campaign.DefaultDisable }),
		decision(6, 5, campaign.Unanswered, func(d *campaign.Decision) { d.Default = campaign.DefaultNone }),
	}
	last := campaign.Last(ds)
	var got []string
	for i := range ds {
		got = append(got, campaign.Remediation(&ds[i], last))
	}
	want := []string{"superseded", "none", "pending", "none", "pending", "none"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("remediation (-want +got):\n%s", diff)
	}
}
