package aws_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	awscol "github.com/nhiscan/nhiscan/collectors/aws"
	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
	"github.com/nhiscan/nhiscan/collectors/fakeapi"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// faultSeeds are the seeds of TestRandomFaults.
const faultSeeds = 20

// TestRandomFaults runs the demo organisation through the collector once
// clean and then, for several seeds, with 10 % of calls failed at random
// (throttled past the SDK's retries, denied, 500, hung), and checks against
// the clean inventory that:
//   - every identity, credential and grant of the clean run is in the
//     faulty run, or its facet is not observed there;
//   - everything else read (usage, login state, signals, attributes) is
//     unchanged, or a facet it comes from is not observed;
//   - nothing appears that the clean run does not have (no substitute
//     keys);
//   - every injected fault the SDK cannot retry away (denied, throttled
//     past retries) is a gap on that scope naming at least the facets the
//     call reads, and every gap's kind is the kind of a fault injected
//     into that call.
func TestRandomFaults(t *testing.T) {
	clean := collect(t, newCollector(t, startFake(t, awsfake.Demo(now)), nil))
	var mu sync.Mutex
	var calls, failed, gaps, lost int
	t.Run("seeds", func(t *testing.T) {
		for seed := uint64(1); seed <= faultSeeds; seed++ {
			t.Run(fmt.Sprint(seed), func(t *testing.T) {
				t.Parallel()
				c, f, g, l := faultRun(t, seed, clean)
				mu.Lock()
				defer mu.Unlock()
				calls, failed, gaps, lost = calls+c, failed+f, gaps+g, lost+l
			})
		}
	})
	t.Logf("%d seeds: %d calls, %d failed (%.1f %%), %d gaps, %d items not collected (each under a gap), 0 false removals, 0 substitutes",
		faultSeeds, calls, failed, 100*float64(failed)/float64(calls), gaps, lost)
}

// faultCallTimeout bounds each attempt in the fault runs: an injected
// timeout costs MaxRetries+1 of it. It is long enough that a loaded machine
// (the race detector, other builds) does not time out calls that carry no
// fault, or give up on an attempt before reading the fault injected into
// it.
const faultCallTimeout = 250 * time.Millisecond

// faultRun collects the demo with 10 % of calls failed at random and
// checks it against the clean inventory; it returns the calls, the failed
// calls, the gaps and the items not collected.
func faultRun(t *testing.T, seed uint64, clean nhi.Inventory) (calls, failed, gaps, lost int) {
	srv := startFake(t, awsfake.Demo(now))
	srv.SetHang(2 * time.Second)
	srv.Random(seed, 0.10)
	inv, err := newCollector(t, srv, func(c *awscol.Config) { c.CallTimeout = faultCallTimeout }).Collect(context.Background())
	inj := srv.Injected()
	if err != nil {
		if !slices.ContainsFunc(inj, func(i fakeapi.Injection) bool { return i.Op == "organizations:ListAccounts" }) {
			t.Errorf("seed %d: Collect: %v", seed, err)
		}
		t.Logf("seed %d: listing the organisation failed (%v): the collection fails", seed, err)
		return srv.CallCount(""), len(inj), 0, 0
	}
	if err := inv.Validate(); err != nil {
		t.Fatalf("seed %d: invalid inventory: %v", seed, err)
	}
	lost = checkAgainstClean(t, seed, clean, inv)
	checkAdditions(t, seed, clean, inv)
	checkFaultsAreGaps(t, seed, inv, inj)
	t.Logf("seed %d: %d calls, %d failed, %d gaps, %d identities of %d", seed, srv.CallCount(""), len(inj), len(inv.Gaps), len(inv.Identities), len(clean.Identities))
	return srv.CallCount(""), len(inj), len(inv.Gaps), lost
}

func collect(t *testing.T, c *awscol.Collector) nhi.Inventory {
	t.Helper()
	inv, err := c.Collect(context.Background())
	if err != nil || len(inv.Gaps) != 0 {
		t.Fatalf("clean collection: %v, gaps %+v", err, inv.Gaps)
	}
	return inv
}

// checkAgainstClean checks every identity, credential and grant of the
// clean inventory against the faulty one, and returns how many were not
// collected.
func checkAgainstClean(t *testing.T, seed uint64, clean, inv nhi.Inventory) int {
	t.Helper()
	cov := inv.Coverage()
	hidden := func(scope string, fs ...nhi.Facet) bool {
		for _, f := range fs {
			if !cov.Observed(nhi.AWS, scope, f) {
				return true
			}
		}
		return false
	}
	lost := 0
	for i := range clean.Identities {
		want := &clean.Identities[i]
		got, ok := inv.Identity(want.ID)
		if !ok {
			lost++
			if !hidden(want.Scope, nhi.IdentitiesFacet(want.Kind)) {
				t.Errorf("seed %d: %s/%s missing, yet its identity list is observed", seed, want.Scope, want.Name)
			}
			continue
		}
		lost += checkIdentity(t, seed, want, got, func(fs ...nhi.Facet) bool { return hidden(want.Scope, fs...) })
	}
	return lost
}

// allCredentials is every credential facet of AWS: identity usage and the
// "not listed" notes depend on them.
var allCredentials = []nhi.Facet{"credentials:aws-access-key", "credentials:aws-service-specific-credential"}

// attributeFacets names the facet each attribute of an identity comes
// from; any other attribute must not change.
var attributeFacets = map[string][]nhi.Facet{
	"password_enabled":             {nhi.FacetLogin},
	"mfa_active":                   {nhi.FacetLogin},
	"access_keys":                  {"credentials:aws-access-key"},
	"service_specific_credentials": {"credentials:aws-service-specific-credential"},
	"trusted_external_accounts":    {nhi.FacetTrust},
	"description":                  {"identities:aws-iam-role:details"},
	"max_session_duration_seconds": {"identities:aws-iam-role:details"},
	"role_details":                 {"identities:aws-iam-role:details"},
}

// signalFacets names the facets each signal reads.
var signalFacets = map[string][]nhi.Facet{
	nhi.SignalMixedUse:  {nhi.FacetLogin},
	nhi.SignalWeakTrust: {nhi.FacetTrust},
}

// checkIdentity compares one identity present in both runs: a difference
// must come from a facet that is not observed.
func checkIdentity(t *testing.T, seed uint64, want, got *nhi.Identity, hidden func(...nhi.Facet) bool) int {
	t.Helper()
	lost := 0
	explain := func(what string, diff string, fs ...nhi.Facet) {
		if diff != "" && !hidden(fs...) {
			t.Errorf("seed %d: %s/%s %s changed, yet %v observed (-clean +faulty):\n%s", seed, want.Scope, want.Name, what, fs, diff)
		}
	}
	for _, c := range want.Credentials {
		g, ok := got.Credential(c.ID)
		if !ok {
			lost++
			explain("lost credential "+c.ID, "missing", nhi.CredentialsFacet(c.Type))
			continue
		}
		explain("credential "+c.ID, cmp.Diff(c, *g), nhi.UsageFacet(c.Usage.Source))
	}
	for _, gr := range want.Grants {
		i := slices.IndexFunc(got.Grants, func(x nhi.Grant) bool { return x.ID == gr.ID })
		if i < 0 {
			lost++
			explain("lost grant "+gr.ID, "missing", nhi.GrantsFacet(gr.Kind))
			continue
		}
		explain("grant "+gr.ID, cmp.Diff(gr, got.Grants[i]))
	}
	explain("usage", cmp.Diff(want.Usage, got.Usage), append([]nhi.Facet{nhi.UsageFacet(want.Usage.Source)}, allCredentials...)...)
	for k := range union(want.Attributes, got.Attributes) {
		explain("attribute "+k, cmp.Diff(want.Attributes[k], got.Attributes[k]), attributeFacets[k]...)
	}
	for code, fs := range signalFacets {
		explain("signal "+code, cmp.Diff(signals(want, code), signals(got, code)), fs...)
	}
	w, g := *want, *got
	w.Credentials, w.Grants, w.Usage, w.Attributes, w.Signals = nil, nil, nhi.Usage{}, nil, nil
	g.Credentials, g.Grants, g.Usage, g.Attributes, g.Signals = nil, nil, nhi.Usage{}, nil, nil
	explain("identity", cmp.Diff(w, g))
	if d := cmp.Diff(otherSignals(want), otherSignals(got)); d != "" {
		explain("signals", d)
	}
	return lost
}

func union(a, b map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func signals(id *nhi.Identity, code string) []nhi.Signal {
	var out []nhi.Signal
	for _, s := range id.Signals {
		if s.Code == code {
			out = append(out, s)
		}
	}
	return out
}

func otherSignals(id *nhi.Identity) []nhi.Signal {
	var out []nhi.Signal
	for _, s := range id.Signals {
		if _, ok := signalFacets[s.Code]; !ok {
			out = append(out, s)
		}
	}
	return out
}

// checkAdditions: nothing in the faulty run that the clean run lacks.
func checkAdditions(t *testing.T, seed uint64, clean, inv nhi.Inventory) {
	t.Helper()
	for i := range inv.Identities {
		got := &inv.Identities[i]
		want, ok := clean.Identity(got.ID)
		if !ok {
			t.Errorf("seed %d: identity %s appeared", seed, got.ID)
			continue
		}
		for _, c := range got.Credentials {
			if _, ok := want.Credential(c.ID); !ok {
				t.Errorf("seed %d: %s: credential %s appeared", seed, got.Name, c.ID)
			}
		}
		for _, g := range got.Grants {
			if !slices.ContainsFunc(want.Grants, func(x nhi.Grant) bool { return x.ID == g.ID }) {
				t.Errorf("seed %d: %s: grant %s appeared", seed, got.Name, g.ID)
			}
		}
	}
}

// gapKinds is the gap kind each injected fault becomes.
var gapKinds = map[fakeapi.FaultKind]nhi.GapKind{
	fakeapi.FaultDenied: nhi.GapDenied, fakeapi.FaultThrottled: nhi.GapThrottled,
	fakeapi.FaultFailed: nhi.GapError, fakeapi.FaultTimeout: nhi.GapTimeout,
}

// checkFaultsAreGaps: a denied or throttled call (the SDK retries
// throttling, but a randomly throttled call stays throttled past its
// retries) is a gap in its scope hiding at least what the call reads, or
// a gap hiding the whole scope (a call before it failed). A 500 or a hang
// may be retried away. Every gap comes from a fault of its kind.
func checkFaultsAreGaps(t *testing.T, seed uint64, inv nhi.Inventory, inj []fakeapi.Injection) {
	t.Helper()
	for _, in := range inj {
		if in.Fault.Kind != fakeapi.FaultDenied && in.Fault.Kind != fakeapi.FaultThrottled {
			continue
		}
		if !slices.ContainsFunc(inv.Gaps, func(g nhi.Gap) bool { return covers(g, in) }) {
			t.Errorf("seed %d: %s %s %s left no gap: %+v", seed, in.Scope, in.Op, in.Fault.Kind, inv.Gaps)
		}
	}
	for _, g := range inv.Gaps {
		if slices.ContainsFunc(inj, func(in fakeapi.Injection) bool {
			return in.Op == g.Source && gapKinds[in.Fault.Kind] == g.Kind
		}) {
			continue
		}
		if g.Kind == nhi.GapTimeout {
			// On a very loaded machine a call can still outlast
			// faultCallTimeout on every attempt without an injected fault:
			// a real timeout, and a gap like any other, which the checks
			// above hold to the same rules.
			t.Logf("seed %d: %s %s timed out without an injected fault (a loaded machine)", seed, g.Scope, g.Source)
			continue
		}
		t.Errorf("seed %d: gap %+v matches no injected fault", seed, g)
	}
}

func covers(g nhi.Gap, in fakeapi.Injection) bool {
	if g.Scope != in.Scope && g.Scope != "" {
		return false
	}
	if len(g.Facets) == 0 {
		return true
	}
	if g.Source != in.Op {
		return false
	}
	for _, f := range awscol.Ops[in.Op].Facets {
		if !slices.ContainsFunc(g.Facets, func(h nhi.Facet) bool { return h.Covers(f) }) {
			return false
		}
	}
	return true
}
