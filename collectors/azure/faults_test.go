package azure_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors/azure"
	"github.com/nhiscan/nhiscan/collectors/azure/azurefake"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/collectors/fakeapi"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// fast makes failing calls cheap: short attempts, tiny backoff.
func fast(c *azure.Config) {
	c.CallTimeout = 700 * time.Millisecond
	c.RetryBaseDelay = time.Millisecond
	c.MaxRetries = 2
}

// attempt is one HTTP attempt the collector made.
type attempt struct {
	scope, op, url string
	ok             bool
	status         string
}

// recorder is the collector's transport: it records every attempt, so a
// test knows which calls failed for good (their last attempt failed)
// rather than being retried away.
type recorder struct {
	base http.RoundTripper
	f    *azurefake.Server
	mu   sync.Mutex
	list []attempt
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	scope, op := r.f.Operation(req)
	if op == azurefake.OpApplicationsList && strings.Contains(req.URL.RawQuery, "federatedIdentityCredentials") {
		op = "graph:applications.list($expand=federatedIdentityCredentials)"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st := fmt.Sprint(err)
	if err == nil {
		st = resp.Status
	}
	r.list = append(r.list, attempt{scope: scope, op: op, url: req.Method + " " + req.URL.String(), ok: err == nil && resp.StatusCode < 400, status: st})
	return resp, err
}

// failed returns the calls whose last attempt failed.
func (r *recorder) failed() []attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	last := map[string]attempt{}
	var order []string
	for _, a := range r.list {
		if _, ok := last[a.url]; !ok {
			order = append(order, a.url)
		}
		last[a.url] = a
	}
	var out []attempt
	for _, u := range order {
		if a := last[u]; !a.ok {
			out = append(out, a)
		}
	}
	return out
}

// gapCovers reports the problem when no gap records a failed call with
// the facets its operation hides.
func gapCovers(inv nhi.Inventory, tenant string, a attempt) string {
	var found []nhi.Gap
	for _, g := range inv.Gaps {
		if g.Source == a.op {
			found = append(found, g)
		}
	}
	if len(found) == 0 {
		return "no gap for failed call " + a.url
	}
	onScope := azure.ReachesObjects(a.op)
	for _, g := range found {
		want := azure.HiddenFacets(a.op, g.Scope == tenant || g.Scope == "")
		for _, f := range want {
			if !slices.Contains(g.Facets, f) {
				return fmt.Sprintf("gap %s in %q hides %v, not %s", g.Source, g.Scope, g.Facets, f)
			}
		}
		onScope = onScope || g.Scope == a.scope || (g.Scope == "" && a.op == "arm:subscriptions.list")
	}
	if !onScope {
		return "no gap in the scope of failed call " + a.url
	}
	return ""
}

// TestRandomFaults runs the demo tenant through the collector with ~10 % of
// the calls failing at random (throttled past the retries, denied, 500,
// timeout) for several seeds, against a clean scan: nothing is reported
// missing or changed where its facet was observed, nothing appears that
// the clean scan does not have, and every call that failed for good is a
// gap hiding what the call reads.
func TestRandomFaults(t *testing.T) {
	seed := azurefake.Demo(fixedNow)
	clean := collectortest.Collect(t, newCollector(t, newFake(t, seed)))
	var calls, failed, gaps, faults int
	const seeds = 25
	for s := uint64(1); s <= seeds; s++ {
		// Most seeds fail 10 % of the calls; every fifth, 30 %.
		rate := 0.10
		if s%5 == 0 {
			rate = 0.30
		}
		f := newFake(t, seed)
		f.SetRetryAfter(0)
		f.SetHang(5 * time.Second)
		f.Random(s, rate)
		rec := &recorder{base: f.Client().Transport, f: f}
		c := newCollector(t, f, fast, func(c *azure.Config) { c.HTTPClient = &http.Client{Transport: rec} })
		part, err := c.Collect(t.Context())
		if err != nil {
			if len(part.Gaps) == 0 {
				t.Errorf("seed %d: %v, with no gaps", s, err)
			}
			continue
		}
		if err := part.Validate(); err != nil {
			t.Fatalf("seed %d: %v", s, err)
		}
		problems := unobservedChanges(clean, part)
		fails := rec.failed()
		for _, a := range fails {
			if p := gapCovers(part, azurefake.DemoTenantID, a); p != "" {
				problems = append(problems, p)
			}
		}
		for _, p := range problems {
			t.Errorf("seed %d: %s", s, p)
		}
		if len(problems) > 0 {
			t.Logf("seed %d: gaps %+v\nfailed calls %+v\ninjected %+v", s, part.Gaps, fails, f.Injected())
		}
		t.Logf("seed %d (%.0f %%): %d calls, %d faults injected, %d calls failed for good, %d gaps, %d of %d identities",
			s, rate*100, f.TotalCalls(), len(f.Injected()), len(fails), len(part.Gaps), len(part.Identities), len(clean.Identities))
		calls, failed, gaps, faults = calls+f.TotalCalls(), failed+len(fails), gaps+len(part.Gaps), faults+len(f.Injected())
	}
	if failed == 0 {
		t.Fatal("no call failed for good: the test proves nothing")
	}
	t.Logf("%d seeds: %d calls, %d faults injected, %d calls failed for good, %d gaps; false removals and substitutes: 0", seeds, calls, faults, failed, gaps)
}

// TestGapKinds: each fault ends as the gap kind it is: denied, throttled
// past the retries, timed out (a hung call, bounded by CallTimeout), 500
// error, 503 unavailable.
func TestGapKinds(t *testing.T) {
	op := azurefake.OpServicePrincipalsList
	cases := []struct {
		name   string
		inject func(f *azurefake.Server)
		want   nhi.GapKind
	}{
		{"denied", func(f *azurefake.Server) { f.Deny(azurefake.DemoTenantID, op) }, nhi.GapDenied},
		{"throttled", func(f *azurefake.Server) { f.Throttle(azurefake.DemoTenantID, op, 100) }, nhi.GapThrottled},
		{"timeout", func(f *azurefake.Server) { f.Timeout(azurefake.DemoTenantID, op) }, nhi.GapTimeout},
		{"500", func(f *azurefake.Server) { f.Fail(azurefake.DemoTenantID, op, 500) }, nhi.GapError},
		{"503", func(f *azurefake.Server) { f.Fail(azurefake.DemoTenantID, op, 503) }, nhi.GapUnavailable},
		{"hang past the fake's limit", func(f *azurefake.Server) {
			f.SetHang(10 * time.Millisecond)
			f.Timeout(azurefake.DemoTenantID, op)
		}, nhi.GapTimeout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, azurefake.Demo(fixedNow))
			f.SetRetryAfter(0)
			tc.inject(f)
			start := time.Now()
			inv := collectortest.Collect(t, newCollector(t, f, fast))
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("scan took %v", d)
			}
			g, ok := gapIn(inv, azurefake.DemoTenantID, op)
			if !ok || g.Kind != tc.want {
				t.Fatalf("gap %+v (found %t), want kind %s", g, ok, tc.want)
			}
			if n := f.CallCount(op); n != 3 && tc.want != nhi.GapDenied {
				t.Errorf("%d calls of %s, want 3 (two retries)", n, op)
			}
		})
	}
}

// TestCallTimeout: a hung ARM call is bounded by CallTimeout too, and
// ends as a timeout gap in its subscription.
func TestCallTimeout(t *testing.T) {
	f := newFake(t, azurefake.Demo(fixedNow))
	f.Timeout(azurefake.DemoSubProd, azurefake.OpRoleAssignmentsList)
	start := time.Now()
	inv := collectortest.Collect(t, newCollector(t, f, func(c *azure.Config) {
		c.CallTimeout, c.MaxRetries = 500*time.Millisecond, -1
	}))
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("scan took %v with a 500ms call timeout", d)
	}
	g, ok := gapIn(inv, azurefake.DemoSubProd, "arm:roleAssignments.listForSubscription")
	if !ok || g.Kind != nhi.GapTimeout {
		t.Fatalf("gap %+v (found %t), want timeout", g, ok)
	}
	if inj := f.Injected(); len(inj) != 1 || inj[0].Fault.Kind != fakeapi.FaultTimeout {
		t.Errorf("injected %+v", inj)
	}
}

// TestIdentityKeys: an application's service principal is never keyed on
// its own because the application list failed, and no identity is keyed
// by anything but its own object id.
func TestIdentityKeys(t *testing.T) {
	seed := azurefake.Demo(fixedNow)
	clean := collectortest.Collect(t, newCollector(t, newFake(t, seed)))
	f := newFake(t, seed)
	f.Fail(azurefake.DemoTenantID, azurefake.OpApplicationsList, 500)
	part := collectortest.Collect(t, newCollector(t, f, fast))
	for _, id := range part.Identities {
		if _, ok := clean.Identity(id.ID); !ok {
			t.Errorf("%s %s appeared when the application list failed", id.Kind, id.Name)
		}
		if id.ID != nhi.MakeID(nhi.Azure, strings.ToLower(id.NativeID)) {
			t.Errorf("%s: id %s is not its object id %s", id.Name, id.ID, id.NativeID)
		}
	}
	cov := part.Coverage()
	for _, k := range []nhi.IdentityKind{nhi.KindEntraApplication, nhi.KindEntraServicePrincipal} {
		if cov.Observed(nhi.Azure, azurefake.DemoTenantID, nhi.IdentitiesFacet(k)) {
			t.Errorf("%s observed without the application list", k)
		}
	}
	if !cov.Observed(nhi.Azure, azurefake.DemoSubData, "identities:entra-managed-identity") {
		t.Error("managed identities not observed although their lists succeeded")
	}
}

// TestNothingRead: when every call fails, Collect fails (with the gaps),
// so an empty scan is never taken for a complete one.
func TestNothingRead(t *testing.T) {
	f := newFake(t, azurefake.Demo(fixedNow))
	f.Deny("", "")
	inv, err := newCollector(t, f).Collect(t.Context())
	if err == nil || len(inv.Gaps) == 0 || len(inv.Identities) != 0 {
		t.Errorf("every call denied: err %v, %d gaps, %d identities; want an error with gaps", err, len(inv.Gaps), len(inv.Identities))
	}
}
