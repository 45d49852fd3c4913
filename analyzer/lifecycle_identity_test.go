package analyzer_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
)

// TestFindingsRestOnTheIdentityList: a credential's finding records the
// identity list it came from, so when that list was not fully read and the
// identity is missing, the finding is kept (not re-evaluated), never
// resolved, even though the credential facet itself had no gap.
func TestFindingsRestOnTheIdentityList(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	sp := nhi.Identity{ID: "azure:sp1", Provider: nhi.Azure, Kind: nhi.KindEntraServicePrincipal, NativeID: "sp1", Name: "sp",
		Scope: "tenant", Status: nhi.StatusActive, Usage: nhi.Usage{State: nhi.UsageNotReported},
		Credentials: []nhi.Credential{{ID: "k1", Type: nhi.CredEntraClientSecret, Status: nhi.StatusActive,
			Created: t0.AddDate(-2, 0, 0), Usage: nhi.Usage{State: nhi.UsageNotReported}}}}
	scope := nhi.Scope{Provider: nhi.Azure, ID: "tenant"}
	prev := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: t0, Scopes: []nhi.Scope{scope}, Identities: []nhi.Identity{sp}}
	before := analyzer.Analyze(analyzer.Input{Inventory: prev, Now: t0})
	var old *nhi.Finding
	for i := range before.Findings {
		if before.Findings[i].RuleID == rules.RuleCredentialTooOld {
			old = &before.Findings[i]
		}
	}
	if old == nil {
		t.Fatalf("no %s finding to start from: %v", rules.RuleCredentialTooOld, before.Findings)
	}
	cur := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: t0.Add(time.Hour), Scopes: []nhi.Scope{scope},
		Gaps: []nhi.Gap{{Provider: nhi.Azure, Scope: "tenant", Source: "graph:servicePrincipals", Kind: nhi.GapThrottled,
			Facets: []nhi.Facet{nhi.IdentitiesFacet(nhi.KindEntraServicePrincipal)}}}}
	after := analyzer.Analyze(analyzer.Input{Inventory: cur, Previous: &prev, Now: t0.Add(time.Hour)})
	prior := []nhi.PriorFinding{{Fingerprint: old.Fingerprint, Status: nhi.FindingOpen, Provider: old.Provider, Scope: old.Scope, Facets: old.Facets}}
	for _, tr := range analyzer.Lifecycle(prior, after.Findings, cur.Coverage()) {
		if tr.Fingerprint == old.Fingerprint && tr.Status == nhi.FindingResolved {
			t.Errorf("%s resolved although the service principal list was not read (facets %v)", old.RuleID, old.Facets)
		}
	}
	for _, f := range after.Findings {
		if f.RuleID == rules.RuleDriftIdentityDel || f.RuleID == rules.RuleDriftCredDel {
			t.Errorf("%s reported although the list was not read", f.RuleID)
		}
	}
}

// TestUnknownUsageKeepsUsageFindings: a collector that could not tell an
// identity's usage this time (a credential list it derives usage from
// failed) reports it unknown. The dormancy findings made from the earlier,
// known usage are kept, not re-evaluated, even though every facet they
// recorded was observed: usage becoming unknown is not remediation.
func TestUnknownUsageKeepsUsageFindings(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	user := func(u nhi.Usage) nhi.Identity {
		return nhi.Identity{ID: "aws:AIDA1", Provider: nhi.AWS, Kind: nhi.KindAWSUser, NativeID: "AIDA1", Name: "etl",
			Scope: "111", Status: nhi.StatusActive, Created: t0.AddDate(-1, 0, 0), Usage: u}
	}
	scope := nhi.Scope{Provider: nhi.AWS, ID: "111"}
	prev := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: t0, Scopes: []nhi.Scope{scope},
		Identities: []nhi.Identity{user(nhi.Usage{State: nhi.UsageNeverUsed, Source: "credential-report", AsOf: t0})}}
	before := analyzer.Analyze(analyzer.Input{Inventory: prev, Now: t0})
	var never *nhi.Finding
	for i := range before.Findings {
		if before.Findings[i].RuleID == rules.RuleNeverUsedIdentity {
			never = &before.Findings[i]
		}
	}
	if never == nil {
		t.Fatalf("no %s to start from", rules.RuleNeverUsedIdentity)
	}
	cur := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: t0.Add(time.Hour), Scopes: []nhi.Scope{scope},
		Identities: []nhi.Identity{user(nhi.Usage{State: nhi.UsageUnknown, Source: "credential-report", AsOf: t0,
			Reason: "service-specific credentials could not be listed"})}}
	after := analyzer.Analyze(analyzer.Input{Inventory: cur, Previous: &prev, Now: t0.Add(time.Hour)})
	prior := []nhi.PriorFinding{{Fingerprint: never.Fingerprint, Status: nhi.FindingOpen, Provider: never.Provider, Scope: never.Scope, Facets: never.Facets}}
	trs := after.Lifecycle(prior, after.Findings, cur.Coverage())
	var got *nhi.Transition
	for i := range trs {
		if trs[i].Fingerprint == never.Fingerprint {
			got = &trs[i]
		}
	}
	if got == nil || got.Status != nhi.FindingOpen || got.Hidden == nil || !strings.Contains(got.Hidden.Why, "service-specific") {
		t.Errorf("transition %+v: want kept open, not re-evaluated, naming why usage is unknown", got)
	}
	// The package function, which knows nothing of the analysis, resolves it.
	for _, tr := range analyzer.Lifecycle(prior, after.Findings, cur.Coverage()) {
		if tr.Fingerprint == never.Fingerprint && tr.Status != nhi.FindingResolved {
			t.Errorf("analyzer.Lifecycle: %+v (this test's premise is that facets alone would resolve it)", tr)
		}
	}
}
