package analyzer

import (
	"strings"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
)

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

func (a *analysis) ownerRules(id *nhi.Identity, s *subject) {
	switch s.own.OwnerStatus {
	case nhi.OwnerNone:
		ev := map[string]string{"owner_tag_keys": strings.Join(a.def.OwnerTagKeys, ",")}
		if s.role != nil {
			ev["role"] = s.role.ID
		}
		a.emit(rules.RuleNoOwner, id, s, "", "", ev)
	case nhi.OwnerDeparted:
		ev := map[string]string{"owner": s.own.Owner, "owner_source": s.own.OwnerSource}
		if p := s.person; p != nil {
			ev["departed"] = ts(p.Departed)
			if p.Manager != "" {
				ev["reassign_to"] = p.Manager
			}
		} else {
			ev["provider_status"] = "not an active account at the provider"
		}
		if s.role != nil && ev["reassign_to"] == "" && s.role.TechnicalOwner != "" {
			ev["reassign_to"] = s.role.TechnicalOwner
		}
		if n := a.activeStatic(id); n > 0 {
			ev["credentials_to_rotate"] = itoa(n)
		}
		a.emit(rules.RuleOwnerDeparted, id, s, "", "", ev)
	case nhi.OwnerUnknown:
		a.emit(rules.RuleOwnerUnknown, id, s, "", "", map[string]string{"owner": s.own.Owner, "owner_source": s.own.OwnerSource})
	}
	if s.own.OwnerSource == "role" {
		a.custodianRules(id, s)
	}
	if s.role != nil && s.role.Team != "" && s.person != nil && !a.departed(s.person) &&
		s.own.OwnerSource == "role" && s.person.Team != "" && !strings.EqualFold(s.person.Team, s.role.Team) {
		a.emit(rules.RuleOwnerMoved, id, s, "", "", map[string]string{
			"owner": s.person.ID, "owner_team": s.person.Team, "role_team": s.role.Team,
		})
	}
}

func (a *analysis) activeStatic(id *nhi.Identity) int {
	n := 0
	for i := range id.Credentials {
		c := &id.Credentials[i]
		if a.credActive(c) && c.Type.Static() && !c.ProviderRotated {
			n++
		}
	}
	return n
}

// custodianRules handles identities whose accountable owner comes from the
// catalog role but whose provider hints (owner tag, Entra owner, GitHub
// added_by or token owner) name a person who has left. The role keeps an
// owner, so the identity is not orphaned, but the leaver may still hold its
// credentials: it is reported as a leaver case, to be reassigned to the
// role's business owner with its credentials rotated (IA-5(i)).
func (a *analysis) custodianRules(id *nhi.Identity, s *subject) {
	seen := map[string]bool{}
	report := func(value, source string, p *nhi.Person) {
		key := strings.ToLower(value)
		if p != nil {
			key = p.ID
		}
		if seen[key] {
			return
		}
		seen[key] = true
		ev := map[string]string{"custodian": key, "custodian_source": source, "owner": s.own.Owner, "reassign_to": s.own.Owner}
		if p != nil {
			ev["departed"] = ts(p.Departed)
		} else {
			ev["provider_status"] = "not an active account at the provider"
		}
		if n := a.activeStatic(id); n > 0 {
			ev["credentials_to_rotate"] = itoa(n)
		}
		a.emit(rules.RuleOwnerDeparted, id, s, "", "", ev)
	}
	for _, k := range a.def.OwnerTagKeys {
		if v, ok := id.Tags[k]; ok {
			if p := a.people.lookup(v); p != nil && a.departed(p) {
				report(v, "tag", p)
			}
		}
	}
	for _, h := range id.OwnerHints {
		p := a.people.lookup(h.Value)
		switch {
		case p != nil && a.departed(p):
			report(h.Value, h.Source, p)
		case p == nil && h.Active != nil && !*h.Active:
			report(h.Value, h.Source, nil)
		}
	}
}
