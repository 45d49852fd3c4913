package gcp_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/collectors/gcp"
	"github.com/nhiscan/nhiscan/collectors/gcp/gcpfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

var (
	fAccounts   = nhi.Facet("identities:gcp-service-account")
	fFederated  = nhi.Facet("identities:gcp-federated-principal")
	fUserKeys   = nhi.Facet("credentials:gcp-user-managed-key")
	fSystemKeys = nhi.Facet("credentials:gcp-system-managed-key")
	fAPIKeys    = nhi.Facet("credentials:gcp-api-key")
	fHMACKeys   = nhi.Facet("credentials:gcp-hmac-key")
	fProviders  = nhi.Facet("credentials:gcp-workload-identity-provider")
	fBindings   = nhi.Facet("grants:role-binding")
	fUsage      = nhi.Facet("usage:activity-analyzer")
	fOwnership  = nhi.FacetOwnership
)

// TestGapsHideOnlyTheirFacets fails one operation at a time and checks the
// coverage that results: the gap names the facets the call reads, in the
// scopes whose data it loses, and every other facet stays observed.
func TestGapsHideOnlyTheirFacets(t *testing.T) {
	org := "organizations/" + gcpfake.DemoOrganization
	const pay, data = "acme-payments-prod", "acme-data-prod"
	projects := []string{pay, data, "acme-platform-prod", "acme-devex-tools", "acme-identity-prod"}
	type cell struct {
		scope string
		facet nhi.Facet
	}
	for _, tc := range []struct {
		name     string
		setup    func(*gcpfake.Server)
		hidden   []cell
		observed []cell
	}{
		{
			name:  "API keys list fails",
			setup: func(s *gcpfake.Server) { s.Fail(pay, gcpfake.OpListAPIKeys, http.StatusInternalServerError) },
			// Without the key list the blind spot cannot be ruled out:
			// usage is not observed either.
			hidden:   []cell{{pay, fAPIKeys}, {pay, fUsage}},
			observed: []cell{{pay, fAccounts}, {pay, fUserKeys}, {pay, fSystemKeys}, {pay, fBindings}, {pay, fOwnership}, {data, fAPIKeys}},
		},
		{
			name:     "activity denied",
			setup:    func(s *gcpfake.Server) { s.Deny(data, gcpfake.OpQueryActivity) },
			hidden:   []cell{{data, fUsage}},
			observed: []cell{{data, fAccounts}, {data, fUserKeys}, {data, fAPIKeys}, {data, fBindings}, {data, fOwnership}, {pay, fUsage}},
		},
		{
			name: "asset listing denied, one project's keys fail in the fallback",
			setup: func(s *gcpfake.Server) {
				s.Deny(org, gcpfake.OpListAssets)
				s.Fail(pay, gcpfake.OpListKeys, http.StatusInternalServerError)
			},
			hidden:   []cell{{pay, fUserKeys}, {pay, fSystemKeys}, {org, fAccounts}},
			observed: []cell{{pay, fAccounts}, {pay, fBindings}, {pay, fAPIKeys}, {pay, fUsage}, {pay, fOwnership}, {data, fUserKeys}, {org, fBindings}},
		},
		{
			name:  "policy search denied",
			setup: func(s *gcpfake.Server) { s.Deny(org, gcpfake.OpSearchIamPolicies) },
			// Project policies lack the organisation, folder and resource
			// bindings everywhere, and the agents and outside accounts
			// known only through them.
			hidden:   []cell{{org, fBindings}, {pay, fBindings}, {pay, fAccounts}, {data, fBindings}},
			observed: []cell{{pay, fUserKeys}, {pay, fAPIKeys}, {pay, fUsage}, {pay, fOwnership}},
		},
		{
			name:     "one project's accounts denied in the fallback",
			setup:    func(s *gcpfake.Server) { s.Deny(org, gcpfake.OpListAssets); s.Deny(data, gcpfake.OpListSAs) },
			hidden:   []cell{{data, fAccounts}, {data, fUserKeys}, {data, fUsage}, {data, fOwnership}},
			observed: []cell{{pay, fAccounts}, {pay, fUserKeys}, {pay, fBindings}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := demo(t)
			tc.setup(srv)
			inv := collectortest.Collect(t, collector(t, srv))
			cov := inv.Coverage()
			for _, c := range tc.hidden {
				if cov.Observed(nhi.GCP, c.scope, c.facet) {
					t.Errorf("%s %s observed, want hidden; gaps %+v", c.scope, c.facet, inv.Gaps)
				}
			}
			for _, c := range tc.observed {
				if g, why := cov.Why(nhi.GCP, c.scope, c.facet); why != "" {
					t.Errorf("%s %s not observed (%s, %+v)", c.scope, c.facet, why, g)
				}
			}
			for _, p := range projects {
				if !cov.Collected(nhi.GCP, p) {
					t.Errorf("project %s not collected", p)
				}
			}
		})
	}
}

// TestEveryScopeListsTheFacetsRead checks the facets a clean scan lists:
// everything for a project, the identity list and grants for the
// organisation, and no usage when usage is skipped.
func TestEveryScopeListsTheFacetsRead(t *testing.T) {
	srv := demo(t)
	for _, skip := range []bool{false, true} {
		inv := collectortest.Collect(t, collector(t, srv, func(c *gcp.Config) { c.SkipUsage = skip }))
		for _, sc := range inv.Scopes {
			want := []nhi.Facet{fAPIKeys, fHMACKeys, fSystemKeys, fUserKeys, fProviders, nhi.EntitlementUsageFacet(nhi.SourceGCPRecommender),
				fBindings, fFederated, fAccounts, fOwnership, nhi.FacetTrust}
			if !skip {
				want = append(want, fUsage)
			}
			if strings.HasPrefix(sc.ID, "organizations/") {
				want = []nhi.Facet{fBindings, fFederated, fAccounts}
			}
			if strings.Join(facetStrings(sc.Facets), ",") != strings.Join(facetStrings(want), ",") {
				t.Errorf("skip usage %v: scope %s facets %v, want %v", skip, sc.ID, sc.Facets, want)
			}
		}
		cov := inv.Coverage()
		if got := cov.Observed(nhi.GCP, "acme-data-prod", fUsage); got == skip {
			t.Errorf("skip usage %v: usage observed = %v", skip, got)
		}
	}
}

func facetStrings(fs []nhi.Facet) []string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f))
	}
	return out
}

// TestGapKinds checks that each failure comes out as its kind: a hung call
// as timeout (bounded by CallTimeout, well before the fake gives up), a
// 503 past the retries as unavailable, a 502 as unavailable, a 500 as
// error, a 504 as timeout.
func TestGapKinds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*gcpfake.Server)
		kind  nhi.GapKind
		calls int
	}{
		{"hung", func(s *gcpfake.Server) { s.Timeout("acme-data-prod", gcpfake.OpQueryActivity); s.SetHang(time.Minute) }, nhi.GapTimeout, 1},
		{"503", func(s *gcpfake.Server) { s.Fail("acme-data-prod", gcpfake.OpQueryActivity, 503) }, nhi.GapUnavailable, 3},
		{"502", func(s *gcpfake.Server) { s.Fail("acme-data-prod", gcpfake.OpQueryActivity, 502) }, nhi.GapUnavailable, 1},
		{"500", func(s *gcpfake.Server) { s.Fail("acme-data-prod", gcpfake.OpQueryActivity, 500) }, nhi.GapError, 1},
		{"504", func(s *gcpfake.Server) { s.Fail("acme-data-prod", gcpfake.OpQueryActivity, 504) }, nhi.GapTimeout, 1},
		{"throttled", func(s *gcpfake.Server) { s.Throttle("acme-data-prod", gcpfake.OpQueryActivity, -1) }, nhi.GapThrottled, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := demo(t)
			tc.setup(srv)
			start := time.Now()
			inv := collectortest.Collect(t, collector(t, srv, func(c *gcp.Config) {
				c.MaxRetries = 2
				if tc.name == "hung" {
					c.CallTimeout = 500 * time.Millisecond
				}
			}))
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("scan took %v: a hung call held it", d)
			}
			if len(inv.Gaps) != 1 {
				t.Fatalf("gaps %+v, want one", inv.Gaps)
			}
			g := inv.Gaps[0]
			if g.Kind != tc.kind || g.Scope != "acme-data-prod" || g.Source != gcpfake.OpQueryActivity {
				t.Errorf("gap %+v, want kind %s", g, tc.kind)
			}
			// The first activity type's query fails; the other is never asked.
			if n := srv.CallCount(gcpfake.OpQueryActivity) - 2*4; n != tc.calls {
				t.Errorf("%d calls to the failing query, want %d", n, tc.calls)
			}
		})
	}
}

// TestCloseEndsHungCalls checks that the fake's Close does not wait for a
// call held by a Timeout fault whose client never gives up.
func TestCloseEndsHungCalls(t *testing.T) {
	srv := gcpfake.New(gcpfake.Demo(now))
	srv.SetHang(time.Hour)
	srv.Timeout("", "")
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := srv.Client().Get(srv.URL + "/v1/organizations/" + gcpfake.DemoOrganization + "/assets")
		if err == nil {
			resp.Body.Close()
		}
	}()
	for srv.TotalCalls() == 0 {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung on a held call")
	}
	<-done
}

// TestCallTimeoutEndsAHungScan: every call hangs; the scan still ends, as
// a failed scan whose gaps say timeout.
func TestCallTimeoutEndsAHungScan(t *testing.T) {
	srv := demo(t)
	srv.SetHang(time.Minute)
	srv.Timeout("", "")
	c := collector(t, srv, func(c *gcp.Config) {
		c.Organization, c.Projects, c.CallTimeout = "", []string{"acme-data-prod"}, 100*time.Millisecond
	})
	inv, err := c.Collect(context.Background())
	if err == nil || len(inv.Identities) != 0 {
		t.Fatalf("err %v, %d identities: a scan that read nothing must fail", err, len(inv.Identities))
	}
	for _, g := range inv.Gaps {
		if g.Kind != nhi.GapTimeout {
			t.Errorf("gap %s %s: kind %s, want timeout", g.Scope, g.Source, g.Kind)
		}
	}
}
