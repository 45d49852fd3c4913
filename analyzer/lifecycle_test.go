package analyzer_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// lifecycleScan is what the current scan observed: account 111 fully
// except service-specific credentials (a 500) and the credential report
// (denied: usage and login); account 222 fully; account 333 through a
// collector that reads identities and access keys only; account 444 not at
// all (its scope is missing). GCP has a provider-wide gap.
var lifecycleScan = nhi.Inventory{
	Version:     nhi.SchemaVersion,
	CollectedAt: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC),
	Scopes: []nhi.Scope{
		{Provider: nhi.AWS, ID: "111"}, {Provider: nhi.AWS, ID: "222"},
		{Provider: nhi.AWS, ID: "333", Facets: []nhi.Facet{"identities:aws-iam-user", "credentials:aws-access-key"}},
		{Provider: nhi.GCP, ID: "p1"},
	},
	Gaps: []nhi.Gap{
		{Provider: nhi.AWS, Scope: "111", Source: "iam:ListServiceSpecificCredentials", Kind: nhi.GapError,
			Facets: []nhi.Facet{"credentials:aws-service-specific-credential"}},
		{Provider: nhi.AWS, Scope: "111", Source: "iam:GetCredentialReport", Kind: nhi.GapDenied,
			Facets: []nhi.Facet{nhi.FacetLogin, "usage:credential-report"}},
		{Provider: nhi.GCP, Source: "iam.serviceAccounts.list", Kind: nhi.GapTimeout},
	},
}

func TestLifecycle(t *testing.T) {
	cov := lifecycleScan.Coverage()
	keys := []nhi.Facet{"credentials:aws-access-key"}
	grants := []nhi.Facet{"grants:managed-policy"}
	mixed := []nhi.Facet{"credentials:aws-access-key", nhi.FacetLogin}
	stale := []nhi.Facet{"identities:aws-iam-user", "usage:credential-report"}
	prior := func(status, scope string, fs ...nhi.Facet) *nhi.PriorFinding {
		p := &nhi.PriorFinding{Fingerprint: "f", Status: status, Provider: nhi.AWS, Scope: scope, Facets: fs}
		if scope == "p1" {
			p.Provider = nhi.GCP
		}
		return p
	}
	cur := func(suppressed bool) *nhi.Finding {
		return &nhi.Finding{Fingerprint: "f", RuleID: "r", Provider: nhi.AWS, Scope: "111", Suppressed: suppressed, Facets: keys}
	}
	const (
		open, supp, resolved = nhi.FindingOpen, nhi.FindingSuppressed, nhi.FindingResolved
	)
	for _, tc := range []struct {
		name    string
		prior   *nhi.PriorFinding
		current *nhi.Finding
		// want is nil when no transition is expected.
		want *nhi.Transition
	}{
		{"new", nil, cur(false), &nhi.Transition{Status: open, Events: []string{"new"}}},
		{"new and suppressed", nil, cur(true), &nhi.Transition{Status: supp, Events: []string{"new", "suppressed"}}},
		{"seen again", prior(open, "111", keys...), cur(false), &nhi.Transition{Status: open}},
		{"seen again suppressed", prior(supp, "111", keys...), cur(true), &nhi.Transition{Status: supp}},
		{"reopened", prior(resolved, "111", keys...), cur(false), &nhi.Transition{Status: open, Events: []string{"reopened"}}},
		{"reopened suppressed", prior(resolved, "111", keys...), cur(true), &nhi.Transition{Status: supp, Events: []string{"reopened", "suppressed"}}},
		{"suppressed now", prior(open, "111", keys...), cur(true), &nhi.Transition{Status: supp, Events: []string{"suppressed"}}},
		{"unsuppressed", prior(supp, "111", keys...), cur(false), &nhi.Transition{Status: open, Events: []string{"unsuppressed"}}},
		{"seen again after a gap hid it", prior(open, "111", "usage:credential-report"), cur(false), &nhi.Transition{Status: open}},
		// AdministratorAccess detached: its grants facet was observed,
		// another facet of the account had a gap.
		{"resolved beside an unrelated gap", prior(open, "111", grants...), nil, &nhi.Transition{Status: resolved, Events: []string{"resolved"}}},
		{"resolved in a complete scope", prior(open, "222", stale...), nil, &nhi.Transition{Status: resolved, Events: []string{"resolved"}}},
		{"suppressed resolved", prior(supp, "222", keys...), nil, &nhi.Transition{Status: resolved, Events: []string{"resolved"}}},
		{"mixed use with the credential report hidden", prior(open, "111", mixed...), nil, &nhi.Transition{Status: open, Events: []string{"not-reevaluated"},
			Hidden: &nhi.Hidden{Facet: nhi.FacetLogin, GapSource: "iam:GetCredentialReport", GapKind: nhi.GapDenied, Why: "iam:GetCredentialReport denied"}}},
		{"stale usage with usage now unknown", prior(open, "111", stale...), nil, &nhi.Transition{Status: open, Events: []string{"not-reevaluated"},
			Hidden: &nhi.Hidden{Facet: "usage:credential-report", GapSource: "iam:GetCredentialReport", GapKind: nhi.GapDenied, Why: "iam:GetCredentialReport denied"}}},
		{"suppressed and hidden stays suppressed", prior(supp, "111", "credentials:aws-service-specific-credential"), nil, &nhi.Transition{Status: supp, Events: []string{"not-reevaluated"},
			Hidden: &nhi.Hidden{Facet: "credentials:aws-service-specific-credential", GapSource: "iam:ListServiceSpecificCredentials", GapKind: nhi.GapError, Why: "iam:ListServiceSpecificCredentials error"}}},
		{"scope not collected", prior(open, "444", keys...), nil, &nhi.Transition{Status: open, Events: []string{"not-reevaluated"},
			Hidden: &nhi.Hidden{Why: nhi.WhyNotCollected}}},
		{"provider-wide gap", prior(open, "p1", "identities:gcp-service-account"), nil, &nhi.Transition{Status: open, Events: []string{"not-reevaluated"},
			Hidden: &nhi.Hidden{Facet: "identities:gcp-service-account", GapSource: "iam.serviceAccounts.list", GapKind: nhi.GapTimeout, Why: "iam.serviceAccounts.list timeout"}}},
		{"facet the collector does not read", prior(open, "333", grants...), nil, &nhi.Transition{Status: open, Events: []string{"not-reevaluated"},
			Hidden: &nhi.Hidden{Facet: "grants:managed-policy", Why: nhi.WhyNotRead}}},
		{"already resolved", prior(resolved, "111", keys...), nil, nil},
		// Findings stored before facets need the whole scope observed.
		{"before facets, usage-only gap", prior(open, "111"), nil, &nhi.Transition{Status: open, Events: []string{"not-reevaluated"},
			Hidden: &nhi.Hidden{Facet: nhi.FacetCredentials, GapSource: "iam:ListServiceSpecificCredentials", GapKind: nhi.GapError, Why: "iam:ListServiceSpecificCredentials error"}}},
		{"before facets, complete scope", prior(open, "222"), nil, &nhi.Transition{Status: resolved, Events: []string{"resolved"}}},
		{"before facets, classes never read", prior(open, "333"), nil, &nhi.Transition{Status: resolved, Events: []string{"resolved"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var prior []nhi.PriorFinding
			if tc.prior != nil {
				prior = append(prior, *tc.prior)
			}
			var current []nhi.Finding
			if tc.current != nil {
				current = append(current, *tc.current)
			}
			got := analyzer.Lifecycle(prior, current, cov)
			var want []nhi.Transition
			if tc.want != nil {
				w := *tc.want
				w.Fingerprint = "f"
				if tc.current != nil {
					w.Finding = &current[0]
				}
				want = append(want, w)
			}
			if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("transitions (-want +got):\n%s", d)
			}
		})
	}
}

// TestLifecycleSorted: the transitions come out by fingerprint, whatever
// the order of the inputs, and each finding has exactly one.
func TestLifecycleSorted(t *testing.T) {
	cov := lifecycleScan.Coverage()
	prior := []nhi.PriorFinding{
		{Fingerprint: "d", Status: nhi.FindingOpen, Provider: nhi.AWS, Scope: "222"},
		{Fingerprint: "b", Status: nhi.FindingOpen, Provider: nhi.AWS, Scope: "222"},
		{Fingerprint: "a", Status: nhi.FindingResolved, Provider: nhi.AWS, Scope: "222"},
	}
	current := []nhi.Finding{{Fingerprint: "c"}, {Fingerprint: "b"}, {Fingerprint: "a"}}
	var got []string
	for _, tr := range analyzer.Lifecycle(prior, current, cov) {
		got = append(got, tr.Fingerprint+":"+tr.Status)
	}
	want := []string{"a:open", "b:open", "c:open", "d:resolved"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
