package azure_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nhiscan/nhiscan/collectors/azure/azurefake"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

func grant(t testing.TB, id nhi.Identity, entitlement string) nhi.Grant {
	t.Helper()
	for _, g := range id.Grants {
		if g.Entitlement == entitlement {
			return g
		}
	}
	t.Fatalf("%s has no grant %q: %+v", id.Name, entitlement, id.Grants)
	return nhi.Grant{}
}

// TestPrivilegedGrants: high-impact application permissions, privileged
// directory roles and Owner-class Azure roles at subscription scope are
// privileged grants; read permissions and roles at resource-group scope
// are not. Every grant is judged.
func TestPrivilegedGrants(t *testing.T) {
	cases := []struct {
		name, entitlement string
		privileged        bool
	}{
		{"hr-directory-sync", "Directory.ReadWrite.All", true},
		{"hr-directory-sync", "User.ReadWrite.All", true},
		{"legacy-reporting-sync", "User.Read.All", false},
		{"identity-governance-automation", "Privileged Role Administrator", true},
		{"identity-governance-automation", "RoleManagement.ReadWrite.Directory", true},
		{"Contoso Backup Cloud", "Files.ReadWrite.All", true},
		{"mi-data-lake-loader", "Owner", true},
		{"payments-ci-deployer", "Contributor", false}, // resource-group scope
		{"func-invoice-render", "Reader", false},
	}
	check := func(t *testing.T, inv nhi.Inventory) {
		for _, tc := range cases {
			g := grant(t, byName(t, inv, tc.name), tc.entitlement)
			if g.Privileged.Privileged() != tc.privileged {
				t.Errorf("%s %s: privileged %v, want %t", tc.name, tc.entitlement, g.Privileged, tc.privileged)
			}
		}
	}
	f := newFake(t, azurefake.Demo(fixedNow))
	inv := collectortest.Collect(t, newCollector(t, f))
	for _, id := range inv.Identities {
		for _, g := range id.Grants {
			if !g.Privileged.Judged() {
				t.Errorf("%s %s: grant not judged", id.Name, g.ID)
			}
		}
	}
	if g, ok := gap(inv, "graph:roleManagement.directory.roleDefinitions.list"); ok {
		t.Fatalf("directory role definitions not read: %+v", g)
	}
	check(t, inv)
	if tp := byName(t, inv, "Contoso Backup Cloud"); !tp.ThirdParty {
		t.Error("Contoso Backup Cloud is not marked third-party")
	}

	// Without the role definitions (denied, or unreadable) built-in roles
	// keep their names and privilege.
	for _, op := range []string{azurefake.OpDirectoryRoleDefinitions, azurefake.OpRoleDefinitionGet} {
		t.Run("denied "+op, func(t *testing.T) {
			f := newFake(t, azurefake.Demo(fixedNow))
			f.Deny("", op)
			check(t, collectortest.Collect(t, newCollector(t, f)))
		})
	}
}

// TestOwnerHints: Entra owners carry their account state; user-assigned
// managed identities take owner hints from their ARM tags; the Tier-0 app
// has no owner objects (field-anchors B6) and gets none invented.
func TestOwnerHints(t *testing.T) {
	inv := collectortest.Collect(t, newCollector(t, newFake(t, azurefake.Demo(fixedNow))))
	hints := func(name string) map[string]nhi.OwnerHint {
		out := map[string]nhi.OwnerHint{}
		for _, h := range byName(t, inv, name).OwnerHints {
			out[h.Source+":"+h.Value] = h
		}
		return out
	}
	if h, ok := hints("legacy-reporting-sync")["entra-owner:dan.okafor@acme.example"]; !ok || h.Active == nil || *h.Active {
		t.Errorf("departed owner dan: %+v (found %t), want active=false", h, ok)
	}
	if h, ok := hints("data-etl-runner")["entra-owner:frank.li@acme.example"]; !ok || h.Active == nil || !*h.Active {
		t.Errorf("owner frank: %+v (found %t), want active=true", h, ok)
	}
	if _, ok := hints("mi-payments-worker")["tag:bob.martins@acme.example"]; !ok {
		t.Errorf("managed identity owner tag: %+v", hints("mi-payments-worker"))
	}
	if _, ok := hints("marketing-analytics-export")["tag:zoe.former@acme.example"]; !ok {
		t.Errorf("application owner tag: %+v", hints("marketing-analytics-export"))
	}
	tier0 := byName(t, inv, "identity-governance-automation")
	if len(tier0.OwnerHints) != 0 || tier0.Tags["tier"] != "0" {
		t.Errorf("Tier-0 app: hints %+v, tags %v", tier0.OwnerHints, tier0.Tags)
	}
}

// TestSignInAppIDCase: sign-in activity joins to an app whatever the case
// of the appId in the report; a case difference must never read as unused.
func TestSignInAppIDCase(t *testing.T) {
	seed := azurefake.Demo(fixedNow)
	a := seed.Applications[0]
	upper := strings.ToUpper(a.AppID)
	for i := range seed.ServicePrincipals {
		if seed.ServicePrincipals[i].AppID == a.AppID {
			seed.ServicePrincipals[i].AppID = upper
		}
	}
	seed.SignIns[upper] = seed.SignIns[a.AppID]
	delete(seed.SignIns, a.AppID)
	inv := collectortest.Collect(t, newCollector(t, newFake(t, seed)))
	if u := byName(t, inv, a.DisplayName).Usage; u.State != nhi.UsageUsed {
		t.Errorf("usage %+v, want used", u)
	}
}

// TestDelegatedPermissionGrants: delegated permission grants
// (oauth2PermissionGrants) are grants of their client, one per resource and
// scope: for all users (admin consent) or for the users who consented,
// each judged.
func TestDelegatedPermissionGrants(t *testing.T) {
	inv := collectortest.Collect(t, newCollector(t, newFake(t, azurefake.Demo(fixedNow))))
	got := map[string]string{}
	for _, g := range byName(t, inv, "Contoso Backup Cloud").Grants {
		if g.Kind == "delegated-permission" {
			got[g.ID] = fmt.Sprintf("%s %s %s %s", g.Entitlement, g.Scope, g.Via, g.Privileged)
		}
	}
	res := strings.ToLower(azurefake.DemoGraphSPID)
	want := map[string]string{
		"delegated-permission:" + res + "/Mail.ReadWrite@all-users":   "Mail.ReadWrite " + azurefake.GraphAppID + " admin consent for all users privileged",
		"delegated-permission:" + res + "/offline_access@all-users":   "offline_access " + azurefake.GraphAppID + " admin consent for all users not privileged",
		"delegated-permission:" + res + "/User.Read@consenting-users": "User.Read " + azurefake.GraphAppID + " consented by 2 user(s) not privileged",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("delegated grants (-want +got):\n%s", diff)
	}
}

// TestEligibleAndGroupRoles: PIM-eligible directory roles are grants of
// their own kind, judged as the active role; roles held by a
// role-assignable group are grants of its service principal members,
// naming the group.
func TestEligibleAndGroupRoles(t *testing.T) {
	inv := collectortest.Collect(t, newCollector(t, newFake(t, azurefake.Demo(fixedNow))))
	group := "#group:" + strings.ToLower(azurefake.GUID("9a", 1))
	tenant := azurefake.DemoTenantID
	type g struct{ Kind, Via, Privileged string }
	cases := map[string]map[string]g{
		"data-etl-runner": {
			"directory-role:" + azurefake.DirRoleApplicationAdmin + "@" + tenant + group: {"directory-role",
				"member of role-assignable group sg-entra-app-admins", "privileged"},
			"eligible-directory-role:" + azurefake.DirRolePrivilegedRoleAdmin + "@" + tenant + group: {"eligible-directory-role",
				"eligible through PIM, no end; member of role-assignable group sg-entra-app-admins", "privileged"},
		},
		"identity-governance-automation": {
			"eligible-directory-role:" + azurefake.DirRoleGlobalAdmin + "@" + tenant: {"eligible-directory-role",
				"eligible through PIM until " + fixedNow.AddDate(0, 0, 90).Format(time.DateOnly), "privileged"},
		},
	}
	for name, want := range cases {
		got := map[string]g{}
		for _, x := range byName(t, inv, name).Grants {
			if _, ok := want[x.ID]; ok {
				got[x.ID] = g{x.Kind, x.Via, x.Privileged.String()}
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}
