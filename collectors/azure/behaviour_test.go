package azure_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nhiscan/nhiscan/collectors/azure"
	"github.com/nhiscan/nhiscan/collectors/azure/azurefake"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// gapIn returns the gap of source in scope.
func gapIn(inv nhi.Inventory, scope, source string) (nhi.Gap, bool) {
	for _, g := range inv.Gaps {
		if g.Source == source && g.Scope == scope {
			return g, true
		}
	}
	return nhi.Gap{}, false
}

func gap(inv nhi.Inventory, source string) (nhi.Gap, bool) {
	for _, g := range inv.Gaps {
		if g.Source == source {
			return g, true
		}
	}
	return nhi.Gap{}, false
}

// TestPaging: with pages of 2 items every list is followed to its end and
// the inventory equals the one read in large pages.
func TestPaging(t *testing.T) {
	seed := azurefake.Demo(fixedNow)
	big := collectortest.Collect(t, newCollector(t, newFake(t, seed)))
	f := newFake(t, seed)
	f.SetPageSize(2)
	small := collectortest.Collect(t, newCollector(t, f))
	if big.Hash() != small.Hash() {
		t.Error("inventory read in pages of 2 differs from the one read in large pages")
	}
	if n := f.CallCount(azurefake.OpApplicationsList); n < 2*(len(seed.Applications)/2) {
		t.Errorf("applications list made %d calls with page size 2 for %d apps: nextLink not followed", n, len(seed.Applications))
	}
}

// TestThrottling: a throttled list is retried after Retry-After and
// succeeds; throttling that persists becomes a gap.
func TestThrottling(t *testing.T) {
	seed := azurefake.Demo(fixedNow)
	f := newFake(t, seed)
	f.Throttle("", azurefake.OpServicePrincipalsList, 1) // Retry-After: 1s
	start := time.Now()
	inv := collectortest.Collect(t, newCollector(t, f))
	if elapsed := time.Since(start); elapsed < time.Second {
		t.Errorf("retried after %v, before the 1s Retry-After", elapsed)
	}
	if n := f.CallCount(azurefake.OpServicePrincipalsList); n != 2 {
		t.Errorf("service principal list calls = %d, want 2 (one 429, one retry)", n)
	}
	if len(inv.Gaps) != 0 {
		t.Errorf("gaps after a successful retry: %+v", inv.Gaps)
	}
	byName(t, inv, "Contoso Backup Cloud")

	f2 := newFake(t, seed)
	f2.Throttle("", azurefake.OpRoleAssignmentsList, 1000)
	inv2 := collectortest.Collect(t, newCollector(t, f2, func(c *azure.Config) { c.MaxRetries = 1 }))
	g, ok := gap(inv2, "arm:roleAssignments.listForSubscription")
	if !ok || g.Kind != nhi.GapThrottled {
		t.Fatalf("persistent throttling: gap %+v (found %t), want kind throttled", g, ok)
	}
	if !inv2.Partial(nhi.Azure, azurefake.DemoSubProd) || !inv2.Partial(nhi.Azure, azurefake.DemoSubData) {
		t.Error("throttled subscriptions are not marked partial")
	}
}

// TestOwnerLimit: an app with more than 20 owners gets all of them through
// the per-object fallback, with their account state.
func TestOwnerLimit(t *testing.T) {
	seed := azurefake.Demo(fixedNow)
	var owners []string
	for i := 0; i < 27; i++ {
		u := azurefake.User{ID: azurefake.GUID("e6", i), UserPrincipalName: fmt.Sprintf("owner%02d@acme.example", i), AccountEnabled: i%3 != 0}
		seed.Users = append(seed.Users, u)
		owners = append(owners, u.ID)
	}
	seed.Applications[0].Owners = owners
	f := newFake(t, seed)
	inv := collectortest.Collect(t, newCollector(t, f))
	id := byName(t, inv, seed.Applications[0].DisplayName)
	if len(id.OwnerHints) != 27 {
		t.Fatalf("owner hints = %d, want 27 (the $expand limit is 20)", len(id.OwnerHints))
	}
	if n := f.CallCount(azurefake.OpApplicationOwners); n != 1 {
		t.Errorf("per-object owner calls = %d, want 1 (only the app past the limit)", n)
	}
	disabled := 0
	for _, h := range id.OwnerHints {
		if h.Active == nil {
			t.Fatalf("owner %s without account state", h.Value)
		}
		if !*h.Active {
			disabled++
		}
	}
	if disabled != 9 {
		t.Errorf("disabled owners = %d, want 9", disabled)
	}
}

// TestMissingReport: without the sign-in reports (no licence) usage is
// unknown, never "never used", and each report's gap hides only its usage
// facet, in every scope.
func TestMissingReport(t *testing.T) {
	seed := azurefake.Demo(fixedNow)
	seed.ReportsUnavailable = true
	inv := collectortest.Collect(t, newCollector(t, newFake(t, seed)))
	for _, sc := range []string{azurefake.DemoTenantID, azurefake.DemoSubProd, azurefake.DemoSubData} {
		for source, facet := range map[string]nhi.Facet{
			"graph:reports.servicePrincipalSignInActivities": "usage:signin-report",
			"graph:reports.appCredentialSignInActivities":    "usage:credential-signin-report",
		} {
			g, ok := gapIn(inv, sc, source)
			if !ok || !slices.Equal(g.Facets, []nhi.Facet{facet}) || g.Kind != nhi.GapDenied || g.Permission == "" {
				t.Errorf("%s gap in %s = %+v (found %t), want denied, hiding only %s, with a permission", source, sc, g, ok, facet)
			}
		}
		if !inv.Partial(nhi.Azure, sc) {
			t.Errorf("%s not partial although its usage was not read", sc) // any gap makes a scope partial
		}
	}
	cov := inv.Coverage()
	if !cov.Observed(nhi.Azure, azurefake.DemoTenantID, "identities:entra-application") || cov.Observed(nhi.Azure, azurefake.DemoTenantID, "usage:signin-report") {
		t.Error("coverage: want identities observed, usage not")
	}
	for _, id := range inv.Identities {
		if id.Usage.State != nhi.UsageUnknown {
			t.Errorf("%s: usage %q without the report, want unknown", id.Name, id.Usage.State)
		}
		for _, c := range id.Credentials {
			if c.Usage.State == nhi.UsageNeverUsed || c.Usage.State == nhi.UsageUsed {
				t.Errorf("%s/%s: usage %q without the report", id.Name, c.Name, c.Usage.State)
			}
		}
	}
	// National clouds: the reports are skipped by configuration. The
	// scopes do not list the usage facets, and a gap says why.
	inv = collectortest.Collect(t, newCollector(t, newFake(t, azurefake.Demo(fixedNow)), func(c *azure.Config) { c.SkipSignInReports = true }))
	if g, ok := gapIn(inv, azurefake.DemoTenantID, "graph:reports.servicePrincipalSignInActivities"); !ok || g.Kind != nhi.GapUnavailable {
		t.Errorf("skipped reports: gap %+v found %t", g, ok)
	}
	for _, sc := range inv.Scopes {
		if slices.Contains(sc.Facets, "usage:signin-report") {
			t.Errorf("scope %s lists the skipped report: %v", sc.ID, sc.Facets)
		}
	}
}

// TestPermissionGaps: a denied operation becomes a gap naming the
// permission, on every scope whose identities lost data, hiding there only
// the facets the operation feeds; the rest of the inventory stays.
func TestPermissionGaps(t *testing.T) {
	const (
		tenant = azurefake.DemoTenantID
		prod   = azurefake.DemoSubProd
		data   = azurefake.DemoSubData
	)
	type want map[string][]nhi.Facet // scope -> facets hidden
	subs := func(fs ...nhi.Facet) want { return want{prod: fs, data: fs} }
	with := func(w want, scope string, fs ...nhi.Facet) want { w[scope] = fs; return w }
	cases := []struct {
		op, source string
		want       want
	}{
		{azurefake.OpApplicationsList, "graph:applications.list",
			want{tenant: {"credentials:entra-certificate", "credentials:entra-client-secret", "identities:entra-application", "identities:entra-service-principal", "ownership"}}},
		{azurefake.OpServicePrincipalsList, "graph:servicePrincipals.list",
			with(subs("credentials:entra-certificate", "credentials:entra-client-secret", "grants:app-permission", "grants:delegated-permission",
				"identities:entra-managed-identity", "ownership"),
				tenant, "credentials:entra-certificate", "credentials:entra-client-secret", "grants:app-permission", "grants:delegated-permission",
				"grants:directory-role", "grants:eligible-directory-role", "grants:rbac-role", "identities:entra-application", "identities:entra-managed-identity",
				"identities:entra-service-principal", "ownership")},
		{azurefake.OpDirectoryRoleAssignments, "graph:roleManagement.directory.roleAssignments.list",
			with(subs("grants:directory-role"), tenant, "grants:directory-role", "identities:entra-service-principal")},
		{azurefake.OpAppRoleAssignedTo, "graph:servicePrincipals.appRoleAssignedTo.list",
			with(subs("grants:app-permission"), tenant, "grants:app-permission", "identities:entra-service-principal")},
		{azurefake.OpDirectoryRoleEligibilities, "graph:roleManagement.directory.roleEligibilityScheduleInstances.list",
			with(subs("grants:eligible-directory-role"), tenant, "grants:eligible-directory-role", "identities:entra-service-principal")},
		// Without the role-assignable groups or their members, who holds a
		// role through a group is unknown.
		{azurefake.OpGroupsList, "graph:groups.list(isAssignableToRole)",
			with(subs("grants:directory-role", "grants:eligible-directory-role"),
				tenant, "grants:directory-role", "grants:eligible-directory-role", "identities:entra-service-principal")},
		{azurefake.OpGroupMembers, "graph:groups.members.list",
			with(subs("grants:directory-role", "grants:eligible-directory-role"),
				tenant, "grants:directory-role", "grants:eligible-directory-role", "identities:entra-service-principal")},
		{azurefake.OpOAuth2PermissionGrantsList, "graph:oauth2PermissionGrants.list",
			with(subs("grants:delegated-permission"), tenant, "grants:delegated-permission", "identities:entra-service-principal")},
		// The owners whose account state is unknown own applications only.
		{azurefake.OpUsersList, "graph:users.list", want{tenant: {"ownership"}}},
		{azurefake.OpCredentialSignInActivities, "graph:reports.appCredentialSignInActivities",
			with(subs("usage:credential-signin-report"), tenant, "usage:credential-signin-report")},
		{azurefake.OpUserAssignedIdentitiesList, "arm:userAssignedIdentities.listBySubscription",
			subs("credentials:entra-federated-credential", "identities:entra-managed-identity", "ownership", "trust")},
		// Each managed identity's federated credentials hide only where it
		// lives.
		{azurefake.OpMIFederatedCredentialsList, "arm:userAssignedIdentities.federatedIdentityCredentials.list",
			subs("credentials:entra-federated-credential", "trust")},
		{azurefake.OpRoleAssignmentsList, "arm:roleAssignments.listForSubscription",
			with(subs("grants:rbac-role"), tenant, "grants:rbac-role", "identities:entra-service-principal")},
		// Roles are held in every scope of the demo.
		{azurefake.OpRoleDefinitionGet, "arm:roleDefinitions.get", with(subs("grants:rbac-role"), tenant, "grants:rbac-role")},
		// Without the subscription list, the gap is the provider's.
		{azurefake.OpSubscriptionsList, "arm:subscriptions.list",
			want{"": {"grants:rbac-role", "identities:entra-managed-identity", "identities:entra-service-principal"}}},
	}
	for _, tc := range cases {
		t.Run(tc.op, func(t *testing.T) {
			f := newFake(t, azurefake.Demo(fixedNow))
			f.Deny("", tc.op)
			inv := collectortest.Collect(t, newCollector(t, f))
			got := want{}
			for _, g := range inv.Gaps {
				if g.Source == "graph:applications.list($expand=federatedIdentityCredentials)" && tc.op == azurefake.OpApplicationsList {
					continue // the same Graph operation, read for federated credentials
				}
				if g.Source != tc.source {
					t.Errorf("unexpected gap %+v", g)
					continue
				}
				if g.Kind != nhi.GapDenied || g.Permission == "" {
					t.Errorf("gap %+v: want denied, with a permission", g)
				}
				got[g.Scope] = g.Facets
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("facets hidden per scope (-want +got):\n%s", diff)
			}
			if len(inv.Identities) < 4 {
				t.Errorf("only %d identities after one denied operation", len(inv.Identities))
			}
		})
	}
}

// TestCallBudget: the demo tenant is read with a fixed, small number of
// calls, independent of how many credentials each app has.
func TestCallBudget(t *testing.T) {
	f := newFake(t, azurefake.Demo(fixedNow))
	collectortest.Collect(t, newCollector(t, f))
	calls := f.Calls()
	want := map[string]int{
		azurefake.OpApplicationsList:           2, // owners, federated credentials
		azurefake.OpServicePrincipalsList:      1,
		azurefake.OpUsersList:                  1, // 8 owners, one "id in" filter
		azurefake.OpDirectoryRoleDefinitions:   1,
		azurefake.OpDirectoryRoleAssignments:   1,
		azurefake.OpAppRoleAssignedTo:          1, // Microsoft Graph is the only resource
		azurefake.OpSPSignInActivities:         1,
		azurefake.OpCredentialSignInActivities: 1,
		azurefake.OpSubscriptionsList:          1,
		azurefake.OpRoleAssignmentsList:        2,
		azurefake.OpUserAssignedIdentitiesList: 2,
		azurefake.OpMIFederatedCredentialsList: 2, // one per user-assigned managed identity
		azurefake.OpOAuth2PermissionGrantsList: 1,
		azurefake.OpDirectoryRoleEligibilities: 1,
		azurefake.OpGroupsList:                 1,
		azurefake.OpGroupMembers:               1, // one role-assignable group holds roles
	}
	for op, n := range want {
		if calls[op] != n {
			t.Errorf("%s: %d calls, want %d", op, calls[op], n)
		}
	}
	// Role definitions are resolved once per role, not per assignment.
	if n := calls[azurefake.OpRoleDefinitionGet]; n == 0 || n > 6 {
		t.Errorf("role definition reads = %d, want 1..6 (one per distinct role)", n)
	}
	if total := f.TotalCalls(); total > 28 {
		t.Errorf("total calls = %d, budget 28: %v", total, calls)
	}
}
