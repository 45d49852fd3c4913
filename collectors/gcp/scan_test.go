package gcp_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/collectors/gcp"
	"github.com/nhiscan/nhiscan/collectors/gcp/gcpfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

func TestPagingGivesTheSameInventory(t *testing.T) {
	want := encode(t, collectortest.Collect(t, collector(t, demo(t))))
	srv := demo(t)
	srv.SetPageSize(2)
	got := encode(t, collectortest.Collect(t, collector(t, srv)))
	if !bytes.Equal(got, want) {
		t.Error("inventory read in pages of 2 differs from the one read in full pages")
	}
	// 5 projects + 14 accounts + 13 keys = 32 assets: 16 pages of 2.
	if n := srv.CallCount(gcpfake.OpListAssets); n != 16 {
		t.Errorf("ListAssets calls = %d, want 16 pages", n)
	}
}

func TestThrottlingIsRetried(t *testing.T) {
	srv := demo(t)
	srv.Throttle("", gcpfake.OpListAssets, 2)
	srv.Throttle("acme-data-prod", gcpfake.OpQueryActivity, 1)
	inv := collectortest.Collect(t, collector(t, srv))
	if len(inv.Gaps) != 0 {
		t.Errorf("transient throttling left gaps: %+v", inv.Gaps)
	}
	if n := srv.CallCount(gcpfake.OpListAssets); n != 3 {
		t.Errorf("ListAssets calls = %d, want 1 page + 2 retries", n)
	}
}

func TestPersistentThrottlingIsAGap(t *testing.T) {
	srv := demo(t)
	srv.Throttle("acme-data-prod", gcpfake.OpQueryActivity, -1)
	inv := collectortest.Collect(t, collector(t, srv, func(c *gcp.Config) { c.MaxRetries = 2 }))
	if len(inv.Gaps) != 1 {
		t.Fatalf("gaps %+v, want one", inv.Gaps)
	}
	g := inv.Gaps[0]
	if g.Scope != "acme-data-prod" || g.Kind != nhi.GapThrottled || g.Source != gcpfake.OpQueryActivity ||
		len(g.Facets) != 1 || g.Facets[0] != "usage:activity-analyzer" || g.UsageOnly {
		t.Errorf("gap %+v", g)
	}
	if n := srv.CallCount(gcpfake.OpQueryActivity); n != 3+2*4 {
		t.Errorf("activity queries = %d, want 3 tries in the throttled project and 2 in each of the 4 others", n)
	}
	for _, id := range inv.Identities {
		if id.Scope == "acme-data-prod" && !id.ProviderManaged && id.Usage.State != nhi.UsageUnknown {
			t.Errorf("%s: usage %s while its project's usage source was throttled", id.Name, id.Usage.State)
		}
	}
	// The gap hides usage only: the identity list and grants still count.
	cov := inv.Coverage()
	if cov.Observed(nhi.GCP, "acme-data-prod", nhi.FacetUsage) {
		t.Error("usage observed although its source was throttled")
	}
	for _, f := range []nhi.Facet{nhi.IdentitiesFacet(nhi.KindGCPServiceAccount), nhi.FacetGrants} {
		if !cov.Observed(nhi.GCP, "acme-data-prod", f) {
			t.Errorf("a usage-only gap hid %s", f)
		}
	}
}

func identityIDs(inv nhi.Inventory) string {
	var ids []string
	for _, id := range inv.Identities {
		ids = append(ids, id.ID+"/"+string(id.Status)+"/"+itoa(len(id.Credentials)))
	}
	return strings.Join(ids, "\n")
}

// withoutHidden returns full without the identities inv lacks where its
// identity list is not observed.
func withoutHidden(full, inv nhi.Inventory) nhi.Inventory {
	cov := inv.Coverage()
	out := full
	out.Identities = nil
	for _, id := range full.Identities {
		if _, ok := inv.Identity(id.ID); ok || cov.Observed(nhi.GCP, id.Scope, nhi.IdentitiesFacet(id.Kind)) {
			out.Identities = append(out.Identities, id)
		}
	}
	return out
}

func itoa(n int) string { return string(rune('0' + n)) }

func TestFallbackWhenAssetAPIIsDenied(t *testing.T) {
	full := collectortest.Collect(t, collector(t, demo(t)))
	for _, tc := range []struct {
		name  string
		setup func(*gcpfake.Server)
		kind  nhi.GapKind
	}{
		{"denied", func(s *gcpfake.Server) {
			s.Deny("organizations/"+gcpfake.DemoOrganization, gcpfake.OpListAssets)
			s.Deny("organizations/"+gcpfake.DemoOrganization, gcpfake.OpSearchIamPolicies)
		}, nhi.GapDenied},
		{"disabled", func(s *gcpfake.Server) { s.DisableService("cloudasset") }, nhi.GapUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := demo(t)
			tc.setup(srv)
			inv := collectortest.Collect(t, collector(t, srv))
			sources := map[string]nhi.Gap{}
			searchGaps := map[string]bool{}
			principalGaps := 0
			for _, g := range inv.Gaps {
				if g.Source == gcpfake.OpSearchPrincipals || g.Source == gcpfake.OpSearchAccountPolicies {
					// Disabling the API fails the searches for pool
					// principals and accounts' own policies too: a gap at the
					// organisation and on every scope, for each.
					principalGaps++
					continue
				}
				if strings.HasPrefix(g.Scope, "organizations/") {
					sources[g.Source] = g
				} else if g.Source == gcpfake.OpSearchIamPolicies && g.Kind == tc.kind {
					searchGaps[g.Scope] = true
				}
			}
			for _, op := range []string{gcpfake.OpListAssets, gcpfake.OpSearchIamPolicies} {
				g, ok := sources[op]
				if !ok || g.Kind != tc.kind || g.Scope != "organizations/"+gcpfake.DemoOrganization || (g.Permission != "") != (g.Kind == nhi.GapDenied) {
					t.Errorf("gap for %s: %+v (ok=%v), want kind %s at the organisation", op, g, ok, tc.kind)
				}
			}
			// Project policies cannot show organisation, folder and resource
			// bindings: every project is partial for grants, so none of its
			// missing grants can look removed.
			for _, sc := range full.Scopes {
				if !strings.HasPrefix(sc.ID, "organizations/") && !searchGaps[sc.ID] {
					t.Errorf("project %s has no search gap", sc.ID)
				}
			}
			if len(inv.Gaps) != 2+len(searchGaps)+principalGaps {
				t.Errorf("gaps %+v, want the two asset gaps and one search gap per project", inv.Gaps)
			}
			if want := map[string]int{"denied": 0, "disabled": 2 * len(full.Scopes)}[tc.name]; principalGaps != want {
				t.Errorf("%d gaps of the searches for pool principals and accounts' policies, want %d", principalGaps, want)
			}
			// Accounts and keys come from IAM instead; the service agent, seen
			// only in bindings, still comes from the project policy.
			// Federated principals bound on resources only (or, with the
			// API disabled, every pool principal) are missing, their
			// identity list hidden.
			if got, want := identityIDs(inv), identityIDs(withoutHidden(full, inv)); got != want {
				t.Errorf("fallback identities\n%s\nwant\n%s", got, want)
			}
			if srv.CallCount(gcpfake.OpListSAs) != 5 || srv.CallCount(gcpfake.OpListKeys) != 14 || srv.CallCount(gcpfake.OpGetProjectIamPolic) != 5 {
				t.Errorf("fallback calls %v", srv.Calls())
			}
			tf := identityByName(t, inv, "platform-terraform")
			for _, g := range tf.Grants {
				if !strings.HasPrefix(g.Scope, "projects/") {
					t.Errorf("fallback found a %s grant, which only the asset search can see", g.Scope)
				}
			}
			if len(tf.Grants) != 1 {
				t.Errorf("platform-terraform grants in fallback: %+v, want the project binding", tf.Grants)
			}
		})
	}
}

func TestAPIKeysDeniedMakesUsageUnknown(t *testing.T) {
	srv := demo(t)
	srv.Deny("acme-payments-prod", gcpfake.OpListAPIKeys)
	inv := collectortest.Collect(t, collector(t, srv))
	cov := inv.Coverage()
	if cov.Observed(nhi.GCP, "acme-payments-prod", "credentials:gcp-api-key") || cov.Observed(nhi.GCP, "acme-payments-prod", "usage:activity-analyzer") {
		t.Errorf("missing API keys: their credentials and the project's usage must not be observed; gaps %+v", inv.Gaps)
	}
	if !cov.Observed(nhi.GCP, "acme-payments-prod", "identities:gcp-service-account") || !cov.Observed(nhi.GCP, "acme-payments-prod", "credentials:gcp-user-managed-key") {
		t.Errorf("missing API keys hid the accounts or their keys; gaps %+v", inv.Gaps)
	}
	id := identityByName(t, inv, "payments-ci-deployer")
	if id.Usage.State != nhi.UsageUnknown || !strings.Contains(id.Usage.Reason, "API keys") {
		t.Errorf("usage %+v: without the API key list the blind spot cannot be ruled out", id.Usage)
	}
}

func TestEveryScopeDeniedIsAnError(t *testing.T) {
	srv := demo(t)
	srv.Deny("", "")
	c := collector(t, srv, func(c *gcp.Config) { c.Organization = ""; c.Projects = []string{"acme-data-prod"} })
	inv, err := c.Collect(context.Background())
	if !errors.Is(err, collectors.ErrDenied) {
		t.Errorf("err = %v, want ErrDenied", err)
	}
	if !inv.Partial(nhi.GCP, "acme-data-prod") {
		t.Error("no gap for the denied project")
	}
}

// TestCallBudget checks that calls grow with pages and projects, not with
// service accounts' keys: asset pages + three policy searches' pages + 5 per
// project (two activity queries, API keys, HMAC keys, workload identity
// pools) + one per pool, and, where the asset data leaves the keys' state out (as IAM's
// JSON leaves out false and empty values), one keys.list per account with
// user-managed keys.
func TestCallBudget(t *testing.T) {
	const projects, accounts = 12, 20
	for _, tc := range []struct {
		fields   gcpfake.AssetKeyFields
		keyCalls int
	}{{gcpfake.KeyFieldsExplicit, 0}, {gcpfake.KeyFieldsAsIAM, projects * accounts}} {
		for _, keys := range []int{1, 3} {
			srv := gcpfake.New(gcpfake.Generate(projects, accounts, keys, now))
			t.Cleanup(srv.Close)
			srv.SetAssetKeyFields(tc.fields)
			c := collector(t, srv, func(c *gcp.Config) { c.Organization = "999000000001"; c.DelegatedClientIDs = nil })
			inv := collectortest.Collect(t, c)
			if len(inv.Identities) != projects*accounts || len(inv.Gaps) != 0 {
				t.Fatalf("%d identities, gaps %+v", len(inv.Identities), inv.Gaps)
			}
			calls := srv.Calls()
			assets := projects + projects*accounts + projects*accounts*keys
			want := map[string]int{
				gcpfake.OpListAssets:            (assets + 999) / 1000,
				gcpfake.OpSearchIamPolicies:     1,
				gcpfake.OpSearchPrincipals:      1,
				gcpfake.OpSearchAccountPolicies: 1,
				gcpfake.OpQueryActivity:         2 * projects,
				gcpfake.OpListAPIKeys:           projects,
				gcpfake.OpListHMACKeys:          projects,
				gcpfake.OpListInsights:          projects,
				gcpfake.OpListRecommendations:   projects,
				gcpfake.OpListPools:             projects,
				gcpfake.OpListKeys:              tc.keyCalls,
			}
			total := 0
			for op, n := range want {
				total += n
				if calls[op] != n {
					t.Errorf("fields %d, keys=%d: %s called %d times, want %d", tc.fields, keys, op, calls[op], n)
				}
			}
			if n := srv.TotalCalls(); n != total {
				t.Errorf("fields %d, keys=%d: %d calls in all, want %d: %v", tc.fields, keys, n, total, calls)
			}
		}
	}
}

// TestAsOfComesFromTheObservationPeriod checks that usage is dated by
// Activity Analyzer's observation period, never by the scanner's clock: a
// project with no activity at all takes the period the other projects
// report, and with no period anywhere the as-of stays unknown.
func TestAsOfComesFromTheObservationPeriod(t *testing.T) {
	later := now.AddDate(0, 0, 3) // the scanner runs three days after the analyzer's last update
	periodEnd := now.Truncate(24 * time.Hour)
	srv := demo(t)
	srv.Mutate(func(s *gcpfake.Seed) {
		for i := range s.Projects {
			if s.Projects[i].ID == "acme-devex-tools" {
				for j := range s.Projects[i].ServiceAccounts {
					s.Projects[i].ServiceAccounts[j].LastAuth = time.Time{}
				}
			}
		}
	})
	inv := collectortest.Collect(t, collector(t, srv, func(c *gcp.Config) { c.Now = func() time.Time { return later } }))
	for _, name := range []string{"devex-docs-bot", "payments-ci-deployer"} {
		if u := identityByName(t, inv, name).Usage; !u.AsOf.Equal(periodEnd) {
			t.Errorf("%s: usage as of %v, want the observation period's end %v", name, u.AsOf, periodEnd)
		}
	}

	quiet := gcpfake.New(gcpfake.Generate(2, 1, 1, now))
	t.Cleanup(quiet.Close)
	quiet.Mutate(func(s *gcpfake.Seed) {
		for i := range s.Projects {
			for j := range s.Projects[i].ServiceAccounts {
				sa := &s.Projects[i].ServiceAccounts[j]
				sa.LastAuth = time.Time{}
				for k := range sa.Keys {
					sa.Keys[k].LastAuth = time.Time{}
				}
			}
		}
	})
	inv = collectortest.Collect(t, collector(t, quiet, func(c *gcp.Config) { c.Organization = "999000000001"; c.Now = func() time.Time { return later } }))
	for _, id := range inv.Identities {
		if id.Usage.State != nhi.UsageNeverUsed || !id.Usage.AsOf.IsZero() {
			t.Errorf("%s: usage %+v, want never used with no as-of (no observation period reported)", id.Name, id.Usage)
		}
	}
}
