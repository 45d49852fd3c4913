package azure_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors"
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
	f.ThrottleOp(azurefake.OpServicePrincipalsList, 1, time.Second)
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
	f2.ThrottleOp(azurefake.OpRoleAssignmentsList, -1, time.Second)
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
			f.DenyOp(tc.op)
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

func TestActions(t *testing.T) {
	f := newFake(t, azurefake.Demo(fixedNow))
	c := newCollector(t, f)
	ctx := context.Background()
	inv := collectortest.Collect(t, c)

	// Disable, idempotently, then enable: a rescan sees each state.
	app := byName(t, inv, "legacy-reporting-sync")
	for i, want := range []bool{true, false} {
		res, err := c.Act(ctx, collectors.ActionRequest{Action: collectors.Disable, Identity: app})
		if err != nil {
			t.Fatal(err)
		}
		if res.Changed != want || res.After != "disabled" {
			t.Errorf("disable #%d: %+v", i+1, res)
		}
	}
	if got := byName(t, collectortest.Collect(t, c), "legacy-reporting-sync"); got.Status != nhi.StatusDisabled {
		t.Errorf("rescan after disable: status %q", got.Status)
	}
	res, err := c.Act(ctx, collectors.ActionRequest{Action: collectors.Enable, Identity: app})
	if err != nil || !res.Changed || res.After != "enabled" {
		t.Fatalf("enable: %+v %v", res, err)
	}
	if got := byName(t, collectortest.Collect(t, c), "legacy-reporting-sync"); got.Status != nhi.StatusActive {
		t.Errorf("rescan after enable: status %q", got.Status)
	}

	// A secret has no disabled state; a managed identity cannot be disabled.
	secretID := app.Credentials[0].ID
	if _, err := c.Act(ctx, collectors.ActionRequest{Action: collectors.Disable, Identity: app, CredentialID: secretID}); !errors.Is(err, collectors.ErrUnsupported) {
		t.Errorf("disable a secret: %v, want ErrUnsupported", err)
	}
	if _, err := c.Act(ctx, collectors.ActionRequest{Action: collectors.Disable, Identity: byName(t, inv, "mi-payments-worker")}); !errors.Is(err, collectors.ErrUnsupported) {
		t.Errorf("disable a managed identity: %v, want ErrUnsupported", err)
	}

	// Delete a client secret: irreversible, idempotent.
	for i, want := range []bool{true, false} {
		res, err := c.Act(ctx, collectors.ActionRequest{Action: collectors.Delete, Identity: app, CredentialID: secretID})
		if err != nil || res.Changed != want || res.RestoreData != nil {
			t.Fatalf("delete secret #%d: %+v %v", i+1, res, err)
		}
	}
	if got := byName(t, collectortest.Collect(t, c), "legacy-reporting-sync"); len(got.Credentials) != 0 {
		t.Errorf("rescan after secret removal: %d credentials", len(got.Credentials))
	}

	// A forgotten secret on a service principal.
	hr := byName(t, inv, "hr-directory-sync")
	var spSecret, certID string
	for _, cr := range hr.Credentials {
		switch cr.Type {
		case nhi.CredEntraClientSecret:
			spSecret = cr.ID
		case nhi.CredEntraCertificate:
			certID = cr.ID
		}
	}
	if res, err := c.Act(ctx, collectors.ActionRequest{Action: collectors.Delete, Identity: hr, CredentialID: spSecret}); err != nil || !res.Changed {
		t.Fatalf("delete service principal secret: %+v %v", res, err)
	}
	sp, _ := f.ServicePrincipal(hr.Attributes["service_principal_id"])
	if len(sp.PasswordCredentials) != 0 {
		t.Error("service principal secret still present")
	}

	// Delete a certificate, then restore it from its public definition.
	res, err = c.Act(ctx, collectors.ActionRequest{Action: collectors.Delete, Identity: hr, CredentialID: certID})
	if err != nil || !res.Changed || len(res.RestoreData) == 0 {
		t.Fatalf("delete certificate: %+v %v", res, err)
	}
	if a, _ := f.Application(hr.NativeID); len(a.KeyCredentials) != 0 {
		t.Error("certificate still present after delete")
	}
	var rd map[string]any
	if err := json.Unmarshal(res.RestoreData, &rd); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false} {
		r, err := c.Act(ctx, collectors.ActionRequest{Action: collectors.Restore, RestoreData: res.RestoreData})
		if err != nil || r.Changed != want {
			t.Fatalf("restore certificate #%d: %+v %v", i+1, r, err)
		}
	}
	got := byName(t, collectortest.Collect(t, c), "hr-directory-sync")
	if _, ok := got.Credential(certID); !ok {
		t.Error("rescan after restore: certificate missing")
	}

	// Delete and restore a federated credential.
	ci := byName(t, inv, "payments-ci-deployer")
	fic := ci.Credentials[1]
	res, err = c.Act(ctx, collectors.ActionRequest{Action: collectors.Delete, Identity: ci, CredentialID: fic.ID})
	if err != nil || !res.Changed {
		t.Fatalf("delete federated credential: %+v %v", res, err)
	}
	if r, err := c.Act(ctx, collectors.ActionRequest{Action: collectors.Delete, Identity: ci, CredentialID: fic.ID}); err != nil || r.Changed {
		t.Fatalf("second delete: %+v %v", r, err)
	}
	if n := len(byName(t, collectortest.Collect(t, c), "payments-ci-deployer").Credentials); n != 1 {
		t.Errorf("after delete: %d federated credentials, want 1", n)
	}
	if r, err := c.Act(ctx, collectors.ActionRequest{Action: collectors.Restore, RestoreData: res.RestoreData}); err != nil || !r.Changed {
		t.Fatalf("restore federated credential: %+v %v", r, err)
	}
	after := byName(t, collectortest.Collect(t, c), "payments-ci-deployer")
	if len(after.Credentials) != 2 || len(after.Signals) != 1 {
		t.Errorf("after restore: %d credentials, %d signals", len(after.Credentials), len(after.Signals))
	}
}
