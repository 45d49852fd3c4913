package analyzer

import (
	"slices"
	"strings"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
)

// driftState indexes the two inventories drift compares. A scope counts as
// covered when it was attempted and has no gap (usage-only gaps aside).
// Something is reported added only when the previous scan covered its scope
// (else it may have been there unseen), and removed only when the current
// scan covers it (else it may still be there unseen): a gap on either side
// never looks like a change.
type driftState struct {
	cur, prev            *nhi.Inventory
	prevByID             map[string]*nhi.Identity
	curIDs               map[string]bool
	curCovered, prevCovd map[scopeKey]bool
}

func newDriftState(cur, prev *nhi.Inventory) *driftState {
	d := &driftState{cur: cur, prev: prev,
		prevByID:   make(map[string]*nhi.Identity, len(prev.Identities)),
		curIDs:     make(map[string]bool, len(cur.Identities)),
		curCovered: coveredScopes(cur), prevCovd: coveredScopes(prev)}
	for i := range prev.Identities {
		d.prevByID[prev.Identities[i].ID] = &prev.Identities[i]
	}
	for i := range cur.Identities {
		d.curIDs[cur.Identities[i].ID] = true
	}
	return d
}

func coveredScopes(inv *nhi.Inventory) map[scopeKey]bool {
	m := make(map[scopeKey]bool, len(inv.Scopes))
	cov := inv.Coverage()
	for _, s := range inv.Scopes {
		if cov.ObservedAll(s.Provider, s.ID, []nhi.Facet{nhi.FacetIdentities, nhi.FacetCredentials, nhi.FacetGrants}) {
			m[scopeKey{s.Provider, s.ID}] = true
		}
	}
	return m
}

// coverage says which side of the comparison fully covered a scope.
type coverage struct{ prev, cur bool }

func (d *driftState) coverage(p nhi.Provider, scope string) coverage {
	k := scopeKey{p, scope}
	return coverage{prev: d.prevCovd[k], cur: d.curCovered[k]}
}

// drift compares one current identity with its previous state.
func (a *analysis) drift(d *driftState, id *nhi.Identity, s *subject) {
	cov := d.coverage(id.Provider, id.Scope)
	p, ok := d.prevByID[id.ID]
	if !ok {
		if cov.prev {
			a.emit(rules.RuleDriftIdentityAdd, id, s, "", "", map[string]string{"kind": string(id.Kind), "created": ts(id.Created)})
		}
		return
	}
	a.identityDrift(id, s, p, cov)
}

// removed reports identities of the previous scan that are gone from a
// fully covered scope.
func (a *analysis) removed(d *driftState) {
	for i := range d.prev.Identities {
		p := &d.prev.Identities[i]
		if !d.curIDs[p.ID] && d.coverage(p.Provider, p.Scope).cur {
			if len(p.Tags) > 0 {
				a.tags[p.ID] = p.Tags // for exceptions that select on tags
			}
			s := a.resolve(p)
			a.emit(rules.RuleDriftIdentityDel, p, &s, "", "", map[string]string{"kind": string(p.Kind), "last_seen": ts(d.prev.CollectedAt)})
		}
	}
}

func (a *analysis) identityDrift(cur *nhi.Identity, sp *subject, prev *nhi.Identity, cov coverage) {
	s := *sp
	ps := a.resolve(prev)
	// An owner read from the same source on both sides changed for real.
	// One that vanished or now comes from another source may be an owner
	// hint a partial collection missed: reported only with full coverage.
	sameSource := s.own.Owner != "" && ps.own.Owner != "" && s.own.OwnerSource == ps.own.OwnerSource
	if s.own.Owner != ps.own.Owner && (sameSource || (cov.prev && cov.cur)) {
		a.emit(rules.RuleDriftOwner, cur, &s, "", "", map[string]string{
			"previous_owner": ps.own.Owner, "previous_source": ps.own.OwnerSource,
			"owner": s.own.Owner, "owner_source": s.own.OwnerSource,
		})
	}
	credID := func(c nhi.Credential) string { return c.ID }
	grantID := func(g nhi.Grant) string { return g.ID }
	addedC, removedC := diffByID(prev.Credentials, cur.Credentials, credID)
	addedG, removedG := diffByID(prev.Grants, cur.Grants, grantID)
	if cov.prev { // else the previous scan may have missed them
		for _, c := range addedC {
			a.emit(rules.RuleDriftCredAdd, cur, &s, c.ID, "", map[string]string{"credential_type": string(c.Type), "created": ts(c.Created)})
		}
		for _, g := range addedG {
			a.emit(rules.RuleDriftGrantAdd, cur, &s, "", g.ID, map[string]string{"entitlement": g.Entitlement, "scope": g.Scope})
		}
	}
	if !cov.cur {
		return // a gap must never look like a removal
	}
	for _, c := range removedC {
		a.emit(rules.RuleDriftCredDel, cur, &s, c.ID, "", map[string]string{"credential_type": string(c.Type)})
	}
	for _, g := range removedG {
		a.emit(rules.RuleDriftGrantDel, cur, &s, "", g.ID, map[string]string{"entitlement": g.Entitlement, "scope": g.Scope})
	}
}

// diffByID returns the elements of cur missing from prev (added) and of prev
// missing from cur (removed), in id order, by a merge over id-sorted copies
// (inventories are normalised, so the sort is usually a no-op check).
func diffByID[T any](prev, cur []T, id func(T) string) (added, removed []T) {
	by := func(a, b T) int { return strings.Compare(id(a), id(b)) }
	if !slices.IsSortedFunc(prev, by) {
		prev = slices.Clone(prev)
		slices.SortFunc(prev, by)
	}
	if !slices.IsSortedFunc(cur, by) {
		cur = slices.Clone(cur)
		slices.SortFunc(cur, by)
	}
	i, j := 0, 0
	for i < len(prev) || j < len(cur) {
		switch {
		case j == len(cur) || (i < len(prev) && id(prev[i]) < id(cur[j])):
			removed = append(removed, prev[i])
			i++
		case i == len(prev) || id(cur[j]) < id(prev[i]):
			added = append(added, cur[j])
			j++
		default:
			i++
			j++
		}
	}
	return added, removed
}

// sinceCertification reports grants the identity holds now that its last
// certification did not include. Identities never certified are left to the
// next campaign.
func (a *analysis) sinceCertification(id *nhi.Identity, s *subject, cert *nhi.Certification) {
	certified, ok := cert.Grants[id.ID]
	if !ok {
		return
	}
	set := make(map[string]bool, len(certified))
	for _, g := range certified {
		set[g] = true
	}
	for gi := range id.Grants {
		g := &id.Grants[gi]
		if set[g.ID] {
			continue
		}
		a.emit(rules.RuleDriftSinceCert, id, s, "", g.ID, map[string]string{
			"entitlement": g.Entitlement, "scope": g.Scope, "certified_at": ts(cert.At),
		})
	}
}
