package analyzer

import (
	"slices"
	"sort"
	"strings"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
)

// covered reports whether inv fully covered the identity's scope: the scope
// was attempted and has no gap. Nothing is reported removed (or added) for
// a scope that was not fully covered on both sides.
func covered(inv *nhi.Inventory, p nhi.Provider, scope string) bool {
	attempted := false
	for _, s := range inv.Scopes {
		if s.Provider == p && s.ID == scope {
			attempted = true
			break
		}
	}
	return attempted && !inv.Partial(p, scope)
}

// drift compares the current inventory with the previous scan's.
func (a *analysis) drift(cur, prev *nhi.Inventory) {
	prevByID := make(map[string]*nhi.Identity, len(prev.Identities))
	for i := range prev.Identities {
		prevByID[prev.Identities[i].ID] = &prev.Identities[i]
	}
	curIDs := make(map[string]bool, len(cur.Identities))
	for i := range cur.Identities {
		id := &cur.Identities[i]
		curIDs[id.ID] = true
		p, ok := prevByID[id.ID]
		both := covered(cur, id.Provider, id.Scope) && covered(prev, id.Provider, id.Scope)
		if !ok {
			if both {
				s := a.resolve(id)
				a.emit(rules.RuleDriftIdentityAdd, id, &s, "", "", map[string]string{"kind": string(id.Kind), "created": ts(id.Created)})
			}
			continue
		}
		a.identityDrift(id, p, both)
	}
	var removed []*nhi.Identity
	for i := range prev.Identities {
		p := &prev.Identities[i]
		if !curIDs[p.ID] && covered(cur, p.Provider, p.Scope) && covered(prev, p.Provider, p.Scope) {
			removed = append(removed, p)
		}
	}
	for _, p := range removed {
		s := a.resolve(p)
		a.emit(rules.RuleDriftIdentityDel, p, &s, "", "", map[string]string{"kind": string(p.Kind), "last_seen": ts(prev.CollectedAt)})
	}
}

func (a *analysis) identityDrift(cur, prev *nhi.Identity, complete bool) {
	s := a.resolve(cur)
	ps := a.resolve(prev)
	if s.own.Owner != ps.own.Owner {
		a.emit(rules.RuleDriftOwner, cur, &s, "", "", map[string]string{
			"previous_owner": ps.own.Owner, "previous_source": ps.own.OwnerSource,
			"owner": s.own.Owner, "owner_source": s.own.OwnerSource,
		})
	}
	credID := func(c nhi.Credential) string { return c.ID }
	grantID := func(g nhi.Grant) string { return g.ID }
	addedC, removedC := diffByID(prev.Credentials, cur.Credentials, credID)
	for _, c := range addedC {
		a.emit(rules.RuleDriftCredAdd, cur, &s, c.ID, "", map[string]string{"credential_type": string(c.Type), "created": ts(c.Created)})
	}
	addedG, removedG := diffByID(prev.Grants, cur.Grants, grantID)
	for _, g := range addedG {
		a.emit(rules.RuleDriftGrantAdd, cur, &s, "", g.ID, map[string]string{"entitlement": g.Entitlement, "scope": g.Scope})
	}
	if !complete {
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

// sinceCertification reports grants held now that the last certification
// did not include, for every identity that was certified.
func (a *analysis) sinceCertification(cur *nhi.Inventory, cert *nhi.Certification) {
	for i := range cur.Identities {
		id := &cur.Identities[i]
		certified, ok := cert.Grants[id.ID]
		if !ok {
			continue
		}
		set := make(map[string]bool, len(certified))
		for _, g := range certified {
			set[g] = true
		}
		var s *subject
		for gi := range id.Grants {
			g := &id.Grants[gi]
			if set[g.ID] {
				continue
			}
			if s == nil {
				r := a.resolve(id)
				s = &r
			}
			a.emit(rules.RuleDriftSinceCert, id, s, "", g.ID, map[string]string{
				"entitlement": g.Entitlement, "scope": g.Scope, "certified_at": ts(cert.At),
			})
		}
	}
}

// applyExceptions marks findings covered by an unexpired exception as
// suppressed and returns the exceptions that matched but had expired.
func (a *analysis) applyExceptions(chunks [][]nhi.Finding) []ExpiredException {
	if len(a.cat.Exceptions) == 0 {
		return nil
	}
	byRule := map[string][]*rules.Exception{}
	for i := range a.cat.Exceptions {
		e := &a.cat.Exceptions[i]
		byRule[e.Rule] = append(byRule[e.Rule], e)
	}
	expired := map[string]*ExpiredException{}
	for _, fs := range chunks {
		a.applyTo(fs, byRule, expired)
	}
	out := make([]ExpiredException, 0, len(expired))
	for _, x := range expired {
		out = append(out, *x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (a *analysis) applyTo(fs []nhi.Finding, byRule map[string][]*rules.Exception, expired map[string]*ExpiredException) {
	for i := range fs {
		f := &fs[i]
		exs := byRule[f.RuleID]
		if len(exs) == 0 {
			continue
		}
		probe := nhi.Identity{ID: f.IdentityID, Provider: f.Provider, Scope: f.Scope, Kind: f.IdentityKind, Name: f.IdentityName}
		probe.Tags = a.tagsOf(f.IdentityID)
		for _, e := range exs {
			if !e.Selector.Matches(&probe) || (e.Selector.Role != "" && e.Selector.Role != f.RoleID) {
				continue
			}
			if e.Expires.After(a.now) {
				f.Suppressed, f.Exception, f.ExceptionExpires = true, e.ID, e.Expires.UTC()
				break
			}
			x := expired[e.ID]
			if x == nil {
				x = &ExpiredException{ID: e.ID, Rule: e.Rule, Expires: e.Expires.UTC()}
				expired[e.ID] = x
			}
			x.Findings++
			if f.Evidence == nil {
				f.Evidence = map[string]string{}
			}
			f.Evidence["exception_expired"] = e.ID + " expired " + ts(e.Expires)
		}
	}
}

// tagsOf is filled by Analyze so exceptions can select on tags.
func (a *analysis) tagsOf(id string) map[string]string { return a.tags[id] }
