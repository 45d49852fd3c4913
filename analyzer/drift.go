package analyzer

import (
	"slices"
	"sort"
	"strings"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
)

// driftState indexes the two inventories drift compares. Whether a change
// may be reported is decided per facet by emit (see judged and each drift
// rule's Basis): an addition only where the previous scan observed the
// facet (identities:<kind>, credentials:<type>, grants:<kind>), else it may
// have been there unseen; a removal only where this scan observed it, else
// it may still be there unseen; an owner change only where both observed
// the identity and its ownership data. A gap on one facet never hides
// drift on another, and never looks like a change.
type driftState struct {
	prev, cur *nhi.Inventory
	// sorted: both inventories list their identities in strictly
	// increasing id order (normalised inventories do), so drift walks them
	// side by side; otherwise it looks identities up in the maps.
	sorted   bool
	prevByID map[string]*nhi.Identity
	curIDs   map[string]bool
}

func newDriftState(cur, prev *nhi.Inventory) *driftState {
	d := &driftState{prev: prev, cur: cur, sorted: increasing(cur.Identities) && increasing(prev.Identities)}
	if d.sorted {
		return d
	}
	d.prevByID = make(map[string]*nhi.Identity, len(prev.Identities))
	d.curIDs = make(map[string]bool, len(cur.Identities))
	for i := range prev.Identities {
		d.prevByID[prev.Identities[i].ID] = &prev.Identities[i]
	}
	for i := range cur.Identities {
		d.curIDs[cur.Identities[i].ID] = true
	}
	return d
}

func increasing(ids []nhi.Identity) bool {
	for i := 1; i < len(ids); i++ {
		if ids[i-1].ID >= ids[i].ID {
			return false
		}
	}
	return true
}

// previous returns the previous state of the identity with that id, nil
// when it is new. On sorted inventories *at is the caller's position in
// the previous identities (-1 to start): a shard asks in increasing id
// order, so the walk is linear.
func (d *driftState) previous(id string, at *int) *nhi.Identity {
	if !d.sorted {
		return d.prevByID[id]
	}
	ps := d.prev.Identities
	if *at < 0 {
		*at = sort.Search(len(ps), func(i int) bool { return ps[i].ID >= id })
	}
	for *at < len(ps) && ps[*at].ID < id {
		*at++
	}
	if *at < len(ps) && ps[*at].ID == id {
		return &ps[*at]
	}
	return nil
}

// drift compares one current identity with its previous state.
func (a *analysis) drift(d *driftState, id *nhi.Identity, s *subject) {
	p := d.previous(id.ID, &a.prevAt)
	if p == nil {
		a.emit(rules.RuleDriftIdentityAdd, id, s, on{}, evidence("kind", string(id.Kind), "created", ts(id.Created)))
		return
	}
	a.identityDrift(id, s, p)
}

// removed reports identities of the previous scan that are gone now.
func (a *analysis) removed(d *driftState) {
	cur, c := d.cur.Identities, 0
	for i := range d.prev.Identities {
		p := &d.prev.Identities[i]
		if d.sorted {
			for c < len(cur) && cur[c].ID < p.ID {
				c++
			}
			if c < len(cur) && cur[c].ID == p.ID {
				continue
			}
		} else if d.curIDs[p.ID] {
			continue
		}
		s := a.resolve(p)
		a.emit(rules.RuleDriftIdentityDel, p, &s, on{}, evidence("kind", string(p.Kind), "last_seen", ts(d.prev.CollectedAt)))
	}
}

func (a *analysis) identityDrift(cur *nhi.Identity, sp *subject, prev *nhi.Identity) {
	s := *sp
	if ps := a.resolve(prev); s.own.Owner != ps.own.Owner {
		a.emit(rules.RuleDriftOwner, cur, &s, on{}, evidence(
			"previous_owner", ps.own.Owner, "previous_source", ps.own.OwnerSource,
			"owner", s.own.Owner, "owner_source", s.own.OwnerSource,
		))
	}
	credID := func(c nhi.Credential) string { return c.ID }
	grantID := func(g nhi.Grant) string { return g.ID }
	addedC, removedC := diffByID(prev.Credentials, cur.Credentials, credID)
	addedG, removedG := diffByID(prev.Grants, cur.Grants, grantID)
	for i := range addedC {
		c := &addedC[i]
		a.emit(rules.RuleDriftCredAdd, cur, &s, on{cred: c}, evidence("credential_type", string(c.Type), "created", ts(c.Created)))
	}
	for i := range addedG {
		g := &addedG[i]
		a.emit(rules.RuleDriftGrantAdd, cur, &s, on{grant: g}, evidence("entitlement", g.Entitlement, "scope", g.Scope))
	}
	for i := range removedC {
		c := &removedC[i]
		a.emit(rules.RuleDriftCredDel, cur, &s, on{cred: c}, evidence("credential_type", string(c.Type)))
	}
	for i := range removedG {
		g := &removedG[i]
		a.emit(rules.RuleDriftGrantDel, cur, &s, on{grant: g}, evidence("entitlement", g.Entitlement, "scope", g.Scope))
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
		a.emit(rules.RuleDriftSinceCert, id, s, on{grant: g}, evidence(
			"entitlement", g.Entitlement, "scope", g.Scope, "certified_at", ts(cert.At),
		))
	}
}
