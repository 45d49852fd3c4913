package gcp_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors/fakeapi"
	"github.com/nhiscan/nhiscan/collectors/gcp"
	"github.com/nhiscan/nhiscan/collectors/gcp/gcpfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// reads is what each operation reads, as the collector's gaps must name
// it when the call fails (the facets of its table in errors.go; nil: the
// whole scope).
var reads = map[string][]nhi.Facet{
	gcpfake.OpListAssets:            {"identities:gcp-service-account", "credentials:gcp-user-managed-key", "credentials:gcp-system-managed-key", "ownership"},
	gcpfake.OpSearchIamPolicies:     {"identities:gcp-service-account", "identities:gcp-federated-principal", "grants:role-binding"},
	gcpfake.OpSearchPrincipals:      {"identities:gcp-federated-principal"},
	gcpfake.OpSearchAccountPolicies: {"trust"},
	gcpfake.OpListSAs:               nil,
	gcpfake.OpListKeys:              {"credentials:gcp-user-managed-key", "credentials:gcp-system-managed-key"},
	gcpfake.OpQueryActivity:         {"usage:activity-analyzer"},
	gcpfake.OpListInsights:          {"entitlement-usage:gcp-recommender"},
	gcpfake.OpListRecommendations:   {"entitlement-usage:gcp-recommender"},
	gcpfake.OpListAPIKeys:           {"credentials:gcp-api-key", "usage:activity-analyzer"},
	gcpfake.OpGetProject:            {"ownership"},
	gcpfake.OpGetRole:               {"grants:role-binding"},
	gcpfake.OpListPools:             {"credentials:gcp-workload-identity-provider", "trust"},
	gcpfake.OpListProviders:         {"credentials:gcp-workload-identity-provider", "trust"},
	gcpfake.OpListHMACKeys:          {"credentials:gcp-hmac-key", "usage:activity-analyzer"},
	gcpfake.OpListProjects:          nil,
	gcpfake.OpListFolders:           nil,
	gcpfake.OpGetProjectIamPolic:    {"identities:gcp-service-account", "identities:gcp-federated-principal", "grants:role-binding"},
}

// gapKindOf is the gap kind each injected fault must come out as.
func gapKindOf(f fakeapi.Fault) nhi.GapKind {
	switch f.Kind {
	case fakeapi.FaultDenied:
		return nhi.GapDenied
	case fakeapi.FaultThrottled:
		return nhi.GapThrottled
	case fakeapi.FaultTimeout:
		return nhi.GapTimeout
	}
	switch f.Status {
	case 502, 503:
		return nhi.GapUnavailable
	case 504:
		return nhi.GapTimeout
	}
	return nhi.GapError
}

// faultConfig keeps a faulty scan fast: short backoff, a short per-call
// timeout (yet long enough that a loaded machine running the race
// detector answers every call that is not held in time).
func faultConfig(c *gcp.Config) {
	c.RetryBaseDelay, c.MaxRetryDelay, c.CallTimeout = time.Millisecond, 2*time.Millisecond, 500*time.Millisecond
}

// TestRandomFaultsNeverLookRemoved runs the demo organisation through the
// collector once clean and then with 10% of calls failed at random
// (throttled past the retries, denied, 500, timeout) for several seeds,
// and checks against the clean inventory: every identity, credential and
// grant of the clean run is either there or hidden by a gap on its facet,
// and usage and owner hints differ only where their facet is hidden;
// nothing appears that the clean run does not have (no identity or grant
// keyed differently because another call failed); and every injected
// fault is a gap, of the right kind, on the scope it was injected for,
// hiding what the call reads.
func TestRandomFaultsNeverLookRemoved(t *testing.T) {
	clean := collectNoErr(t, collector(t, demo(t), faultConfig))
	var faults, gaps, runs, failedRuns int
	for seed := uint64(1); seed <= 16; seed++ {
		srv := demo(t)
		srv.SetHang(2 * time.Second)
		srv.Random(seed, 0.10)
		inv, err := collector(t, srv, faultConfig).Collect(context.Background())
		runs++
		if err != nil {
			failedRuns++
			if len(inv.Identities) != 0 {
				t.Errorf("seed %d: Collect failed (%v) but returned %d identities", seed, err, len(inv.Identities))
			}
		}
		if err := inv.Validate(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		injected := srv.Injected()
		faults += len(injected)
		gaps += len(inv.Gaps)
		checkHidden(t, seed, clean, inv)
		checkNoSubstitutes(t, seed, clean, inv)
		checkInjectedAreGaps(t, seed, injected, inv)
	}
	t.Logf("%d scans at 10%% faults: %d calls failed, %d gaps, %d scans that collected nothing (failed); false removals and substitutes: 0", runs, faults, gaps, failedRuns)
	if faults == 0 {
		t.Error("no fault injected: the test proves nothing")
	}
}

func collectNoErr(t *testing.T, c *gcp.Collector) nhi.Inventory {
	t.Helper()
	inv, err := c.Collect(context.Background())
	if err != nil || len(inv.Gaps) != 0 {
		t.Fatalf("clean scan: %v, gaps %+v", err, inv.Gaps)
	}
	return inv
}

// checkHidden: what the clean scan saw is there, or its facet is not
// observed in its scope.
func checkHidden(t *testing.T, seed uint64, clean, inv nhi.Inventory) {
	t.Helper()
	cov := inv.Coverage()
	hidden := func(scope string, f nhi.Facet) bool { return !cov.Observed(nhi.GCP, scope, f) }
	for _, want := range clean.Identities {
		got, ok := inv.Identity(want.ID)
		if !ok {
			if !hidden(want.Scope, nhi.IdentitiesFacet(want.Kind)) {
				t.Errorf("seed %d: %s (%s) is missing but the identity list of %s is observed: it would look removed", seed, want.ID, want.Name, want.Scope)
			}
			continue
		}
		if !sameUsage(got.Usage, want.Usage) && !hidden(want.Scope, nhi.FacetUsage) {
			t.Errorf("seed %d: %s usage %+v, clean %+v, but usage is observed in %s", seed, want.Name, got.Usage, want.Usage, want.Scope)
		}
		if !slices.Equal(got.OwnerHints, want.OwnerHints) && !hidden(want.Scope, nhi.FacetOwnership) {
			t.Errorf("seed %d: %s owner hints %v, clean %v, but ownership is observed in %s", seed, want.Name, got.OwnerHints, want.OwnerHints, want.Scope)
		}
		for _, c := range want.Credentials {
			gc, ok := got.Credential(c.ID)
			switch {
			case !ok && !hidden(want.Scope, nhi.CredentialsFacet(c.Type)):
				t.Errorf("seed %d: %s credential %s (%s) is missing but observed in %s", seed, want.Name, c.ID, c.Type, want.Scope)
			case ok && gc.Status != c.Status && !hidden(want.Scope, nhi.CredentialsFacet(c.Type)):
				t.Errorf("seed %d: %s credential %s status %s, clean %s, but its type is observed in %s", seed, want.Name, c.ID, gc.Status, c.Status, want.Scope)
			case ok && !sameUsage(gc.Usage, c.Usage) && !hidden(want.Scope, nhi.FacetUsage):
				t.Errorf("seed %d: %s credential %s usage %+v, clean %+v, but usage is observed in %s", seed, want.Name, c.ID, gc.Usage, c.Usage, want.Scope)
			}
		}
		for _, g := range want.Grants {
			if !hasGrant(got, g.ID) && !hidden(want.Scope, nhi.GrantsFacet(g.Kind)) {
				t.Errorf("seed %d: %s grant %s is missing but observed in %s", seed, want.Name, g.ID, want.Scope)
			}
		}
	}
}

// checkNoSubstitutes: nothing appears that the clean scan does not have.
func checkNoSubstitutes(t *testing.T, seed uint64, clean, inv nhi.Inventory) {
	t.Helper()
	for _, got := range inv.Identities {
		want, ok := clean.Identity(got.ID)
		if !ok {
			t.Errorf("seed %d: %s (%s) is not in the clean scan: a substitute key", seed, got.ID, got.Name)
			continue
		}
		for _, c := range got.Credentials {
			if _, ok := want.Credential(c.ID); !ok {
				t.Errorf("seed %d: %s credential %s is not in the clean scan", seed, got.Name, c.ID)
			}
		}
		for _, g := range got.Grants {
			if !hasGrant(want, g.ID) {
				t.Errorf("seed %d: %s grant %s is not in the clean scan", seed, got.Name, g.ID)
			}
		}
	}
}

// checkInjectedAreGaps: every injected fault is a gap on its scope and
// operation, of its kind, hiding what the operation reads. (The fake keeps
// a randomly throttled call throttled past the retries, so none is retried
// away.)
func checkInjectedAreGaps(t *testing.T, seed uint64, injected []fakeapi.Injection, inv nhi.Inventory) {
	t.Helper()
	for _, in := range injected {
		var kinds []nhi.GapKind
		found := false
		for _, g := range inv.Gaps {
			if g.Scope != in.Scope || g.Source != in.Op {
				continue
			}
			kinds = append(kinds, g.Kind)
			if covers(g.Hides(), reads[in.Op]) {
				found = true
			}
		}
		switch {
		case len(kinds) == 0:
			t.Errorf("seed %d: %s fault on %s %s left no gap", seed, in.Fault.Kind, in.Scope, in.Op)
		case !found:
			t.Errorf("seed %d: the gap for %s %s does not hide %v", seed, in.Scope, in.Op, reads[in.Op])
		}
		if len(kinds) > 0 && !slices.Contains(kinds, gapKindOf(in.Fault)) && !anyInjected(injected, in.Scope, in.Op, kinds) {
			t.Errorf("seed %d: %s fault on %s %s recorded as %v", seed, in.Fault.Kind, in.Scope, in.Op, kinds)
		}
	}
}

// anyInjected reports whether some fault injected on the same call is of
// one of kinds (a gap keeps the kind of the first failure).
func anyInjected(injected []fakeapi.Injection, scope, op string, kinds []nhi.GapKind) bool {
	for _, in := range injected {
		if in.Scope == scope && in.Op == op && slices.Contains(kinds, gapKindOf(in.Fault)) {
			return true
		}
	}
	return false
}

// covers reports whether hidden (nil: everything) hides every facet of
// want (nil: the whole scope).
func covers(hidden, want []nhi.Facet) bool {
	if len(hidden) == 0 {
		return true
	}
	if len(want) == 0 {
		return false
	}
	for _, w := range want {
		if !slices.ContainsFunc(hidden, func(h nhi.Facet) bool { return h.Covers(w) }) {
			return false
		}
	}
	return true
}

// sameUsage compares the facts of two usages (state, last use, source).
func sameUsage(a, b nhi.Usage) bool {
	return a.State == b.State && a.LastUsed.Equal(b.LastUsed) && a.Source == b.Source
}

func hasGrant(id *nhi.Identity, gid string) bool {
	for _, g := range id.Grants {
		if g.ID == gid {
			return true
		}
	}
	return false
}
