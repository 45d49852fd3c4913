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
	c := newCollector(t, f)
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
		res, err := c.Act(ctx, req)
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
	c := newCollector(t, f)
	inv := collectortest.Collect(t, c)
	app := byName(t, inv, a.DisplayName)
	res, err := c.Act(context.Background(), collectors.ActionRequest{Action: collectors.Delete, Identity: app, CredentialID: azurefake.GUID("b9", 1)})
	if err != nil || !res.Changed {
		t.Fatalf("delete symmetric key: %+v %v", res, err)
	}
	if bytes.Contains(res.RestoreData, []byte(secretKey)) || strings.Contains(res.Detail, secretKey) {
		t.Fatal("restore data holds the symmetric key")
	}
	if _, err := c.Act(context.Background(), collectors.ActionRequest{Action: collectors.Restore, RestoreData: res.RestoreData}); err == nil {
		t.Error("restore of a symmetric key without its key succeeded")
	}
}
