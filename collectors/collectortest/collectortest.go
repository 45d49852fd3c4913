// Package collectortest is the conformance suite every collector passes.
//
// A provider's test builds a Subject around its in-process fake and calls
// Run. The suite checks the collectors.Collector contract: a valid,
// normalised, deterministic inventory; every attempted scope listed; a
// failure in one scope becomes a gap there and leaves the others intact; a
// cancelled context is an error or gaps, never a silently empty inventory;
// every scope names the facets read there, covering the data of its
// identities; and no secret value reaches the inventory.
package collectortest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Subject is what a provider hands the suite.
type Subject struct {
	// New returns a collector against a freshly seeded fake holding at least
	// two scopes with identities in each.
	New func(t *testing.T) collectors.Collector
	// Deny returns a collector against a fresh fake in which every call
	// for the named scope is refused with the provider's access-denied
	// error, and the name of that scope. The other scopes must still be
	// collected.
	Deny func(t *testing.T) (collectors.Collector, string)
	// Secrets lists secret values seeded in the fake (key material, client
	// secret values, tokens) that must never appear in an inventory.
	Secrets []string
}

// Run runs the conformance suite.
func Run(t *testing.T, s Subject) {
	t.Helper()
	t.Run("valid-normalised-deterministic", func(t *testing.T) { validNormalisedDeterministic(t, s) })
	t.Run("scopes-list-their-facets", func(t *testing.T) { scopesListTheirFacets(t, s) })
	t.Run("denied-scope-is-a-gap", func(t *testing.T) { deniedScopeIsAGap(t, s) })
	t.Run("cancelled-context", func(t *testing.T) { cancelledContext(t, s) })
}

// validNormalisedDeterministic: a valid, normalised inventory whose JSON
// form round-trips, equal on a second collection, without a seeded secret.
func validNormalisedDeterministic(t *testing.T, s Subject) {
	c := s.New(t)
	inv1, err := c.Collect(context.Background())
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if err := inv1.Validate(); err != nil {
		t.Fatalf("inventory invalid: %v", err)
	}
	if len(inv1.Identities) == 0 {
		t.Fatal("no identities collected from a seeded fake")
	}
	for _, id := range inv1.Identities {
		if id.Provider != c.Provider() {
			t.Errorf("identity %s has provider %q, collector says %q", id.ID, id.Provider, c.Provider())
		}
		if !hasScope(inv1, id.Provider, id.Scope) {
			t.Errorf("identity %s is in scope %q, which Scopes does not list", id.ID, id.Scope)
		}
	}
	if inv1.CollectedAt.IsZero() {
		t.Error("collected_at is zero")
	}
	var b1, b2 bytes.Buffer
	if err := nhi.Encode(&b1, inv1); err != nil {
		t.Fatal(err)
	}
	norm := inv1.Clone()
	norm.Normalize()
	if diff := cmp.Diff(norm, inv1); diff != "" {
		t.Errorf("inventory is not normalised (-normalised +returned):\n%s", diff)
	}
	inv2, err := c.Collect(context.Background())
	if err != nil {
		t.Fatalf("second Collect: %v", err)
	}
	inv2.CollectedAt = inv1.CollectedAt
	_ = nhi.Encode(&b2, inv2)
	if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
		t.Error("two collections of an unchanged fake differ")
	}
	for _, sec := range s.Secrets {
		if sec != "" && bytes.Contains(b1.Bytes(), []byte(sec)) {
			t.Errorf("inventory contains a seeded secret value %q…", sec[:min(4, len(sec))])
		}
	}
	rt, err := nhi.Decode(bytes.NewReader(b1.Bytes()))
	if err != nil {
		t.Fatalf("inventory does not round-trip through its JSON form: %v", err)
	}
	var b3 bytes.Buffer
	_ = nhi.Encode(&b3, rt)
	if !bytes.Equal(b1.Bytes(), b3.Bytes()) {
		t.Error("JSON round trip changed the inventory")
	}
}

// scopesListTheirFacets: every scope names the facets read there, and they
// cover every facet its identities' data comes from (identity list,
// credential types, grant kinds, usage sources). A facet missing from the
// list is never observed, so every finding resting on it would be dropped.
func scopesListTheirFacets(t *testing.T, s Subject) {
	inv := Collect(t, s.New(t))
	listed := map[string][]nhi.Facet{}
	for _, sc := range inv.Scopes {
		if len(sc.Facets) == 0 {
			t.Errorf("scope %s lists no facets: say what the collector read there", sc.ID)
		}
		listed[sc.ID] = sc.Facets
	}
	for i := range inv.Identities {
		id := &inv.Identities[i]
		for _, f := range id.Facets() {
			if !coveredBy(listed[id.Scope], f) {
				t.Errorf("identity %s carries data of facet %s, which scope %s does not list", id.ID, f, id.Scope)
			}
		}
	}
}

func coveredBy(list []nhi.Facet, f nhi.Facet) bool {
	for _, x := range list {
		if x.Covers(f) {
			return true
		}
	}
	return false
}

// deniedScopeIsAGap: a scope whose every call is denied becomes a gap
// there, and the other scopes are still collected.
func deniedScopeIsAGap(t *testing.T, s Subject) {
	if s.Deny == nil {
		t.Skip("subject has no Deny")
	}
	c, scope := s.Deny(t)
	inv, err := c.Collect(context.Background())
	if err != nil {
		t.Fatalf("Collect with one denied scope: %v (one failing scope must not fail the scan)", err)
	}
	if !inv.Partial(c.Provider(), scope) {
		t.Errorf("no gap recorded for denied scope %q; gaps: %+v", scope, inv.Gaps)
	}
	other := false
	for _, id := range inv.Identities {
		if id.Scope != scope {
			other = true
		}
	}
	if !other {
		t.Error("no identities from the other scopes: a denied scope stopped the scan")
	}
	if !hasScope(inv, c.Provider(), scope) {
		t.Errorf("denied scope %q missing from Scopes", scope)
	}
	for _, g := range inv.Gaps {
		if g.Kind == "" || g.Source == "" {
			t.Errorf("gap without kind or source: %+v", g)
		}
	}
}

// cancelledContext: a cancelled collection is an error or gaps, never a
// silently empty inventory.
func cancelledContext(t *testing.T, s Subject) {
	c := s.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	inv, err := c.Collect(ctx)
	if err == nil && len(inv.Gaps) == 0 {
		t.Errorf("cancelled Collect returned %d identities, no error and no gaps: a failed collection looks complete", len(inv.Identities))
	}
}

func hasScope(inv nhi.Inventory, p nhi.Provider, id string) bool {
	for _, s := range inv.Scopes {
		if s.Provider == p && strings.EqualFold(s.ID, id) {
			return true
		}
	}
	return false
}

// Collect runs c and fails the test when it returns an error or an invalid
// inventory: the common first step of a provider's tests.
func Collect(t testing.TB, c collectors.Collector) nhi.Inventory {
	t.Helper()
	inv, err := c.Collect(context.Background())
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if err := inv.Validate(); err != nil {
		t.Fatalf("invalid inventory: %v", err)
	}
	return inv
}

// Golden compares the inventory's canonical JSON with the golden file at
// path, after rewriting the file when update is set (a provider's -update
// flag).
func Golden(t testing.TB, path string, inv nhi.Inventory, update bool) {
	t.Helper()
	var got bytes.Buffer
	if err := nhi.Encode(&got, inv); err != nil {
		t.Fatal(err)
	}
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got.String()); diff != "" {
		t.Errorf("inventory differs from %s (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}
