package nhi

import (
	"slices"
	"sort"
)

// Coverage answers, for one inventory, which facets of which scopes were
// fully observed. Build it once with Inventory.Coverage; it is read-only
// and safe for concurrent use.
type Coverage struct {
	scopes map[scopeKey]*Scope
	// gaps by provider and scope; the empty scope holds provider-wide gaps.
	gaps map[scopeKey][]*Gap
}

// Coverage indexes the inventory's scopes and gaps.
func (inv *Inventory) Coverage() *Coverage {
	c := &Coverage{scopes: make(map[scopeKey]*Scope, len(inv.Scopes)), gaps: map[scopeKey][]*Gap{}}
	for i := range inv.Scopes {
		sc := &inv.Scopes[i]
		c.scopes[scopeKey{sc.Provider, sc.ID}] = sc
	}
	for i := range inv.Gaps {
		g := &inv.Gaps[i]
		k := scopeKey{g.Provider, g.Scope}
		c.gaps[k] = append(c.gaps[k], g)
	}
	return c
}

// Collected reports whether the scan attempted the scope at all.
func (c *Coverage) Collected(p Provider, scope string) bool {
	_, ok := c.scopes[scopeKey{p, scope}]
	return ok
}

// Observed reports whether facet f of the scope was fully observed: the
// scope was collected, the collector read f there, and no gap hides it.
// A bare class asks about every subject of the class: a gap on any one
// usage source makes "usage" unobserved.
func (c *Coverage) Observed(p Provider, scope string, f Facet) bool {
	_, why := c.Why(p, scope, f)
	return why == ""
}

// ObservedAll reports whether every facet in fs is observed.
func (c *Coverage) ObservedAll(p Provider, scope string, fs []Facet) bool {
	for _, f := range fs {
		if !c.Observed(p, scope, f) {
			return false
		}
	}
	return true
}

// Unobserved reasons returned by Why when no gap is to blame.
const (
	WhyNotCollected = "scope not collected"
	WhyNotRead      = "facet not read by the collector"
)

// Why says why facet f of the scope is not observed: the gap that hides
// it, or (with a nil gap) WhyNotCollected or WhyNotRead. It returns
// (nil, "") when the facet was observed.
func (c *Coverage) Why(p Provider, scope string, f Facet) (*Gap, string) {
	sc, ok := c.scopes[scopeKey{p, scope}]
	if !ok {
		return nil, WhyNotCollected
	}
	if len(sc.Facets) > 0 && !overlapsAny(sc.Facets, f) {
		return nil, WhyNotRead
	}
	for _, k := range [2]scopeKey{{p, scope}, {p, ""}} {
		for _, g := range c.gaps[k] {
			if g.Identity != "" {
				continue // one identity's gap: see IdentityGap
			}
			h := g.Hides()
			if len(h) == 0 || overlapsAny(h, f) {
				return g, g.Source + " " + string(g.Kind)
			}
		}
	}
	return nil, ""
}

// IdentityGap returns the gap that hides facet f for one identity of the
// scope (a Gap with Identity set), or nil.
func (c *Coverage) IdentityGap(p Provider, scope, identity string, f Facet) *Gap {
	for _, g := range c.gaps[scopeKey{p, scope}] {
		if g.Identity == identity && identity != "" {
			if h := g.Hides(); len(h) == 0 || overlapsAny(h, f) {
				return g
			}
		}
	}
	return nil
}

// FacetStatus is one cell of the coverage matrix: a facet of a scope,
// observed or not, and the gap that hides it.
type FacetStatus struct {
	Provider Provider
	Scope    string
	Facet    Facet
	Observed bool
	// Gap hides the facet, when a gap is to blame.
	Gap *Gap
	// Why is empty when observed, otherwise the gap's source and kind or
	// WhyNotCollected / WhyNotRead.
	Why string
}

// Matrix returns the coverage matrix: for each collected scope, each facet
// the collector read there (or, for inventories written before facets, the
// facets seen in its identities and gaps), sorted by provider, scope and
// facet.
func (c *Coverage) Matrix(inv *Inventory) []FacetStatus {
	seen := map[scopeKey]map[Facet]bool{}
	note := func(p Provider, scope string, f Facet) {
		k := scopeKey{p, scope}
		if seen[k] == nil {
			seen[k] = map[Facet]bool{}
		}
		seen[k][f] = true
	}
	for _, sc := range inv.Scopes {
		for _, f := range sc.Facets {
			note(sc.Provider, sc.ID, f)
		}
		if len(sc.Facets) > 0 {
			continue
		}
		note(sc.Provider, sc.ID, FacetIdentities)
		for _, g := range append(c.gaps[scopeKey{sc.Provider, sc.ID}], c.gaps[scopeKey{sc.Provider, ""}]...) {
			for _, f := range g.Hides() {
				note(sc.Provider, sc.ID, f)
			}
		}
	}
	for i := range inv.Identities {
		id := &inv.Identities[i]
		if sc := c.scopes[scopeKey{id.Provider, id.Scope}]; sc == nil || len(sc.Facets) > 0 {
			continue
		}
		for _, f := range id.Facets() {
			note(id.Provider, id.Scope, f)
		}
	}
	var out []FacetStatus
	for k, fs := range seen {
		for f := range fs {
			g, why := c.Why(k.p, k.id, f)
			out = append(out, FacetStatus{Provider: k.p, Scope: k.id, Facet: f, Observed: why == "", Gap: g, Why: why})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Provider != b.Provider {
			return a.Provider < b.Provider
		}
		if a.Scope != b.Scope {
			return a.Scope < b.Scope
		}
		return a.Facet < b.Facet
	})
	return out
}

// Facets returns the facets the identity's data came from: its kind's
// identity list, each credential type, each grant kind and each usage
// source it carries, sorted.
func (id *Identity) Facets() []Facet {
	fs := []Facet{IdentitiesFacet(id.Kind)}
	if id.Usage.Source != "" {
		fs = append(fs, UsageFacet(id.Usage.Source))
	}
	for i := range id.Credentials {
		c := &id.Credentials[i]
		fs = append(fs, CredentialsFacet(c.Type))
		if c.Usage.Source != "" {
			fs = append(fs, UsageFacet(c.Usage.Source))
		}
	}
	for i := range id.Grants {
		fs = append(fs, GrantsFacet(id.Grants[i].Kind))
		if u := id.Grants[i].Use; u != nil && u.Source != "" {
			fs = append(fs, EntitlementUsageFacet(u.Source))
		}
	}
	slices.Sort(fs)
	return slices.Compact(fs)
}

// NotEvaluated lists the scope × facet cells that a comparison of two scans
// could not judge: every facet of either scan's matrix that is not observed
// in both. prev may be nil (a first scan), in which case it lists what the
// current scan did not observe. Drift, resolution and "no change" claims
// are only true outside these cells, and reports must say so.
func NotEvaluated(prev, cur *Inventory) []FacetStatus {
	cc := cur.Coverage()
	var pc *Coverage
	cells := cc.Matrix(cur)
	if prev != nil {
		pc = prev.Coverage()
		cells = append(cells, pc.Matrix(prev)...)
	}
	seen := map[string]bool{}
	var out []FacetStatus
	for _, c := range cells {
		k := string(c.Provider) + "\x00" + c.Scope + "\x00" + string(c.Facet)
		if seen[k] {
			continue
		}
		seen[k] = true
		if g, why := cc.Why(c.Provider, c.Scope, c.Facet); why != "" {
			out = append(out, FacetStatus{Provider: c.Provider, Scope: c.Scope, Facet: c.Facet, Gap: g, Why: "this scan: " + why})
			continue
		}
		if pc != nil {
			if g, why := pc.Why(c.Provider, c.Scope, c.Facet); why != "" {
				out = append(out, FacetStatus{Provider: c.Provider, Scope: c.Scope, Facet: c.Facet, Gap: g, Why: "previous scan: " + why})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Provider != b.Provider {
			return a.Provider < b.Provider
		}
		if a.Scope != b.Scope {
			return a.Scope < b.Scope
		}
		return a.Facet < b.Facet
	})
	return out
}
