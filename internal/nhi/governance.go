package nhi

// Governance coverage: how much of an inventory the owned-role catalog
// governs. The analyzer measures it (analyzer.MeasureGovernance); the
// reports write it. Only observed facets count: what lies in a facet a
// scan did not fully observe is counted as unknown, never as ungoverned.

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
func (c GovernanceCounts) MappedPct() float64 { return govPct(c.Mapped, c.Identities) }

// OwnerPct is the share of identities with an active owner among those
// whose owner could be judged.
func (c GovernanceCounts) OwnerPct() float64 {
	return govPct(c.OwnerActive, c.Identities-c.OwnerUnknown)
}

// BaselinePct is the share of observed entitlements within a baseline.
func (c GovernanceCounts) BaselinePct() float64 { return govPct(c.WithinBaseline, c.Entitlements) }

// PolicyPct is the share of observed credentials under a role's policy.
func (c GovernanceCounts) PolicyPct() float64 { return govPct(c.UnderPolicy, c.Credentials) }

func govPct(n, d int) float64 {
	if d <= 0 {
		return 0
	}
	return 100 * float64(n) / float64(d)
}

// Add adds o's counts to c.
func (c *GovernanceCounts) Add(o GovernanceCounts) {
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
	Provider Provider `json:"provider,omitempty"`
	Scope    string   `json:"scope,omitempty"`
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
	NotObserved []FacetStatus `json:"-"`
}
