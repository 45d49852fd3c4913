package azure_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/azure"
	"github.com/nhiscan/nhiscan/collectors/azure/azurefake"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// TestWeakTrust: a federated credential is flagged when its subject is
// shared by many workloads (Entra matches subjects exactly).
func TestWeakTrust(t *testing.T) {
	const gh, ghes = "https://token.actions.githubusercontent.com", "https://token.actions.githubusercontent.com/acme-enterprise"
	const aks = "https://westeurope.oic.prod-aks.azure.com/t/c/"
	cases := []struct {
		issuer, subject, want string // want: a word of the reason, "" when not broad
	}{
		{gh, "repo:acme/payments:pull_request", "every pull request of acme/payments"},
		{ghes, "repo:acme/payments:pull_request", "every pull request"},
		{gh, "repo:acme/payments:environment:production", ""},
		{gh, "repo:acme/payments:ref:refs/heads/main", ""},
		{gh, "repository_owner:acme:environment:production", "names no repository"},
		{gh, "repository_owner_id:1234:context:ref:refs/heads/main", "names no repository"},
		{gh, "repository_id:98765:environment:production", ""},
		{gh, "repo:acme/payments", "every workflow, branch and tag of acme/payments"},
		{aks, "system:serviceaccount:data:default", "default service account of namespace data"},
		{aks, "system:serviceaccount:data:loader", ""},
		{"https://app.terraform.io", "organization:acme:project:p:workspace:w:run_phase:apply", ""},
	}
	for _, tc := range cases {
		got := azure.WeakTrust("fic", tc.issuer, tc.subject)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s %s: %q, want %q", tc.issuer, tc.subject, got, tc.want)
		}
	}
}

// TestManagedIdentityFederatedCredentials: the federated credentials of
// user-assigned managed identities come from ARM (one call each), broad
// ones are flagged, and the controls refuse to act on them (they are ARM
// resources, not Graph ones).
func TestManagedIdentityFederatedCredentials(t *testing.T) {
	f := newFake(t, azurefake.Demo(fixedNow))
	inv := collectortest.Collect(t, newCollector(t, f))
	loader := byName(t, inv, "mi-data-lake-loader")
	fic := credOf(t, loader, nhi.CredEntraFederated)
	if fic.Name != "aks-data-default" || fic.Attributes["origin"] != "managedIdentity" || fic.Attributes["subject"] != "system:serviceaccount:data:default" || fic.Created.IsZero() {
		t.Errorf("managed identity federated credential = %+v", fic)
	}
	if len(loader.Signals) != 1 || loader.Signals[0].Code != nhi.SignalWeakTrust {
		t.Errorf("mi-data-lake-loader signals = %+v, want one weak trust", loader.Signals)
	}
	if w := byName(t, inv, "mi-payments-worker"); len(w.Signals) != 0 || len(w.Credentials) != 1 {
		t.Errorf("mi-payments-worker: %d credentials, signals %+v; want one credential, no signal", len(w.Credentials), w.Signals)
	}
	f.ResetCalls()
	_, err := newControls(t, f).Act(context.Background(), collectors.ActionRequest{Action: collectors.Delete, Identity: loader, CredentialID: fic.ID})
	if !errors.Is(err, collectors.ErrUnsupported) || f.TotalCalls() != 0 {
		t.Errorf("delete a managed identity's federated credential: %v after %d calls, want ErrUnsupported and no call", err, f.TotalCalls())
	}

	// Denied in one subscription: that identity's federated credentials
	// and trusts are hidden there only.
	f = newFake(t, azurefake.Demo(fixedNow))
	f.Deny(azurefake.DemoSubData, azurefake.OpMIFederatedCredentialsList)
	inv = collectortest.Collect(t, newCollector(t, f))
	if n := len(byName(t, inv, "mi-data-lake-loader").Credentials); n != 0 {
		t.Errorf("%d credentials read although denied", n)
	}
	cov := inv.Coverage()
	for sc, want := range map[string]bool{azurefake.DemoSubData: false, azurefake.DemoSubProd: true, azurefake.DemoTenantID: true} {
		if got := cov.Observed(nhi.Azure, sc, "credentials:entra-federated-credential"); got != want {
			t.Errorf("%s: federated credentials observed = %v, want %v", sc, got, want)
		}
	}
}
