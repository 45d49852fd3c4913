package campaign_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; -update rewrites it):\n%s", name, diff)
	}
}

type itemRow struct {
	ID, Parent int
	Kind       campaign.ItemKind
	Label      string
}

func rows(items []campaign.Item) []itemRow {
	var out []itemRow
	for _, it := range items {
		out = append(out, itemRow{it.ID, it.ParentID, it.Kind, it.Label()})
	}
	return out
}

func TestBuildItemsInOrderWithChildren(t *testing.T) {
	items := campaign.Build(testBuildInput())
	want := []itemRow{
		{1, 0, campaign.KindIdentity, "platform-deployer"},
		{2, 1, campaign.KindCredential, "platform-deployer / aws-access-key AKIANEW"},
		{3, 1, campaign.KindCredential, "platform-deployer / aws-access-key AKIAOLD"},
		{4, 1, campaign.KindGrant, "platform-deployer / arn:aws:iam::aws:policy/AdministratorAccess @ 111111111111"},
		{5, 0, campaign.KindLeaver, "dan-scripts"},
		{6, 5, campaign.KindCredential, "dan-scripts / aws-access-key AKIADAN"},
		{7, 0, campaign.KindIdentity, "payments-runtime"},
		{8, 7, campaign.KindGrant, "payments-runtime / arn:aws:iam::aws:policy/ReadOnlyAccess @ 222222222222"},
		{9, 0, campaign.KindIdentity, "payments-deploy"},
		{10, 9, campaign.KindCredential, "payments-deploy / github-deploy-key 9"},
		{11, 0, campaign.KindIdentity, "bob-release-token"},
		{12, 11, campaign.KindCredential, "bob-release-token / github-fine-grained-token 7"},
	}
	if diff := cmp.Diff(want, rows(items)); diff != "" {
		t.Fatalf("items (-want +got):\n%s", diff)
	}
	for _, it := range items {
		if it.IdentityName == "AWSServiceRoleForSupport" {
			t.Errorf("a provider-managed identity became item %d", it.ID)
		}
	}
	if items[4].Deadline != t0.AddDate(0, 0, 7) || items[5].Deadline != t0.AddDate(0, 0, 7) {
		t.Errorf("leaver items' deadline = %v, %v; want the leaver deadline", items[4].Deadline, items[5].Deadline)
	}
	if items[0].Deadline != deadline {
		t.Errorf("deadline = %v, want %v", items[0].Deadline, deadline)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(items); err != nil {
		t.Fatal(err)
	}
	golden(t, "items.golden.json", buf.Bytes())
}

// An item whose usage source was not observed shows the gap, never the
// last-use value the collector had.
func TestBuildShowsGapInsteadOfUnobservedUsage(t *testing.T) {
	items := campaign.Build(testBuildInput())
	gap := "usage:credential-report: iam:GenerateCredentialReport denied"
	for _, n := range []int{1, 2, 3} {
		lu := items[n-1].Context.LastUse
		if lu.Gap != gap || !lu.At.IsZero() || lu.State != nhi.UsageUnknown {
			t.Errorf("item %d last use = %+v, want only the gap %q", n, lu, gap)
		}
		if diff := cmp.Diff([]string{gap}, items[n-1].Context.Gaps); diff != "" {
			t.Errorf("item %d gaps (-want +got):\n%s", n, diff)
		}
	}
	// The grant item is not affected by a usage gap.
	if g := items[3].Context.Gaps; len(g) != 0 {
		t.Errorf("grant item gaps = %v, want none", g)
	}
	// Another account's usage was observed and is shown.
	lu := items[6].Context.LastUse
	if lu.Gap != "" || lu.At.IsZero() || lu.Source != "role-last-used" || lu.AsOf.IsZero() {
		t.Errorf("payments-runtime last use = %+v, want the observed value with its source and as-of", lu)
	}
}

func TestBuildContext(t *testing.T) {
	items := campaign.Build(testBuildInput())
	deployer, oldKey, admin, leaver, paymentsGrant := items[0].Context, items[2].Context, items[3].Context, items[4].Context, items[7].Context
	if deployer.Role != "platform" || deployer.Purpose != "Runs the platform" || deployer.Owner != "carol@acme.example" {
		t.Errorf("deployer role context = %+v", deployer)
	}
	if !deployer.Privileged || !deployer.RequiresJustification || deployer.PrivilegedGrants != 1 {
		t.Errorf("deployer privileged=%v requires=%v n=%d; want privileged, justification required, 1", deployer.Privileged, deployer.RequiresJustification, deployer.PrivilegedGrants)
	}
	if deployer.Baseline != "1 of 1 entitlement(s) outside the baseline of role platform" {
		t.Errorf("deployer baseline = %q", deployer.Baseline)
	}
	if len(oldKey.Findings) != 1 || oldKey.Findings[0].Evidence["days_unused"] != "150" || !oldKey.RequiresJustification {
		t.Errorf("old key findings = %+v requires=%v", oldKey.Findings, oldKey.RequiresJustification)
	}
	if admin.Baseline != "outside the baseline of role platform" || !admin.Privileged || admin.PrivilegedReason != "AdministratorAccess" {
		t.Errorf("admin grant = baseline %q privileged %v (%s)", admin.Baseline, admin.Privileged, admin.PrivilegedReason)
	}
	if paymentsGrant.Baseline != "within the baseline of role payments" || paymentsGrant.RequiresJustification {
		t.Errorf("payments grant = baseline %q requires %v", paymentsGrant.Baseline, paymentsGrant.RequiresJustification)
	}
	want := &campaign.Leaver{Person: "dan@acme.example", Departed: t0.AddDate(0, -1, 0), Manager: "carol@acme.example", CredentialsToRotate: 1}
	if diff := cmp.Diff(want, leaver.Leaver); diff != "" {
		t.Errorf("leaver (-want +got):\n%s", diff)
	}
	if deployer.Drift != "never certified" {
		t.Errorf("drift without a certification = %q", deployer.Drift)
	}
}

func TestBuildDriftSinceCertification(t *testing.T) {
	in := testBuildInput()
	in.Certification = &nhi.Certification{At: t0.AddDate(0, -3, 0),
		Grants:      map[string][]string{"aws:AIDADEPLOY": {}, "aws:AROAPAY": {"managed-policy:arn:aws:iam::aws:policy/ReadOnlyAccess", "gone"}},
		Credentials: map[string][]string{"aws:AIDADEPLOY": {"AKIAOLD"}},
	}
	items := campaign.Build(in)
	got := map[string]string{}
	for _, it := range items {
		got[it.Label()] = it.Context.Drift
	}
	want := map[string]string{
		"platform-deployer":                                                              "since certification 2026-08-02: 1 grant(s) added, 0 grant(s) removed, 1 credential(s) added, 0 credential(s) removed",
		"platform-deployer / aws-access-key AKIANEW":                                     "added since certification 2026-08-02",
		"platform-deployer / aws-access-key AKIAOLD":                                     "certified 2026-08-02",
		"platform-deployer / arn:aws:iam::aws:policy/AdministratorAccess @ 111111111111": "added since certification 2026-08-02",
		"dan-scripts":                          "not in the last certification (2026-08-02)",
		"dan-scripts / aws-access-key AKIADAN": "not in the last certification (2026-08-02)",
		"payments-runtime":                     "since certification 2026-08-02: 0 grant(s) added, 1 grant(s) removed, 0 credential(s) added, 0 credential(s) removed",
		"payments-runtime / arn:aws:iam::aws:policy/ReadOnlyAccess @ 222222222222": "certified 2026-08-02",
		"payments-deploy":                                 "not in the last certification (2026-08-02)",
		"payments-deploy / github-deploy-key 9":           "not in the last certification (2026-08-02)",
		"bob-release-token":                               "not in the last certification (2026-08-02)",
		"bob-release-token / github-fine-grained-token 7": "not in the last certification (2026-08-02)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("drift (-want +got):\n%s", diff)
	}
}

// A removal is never claimed where the grants were not observed.
func TestBuildDriftRemovalUnknownUnderGap(t *testing.T) {
	in := testBuildInput()
	in.Inventory.Gaps = append(in.Inventory.Gaps, nhi.Gap{Provider: nhi.AWS, Scope: "222222222222", Source: "iam:ListAttachedRolePolicies",
		Kind: nhi.GapThrottled, Facets: []nhi.Facet{nhi.GrantsFacet("managed-policy")}})
	in.Certification = &nhi.Certification{At: t0.AddDate(0, -3, 0), Grants: map[string][]string{"aws:AROAPAY": {"gone"}}}
	items := campaign.Build(in)
	got := items[6].Context.Drift
	if !strings.Contains(got, "grants removed: unknown (grants: iam:ListAttachedRolePolicies throttled)") {
		t.Errorf("drift = %q, want the removal reported unknown", got)
	}
	if diff := cmp.Diff([]string{"grants:managed-policy: iam:ListAttachedRolePolicies throttled"}, items[7].Context.Gaps); diff != "" {
		t.Errorf("grant item gaps (-want +got):\n%s", diff)
	}
}

func TestBuildFilter(t *testing.T) {
	heads := func(f campaign.Filter) []string {
		in := testBuildInput()
		in.Filter = f
		var out []string
		for _, it := range campaign.Build(in) {
			if it.ParentID == 0 {
				out = append(out, it.IdentityName)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    campaign.Filter
		want []string
	}{
		{"everything", campaign.Filter{}, []string{"platform-deployer", "dan-scripts", "payments-runtime", "payments-deploy", "bob-release-token"}},
		{"provider", campaign.Filter{Providers: []nhi.Provider{nhi.GitHub}}, []string{"payments-deploy", "bob-release-token"}},
		{"scope glob", campaign.Filter{Scopes: []string{"2222*"}}, []string{"dan-scripts", "payments-runtime"}},
		{"role", campaign.Filter{Roles: []string{"platform"}}, []string{"platform-deployer"}},
		{"owner", campaign.Filter{Owners: []string{"BOB@acme.example"}}, []string{"payments-runtime", "payments-deploy", "bob-release-token"}},
		{"family", campaign.Filter{Families: []string{nhi.FamilyDormant}}, []string{"platform-deployer"}},
		{"privileged", campaign.Filter{PrivilegedOnly: true}, []string{"platform-deployer"}},
		{"with findings", campaign.Filter{WithFindingsOnly: true}, []string{"platform-deployer", "dan-scripts"}},
		{"leavers", campaign.Filter{LeaversOnly: true}, []string{"dan-scripts"}},
		{"and", campaign.Filter{Providers: []nhi.Provider{nhi.AWS}, Owners: []string{"bob@acme.example"}}, []string{"payments-runtime"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, heads(tc.f)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A suppressed finding is shown with its exception but neither requires a
// justification nor passes the with-findings filter.
func TestBuildSuppressedFinding(t *testing.T) {
	in := testBuildInput()
	in.Findings = []nhi.Finding{{Fingerprint: "fp", RuleID: "credential-too-old", Family: nhi.FamilyLongLived, Severity: nhi.SevLow,
		IdentityID: "aws:AROAPAY", Suppressed: true, Exception: "EX-1"}}
	items := campaign.Build(in)
	ctx := items[6].Context
	if len(ctx.Findings) != 1 || ctx.Findings[0].Exception != "EX-1" || ctx.RequiresJustification {
		t.Errorf("payments-runtime findings = %+v requires = %v", ctx.Findings, ctx.RequiresJustification)
	}
	in.Filter.WithFindingsOnly = true
	for _, it := range campaign.Build(in) {
		if it.IdentityID == "aws:AROAPAY" {
			t.Error("a suppressed finding passed the with-findings filter")
		}
	}
}

// A finding on a credential that is gone (a deleted key's drift finding)
// shows on its identity's item.
func TestBuildFindingOnAbsentCredential(t *testing.T) {
	in := testBuildInput()
	in.Findings = append(in.Findings, nhi.Finding{Fingerprint: "gone", RuleID: "drift-credential-removed", Family: nhi.FamilyDrift,
		Severity: nhi.SevInfo, IdentityID: "aws:AROAPAY", CredentialID: "AKIAGONE"})
	items := campaign.Build(in)
	if f := items[6].Context.Findings; len(f) != 1 || f[0].RuleID != "drift-credential-removed" || !items[6].Context.RequiresJustification {
		t.Errorf("payments-runtime findings = %+v", f)
	}
}

// An unused-entitlement finding that suggests removing a grant offers it
// to a reduce decision, on the identity's item and on the grant's; the
// grant item shows the grant's observed last use.
func TestBuildOffersUnusedGrantsToReduce(t *testing.T) {
	in := testBuildInput()
	const g = "managed-policy:arn:aws:iam::aws:policy/ReadOnlyAccess"
	for i := range in.Inventory.Identities {
		if id := &in.Inventory.Identities[i]; id.ID == "aws:AROAPAY" {
			id.Grants[0].Use = &nhi.GrantUse{State: nhi.UsageNeverUsed, Source: nhi.SourceAccessAdvisor, WindowStart: t0.AddDate(-1, 0, 0), WindowEnd: t0}
		}
	}
	in.Findings = append(in.Findings, nhi.Finding{Fingerprint: nhi.Fingerprint(rules.RuleUnusedEntitlement, "aws:AROAPAY", "", g),
		RuleID: rules.RuleUnusedEntitlement, Family: nhi.FamilyOverPrivileged, Severity: nhi.SevMedium, IdentityID: "aws:AROAPAY", GrantID: g,
		Evidence: nhi.EvidenceOf(map[string]string{"reduce": "remove-grant", "source": nhi.SourceAccessAdvisor})})
	var head, grant *campaign.Item
	items := campaign.Build(in)
	for i := range items {
		switch it := &items[i]; {
		case it.IdentityID == "aws:AROAPAY" && it.Kind == campaign.KindIdentity:
			head = it
		case it.IdentityID == "aws:AROAPAY" && it.GrantID == g:
			grant = it
		}
	}
	if head == nil || grant == nil || len(head.Context.Reduce) != 1 || head.Context.Reduce[0] != g || len(grant.Context.Reduce) != 1 {
		t.Fatalf("reduce offers: head %+v grant %+v", head, grant)
	}
	if lu := grant.Context.LastUse; lu.State != nhi.UsageNeverUsed || lu.Source != nhi.SourceAccessAdvisor || !lu.AsOf.Equal(t0) {
		t.Errorf("grant last use = %+v", lu)
	}
}

// One identity's gap (its Access Advisor job did not finish) shows on that
// identity's item and its grants' items, and on no other identity of the
// scope.
func TestBuildShowsOneIdentitysGap(t *testing.T) {
	in := testBuildInput()
	facet := nhi.EntitlementUsageFacet(nhi.SourceAccessAdvisor)
	var scope string
	for _, id := range in.Inventory.Identities {
		if id.ID == "aws:AROAPAY" {
			scope = id.Scope
		}
	}
	in.Inventory.Gaps = append(in.Inventory.Gaps, nhi.Gap{Provider: nhi.AWS, Scope: scope, Identity: "aws:AROAPAY",
		Source: "iam:GetServiceLastAccessedDetails", Kind: nhi.GapTimeout, Facets: []nhi.Facet{facet}})
	want := string(facet) + ": for this identity only: iam:GetServiceLastAccessedDetails timeout"
	var shown, grants int
	for _, it := range campaign.Build(in) {
		has := slices.Contains(it.Context.Gaps, want)
		switch {
		case it.IdentityID != "aws:AROAPAY" && has:
			t.Errorf("item %d (%s) shows another identity's gap", it.ID, it.IdentityID)
		case it.IdentityID == "aws:AROAPAY" && it.Kind == campaign.KindIdentity && has:
			shown++
		case it.IdentityID == "aws:AROAPAY" && it.GrantID != "" && has:
			grants++
		}
	}
	if shown != 1 || grants == 0 {
		t.Errorf("the identity's item shows it %d time(s), its grant items %d", shown, grants)
	}
}
