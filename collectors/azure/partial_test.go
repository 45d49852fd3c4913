package azure_test

import (
	"testing"

	"github.com/nhiscan/nhiscan/collectors/azure"
	"github.com/nhiscan/nhiscan/collectors/azure/azurefake"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// lostWithoutGap reports what a partial scan lost against a full scan of
// the same tenant without marking the scope partial: an identity, a
// credential, a grant or an owner hint that is gone from a scope with no
// gap would be reported removed (or its findings resolved), and a usage
// that changed to anything but unknown would be a false fact.
func lostWithoutGap(full, part nhi.Inventory) []string {
	var out []string
	covered := func(scopes ...string) bool {
		for _, s := range scopes {
			if !part.Partial(nhi.Azure, s) {
				return true
			}
		}
		return false
	}
	for _, was := range full.Identities {
		now, ok := part.Identity(was.ID)
		if !ok {
			if covered(was.Scope) {
				out = append(out, "identity "+was.Name+" missing from scope "+was.Scope)
			}
			continue
		}
		if !covered(was.Scope, now.Scope) {
			continue
		}
		for _, c := range was.Credentials {
			nc, ok := now.Credential(c.ID)
			switch {
			case !ok:
				out = append(out, was.Name+": credential "+c.ID+" missing")
			case nc.Usage.State != c.Usage.State && nc.Usage.State != nhi.UsageUnknown:
				out = append(out, was.Name+": credential usage "+string(c.Usage.State)+" became "+string(nc.Usage.State))
			}
		}
		grants := map[string]bool{}
		for _, g := range now.Grants {
			grants[g.ID] = true
		}
		for _, g := range was.Grants {
			if !grants[g.ID] {
				out = append(out, was.Name+": grant "+g.ID+" missing")
			}
		}
		hints := map[string]bool{}
		for _, h := range now.OwnerHints {
			hints[h.Source+":"+h.Value] = true
		}
		for _, h := range was.OwnerHints {
			if !hints[h.Source+":"+h.Value] {
				out = append(out, was.Name+": owner hint "+h.Value+" missing")
			}
		}
		if now.Usage.State != was.Usage.State && now.Usage.State != nhi.UsageUnknown {
			out = append(out, was.Name+": usage "+string(was.Usage.State)+" became "+string(now.Usage.State))
		}
	}
	return out
}

// TestNoSilentLoss: whatever one denied operation or scope hides is inside
// a scope the inventory marks partial.
func TestNoSilentLoss(t *testing.T) {
	seed := azurefake.Demo(fixedNow)
	// Managed identities live in subscription scopes but get Graph data:
	// an application permission, a directory role, and one system-assigned
	// identity known only to Graph, with no Azure role at all.
	mi := azurefake.GUID("3a", 1)
	seed.AppRoleAssignments = append(seed.AppRoleAssignments, azurefake.AppRoleAssignment{ID: "mi-perm", PrincipalID: mi,
		PrincipalType: "ServicePrincipal", ResourceID: azurefake.DemoGraphSPID, AppRoleID: azurefake.GraphAppRoleID("Directory.Read.All")})
	seed.DirectoryRoleAssignments = append(seed.DirectoryRoleAssignments, azurefake.DirectoryRoleAssignment{ID: "mi-role",
		PrincipalID: mi, RoleDefinitionID: azurefake.DirRoleDirectoryReaders, DirectoryScopeID: "/"})
	seed.ServicePrincipals = append(seed.ServicePrincipals, azurefake.ServicePrincipal{ID: azurefake.GUID("3a", 9), AppID: azurefake.GUID("3c", 9),
		DisplayName: "vm-grantless", ServicePrincipalType: "ManagedIdentity", AccountEnabled: true,
		AlternativeNames: []string{"isExplicit=False", "/subscriptions/" + azurefake.DemoSubData + "/resourcegroups/rg-data/providers/Microsoft.Compute/virtualMachines/vm-grantless"}})
	full := collectortest.Collect(t, newCollector(t, newFake(t, seed)))
	if id := byName(t, full, "vm-grantless"); id.Scope != azurefake.DemoSubData {
		t.Fatalf("system-assigned identity in scope %q", id.Scope)
	}
	ops := []string{
		azurefake.OpApplicationsList, azurefake.OpServicePrincipalsList, azurefake.OpUsersList,
		azurefake.OpDirectoryRoleDefinitions, azurefake.OpDirectoryRoleAssignments, azurefake.OpAppRoleAssignedTo,
		azurefake.OpSPSignInActivities, azurefake.OpCredentialSignInActivities,
		azurefake.OpSubscriptionsList, azurefake.OpRoleAssignmentsList, azurefake.OpRoleDefinitionGet,
		azurefake.OpUserAssignedIdentitiesList,
	}
	type scenario struct {
		name string
		deny func(*azurefake.Server)
		cfg  func(*azure.Config)
	}
	var cases []scenario
	for _, op := range ops {
		cases = append(cases, scenario{name: op, deny: func(f *azurefake.Server) { f.Deny("", op) }})
	}
	for _, sc := range []string{azurefake.DemoTenantID, azurefake.DemoSubProd, azurefake.DemoSubData} {
		cases = append(cases, scenario{name: "scope " + sc, deny: func(f *azurefake.Server) { f.Deny(sc, "") }})
	}
	cases = append(cases, scenario{name: "configured subscriptions, list denied",
		deny: func(f *azurefake.Server) { f.Deny("", azurefake.OpSubscriptionsList) },
		cfg:  func(c *azure.Config) { c.Subscriptions = []string{azurefake.DemoSubProd, azurefake.DemoSubData} }})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, seed)
			tc.deny(f)
			var mods []func(*azure.Config)
			if tc.cfg != nil {
				mods = append(mods, tc.cfg)
			}
			part, err := newCollector(t, f, mods...).Collect(t.Context())
			if err != nil {
				if len(part.Gaps) == 0 {
					t.Fatalf("Collect: %v, with no gaps", err)
				}
				return // an error is never mistaken for a complete scan
			}
			if len(part.Gaps) == 0 {
				t.Fatal("denied calls left no gap")
			}
			for _, l := range lostWithoutGap(full, part) {
				t.Error(l)
			}
		})
	}
}
