package gcp_test

import (
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/collectors/gcp/gcpfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// TestFederatedPrincipalsAreTheirOwnKind: GKE Workload Identity members
// (PROJECT.svc.id.goog[NS/KSA], and the principal:// form) and workload
// identity pool principals (principal://, principalSet://) are identities
// of kind gcp-federated-principal, keyed by the member, living in their
// pool's project: never service accounts from outside the scan, never new
// scopes. Workforce pool members (people) are not collected.
func TestFederatedPrincipalsAreTheirOwnKind(t *testing.T) {
	inv := collectortest.Collect(t, collector(t, demo(t)))
	const pools = "principalSet://iam.googleapis.com/projects/100000000003/locations/global/workloadIdentityPools/"
	want := map[string]struct{ scope, grant, what string }{
		"gcp:federated:" + pools + "github-actions/attribute.repository/acme/payments-service": {"acme-platform-prod",
			"roles/iam.workloadIdentityUser@iam.googleapis.com/projects/acme-payments-prod/serviceAccounts/104000000000000000001", "attribute"},
		"gcp:federated:acme-platform-prod.svc.id.goog[payments/ledger-api]": {"acme-platform-prod",
			"roles/iam.workloadIdentityUser@iam.googleapis.com/projects/acme-payments-prod/serviceAccounts/104000000000000000002", "kubernetes-service-account"},
		"gcp:federated:principal://iam.googleapis.com/projects/100000000003/locations/global/workloadIdentityPools/acme-platform-prod.svc.id.goog/subject/ns/monitoring/sa/prometheus": {
			"acme-platform-prod", "roles/monitoring.viewer@projects/acme-platform-prod", "subject"},
		"gcp:federated:principalSet://iam.googleapis.com/projects/100000000004/locations/global/workloadIdentityPools/legacy-ci/*": {
			"acme-devex-tools", "roles/storage.objectAdmin@projects/acme-devex-tools", "all"},
	}
	got := 0
	for _, id := range inv.Identities {
		if strings.Contains(id.Name, "svc.id.goog") || strings.Contains(id.Name, "principal") {
			if id.Kind != nhi.KindGCPFederatedPrincipal {
				t.Errorf("%s is a %s", id.ID, id.Kind)
			}
		}
		if id.Kind != nhi.KindGCPFederatedPrincipal {
			continue
		}
		got++
		w, ok := want[id.ID]
		if !ok {
			t.Errorf("unexpected federated principal %s", id.ID)
			continue
		}
		if id.Scope != w.scope || id.ThirdParty || id.Usage.State != nhi.UsageNotReported || id.Attributes["principal_type"] != w.what {
			t.Errorf("%s: scope %s, third party %v, usage %s, type %q", id.ID, id.Scope, id.ThirdParty, id.Usage.State, id.Attributes["principal_type"])
		}
		if len(id.Grants) != 1 || id.Grants[0].ID != w.grant || !id.Grants[0].Privileged.Judged() {
			t.Errorf("%s: grants %+v, want %s", id.ID, id.Grants, w.grant)
		}
	}
	if got != len(want) {
		t.Errorf("%d federated principals, want %d", got, len(want))
	}
	for _, sc := range inv.Scopes {
		if sc.ID != "organizations/123456789012" && !strings.HasPrefix(sc.ID, "acme-") {
			t.Errorf("scope %s: a binding became a scope", sc.ID)
		}
	}
	for _, id := range inv.Identities {
		if strings.Contains(id.ID, "workforcePools") {
			t.Errorf("a workforce pool member (people) became an identity: %s", id.ID)
		}
	}
}

const (
	githubSet = "gcp:federated:principalSet://iam.googleapis.com/projects/100000000003/locations/global/workloadIdentityPools/github-actions/attribute.repository/acme/payments-service"
	legacySet = "gcp:federated:principalSet://iam.googleapis.com/projects/100000000004/locations/global/workloadIdentityPools/legacy-ci/*"
)

// TestPoolProvidersAreTheCredentialsOfTheirPrincipals: a pool principal
// carries its pool's providers as credentials (issuer, attribute
// condition); one that is every identity of a pool whose provider trusts
// gitlab.com without an attribute condition has a weak-trust signal; a
// failed pool listing hides the providers and the trust data of its
// project only, and adds no signal.
func TestPoolProvidersAreTheCredentialsOfTheirPrincipals(t *testing.T) {
	srv := demo(t)
	inv := collectortest.Collect(t, collector(t, srv))
	gh, _ := inv.Identity(githubSet)
	if gh == nil || len(gh.Credentials) != 1 || gh.Credentials[0].Type != nhi.CredGCPWorkloadIdentityProvider ||
		gh.Credentials[0].Attributes["issuer"] != "https://token.actions.githubusercontent.com" ||
		gh.Credentials[0].Attributes["attribute_condition"] == "" || len(gh.Signals) != 0 {
		t.Errorf("GitHub principal set: %+v", gh)
	}
	legacy, _ := inv.Identity(legacySet)
	if legacy == nil || len(legacy.Credentials) != 1 || len(legacy.Signals) != 1 || legacy.Signals[0].Code != nhi.SignalWeakTrust ||
		!strings.Contains(legacy.Signals[0].Detail, "any gitlab.com project") {
		t.Errorf("legacy CI pool principal: %+v", legacy)
	}
	if n := srv.CallCount(gcpfake.OpListPools); n != 5 {
		t.Errorf("pool listings = %d, want one per project", n)
	}

	srv = demo(t)
	srv.Deny("acme-devex-tools", gcpfake.OpListProviders)
	inv = collectortest.Collect(t, collector(t, srv))
	legacy, _ = inv.Identity(legacySet)
	if legacy == nil || len(legacy.Credentials) != 0 || len(legacy.Signals) != 0 {
		t.Errorf("principal of a pool whose providers could not be listed: %+v", legacy)
	}
	cov := inv.Coverage()
	for _, f := range []nhi.Facet{nhi.FacetTrust, nhi.CredentialsFacet(nhi.CredGCPWorkloadIdentityProvider)} {
		if cov.Observed(nhi.GCP, "acme-devex-tools", f) {
			t.Errorf("%s observed in acme-devex-tools although its providers were not listed", f)
		}
		if !cov.Observed(nhi.GCP, "acme-platform-prod", f) {
			t.Errorf("%s of acme-platform-prod hidden by a failure in acme-devex-tools", f)
		}
	}
}
