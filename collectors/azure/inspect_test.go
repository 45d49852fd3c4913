package azure_test

import (
	"context"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/azure"
	"github.com/nhiscan/nhiscan/collectors/azure/azurefake"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// TestInspect: the re-read of a principal, a secret, a certificate and a
// federated credential agrees with the scan (id, status, creation) and
// follows the actions.
func TestInspect(t *testing.T) {
	f := newFake(t, azurefake.Demo(fixedNow))
	inv := collectortest.Collect(t, newCollector(t, f))
	ctl, err := azure.NewControls(azure.Config{TenantID: f.TenantID(), GraphURL: f.URL, ResourceManagerURL: f.URL,
		Credential: f.Credential(), HTTPClient: f.Client(), Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	get := func(id nhi.Identity, cred string) collectors.TargetState {
		t.Helper()
		st, err := ctl.Inspect(ctx, collectors.ActionRequest{Identity: id, CredentialID: cred})
		if err != nil {
			t.Fatalf("inspect %s %s: %v", id.Name, cred, err)
		}
		return st
	}
	for _, name := range []string{"legacy-reporting-sync", "hr-directory-sync", "payments-ci-deployer"} {
		id := byName(t, inv, name)
		if st := get(id, ""); !st.Exists || st.ID != id.NativeID || st.Status != id.Status {
			t.Errorf("%s = %+v, scan %s %s", name, st, id.NativeID, id.Status)
		}
		for _, c := range id.Credentials {
			st := get(id, c.ID)
			if !st.Exists || st.ID != c.ID || st.Status != c.Status || (!c.Created.IsZero() && !st.Created.Equal(c.Created)) || st.Usage.State != nhi.UsageNotReported {
				t.Errorf("%s %s %s = %+v, scan %+v", name, c.Type, c.ID, st, c)
			}
		}
	}
	app := byName(t, inv, "legacy-reporting-sync")
	if _, err := ctl.Act(ctx, collectors.ActionRequest{Action: collectors.Disable, Identity: app}); err != nil {
		t.Fatal(err)
	}
	if st := get(app, ""); st.Status != nhi.StatusDisabled || st.Native != "accountEnabled=false" {
		t.Errorf("after disable: %+v", st)
	}
	secret := app.Credentials[0].ID
	if _, err := ctl.Act(ctx, collectors.ActionRequest{Action: collectors.Delete, Identity: app, CredentialID: secret}); err != nil {
		t.Fatal(err)
	}
	if st := get(app, secret); st.Exists {
		t.Errorf("removed secret = %+v", st)
	}
	ci := byName(t, inv, "payments-ci-deployer")
	fic := ci.Credentials[1]
	if _, err := ctl.Act(ctx, collectors.ActionRequest{Action: collectors.Delete, Identity: ci, CredentialID: fic.ID}); err != nil {
		t.Fatal(err)
	}
	if st := get(ci, fic.ID); st.Exists {
		t.Errorf("removed federated credential = %+v", st)
	}
}
