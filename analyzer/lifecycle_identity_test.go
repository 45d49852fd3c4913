package analyzer_test

import (
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
