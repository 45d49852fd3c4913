package analyzer

import (
	"strings"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// roleIndex finds the first role (in catalog order) whose selectors match an
// identity without testing every selector: selectors are bucketed by
// provider and, when their scope is a literal, by scope.
type roleIndex struct {
	roles   []catalog.Role
	byID    map[string][]sel       // exact identity id
	byScope map[scopeKey][]sel     // provider + literal scope
	byProv  map[nhi.Provider][]sel // provider, wildcard scope
	any     []sel                  // no provider
}

type scopeKey struct {
	p     nhi.Provider
	scope string
}

type sel struct {
	order int // position of the selector in catalog order
	role  int
	s     *catalog.Selector
}

func newRoleIndex(roles []catalog.Role) *roleIndex {
	ix := &roleIndex{roles: roles, byID: map[string][]sel{}, byScope: map[scopeKey][]sel{}, byProv: map[nhi.Provider][]sel{}}
	order := 0
	for ri := range roles {
		for si := range roles[ri].Members {
			s := &roles[ri].Members[si]
			e := sel{order: order, role: ri, s: s}
			order++
			switch {
			case s.ID != "":
				ix.byID[s.ID] = append(ix.byID[s.ID], e)
			case s.Provider == "":
				ix.any = append(ix.any, e)
			case s.Scope != "" && !strings.ContainsAny(s.Scope, "*?"):
				k := scopeKey{s.Provider, s.Scope}
				ix.byScope[k] = append(ix.byScope[k], e)
			default:
				ix.byProv[s.Provider] = append(ix.byProv[s.Provider], e)
			}
		}
	}
	return ix
}

// match returns the index of the first matching role, or -1.
func (ix *roleIndex) match(id *nhi.Identity) int {
	best, role := -1, -1
	try := func(list []sel) {
		for _, e := range list {
			if best >= 0 && e.order >= best {
				return // lists are in catalog order
			}
			if e.s.Matches(id) {
				best, role = e.order, e.role
				return
			}
		}
	}
	try(ix.byID[id.ID])
	try(ix.byScope[scopeKey{id.Provider, id.Scope}])
	try(ix.byProv[id.Provider])
	try(ix.any)
	return role
}

// allowed reports whether the role's baseline allows the grant, and whether
// it allows it as privileged. Results are memoised per role and entitlement:
// large organisations repeat the same few hundred policies.
func (a *analysis) allowed(ri int, p nhi.Provider, g *nhi.Grant) allowance {
	k := baselineKey{ri, p, g.Entitlement, g.Scope}
	if v, ok := a.baseline[k]; ok {
		return v
	}
	var v allowance
	for _, e := range a.index.roles[ri].Allowed {
		if e.Allows(p, g) {
			v.allowed = true
			if e.Privileged {
				v.privileged = true
				break
			}
		}
	}
	a.baseline[k] = v
	return v
}
