package privilege_test

import (
	"testing"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/privilege"
)

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
