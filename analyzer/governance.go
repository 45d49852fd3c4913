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

// GovernanceCounts measures how much of a set of identities the catalog
// governs. Only observed facets count: what lies in a facet a scan did not
// fully observe is counted as unknown, never as ungoverned.
type GovernanceCounts struct {
	// Identities held to role rules (provider-managed ones are left out).
	Identities int `json:"identities"`
	// Mapped identities match a catalog role.
	Mapped int `json:"mapped"`
	// OwnerActive identities have an accountable owner who is a known,
	// active person (the role's business owner, else an owner tag or a
	// provider owner hint naming a person of the catalog).
	OwnerActive int `json:"owner_active"`
	// OwnerUnknown identities have no active owner in what was seen, but
	// their scope's ownership data was not observed: their owner is
	// unknown, not missing.
	OwnerUnknown int `json:"owner_unknown"`

	// Entitlements are the grants of observed grant facets:
	// WithinBaseline + OutsideBaseline + NoRole.
	Entitlements int `json:"entitlements"`
	// WithinBaseline grants are allowed by the identity's role baseline
	// (as privileged, when privileged): they raise no grant finding.
	WithinBaseline int `json:"within_baseline"`
	// OutsideBaseline grants belong to a mapped identity and are not
	// allowed, or are privileged and not allowed as privileged.
	OutsideBaseline int `json:"outside_baseline"`
	// NoRole grants belong to an unmapped identity: no baseline covers them.
	NoRole int `json:"no_role"`
	// EntitlementsUnknown grants were listed in a grant facet the scan did
	// not fully observe; they are neither within nor outside a baseline.
	EntitlementsUnknown int `json:"entitlements_unknown"`

	// Credentials of observed credential facets, except the ones the
	// provider rotates itself.
	Credentials int `json:"credentials"`
	// UnderPolicy credentials belong to an identity whose role states a
	// credential policy (any key of a role's credentials block that differs
	// from the defaults).
	UnderPolicy int `json:"under_policy"`
	// CredentialsUnknown credentials were listed in a credential facet the
	// scan did not fully observe.
	CredentialsUnknown int `json:"credentials_unknown"`
}

// MappedPct is the share of identities mapped to a role. Every percentage
// is of what was observed, and 0 when there is nothing to measure.
func (c GovernanceCounts) MappedPct() float64 { return pct(c.Mapped, c.Identities) }

// OwnerPct is the share of identities with an active owner among those
// whose owner could be judged.
func (c GovernanceCounts) OwnerPct() float64 { return pct(c.OwnerActive, c.Identities-c.OwnerUnknown) }

// BaselinePct is the share of observed entitlements within a baseline.
func (c GovernanceCounts) BaselinePct() float64 { return pct(c.WithinBaseline, c.Entitlements) }

// PolicyPct is the share of observed credentials under a role's policy.
func (c GovernanceCounts) PolicyPct() float64 { return pct(c.UnderPolicy, c.Credentials) }

func pct(n, d int) float64 {
	if d <= 0 {
		return 0
	}
	return 100 * float64(n) / float64(d)
}

func (c *GovernanceCounts) add(o GovernanceCounts) {
	c.Identities += o.Identities
	c.Mapped += o.Mapped
	c.OwnerActive += o.OwnerActive
	c.OwnerUnknown += o.OwnerUnknown
	c.Entitlements += o.Entitlements
	c.WithinBaseline += o.WithinBaseline
	c.OutsideBaseline += o.OutsideBaseline
	c.NoRole += o.NoRole
	c.EntitlementsUnknown += o.EntitlementsUnknown
	c.Credentials += o.Credentials
	c.UnderPolicy += o.UnderPolicy
	c.CredentialsUnknown += o.CredentialsUnknown
}

// GovernanceRow is the counts of one provider, scope or team.
type GovernanceRow struct {
	Provider nhi.Provider `json:"provider,omitempty"`
	Scope    string       `json:"scope,omitempty"`
	// Team is the role's team, else the owner's team; NoTeam when neither
	// is known.
	Team string `json:"team,omitempty"`
	GovernanceCounts
}

// NoTeam labels identities whose team is not known.
const NoTeam = "(no team)"

// Governance is how much of one inventory the catalog governs.
type Governance struct {
	Total      GovernanceCounts `json:"total"`
	ByProvider []GovernanceRow  `json:"by_provider"`
	ByScope    []GovernanceRow  `json:"by_scope"`
	ByTeam     []GovernanceRow  `json:"by_team"`
	// ProviderManaged identities are inventoried but never held to role
	// rules; they are left out of every count.
	ProviderManaged int `json:"provider_managed"`
	// NotObserved lists the scope × facet cells (identity lists, grants,
	// credentials, ownership) the scan did not fully observe: counts in
	// those scopes are of what was seen, and the unknown counts say how
	// much of it could not be judged.
	NotObserved []nhi.FacetStatus `json:"-"`
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
func MeasureGovernance(inv *nhi.Inventory, cat *catalog.Catalog, now time.Time) Governance {
	r := NewResolver(cat, now)
	a := r.a
	cov := inv.Coverage()
	var g Governance
	byProvider := map[nhi.Provider]*GovernanceRow{}
	byScope := map[scopeKey]*GovernanceRow{}
	byTeam := map[string]*GovernanceRow{}
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
			team = NoTeam
		}
		g.Total.add(c)
		rowOf(byProvider, id.Provider, GovernanceRow{Provider: id.Provider}).add(c)
		rowOf(byScope, scopeKey{id.Provider, id.Scope}, GovernanceRow{Provider: id.Provider, Scope: id.Scope}).add(c)
		rowOf(byTeam, team, GovernanceRow{Team: team}).add(c)
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
func (a *analysis) governed(id *nhi.Identity, s *subject, cov *nhi.Coverage) GovernanceCounts {
	c := GovernanceCounts{Identities: 1}
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

func rowOf[K comparable](m map[K]*GovernanceRow, k K, zero GovernanceRow) *GovernanceRow {
	r := m[k]
	if r == nil {
		r = &zero
		m[k] = r
	}
	return r
}

func sortedRows[K comparable](m map[K]*GovernanceRow) []GovernanceRow {
	out := make([]GovernanceRow, 0, len(m))
	for _, r := range m {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(x, y GovernanceRow) int {
		return cmp.Or(cmp.Compare(x.Provider, y.Provider), cmp.Compare(x.Scope, y.Scope), cmp.Compare(x.Team, y.Team))
	})
	return out
}

// Metric is one sample in a form a metrics endpoint exports as it is (for
// Prometheus: a gauge named Name with Labels). Values are counts; the
// percentages are ratios of them.
type Metric struct {
	Name   string
	Help   string
	Labels []Label // sorted by name
	Value  float64
}

// Label is a metric label.
type Label struct{ Name, Value string }

// Metric names of Governance.Metrics. Each is broken down by a "state"
// label whose values sum to the whole, per scope (labels provider and
// scope) and, under the *_team_* names, per team (label team).
const (
	MetricIdentities       = "nhiscan_catalog_identities"
	MetricOwners           = "nhiscan_catalog_owners"
	MetricEntitlements     = "nhiscan_catalog_entitlements"
	MetricCredentials      = "nhiscan_catalog_credentials"
	MetricTeamIdentities   = "nhiscan_catalog_team_identities"
	MetricTeamOwners       = "nhiscan_catalog_team_owners"
	MetricTeamEntitlements = "nhiscan_catalog_team_entitlements"
	MetricTeamCredentials  = "nhiscan_catalog_team_credentials"
	MetricProviderManaged  = "nhiscan_catalog_provider_managed_identities"
)

// Metrics returns the counts as metric samples, sorted by name and labels.
func (g *Governance) Metrics() []Metric {
	var out []Metric
	for _, r := range g.ByScope {
		out = append(out, countMetrics(r.GovernanceCounts, "", Label{"provider", string(r.Provider)}, Label{"scope", r.Scope})...)
	}
	for _, r := range g.ByTeam {
		out = append(out, countMetrics(r.GovernanceCounts, "team_", Label{"team", r.Team})...)
	}
	out = append(out, Metric{Name: MetricProviderManaged, Help: "Provider-managed identities, never held to role rules.", Value: float64(g.ProviderManaged)})
	slices.SortFunc(out, func(x, y Metric) int {
		if c := cmp.Compare(x.Name, y.Name); c != 0 {
			return c
		}
		return slices.CompareFunc(x.Labels, y.Labels, func(a, b Label) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Value, b.Value)) })
	})
	return out
}

func countMetrics(c GovernanceCounts, infix string, labels ...Label) []Metric {
	type st struct {
		state string
		n     int
	}
	series := []struct {
		what, help string
		states     []st
	}{
		{"identities", "Identities held to role rules, by whether a catalog role maps them.",
			[]st{{"mapped", c.Mapped}, {"unmapped", c.Identities - c.Mapped}}},
		{"owners", "Identities by owner: an active accountable owner, none, or unknown (ownership data not observed).",
			[]st{{"active", c.OwnerActive}, {"none", c.Identities - c.OwnerActive - c.OwnerUnknown}, {"unknown", c.OwnerUnknown}}},
		{"entitlements", "Grants by baseline: within the role's baseline, outside it, of an unmapped identity, or unknown (grant facet not observed).",
			[]st{{"within", c.WithinBaseline}, {"outside", c.OutsideBaseline}, {"no_role", c.NoRole}, {"unknown", c.EntitlementsUnknown}}},
		{"credentials", "Credentials by policy: under a role's credential policy, not, or unknown (credential facet not observed).",
			[]st{{"under_policy", c.UnderPolicy}, {"no_policy", c.Credentials - c.UnderPolicy}, {"unknown", c.CredentialsUnknown}}},
	}
	var out []Metric
	for _, s := range series {
		for _, x := range s.states {
			ls := append(slices.Clone(labels), Label{"state", x.state})
			slices.SortFunc(ls, func(a, b Label) int { return cmp.Compare(a.Name, b.Name) })
			out = append(out, Metric{Name: "nhiscan_catalog_" + infix + s.what, Help: s.help, Labels: ls, Value: float64(x.n)})
		}
	}
	return out
}
