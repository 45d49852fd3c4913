package privilege_test

import (
	"os"
	"testing"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/privilege"
)

// TestGitHubClassifyAgreesWithCollector: for every grant of the GitHub
// collector's golden inventory, Classify on the grant with its verdict
// cleared (an imported inventory) judges exactly as the collector did, for
// the same reason: both use this package's tables.
func TestGitHubClassifyAgreesWithCollector(t *testing.T) {
	f, err := os.Open("../../collectors/github/testdata/golden-inventory.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inv, err := nhi.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, id := range inv.Identities {
		for _, g := range id.Grants {
			if !g.Privileged.Judged() {
				t.Errorf("%s: grant %s not judged by the collector", id.ID, g.ID)
				continue
			}
			n++
			cleared := g
			cleared.Privileged, cleared.Reason = nhi.NotJudged, ""
			priv, why := privilege.Classify(nhi.GitHub, &cleared)
			if priv != g.Privileged.Privileged() || why != g.Reason {
				t.Errorf("%s: grant %s (%s @%s): Classify says %v %q, the collector %v %q",
					id.ID, g.ID, g.Entitlement, g.Scope, priv, why, g.Privileged.Privileged(), g.Reason)
			}
		}
	}
	if n < 20 {
		t.Errorf("only %d grants in the golden inventory", n)
	}
}

func TestGitHubClassify(t *testing.T) {
	for _, tc := range []struct {
		g    nhi.Grant
		want bool
	}{
		{nhi.Grant{ID: "repo-permission:contents", Kind: "repo-permission", Entitlement: "contents:write", Scope: "acme/api"}, true},
		{nhi.Grant{ID: "repo-permission:contents", Kind: "repo-permission", Entitlement: "contents:read", Scope: "acme/api"}, false},
		{nhi.Grant{ID: "app-permission:contents", Kind: "app-permission", Entitlement: "contents:write", Scope: "*"}, true},
		{nhi.Grant{ID: "app-permission:contents", Kind: "app-permission", Entitlement: "contents:write", Scope: "selected"}, false},
		{nhi.Grant{ID: "app-permission:secrets", Kind: "app-permission", Entitlement: "secrets:write", Scope: "selected"}, true},
		{nhi.Grant{ID: "app-permission:issues", Kind: "app-permission", Entitlement: "issues:admin", Scope: "selected"}, true},
		// A token's organisation permission reaches the organisation
		// (scope "*") but grants nothing on its repositories.
		{nhi.Grant{ID: "token-permission:org:organization_projects", Kind: "token-permission", Entitlement: "organization_projects:write", Scope: "*"}, false},
		{nhi.Grant{ID: "token-permission:org:members", Kind: "token-permission", Entitlement: "members:write", Scope: "*"}, true},
		{nhi.Grant{ID: "token-permission:repo:contents", Kind: "token-permission", Entitlement: "contents:write", Scope: "*"}, true},
		{nhi.Grant{ID: "token-permission:repo:contents@acme/api", Kind: "token-permission", Entitlement: "contents:write", Scope: "acme/api"}, false},
		{nhi.Grant{ID: "token-scope:repo", Kind: "token-scope", Entitlement: "repo", Scope: "*"}, true},
		{nhi.Grant{ID: "token-scope:read:org", Kind: "token-scope", Entitlement: "read:org", Scope: "*"}, false},
		{nhi.Grant{ID: "token-scope:delete_repo", Kind: "token-scope", Entitlement: "delete_repo", Scope: "*"}, true},
	} {
		if got, why := privilege.Classify(nhi.GitHub, &tc.g); got != tc.want {
			t.Errorf("%s %s @%s: %v (%q), want %v", tc.g.ID, tc.g.Entitlement, tc.g.Scope, got, why, tc.want)
		}
	}
}
