package github_test

import (
	"testing"

	"github.com/nhiscan/nhiscan/collectors/github/githubfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// TestScopeSpelling: organisation logins are case-insensitive at GitHub,
// so the configured spelling may differ from the API's. Identities, gaps
// and Scopes must use one spelling, or a gap in the org no longer covers
// its identities (the analyzer compares scopes exactly) and drift breaks.
func TestScopeSpelling(t *testing.T) {
	s := demoSetup(t)
	s.cfg.Orgs = []string{"ACME", "Acme-Labs"}
	s.srv.DenyOp(githubfake.OpListOrgSecrets)
	inv := collect(t, s.collector(t))
	scopes := map[string]bool{}
	for _, sc := range inv.Scopes {
		scopes[sc.ID] = true
	}
	for _, id := range inv.Identities {
		if !scopes[id.Scope] {
			t.Errorf("identity %s has scope %q; Scopes lists %v", id.ID, id.Scope, scopes)
		}
	}
	for _, g := range inv.Gaps {
		if !scopes[g.Scope] {
			t.Errorf("gap %s has scope %q; Scopes lists %v", g.Source, g.Scope, scopes)
		}
	}
	k := find(t, inv, "github:deploy-key:810001")
	if !inv.Partial(nhi.GitHub, k.Scope) {
		t.Errorf("a gap in %s does not cover its deploy key (scope %q): it could be reported removed", "ACME", k.Scope)
	}
	if k.Path != "acme/payments-api" {
		t.Errorf("path %q: repository names keep GitHub's spelling", k.Path)
	}
}
