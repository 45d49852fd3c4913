package gcp_test

import (
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/collectors/gcp/gcpfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// TestWhoCanImpersonateEachServiceAccount: the members of a service
// account's own policy that may act as it (users, groups, accounts,
// federated principals) are listed on it with their role; a public member
// is a weak-trust signal; when the search for accounts' policies fails,
// no account's trust data counts as observed.
func TestWhoCanImpersonateEachServiceAccount(t *testing.T) {
	inv := collectortest.Collect(t, collector(t, demo(t)))
	deployer := identityByName(t, inv, "payments-ci-deployer")
	got := deployer.Attributes["impersonators"]
	for _, want := range []string{
		"group:release-engineers@acme.example (roles/iam.serviceAccountTokenCreator)",
		"serviceAccount:platform-terraform@acme-platform-prod.iam.gserviceaccount.com (roles/iam.serviceAccountUser)",
		"workloadIdentityPools/github-actions/attribute.repository/acme/payments-service (roles/iam.workloadIdentityUser)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("impersonators of the deployer %q lack %q", got, want)
		}
	}
	if len(deployer.Signals) != 0 {
		t.Errorf("deployer signals %+v", deployer.Signals)
	}
	bot := identityByName(t, inv, "devex-docs-bot")
	if !strings.Contains(bot.Attributes["impersonators"], "user:jack.brown@acme.example") ||
		len(bot.Signals) != 1 || bot.Signals[0].Code != nhi.SignalWeakTrust || !strings.Contains(bot.Signals[0].Detail, "allAuthenticatedUsers") {
		t.Errorf("docs bot: impersonators %q, signals %+v", bot.Attributes["impersonators"], bot.Signals)
	}
	if !inv.Coverage().Observed(nhi.GCP, "acme-devex-tools", nhi.FacetTrust) {
		t.Error("trust not observed in a clean scan")
	}

	srv := demo(t)
	srv.Deny("organizations/123456789012", gcpfake.OpSearchAccountPolicies)
	inv = collectortest.Collect(t, collector(t, srv))
	cov := inv.Coverage()
	for _, sc := range inv.Scopes {
		if cov.Observed(nhi.GCP, sc.ID, nhi.FacetTrust) {
			t.Errorf("trust observed in %s although accounts' own policies were not searched", sc.ID)
		}
	}
	if !cov.Observed(nhi.GCP, "acme-devex-tools", nhi.GrantsFacet("role-binding")) {
		t.Error("the failed search hid grants too")
	}
}
