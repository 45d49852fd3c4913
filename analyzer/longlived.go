package analyzer

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// keyTypes are the credential types that are "keys of the identity": more
// than the allowed number active at once means a rotation left one behind.
// CI secrets and service-specific credentials are not counted: an
// identity legitimately holds several.
var keyTypes = map[nhi.CredentialType]bool{
	nhi.CredAWSAccessKey:      true,
	nhi.CredGCPUserManagedKey: true,
	nhi.CredEntraClientSecret: true,
	nhi.CredEntraCertificate:  true,
}

// credPolicy is the credential policy that applies to one identity: its
// role's, with the catalog defaults filled in.
type credPolicy struct {
	catalog.CredentialPolicy
	maxAge  time.Duration
	maxKeys int
	// staticForbidden: the role requires workload identity or forbids
	// static keys.
	staticForbidden bool
	role            string
}

func (a *analysis) credPolicy(s *subject) credPolicy {
	p := credPolicy{maxAge: a.def.MaxCredentialAge}
	if s.role != nil {
		p.CredentialPolicy, p.role = s.role.Credentials, s.role.ID
		if p.MaxAge > 0 {
			p.maxAge = p.MaxAge
		}
		p.staticForbidden = p.RequireWorkloadIdentity || !p.StaticKeysAllowed
	}
	p.maxKeys = p.MaxActiveKeys
	if p.maxKeys <= 0 {
		p.maxKeys = 1
	}
	return p
}

// credentialRules: too old, no expiry where required, static where workload
// identity is required, expiring soon, more than one active key.
func (a *analysis) credentialRules(id *nhi.Identity, s *subject) {
	pol := a.credPolicy(s)
	groups := a.keyGroups[:0]
	for i := range id.Credentials {
		c := &id.Credentials[i]
		if !a.credActive(c) || c.ProviderRotated {
			continue
		}
		if c.Type.Static() && keyTypes[c.Type] {
			groups = addKey(groups, c)
		}
		a.credentialChecks(id, s, c, &pol)
	}
	a.keyGroups = groups
	a.multipleKeys(id, s, groups, pol.maxKeys)
}

// keyGroup is an identity's active keys of one type.
type keyGroup struct {
	t  nhi.CredentialType
	cs []*nhi.Credential
}

// addKey adds c to its type's group, reusing the memory of the groups of
// the identity before.
func addKey(gs []keyGroup, c *nhi.Credential) []keyGroup {
	for i := range gs {
		if gs[i].t == c.Type {
			gs[i].cs = append(gs[i].cs, c)
			return gs
		}
	}
	if len(gs) < cap(gs) {
		gs = gs[:len(gs)+1]
		g := &gs[len(gs)-1]
		g.t, g.cs = c.Type, append(g.cs[:0], c)
		return gs
	}
	return append(gs, keyGroup{t: c.Type, cs: []*nhi.Credential{c}})
}

func (a *analysis) credEvidence(c *nhi.Credential) evidenceBuilder {
	ev := evidence("credential_type", string(c.Type))
	if !c.Created.IsZero() {
		ev.Set("created", a.ts(c.Created))
	}
	if !c.Expires.IsZero() {
		ev.Set("expires", a.ts(c.Expires))
	}
	return ev
}

// credentialChecks judges one active credential against the policy.
func (a *analysis) credentialChecks(id *nhi.Identity, s *subject, c *nhi.Credential, pol *credPolicy) {
	if c.Type.Static() {
		if age := a.now.Sub(c.Created); !c.Created.IsZero() && age > pol.maxAge {
			ev := a.credEvidence(c)
			ev.Set("age_days", days(age))
			ev.Set("max_age_days", days(pol.maxAge))
			a.emit(rules.RuleCredentialTooOld, id, s, on{cred: c}, ev)
		}
		if pol.staticForbidden && !s.managed {
			ev := a.credEvidence(c)
			ev.Set("role", pol.role)
			ev.Set("policy", "static keys not allowed")
			if pol.RequireWorkloadIdentity {
				ev.Set("policy", "workload identity required")
			}
			a.emit(rules.RuleStaticNotAllowed, id, s, on{cred: c}, ev)
		}
		if pol.ExpiryRequired && c.Expires.IsZero() {
			ev := a.credEvidence(c)
			ev.Set("role", pol.role)
			ev.Set("policy", "expiry required")
			a.emit(rules.RuleNoExpiry, id, s, on{cred: c}, ev)
		}
	}
	if !c.Expires.IsZero() && c.Expires.After(a.now) && c.Expires.Sub(a.now) <= a.def.ExpiringSoon {
		ev := a.credEvidence(c)
		ev.Set("days_left", days(c.Expires.Sub(a.now)+duration.Day-time.Nanosecond))
		ev.Set("expiring_soon_days", days(a.def.ExpiringSoon))
		a.emit(rules.RuleExpiringSoon, id, s, on{cred: c}, ev)
	}
}

// multipleKeys reports, per key type, more active keys than the policy
// allows, on the oldest key: the one to deactivate.
func (a *analysis) multipleKeys(id *nhi.Identity, s *subject, groups []keyGroup, maxKeys int) {
	var over []keyGroup
	for _, g := range groups {
		if len(g.cs) > maxKeys {
			over = append(over, g)
		}
	}
	slices.SortFunc(over, func(x, y keyGroup) int { return strings.Compare(string(x.t), string(y.t)) })
	for _, g := range over {
		t, cs := string(g.t), g.cs
		ids := make([]string, len(cs))
		for i, c := range cs {
			ids[i] = c.ID
		}
		sort.Strings(ids)
		a.emit(rules.RuleMultipleActiveKeys, id, s, on{cred: oldestOf(cs)}, evidence(
			"credential_type", t, "active", itoa(len(ids)), "max_active", itoa(maxKeys), "credentials", strings.Join(ids, ","),
		))
	}
}

// oldestOf returns the credential created first (ties and unknown
// creation times: the lowest id).
func oldestOf(cs []*nhi.Credential) *nhi.Credential {
	cs = slices.Clone(cs)
	slices.SortFunc(cs, func(x, y *nhi.Credential) int { return strings.Compare(x.ID, y.ID) })
	best := cs[0]
	for _, c := range cs {
		if !c.Created.IsZero() && (best.Created.IsZero() || c.Created.Before(best.Created)) {
			best = c
		}
	}
	return best
}
