package gcp_test

import (
	"testing"

	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/collectors/gcp"
	"github.com/nhiscan/nhiscan/collectors/gcp/gcpfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// TestExternalServiceAccountsAreIdentities: a vendor's service account,
// from outside the collected organisation, holding roles/editor on one of
// our projects is an identity of its own (third party, usage unknown, the
// privileged grant kept), not a binding silently dropped.
func TestExternalServiceAccountsAreIdentities(t *testing.T) {
	seed := gcpfake.Demo(now)
	const vendor = "backup-sync@vendor-prod.iam.gserviceaccount.com"
	for i := range seed.Projects {
		if seed.Projects[i].ID == "acme-data-prod" {
			seed.Projects[i].Bindings = append(seed.Projects[i].Bindings,
				gcpfake.Binding{Role: "roles/editor", Members: []string{"serviceAccount:" + vendor}})
		}
	}
	srv := gcpfake.New(seed)
	t.Cleanup(srv.Close)
	inv := collectortest.Collect(t, collector(t, srv))
	id, ok := inv.Identity(nhi.MakeID(nhi.GCP, "external", vendor))
	if !ok {
		t.Fatalf("no identity for the external service account %s", vendor)
	}
	if !id.ThirdParty || id.ProviderManaged || id.Scope != "acme-data-prod" || id.Usage.State != nhi.UsageUnknown {
		t.Errorf("external account mapped as %+v", id)
	}
	if len(id.Grants) != 1 || id.Grants[0].Entitlement != "roles/editor" || !id.Grants[0].Privileged.Privileged() {
		t.Errorf("grants = %+v", id.Grants)
	}
	// Collected in a project list rather than an organisation, the same
	// account is outside the scan but not known to be a third party.
	inv = collectortest.Collect(t, collector(t, srv, func(c *gcp.Config) { c.Organization, c.Projects = "", []string{"acme-data-prod"} }))
	if id, ok := inv.Identity(nhi.MakeID(nhi.GCP, "external", vendor)); !ok || id.ThirdParty {
		t.Errorf("project-list scan: external account = %+v, %v", id, ok)
	}
}
