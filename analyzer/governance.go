package analyzer

import (
	"cmp"
	"slices"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/privilege"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// Resolver maps identities to their catalog role and owner exactly as
// Analyze does (first matching role in catalog order, then owner tags and
// provider owner hints), without running any rule. It is read-only once
// built and safe for concurrent use.
type Resolver struct{ a *analysis }

// NewResolver prepares role and owner resolution against cat as of now
// (a person whose leaving date has passed by now has departed).
func NewResolver(cat *catalog.Catalog, now time.Time) *Resolver {
	if cat == nil {
		cat = &catalog.Catalog{}
	}
	return &Resolver{a: newAnalysis(cat, now)}
}

// Resolve returns the identity's role and owner.
func (r *Resolver) Resolve(id *nhi.Identity) nhi.Ownership { return r.a.resolve(id).own }

// ActivePerson returns the catalog person an owner-hint value names (a
// person id or alias, case-insensitively) when that person has not left
// by the resolver's time.
func (r *Resolver) ActivePerson(v string) (nhi.Person, bool) {
	p := r.a.people.lookup(v)
	if p == nil || r.a.departed(p) {
		return nhi.Person{}, false
	}
	return *p, true
}

// governanceClasses are the facet classes the counts read.
var governanceClasses = []nhi.Facet{nhi.FacetIdentities, nhi.FacetGrants, nhi.FacetCredentials, nhi.FacetOwnership}

// freePolicy is a role without a credentials block: its members fall back
// to the catalog defaults.
var freePolicy = catalog.CredentialPolicy{StaticKeysAllowed: true}

// MeasureGovernance measures how much of the inventory the catalog
// governs: identities mapped to a role, entitlements within a baseline,
// identities with an active accountable owner, credentials under a
// credential policy, in total and per provider, scope and team. It
// resolves roles and owners and matches baselines exactly as Analyze does,
// as of now. It is pure.
func MeasureGovernance(inv *nhi.Inventory, cat *catalog.Catalog, now time.Time) nhi.Governance {
	r := NewResolver(cat, now)
	a := r.a
	cov := inv.Coverage()
	var g nhi.Governance
	byProvider := map[nhi.Provider]*nhi.GovernanceRow{}
	byScope := map[scopeKey]*nhi.GovernanceRow{}
	byTeam := map[string]*nhi.GovernanceRow{}
	for i := range inv.Identities {
		id := &inv.Identities[i]
		if id.ProviderManaged {
			g.ProviderManaged++
			continue
		}
		s := a.resolve(id)
		c := a.governed(id, &s, cov)
		team := s.own.Team
		if team == "" && s.person != nil {
			team = s.person.Team
		}
		if team == "" {
			team = nhi.NoTeam
		}
		g.Total.Add(c)
		rowOf(byProvider, id.Provider, nhi.GovernanceRow{Provider: id.Provider}).Add(c)
		rowOf(byScope, scopeKey{id.Provider, id.Scope}, nhi.GovernanceRow{Provider: id.Provider, Scope: id.Scope}).Add(c)
		rowOf(byTeam, team, nhi.GovernanceRow{Team: team}).Add(c)
	}
	g.ByProvider = sortedRows(byProvider)
	g.ByScope = sortedRows(byScope)
	g.ByTeam = sortedRows(byTeam)
	for _, fs := range cov.Matrix(inv) {
		if !fs.Observed && slices.Contains(governanceClasses, fs.Facet.Class()) {
			g.NotObserved = append(g.NotObserved, fs)
		}
	}
	return g
}

// governed counts one identity.
func (a *analysis) governed(id *nhi.Identity, s *subject, cov *nhi.Coverage) nhi.GovernanceCounts {
	c := nhi.GovernanceCounts{Identities: 1}
	if s.role != nil {
		c.Mapped = 1
	}
	switch {
	case s.own.OwnerStatus == nhi.OwnerActive:
		c.OwnerActive = 1
	case s.own.OwnerSource != "role" && !cov.Observed(id.Provider, id.Scope, nhi.FacetOwnership):
		c.OwnerUnknown = 1
	}
	for i := range id.Grants {
		gr := &id.Grants[i]
		switch {
		case !cov.Observed(id.Provider, id.Scope, nhi.GrantsFacet(gr.Kind)):
			c.EntitlementsUnknown++
			continue
		case s.role == nil:
			c.NoRole++
		case a.withinBaseline(s.roleIdx, id.Provider, gr):
			c.WithinBaseline++
		default:
			c.OutsideBaseline++
		}
		c.Entitlements++
	}
	policy := s.role != nil && s.role.Credentials != freePolicy
	for i := range id.Credentials {
		cr := &id.Credentials[i]
		switch {
		case cr.ProviderRotated:
		case !cov.Observed(id.Provider, id.Scope, nhi.CredentialsFacet(cr.Type)):
			c.CredentialsUnknown++
		default:
			c.Credentials++
			if policy {
				c.UnderPolicy++
			}
		}
	}
	return c
}

// withinBaseline reports whether the role's baseline allows the grant so
// that grantRules raises nothing for it: allowed, and allowed as
// privileged when privileged.
func (a *analysis) withinBaseline(roleIdx int, p nhi.Provider, g *nhi.Grant) bool {
	allow := a.allowed(roleIdx, p, g)
	priv, _ := privilege.Effective(p, g)
	return allow.allowed && (!priv || allow.privileged)
}

func rowOf[K comparable](m map[K]*nhi.GovernanceRow, k K, zero nhi.GovernanceRow) *nhi.GovernanceRow {
	r := m[k]
	if r == nil {
		r = &zero
		m[k] = r
	}
	return r
}

func sortedRows[K comparable](m map[K]*nhi.GovernanceRow) []nhi.GovernanceRow {
	out := make([]nhi.GovernanceRow, 0, len(m))
	for _, r := range m {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(x, y nhi.GovernanceRow) int {
		return cmp.Or(cmp.Compare(x.Provider, y.Provider), cmp.Compare(x.Scope, y.Scope), cmp.Compare(x.Team, y.Team))
	})
	return out
}
