package azure_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/collectors/azure"
	"github.com/nhiscan/nhiscan/collectors/azure/azurefake"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// unobservedChanges compares a scan that met failures (part) with a clean
// scan of the same tenant, facet by facet, and returns every difference
// that the partial scan's coverage does not excuse. An identity, credential
// or grant of the clean scan may be missing, and a status, usage, verdict
// or owner may differ, only where its facet (identities:<kind>,
// credentials:<type>, grants:<kind>, usage:<source>, ownership) is not
// observed in its scope; nothing may appear that the clean scan does not
// have (no substitute keys), and nothing may move to another scope.
func unobservedChanges(full, part nhi.Inventory) []string {
	cov := part.Coverage()
	observed := func(scope string, f nhi.Facet) bool { return cov.Observed(nhi.Azure, scope, f) }
	var out []string
	for _, was := range full.Identities {
		now, ok := part.Identity(was.ID)
		switch {
		case !ok:
			if observed(was.Scope, nhi.IdentitiesFacet(was.Kind)) {
				out = append(out, "identity "+was.Name+" missing though "+string(nhi.IdentitiesFacet(was.Kind))+" is observed in "+was.Scope)
			}
			continue
		case now.Scope != was.Scope || now.Kind != was.Kind:
			out = append(out, was.Name+": moved from "+was.Scope+" "+string(was.Kind)+" to "+now.Scope+" "+string(now.Kind))
			continue
		}
		out = append(out, identityChanges(observed, was, *now)...)
	}
	for _, now := range part.Identities {
		was, ok := full.Identity(now.ID)
		if !ok {
			out = append(out, "identity "+now.Name+" ("+now.ID+") appeared")
			continue
		}
		for _, c := range now.Credentials {
			if _, ok := was.Credential(c.ID); !ok {
				out = append(out, now.Name+": credential "+c.ID+" appeared")
			}
		}
		for _, g := range now.Grants {
			if _, ok := grantByID(*was, g.ID); !ok {
				out = append(out, now.Name+": grant "+g.ID+" appeared")
			}
		}
	}
	return out
}

// identityChanges compares one identity present in both scans.
func identityChanges(observed func(string, nhi.Facet) bool, was, now nhi.Identity) []string {
	var out []string
	sc := was.Scope
	if now.Status != was.Status && observed(sc, nhi.IdentitiesFacet(was.Kind)) {
		out = append(out, was.Name+": status "+string(was.Status)+" became "+string(now.Status))
	}
	if now.Usage.State != was.Usage.State && observed(sc, nhi.UsageFacet(was.Usage.Source)) {
		out = append(out, was.Name+": usage "+string(was.Usage.State)+" became "+string(now.Usage.State))
	}
	for _, c := range was.Credentials {
		nc, ok := now.Credential(c.ID)
		switch {
		case !ok && observed(sc, nhi.CredentialsFacet(c.Type)):
			out = append(out, was.Name+": credential "+c.ID+" missing")
		case ok && nc.Usage.State != c.Usage.State && observed(sc, nhi.UsageFacet(c.Usage.Source)):
			out = append(out, was.Name+": credential usage "+string(c.Usage.State)+" became "+string(nc.Usage.State))
		}
	}
	for _, g := range was.Grants {
		ng, ok := grantByID(now, g.ID)
		switch {
		case !ok && observed(sc, nhi.GrantsFacet(g.Kind)):
			out = append(out, was.Name+": grant "+g.ID+" missing")
		case ok && (ng.Privileged != g.Privileged || ng.Entitlement != g.Entitlement) && observed(sc, nhi.GrantsFacet(g.Kind)):
			out = append(out, was.Name+": grant "+g.ID+" changed")
		}
	}
	hints := func(id nhi.Identity) string {
		var hs []string
		for _, h := range id.OwnerHints {
			hs = append(hs, fmt.Sprintf("%s:%s:%v", h.Source, h.Value, h.Active != nil && *h.Active))
		}
		slices.Sort(hs)
		return strings.Join(hs, ",")
	}
	if hints(was) != hints(now) && observed(sc, nhi.FacetOwnership) {
		out = append(out, was.Name+": owner hints "+hints(was)+" became "+hints(now))
	}
	return out
}

func grantByID(id nhi.Identity, gid string) (nhi.Grant, bool) {
	for _, g := range id.Grants {
		if g.ID == gid {
			return g, true
		}
	}
	return nhi.Grant{}, false
}

// TestNoSilentLoss: whatever one denied operation or scope hides is in a
// facet the inventory's coverage says was not observed, and nothing is
// keyed otherwise.
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
			for _, l := range unobservedChanges(full, part) {
				t.Error(l)
			}
		})
	}
}
