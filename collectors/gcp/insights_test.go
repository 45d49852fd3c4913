package gcp_test

import (
	"testing"

	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/collectors/gcp"
	"github.com/nhiscan/nhiscan/collectors/gcp/gcpfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

func bindingUse(t *testing.T, id nhi.Identity, role string) *nhi.GrantUse {
	t.Helper()
	for _, g := range id.Grants {
		if g.Entitlement == role {
			return g.Use
		}
	}
	t.Fatalf("%s has no binding of %s", id.Name, role)
	return nil
}

// Policy insights give each project binding's use: used with the
// permissions exercised, never used, or nothing where the recommender has
// no insight; a denied list is a gap on the entitlement-usage facet of that
// project only, and its bindings' use is unknown.
func TestPolicyInsights(t *testing.T) {
	srv := demo(t)
	inv := collectortest.Collect(t, collector(t, srv))
	etl := identityByName(t, inv, "data-etl-runner")
	if u := bindingUse(t, etl, "roles/bigquery.jobUser"); u == nil || u.State != nhi.UsageUsed || len(u.Used) != 1 || u.WindowEnd.Sub(u.WindowStart).Hours() != 90*24 {
		t.Errorf("jobUser use = %+v", u)
	}
	exporter := identityByName(t, inv, "data-reporting-exporter")
	if u := bindingUse(t, exporter, "projects/acme-data-prod/roles/reportingAdmin"); u == nil || u.State != nhi.UsageNeverUsed {
		t.Errorf("reportingAdmin use = %+v", u)
	}

	denied := demo(t)
	denied.Deny("acme-data-prod", gcpfake.OpListInsights)
	inv = collectortest.Collect(t, collector(t, denied))
	f := nhi.EntitlementUsageFacet(nhi.SourceGCPRecommender)
	cov := inv.Coverage()
	if cov.Observed(nhi.GCP, "acme-data-prod", f) || !cov.Observed(nhi.GCP, "acme-payments-prod", f) {
		t.Error("a denied insight list must hide that project's entitlement usage only")
	}
	if u := bindingUse(t, identityByName(t, inv, "data-etl-runner"), "roles/bigquery.jobUser"); u == nil || u.State != nhi.UsageUnknown {
		t.Errorf("use after a denied list = %+v, want unknown", u)
	}

	off := demo(t)
	collectortest.Collect(t, collector(t, off, func(c *gcp.Config) { c.SkipRecommender = true }))
	if n := off.CallCount(gcpfake.OpListInsights); n != 0 {
		t.Errorf("skip_recommender made %d calls", n)
	}
}
