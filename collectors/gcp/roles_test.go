package gcp_test

import (
	"testing"

	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/collectors/gcp/gcpfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

const (
	ciDeployer      = "organizations/123456789012/roles/ciDeployer"
	reportingAdmin  = "projects/acme-data-prod/roles/reportingAdmin"
	ciDeployerGrant = ciDeployer + "@projects/acme-devex-tools"
)

func grantByID(id nhi.Identity, gid string) *nhi.Grant {
	for i := range id.Grants {
		if id.Grants[i].ID == gid {
			return &id.Grants[i]
		}
	}
	return nil
}

// TestCustomRolesAreJudgedByTheirPermissions: a custom role that includes
// iam.serviceAccounts.actAs, bound on a project, is privileged whatever
// its name; one named "…Admin" that only reads is not. Each definition is
// read once.
func TestCustomRolesAreJudgedByTheirPermissions(t *testing.T) {
	srv := demo(t)
	inv := collectortest.Collect(t, collector(t, srv))
	g := grantByID(identityByName(t, inv, "devex-build-cache"), ciDeployerGrant)
	if g == nil || !g.Privileged.Privileged() || g.Privilege != nhi.PrivAdmin || g.Reason == "" {
		t.Errorf("ciDeployer grant %+v, want privileged (actAs on a project)", g)
	}
	g = grantByID(identityByName(t, inv, "data-reporting-exporter"), reportingAdmin+"@projects/acme-data-prod")
	if g == nil || g.Privileged != nhi.JudgedNotPrivileged || g.Privilege != nhi.PrivRead {
		t.Errorf("reportingAdmin grant %+v, want judged not privileged, read", g)
	}
	if n := srv.CallCount(gcpfake.OpGetRole); n != 2 {
		t.Errorf("role reads = %d, want one per custom role", n)
	}
}

// TestUnreadCustomRoleIsNotJudged: when a custom role's definition cannot
// be read, its grants are kept but not judged, and a gap hides the grants
// of the projects holding it; other projects' grants stay observed.
func TestUnreadCustomRoleIsNotJudged(t *testing.T) {
	srv := demo(t)
	srv.Deny("organizations/123456789012", gcpfake.OpGetRole)
	inv := collectortest.Collect(t, collector(t, srv))
	g := grantByID(identityByName(t, inv, "devex-build-cache"), ciDeployerGrant)
	if g == nil || g.Privileged.Judged() {
		t.Errorf("grant of an unread custom role: %+v, want kept and not judged", g)
	}
	cov := inv.Coverage()
	if cov.Observed(nhi.GCP, "acme-devex-tools", nhi.GrantsFacet("role-binding")) {
		t.Error("the grants of acme-devex-tools count as observed")
	}
	if !cov.Observed(nhi.GCP, "acme-payments-prod", nhi.GrantsFacet("role-binding")) {
		t.Error("an unread role hid the grants of a project that does not hold it")
	}
}
