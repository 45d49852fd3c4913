package github_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/collectors/fakeapi"
	"github.com/nhiscan/nhiscan/collectors/github/githubfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// reads is what each operation's answer feeds, independently of the
// collector's own table: a failed call must leave a gap covering these
// facets (nil: the whole organisation). A failed GraphQL query leaves no
// gap of its own: REST reads its deploy keys and environments, and only a
// REST failure is a gap.
var reads = map[string][]nhi.Facet{
	githubfake.OpGetOrg:                 nil,
	githubfake.OpListRepos:              {"identities:github-deploy-key", "credentials:github-deploy-key", "grants:repo-permission", "identities:github-actions", "credentials:github-actions-secret"},
	githubfake.OpListDeployKeys:         {"identities:github-deploy-key", "credentials:github-deploy-key", "grants:repo-permission", "usage:github-api", "ownership"},
	githubfake.OpListInstallations:      {"identities:github-app-installation", "grants:app-permission"},
	githubfake.OpListPATGrants:          {"identities:github-fine-grained-token", "credentials:github-fine-grained-token", "grants:token-permission", "usage:github-api", "ownership"},
	githubfake.OpListPATRepositories:    {"grants:token-permission"},
	githubfake.OpListSAMLAuthorizations: facetsSAML,
	githubfake.OpListOrgSecrets:         {"identities:github-actions", "credentials:github-actions-secret"},
	githubfake.OpListRepoSecrets:        {"identities:github-actions", "credentials:github-actions-secret"},
	githubfake.OpListEnvSecrets:         {"identities:github-actions", "credentials:github-actions-secret"},
	githubfake.OpListEnvironments:       {"identities:github-actions", "credentials:github-actions-secret"},
	githubfake.OpListMembers:            {"ownership"},
	githubfake.OpListOutside:            {"ownership"},
	githubfake.OpListPropertyValues:     {"ownership"},
}

// covers reports whether gap g hides every facet of want (a gap without
// facets hides the whole scope).
func covers(g nhi.Gap, want []nhi.Facet) bool {
	if len(g.Facets) == 0 {
		return true
	}
	if want == nil {
		return false
	}
	for _, w := range want {
		if !slices.ContainsFunc(g.Facets, func(f nhi.Facet) bool { return f.Covers(w) }) {
			return false
		}
	}
	return true
}

// TestRandomFaults runs the demo organisation through the collector once
// clean, then with 10 % of calls failed at random (throttled past the
// retries, denied, 500, timeouts) for several seeds, and checks against
// the clean inventory that partial data never passes for complete:
//
//   - every identity, credential and grant of the clean run is in the
//     faulty run, or its facet is not observed there;
//   - nothing is in the faulty run that the clean run lacks (no identity
//     or grant recorded under another key because a call failed);
//   - every injected fault leaves a gap, in its organisation, covering
//     what the failed call reads (a failed App token covers its caller).
func TestRandomFaults(t *testing.T) {
	setup := func(t *testing.T) *setup {
		s := demoSetup(t)
		s.srv.SetPageSize(2) // paging: a fault may hit a later page
		s.srv.SetRetryAfter(0)
		s.srv.SetHang(3 * time.Second)
		s.cfg.MaxRetries = 1
		s.cfg.CallTimeout = 250 * time.Millisecond
		return s
	}
	clean := collectortest.Collect(t, setup(t).collector(t))
	if len(clean.Gaps) != 0 {
		t.Fatalf("clean run has gaps: %+v", clean.Gaps)
	}
	for seed := uint64(1); seed <= 12; seed++ {
		s := setup(t)
		s.srv.Random(seed, 0.10)
		inv := collectortest.Collect(t, s.collector(t))
		injected := s.srv.Injected()
		n := checkAgainstClean(t, seed, clean, inv)
		checkInjected(t, seed, injected, inv.Gaps)
		kinds := map[nhi.GapKind]int{}
		for _, g := range inv.Gaps {
			kinds[g.Kind]++
		}
		t.Logf("seed %d: %d calls, %d failed, %d gaps %v; %d of %d identities absent and unobserved; false removals %d, substitutes %d",
			seed, s.srv.TotalCalls(), len(injected), len(inv.Gaps), kinds, n.lost, len(clean.Identities), n.falseRemovals, n.substitutes)
	}
}

type counts struct{ lost, falseRemovals, substitutes int }

// checkAgainstClean compares a faulty run with the clean one: what is
// absent must be unobserved (else a false removal), and what is present
// must be in the clean run (else a substitute).
func checkAgainstClean(t *testing.T, seed uint64, clean, inv nhi.Inventory) counts {
	t.Helper()
	var n counts
	cov := inv.Coverage()
	absent := func(what, scope string, f nhi.Facet) {
		if cov.Observed(nhi.GitHub, scope, f) {
			n.falseRemovals++
			t.Errorf("seed %d: %s missing although %s of %s is observed", seed, what, f, scope)
		}
	}
	for _, want := range clean.Identities {
		got, ok := inv.Identity(want.ID)
		if !ok {
			n.lost++
			absent(want.ID, want.Scope, nhi.IdentitiesFacet(want.Kind))
			continue
		}
		for _, c := range want.Credentials {
			if _, ok := got.Credential(c.ID); !ok {
				absent(want.ID+" credential "+c.ID, want.Scope, nhi.CredentialsFacet(c.Type))
			}
		}
		for _, g := range want.Grants {
			if !hasGrant(got, g.ID) {
				absent(want.ID+" grant "+g.ID, want.Scope, nhi.GrantsFacet(g.Kind))
			}
		}
	}
	extra := func(what string) {
		n.substitutes++
		t.Errorf("seed %d: %s is not in the clean run", seed, what)
	}
	for _, got := range inv.Identities {
		want, ok := clean.Identity(got.ID)
		if !ok {
			extra(got.ID)
			continue
		}
		for _, c := range got.Credentials {
			if _, ok := want.Credential(c.ID); !ok {
				extra(got.ID + " credential " + c.ID)
			}
		}
		for _, g := range got.Grants {
			if !hasGrant(want, g.ID) {
				extra(got.ID + " grant " + g.ID + " @" + g.Scope)
			}
		}
	}
	return n
}

// gapKinds is the gap kind each fault must come out as (or a kind that
// tells more, when several calls of one operation failed).
var gapKinds = map[fakeapi.FaultKind]nhi.GapKind{
	fakeapi.FaultDenied: nhi.GapDenied, fakeapi.FaultThrottled: nhi.GapThrottled,
	fakeapi.FaultFailed: nhi.GapUnavailable, fakeapi.FaultTimeout: nhi.GapTimeout,
}

var rank = map[nhi.GapKind]int{nhi.GapError: 1, nhi.GapUnavailable: 2, nhi.GapTimeout: 3, nhi.GapThrottled: 4, nhi.GapDenied: 5}

func checkInjected(t *testing.T, seed uint64, injected []fakeapi.Injection, gaps []nhi.Gap) {
	t.Helper()
	for _, in := range injected {
		if in.Op == githubfake.OpGraphQL {
			continue // made good over REST: checkAgainstClean judges it
		}
		found := false
		for _, g := range gaps {
			if g.Scope != in.Scope {
				continue
			}
			switch in.Op {
			case githubfake.OpCreateInstallationToken, githubfake.OpGetOrgInstallation:
				found = true // the call that needed the token failed: any gap of the organisation

			default:
				found = found || (g.Source == in.Op && covers(g, reads[in.Op]) && rank[g.Kind] >= rank[gapKinds[in.Fault.Kind]]) ||
					(g.Source == githubfake.OpGetOrg && len(g.Facets) == 0)
			}
		}
		if !found {
			t.Errorf("seed %d: %s %s (%s %d) left no gap covering %v; gaps %+v", seed, in.Scope, in.Op, in.Fault.Kind, in.Fault.Status, reads[in.Op], gaps)
		}
	}
}

// TestCallTimeout: a call that hangs becomes a timeout gap after
// CallTimeout, hiding only what it reads, instead of holding up the scan.
func TestCallTimeout(t *testing.T) {
	s := demoSetup(t)
	s.cfg.CallTimeout = 200 * time.Millisecond
	s.srv.SetHang(time.Minute)
	s.srv.Timeout(githubfake.DemoOrg, githubfake.OpListInstallations)
	start := time.Now()
	inv := collectortest.Collect(t, s.collector(t))
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("scan took %v with one hanging call", d)
	}
	if len(inv.Gaps) != 1 {
		t.Fatalf("gaps = %+v", inv.Gaps)
	}
	g := inv.Gaps[0]
	if g.Kind != nhi.GapTimeout || g.Scope != githubfake.DemoOrg || g.Source != githubfake.OpListInstallations ||
		!slices.Equal(g.Facets, []nhi.Facet{"grants:app-permission", "identities:github-app-installation"}) {
		t.Errorf("gap = %+v, want a timeout hiding the App installations of %s", g, githubfake.DemoOrg)
	}
	if _, ok := inv.Identity("github:deploy-key:810001"); !ok {
		t.Error("a hanging installation list lost the deploy keys")
	}
}

// TestGapHidesOnlyItsFacets: a 500 on every repository's secret list
// hides the Actions identities of the organisation, not its deploy keys,
// tokens or installations; a refused organisation hides all of it.
func TestGapHidesOnlyItsFacets(t *testing.T) {
	s := demoSetup(t)
	s.srv.Fail(githubfake.DemoOrg, githubfake.OpListRepoSecrets, http.StatusInternalServerError)
	s.srv.Deny(githubfake.DemoLabsOrg, githubfake.OpGetOrg)
	inv := collectortest.Collect(t, s.collector(t))
	cov := inv.Coverage()
	for f, want := range map[nhi.Facet]bool{
		"identities:github-actions": false, "credentials:github-actions-secret": false,
		"identities:github-deploy-key": true, "grants:repo-permission": true, "usage:github-api": true, "ownership": true,
		"identities:github-fine-grained-token": true, "identities:github-app-installation": true, "identities:github-classic-token": true,
	} {
		if got := cov.Observed(nhi.GitHub, githubfake.DemoOrg, f); got != want {
			t.Errorf("%s %s observed = %v, want %v", githubfake.DemoOrg, f, got, want)
		}
		if cov.Observed(nhi.GitHub, githubfake.DemoLabsOrg, f) {
			t.Errorf("%s %s observed although the organisation was refused", githubfake.DemoLabsOrg, f)
		}
	}
	for _, g := range inv.Gaps {
		if g.Source == githubfake.OpListRepoSecrets && (g.Kind != nhi.GapUnavailable || g.Permission != "") {
			t.Errorf("500 gap = %+v, want unavailable without a permission", g)
		}
	}
}

// TestScopeFacets: an organisation's scope lists what the collector reads
// there; SAML authorisations are not read when they are skipped and no
// token can list them.
func TestScopeFacets(t *testing.T) {
	s := demoSetup(t)
	s.cfg.TokenFile, s.cfg.SkipSAMLAuthorizations = "", true
	inv := collectortest.Collect(t, s.collector(t))
	for _, sc := range inv.Scopes {
		if slices.Contains(sc.Facets, "identities:github-classic-token") || !slices.Contains(sc.Facets, "identities:github-deploy-key") {
			t.Errorf("scope %s facets %v", sc.ID, sc.Facets)
		}
	}
	cov := inv.Coverage()
	if _, why := cov.Why(nhi.GitHub, githubfake.DemoOrg, "identities:github-classic-token"); why != nhi.WhyNotRead {
		t.Errorf("skipped SAML authorisations: why = %q, want %q", why, nhi.WhyNotRead)
	}
}
