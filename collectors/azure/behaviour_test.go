package azure_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors/azure"
	"github.com/nhiscan/nhiscan/collectors/azure/azurefake"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

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
// unknown, never "never used", and the gap is usage-only.
func TestMissingReport(t *testing.T) {
	seed := azurefake.Demo(fixedNow)
	seed.ReportsUnavailable = true
	inv := collectortest.Collect(t, newCollector(t, newFake(t, seed)))
	g, ok := gap(inv, "graph:reports.servicePrincipalSignInActivities")
	if !ok || !g.UsageOnly || g.Kind != nhi.GapDenied || g.Permission == "" {
		t.Fatalf("report gap = %+v (found %t), want usage-only denied with a permission", g, ok)
	}
	if inv.Partial(nhi.Azure, azurefake.DemoTenantID) {
		t.Error("a usage-only gap made the tenant partial")
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
	// National clouds: the reports are skipped by configuration.
	inv = collectortest.Collect(t, newCollector(t, newFake(t, azurefake.Demo(fixedNow)), func(c *azure.Config) { c.SkipSignInReports = true }))
	if g, ok := gap(inv, "graph:reports.servicePrincipalSignInActivities"); !ok || !g.UsageOnly {
		t.Errorf("skipped reports: gap %+v found %t", g, ok)
	}
}

// TestPermissionGaps: a denied operation becomes a gap naming the
// permission; the rest of the inventory stays.
func TestPermissionGaps(t *testing.T) {
	cases := []struct {
		op, source string
		usageOnly  bool
	}{
		{azurefake.OpDirectoryRoleAssignments, "graph:roleManagement.directory.roleAssignments.list", false},
		{azurefake.OpAppRoleAssignedTo, "graph:servicePrincipals.appRoleAssignedTo.list", false},
		{azurefake.OpUsersList, "graph:users.list", false},
		{azurefake.OpCredentialSignInActivities, "graph:reports.appCredentialSignInActivities", true},
		{azurefake.OpUserAssignedIdentitiesList, "arm:userAssignedIdentities.listBySubscription", false},
	}
	for _, tc := range cases {
		t.Run(tc.op, func(t *testing.T) {
			f := newFake(t, azurefake.Demo(fixedNow))
			f.Deny("", tc.op)
			inv := collectortest.Collect(t, newCollector(t, f))
			g, ok := gap(inv, tc.source)
			if !ok || g.Kind != nhi.GapDenied || g.Permission == "" || g.UsageOnly != tc.usageOnly {
				t.Fatalf("gap = %+v (found %t)", g, ok)
			}
			if len(inv.Identities) < 10 {
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
	if total := f.TotalCalls(); total > 22 {
		t.Errorf("total calls = %d, budget 22: %v", total, calls)
	}
}
