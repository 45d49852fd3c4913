package gcp_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/collectors/gcp"
	"github.com/nhiscan/nhiscan/collectors/gcp/gcpfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

const dataProd = "acme-data-prod"

func sam(account string) string {
	return "serviceAccount:" + account + "@" + dataProd + ".iam.gserviceaccount.com"
}

// withRecommendations is the demo organisation with role recommendations
// on acme-data-prod: replace the ETL's dataEditor with dataViewer (and
// jobUser, which it holds), remove the exporter's custom role; a dismissed
// one, one on a conditional binding and one for a user are not read.
func withRecommendations(t testing.TB) *gcpfake.Server {
	t.Helper()
	seed := gcpfake.Demo(now)
	for i := range seed.Projects {
		if seed.Projects[i].ID != dataProd {
			continue
		}
		seed.Projects[i].Recommendations = []gcpfake.Recommendation{
			{ID: "rec-etl-editor", Role: "roles/bigquery.dataEditor", Member: sam("data-etl-runner"),
				Replace: []string{"roles/bigquery.jobUser", "roles/bigquery.dataViewer"}, Priority: "P2", Insight: "ins-etl-dataeditor"},
			{ID: "rec-exporter-admin", Role: "projects/" + dataProd + "/roles/reportingAdmin", Member: sam("data-reporting-exporter"), Insight: "ins-exporter-admin"},
			{ID: "rec-exporter-viewer", Role: "roles/bigquery.dataViewer", Member: sam("data-reporting-exporter"), State: "DISMISSED"},
			{ID: "rec-etl-jobuser-cond", Role: "roles/bigquery.jobUser", Member: sam("data-etl-runner"), Condition: "until 2030"},
			{ID: "rec-user", Role: "roles/bigquery.jobUser", Member: "user:alice@acme.example"},
		}
	}
	srv := gcpfake.New(seed)
	t.Cleanup(srv.Close)
	return srv
}

func bindingRec(t *testing.T, id nhi.Identity, role string) *nhi.GrantRecommendation {
	t.Helper()
	for _, g := range id.Grants {
		if g.Entitlement == role && g.Scope == "projects/"+dataProd {
			return g.Recommendation
		}
	}
	t.Fatalf("%s has no binding of %s", id.Name, role)
	return nil
}

// Role recommendations attach to the project bindings they name: a
// REPLACE_ROLE with its roles, a REMOVE_ROLE; dismissed ones, ones on a
// conditional binding and ones for other members are not read. Paging
// costs one call per page, and the list is one call per project.
func TestRoleRecommendations(t *testing.T) {
	srv := withRecommendations(t)
	inv := collectortest.Collect(t, collector(t, srv))
	etl, exporter := identityByName(t, inv, "data-etl-runner"), identityByName(t, inv, "data-reporting-exporter")
	want := &nhi.GrantRecommendation{Source: nhi.SourceGCPRecommender, Action: nhi.RecommendReplace, Subtype: "REPLACE_ROLE",
		Replace: []string{"roles/bigquery.dataViewer", "roles/bigquery.jobUser"}, Priority: "P2", AsOf: now.UTC().Truncate(24 * time.Hour),
		Name: "projects/100000000002/locations/global/recommenders/google.iam.policy.Recommender/recommendations/rec-etl-editor"}
	got := bindingRec(t, etl, "roles/bigquery.dataEditor")
	if got != nil {
		want.Name = got.Name // the project number is the fake's
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("dataEditor recommendation (-want +got):\n%s", d)
	}
	if r := bindingRec(t, exporter, "projects/"+dataProd+"/roles/reportingAdmin"); r == nil || r.Action != nhi.RecommendRemove || r.Subtype != "REMOVE_ROLE" || len(r.Replace) != 0 {
		t.Errorf("reportingAdmin recommendation = %+v", r)
	}
	if r := bindingRec(t, exporter, "roles/bigquery.dataViewer"); r != nil {
		t.Errorf("a dismissed recommendation was attached: %+v", r)
	}
	if r := bindingRec(t, etl, "roles/bigquery.jobUser"); r != nil {
		t.Errorf("a conditional binding's recommendation was attached to the unconditional one: %+v", r)
	}
	if err := inv.Validate(); err != nil {
		t.Fatal(err)
	}
	perProject := srv.CallCount(gcpfake.OpListRecommendations)
	if perProject != srv.CallCount(gcpfake.OpListInsights) {
		t.Errorf("%d recommendation lists, %d insight lists: want one of each per project", perProject, srv.CallCount(gcpfake.OpListInsights))
	}

	paged := withRecommendations(t)
	paged.SetPageSize(1)
	pinv := collectortest.Collect(t, collector(t, paged))
	if n := paged.CallCount(gcpfake.OpListRecommendations); n != perProject+4 {
		t.Errorf("in pages of 1: %d calls, want %d (5 pages for %s, 1 for each other project)", n, perProject+4, dataProd)
	}
	if r := bindingRec(t, identityByName(t, pinv, "data-reporting-exporter"), "projects/"+dataProd+"/roles/reportingAdmin"); r == nil {
		t.Error("paging lost a recommendation")
	}
}

// A denied recommendation list is a gap on the recommender facet of that
// project only; no recommendation is attached and the bindings' use from
// the insights is what it was; SkipRecommender makes no call.
func TestRoleRecommendationsDenied(t *testing.T) {
	base := collectortest.Collect(t, collector(t, withRecommendations(t)))
	denied := withRecommendations(t)
	denied.Deny(dataProd, gcpfake.OpListRecommendations)
	inv := collectortest.Collect(t, collector(t, denied))
	f := nhi.EntitlementUsageFacet(nhi.SourceGCPRecommender)
	cov := inv.Coverage()
	if cov.Observed(nhi.GCP, dataProd, f) || !cov.Observed(nhi.GCP, "acme-payments-prod", f) {
		t.Error("a denied recommendation list must hide that project's recommender facet only")
	}
	gaps := 0
	for _, g := range inv.Gaps {
		if g.Source == "recommender.recommendations.list" {
			gaps++
			if g.Scope != dataProd {
				t.Errorf("gap on %s", g.Scope)
			}
		}
	}
	if gaps != 1 {
		t.Errorf("%d recommendation gaps, want 1: %+v", gaps, inv.Gaps)
	}
	for _, name := range []string{"data-etl-runner", "data-reporting-exporter"} {
		was, now := identityByName(t, base, name), identityByName(t, inv, name)
		for i, g := range now.Grants {
			if g.Recommendation != nil {
				t.Errorf("%s %s: recommendation %+v after a denied list", name, g.ID, g.Recommendation)
			}
			if d := cmp.Diff(was.Grants[i].Use, g.Use); d != "" {
				t.Errorf("%s %s: use changed by a denied recommendation list:\n%s", name, g.ID, d)
			}
		}
	}

	off := withRecommendations(t)
	oinv := collectortest.Collect(t, collector(t, off, func(c *gcp.Config) { c.SkipRecommender = true }))
	if n := off.CallCount(gcpfake.OpListRecommendations); n != 0 {
		t.Errorf("skip_recommender made %d recommendation calls", n)
	}
	if r := bindingRec(t, identityByName(t, oinv, "data-etl-runner"), "roles/bigquery.dataEditor"); r != nil {
		t.Errorf("skip_recommender attached %+v", r)
	}
}
