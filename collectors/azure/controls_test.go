package azure_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/azure/azurefake"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// TestActRefusesBadObjectIDs: an identity whose object id is missing or is
// not an Entra object id is refused before any call, rather than reaching a
// collection endpoint and reporting "already removed" for nothing done.
func TestActRefusesBadObjectIDs(t *testing.T) {
	f := newFake(t, azurefake.Demo(fixedNow))
	c, ctl := newCollector(t, f), newControls(t, f)
	ctx := context.Background()
	inv := collectortest.Collect(t, c)
	hr := byName(t, inv, "hr-directory-sync")
	var spSecret string
	for _, cr := range hr.Credentials {
		if cr.Type == nhi.CredEntraClientSecret {
			spSecret = cr.ID
		}
	}
	noSP := hr
	noSP.Attributes = maps.Clone(hr.Attributes)
	noSP.Attributes["service_principal_id"] = ""
	hostile := byName(t, inv, "Contoso Backup Cloud")
	hostile.NativeID = "../applications"
	rd, _ := json.Marshal(map[string]any{"kind": "federated-credential", "origin": "application", "object_id": "",
		"federated_credential": map[string]any{"name": "x", "issuer": "https://i", "subject": "s", "audiences": []string{"a"}}})
	f.ResetCalls()
	for name, req := range map[string]collectors.ActionRequest{
		"delete sp secret without sp": {Action: collectors.Delete, Identity: noSP, CredentialID: spSecret},
		"disable app without sp":      {Action: collectors.Disable, Identity: noSP},
		"disable hostile id":          {Action: collectors.Disable, Identity: hostile},
		"restore without object":      {Action: collectors.Restore, RestoreData: rd},
	} {
		res, err := ctl.Act(ctx, req)
		if err == nil || !errors.Is(err, collectors.ErrUnsupported) {
			t.Errorf("%s: %+v, %v; want ErrUnsupported", name, res, err)
		}
	}
	if n := f.TotalCalls(); n != 0 {
		t.Errorf("%d calls made for refused actions: %v", n, f.Calls())
	}
	if sp, _ := f.ServicePrincipal(hr.Attributes["service_principal_id"]); len(sp.PasswordCredentials) != 1 {
		t.Error("service principal secret changed")
	}
}

// TestDeleteKeepsOnlyPublicKeys: RestoreData keeps the public certificate
// of an X.509 verification key, never the key of a symmetric or
// password-protected credential (those are secrets, and not restorable).
func TestDeleteKeepsOnlyPublicKeys(t *testing.T) {
	seed := azurefake.Demo(fixedNow)
	const secretKey = "c3ltbWV0cmljLWtleS1kby1ub3QtbGVhaw=="
	a := &seed.Applications[0]
	a.KeyCredentials = append(a.KeyCredentials, azurefake.KeyCredential{KeyID: azurefake.GUID("b9", 1), Type: "Symmetric",
		Usage: "Verify", StartDateTime: fixedNow.AddDate(0, 0, -10), EndDateTime: fixedNow.AddDate(1, 0, 0), Key: secretKey})
	f := newFake(t, seed)
	c, ctl := newCollector(t, f), newControls(t, f)
	inv := collectortest.Collect(t, c)
	app := byName(t, inv, a.DisplayName)
	res, err := ctl.Act(context.Background(), collectors.ActionRequest{Action: collectors.Delete, Identity: app, CredentialID: azurefake.GUID("b9", 1)})
	if err != nil || !res.Changed {
		t.Fatalf("delete symmetric key: %+v %v", res, err)
	}
	if bytes.Contains(res.RestoreData, []byte(secretKey)) || strings.Contains(res.Detail, secretKey) {
		t.Fatal("restore data holds the symmetric key")
	}
	if _, err := ctl.Act(context.Background(), collectors.ActionRequest{Action: collectors.Restore, RestoreData: res.RestoreData}); err == nil {
		t.Error("restore of a symmetric key without its key succeeded")
	}
}

// TestActions: disable, enable, delete and restore, each idempotent, each
// seen by the next scan.
func TestActions(t *testing.T) {
	f := newFake(t, azurefake.Demo(fixedNow))
	c, ctl := newCollector(t, f), newControls(t, f)
	ctx := context.Background()
	inv := collectortest.Collect(t, c)

	// Disable, idempotently, then enable: a rescan sees each state.
	app := byName(t, inv, "legacy-reporting-sync")
	for i, want := range []bool{true, false} {
		res, err := ctl.Act(ctx, collectors.ActionRequest{Action: collectors.Disable, Identity: app})
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
	res, err := ctl.Act(ctx, collectors.ActionRequest{Action: collectors.Enable, Identity: app})
	if err != nil || !res.Changed || res.After != "enabled" {
		t.Fatalf("enable: %+v %v", res, err)
	}
	if got := byName(t, collectortest.Collect(t, c), "legacy-reporting-sync"); got.Status != nhi.StatusActive {
		t.Errorf("rescan after enable: status %q", got.Status)
	}

	// A secret has no disabled state; a managed identity cannot be disabled.
	secretID := app.Credentials[0].ID
	if _, err := ctl.Act(ctx, collectors.ActionRequest{Action: collectors.Disable, Identity: app, CredentialID: secretID}); !errors.Is(err, collectors.ErrUnsupported) {
		t.Errorf("disable a secret: %v, want ErrUnsupported", err)
	}
	if _, err := ctl.Act(ctx, collectors.ActionRequest{Action: collectors.Disable, Identity: byName(t, inv, "mi-payments-worker")}); !errors.Is(err, collectors.ErrUnsupported) {
		t.Errorf("disable a managed identity: %v, want ErrUnsupported", err)
	}

	// Delete a client secret: irreversible, idempotent.
	for i, want := range []bool{true, false} {
		res, err := ctl.Act(ctx, collectors.ActionRequest{Action: collectors.Delete, Identity: app, CredentialID: secretID})
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
	if res, err := ctl.Act(ctx, collectors.ActionRequest{Action: collectors.Delete, Identity: hr, CredentialID: spSecret}); err != nil || !res.Changed {
		t.Fatalf("delete service principal secret: %+v %v", res, err)
	}
	sp, _ := f.ServicePrincipal(hr.Attributes["service_principal_id"])
	if len(sp.PasswordCredentials) != 0 {
		t.Error("service principal secret still present")
	}

	// Delete a certificate, then restore it from its public definition.
	res, err = ctl.Act(ctx, collectors.ActionRequest{Action: collectors.Delete, Identity: hr, CredentialID: certID})
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
		r, err := ctl.Act(ctx, collectors.ActionRequest{Action: collectors.Restore, RestoreData: res.RestoreData})
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
	res, err = ctl.Act(ctx, collectors.ActionRequest{Action: collectors.Delete, Identity: ci, CredentialID: fic.ID})
	if err != nil || !res.Changed {
		t.Fatalf("delete federated credential: %+v %v", res, err)
	}
	if r, err := ctl.Act(ctx, collectors.ActionRequest{Action: collectors.Delete, Identity: ci, CredentialID: fic.ID}); err != nil || r.Changed {
		t.Fatalf("second delete: %+v %v", r, err)
	}
	if n := len(byName(t, collectortest.Collect(t, c), "payments-ci-deployer").Credentials); n != 1 {
		t.Errorf("after delete: %d federated credentials, want 1", n)
	}
	if r, err := ctl.Act(ctx, collectors.ActionRequest{Action: collectors.Restore, RestoreData: res.RestoreData}); err != nil || !r.Changed {
		t.Fatalf("restore federated credential: %+v %v", r, err)
	}
	after := byName(t, collectortest.Collect(t, c), "payments-ci-deployer")
	if len(after.Credentials) != 2 || len(after.Signals) != 1 {
		t.Errorf("after restore: %d credentials, %d signals", len(after.Credentials), len(after.Signals))
	}
}
