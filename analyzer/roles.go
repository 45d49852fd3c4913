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
// it allows it as privileged. For a role with a long baseline the results
// are memoised per role and entitlement (large organisations repeat the
// same few hundred policies); a short one is cheaper to test than to look
// up in a memo of a million grants.
func (a *analysis) allowed(ri int, p nhi.Provider, g *nhi.Grant) allowance {
	allowed := a.index.roles[ri].Allowed
	if len(allowed) <= memoBaselineOver {
		return baselineAllows(allowed, p, g)
	}
	k := baselineKey{ri, p, g.Entitlement, g.Scope}
	if v, ok := a.baseline[k]; ok {
		return v
	}
	v := baselineAllows(allowed, p, g)
	a.baseline[k] = v
	return v
}

// memoBaselineOver is the length of baseline above which allowed memoises.
const memoBaselineOver = 16

func baselineAllows(allowed []catalog.Entitlement, p nhi.Provider, g *nhi.Grant) allowance {
	var v allowance
	for _, e := range allowed {
		if e.Allows(p, g) {
			v.allowed = true
			if e.Privileged {
				v.privileged = true
				break
			}
		}
	}
	return v
}

type peopleIndex struct {
	byID    map[string]*nhi.Person
	byAlias map[string]*nhi.Person
}

func newPeopleIndex(people map[string]nhi.Person) *peopleIndex {
	ix := &peopleIndex{byID: make(map[string]*nhi.Person, len(people)), byAlias: map[string]*nhi.Person{}}
	for k := range people {
		p := people[k]
		ix.byID[strings.ToLower(k)] = &p
		for _, al := range p.Aliases {
			ix.byAlias[strings.ToLower(al)] = &p
		}
	}
	return ix
}

func (ix *peopleIndex) lookup(v string) *nhi.Person {
	k := strings.ToLower(strings.TrimSpace(v))
	if p, ok := ix.byID[k]; ok {
		return p
	}
	return ix.byAlias[k]
}

// hintClasses orders owner-hint sources: tags and labels first, then the
// provider's own owner objects, then GitHub's added_by and token owners, then
// free text.
var hintClasses = map[string]int{
	"tag": 1, "label": 1,
	"entra-owner": 2, "project-label": 2,
	"github-added-by": 3, "token-owner": 3,
	"description": 4,
}

type candidate struct {
	value, source string
	person        *nhi.Person
	providerOff   bool // the provider says the account is disabled / not a member
}

// resolve maps an identity to its role and owner. Resolution order: the
// catalog role's business owner, then tags named by owner_tag_keys, then the
// provider's owner hints by class. Within a class an active person wins over
// a departed one, and a known person over an unknown value.
func (a *analysis) resolve(id *nhi.Identity) subject {
	s := subject{managed: id.ProviderManaged, roleIdx: -1}
	s.own = nhi.Ownership{IdentityID: id.ID, OwnerStatus: nhi.OwnerNone}
	if ri := a.index.match(id); ri >= 0 {
		s.role, s.roleIdx = &a.index.roles[ri], ri
		s.own.RoleID = s.role.ID
		s.own.TechnicalOwner = s.role.TechnicalOwner
		s.own.Team = s.role.Team
		if s.role.BusinessOwner != "" {
			a.setOwner(&s, candidate{value: s.role.BusinessOwner, source: "role", person: a.people.lookup(s.role.BusinessOwner)})
			return s
		}
	}
	var best *candidate
	bestClass := 1 << 30
	consider := func(c candidate, class int) {
		if class > bestClass {
			return
		}
		if class < bestClass || a.rank(c) > a.rank(*best) {
			cc := c
			best, bestClass = &cc, class
		}
	}
	for _, k := range a.def.OwnerTagKeys {
		if v, ok := id.Tags[k]; ok && strings.TrimSpace(v) != "" {
			consider(candidate{value: v, source: "tag", person: a.people.lookup(v)}, 0)
			break
		}
	}
	for _, h := range id.OwnerHints {
		if strings.TrimSpace(h.Value) == "" {
			continue
		}
		class, ok := hintClasses[h.Source]
		if !ok {
			class = 5
		}
		c := candidate{value: h.Value, source: h.Source, person: a.people.lookup(h.Value)}
		c.providerOff = h.Active != nil && !*h.Active
		consider(c, class)
	}
	if best != nil {
		a.setOwner(&s, *best)
	}
	return s
}

// departed reports whether a person has left by the evaluation time. HR
// exports list leavers ahead of their last day: a person whose departure
// date is still to come is active until then (and an audit "as of" an
// earlier date sees them as they were).
func (a *analysis) departed(p *nhi.Person) bool {
	return p.Status == nhi.PersonDeparted && (p.Departed.IsZero() || !p.Departed.After(a.now))
}

func (a *analysis) rank(c candidate) int {
	switch {
	case c.person != nil && !a.departed(c.person):
		return 3
	case c.person != nil:
		return 2
	case !c.providerOff:
		return 1
	}
	return 0
}

func (a *analysis) setOwner(s *subject, c candidate) {
	s.own.OwnerSource = c.source
	switch {
	case c.person != nil:
		s.person = c.person
		s.own.Owner = c.person.ID
		s.own.OwnerStatus = nhi.OwnerActive
		if a.departed(c.person) {
			s.own.OwnerStatus = nhi.OwnerDeparted
		}
	case c.providerOff:
		// Not a person we know, and the provider says the account is gone
		// (not an org member, disabled): a leaver.
		s.own.Owner = c.value
		s.own.OwnerStatus = nhi.OwnerDeparted
	default:
		s.own.Owner = c.value
		s.own.OwnerStatus = nhi.OwnerUnknown
	}
}
