package analyzer

import (
	"strings"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
)

// ownerRules: no owner, a departed or unknown owner, a departed custodian,
// and an owner who moved to another team.
func (a *analysis) ownerRules(id *nhi.Identity, s *subject) {
	switch s.own.OwnerStatus {
	case nhi.OwnerNone:
		ev := evidence("owner_tag_keys", strings.Join(a.def.OwnerTagKeys, ","))
		if s.role != nil {
			ev.Set("role", s.role.ID)
		}
		a.emit(rules.RuleNoOwner, id, s, on{}, ev)
	case nhi.OwnerDeparted:
		ev := evidence("owner", s.own.Owner, "owner_source", s.own.OwnerSource)
		if p := s.person; p != nil {
			ev.Set("departed", ts(p.Departed))
			if p.Manager != "" {
				ev.Set("reassign_to", p.Manager)
			}
		} else {
			ev.Set("provider_status", "not an active account at the provider")
		}
		if s.role != nil && ev.Get("reassign_to") == "" && s.role.TechnicalOwner != "" {
			ev.Set("reassign_to", s.role.TechnicalOwner)
		}
		if n := a.activeStatic(id); n > 0 {
			ev.Set("credentials_to_rotate", itoa(n))
		}
		a.emit(rules.RuleOwnerDeparted, id, s, on{}, ev)
	case nhi.OwnerUnknown:
		a.emit(rules.RuleOwnerUnknown, id, s, on{}, evidence("owner", s.own.Owner, "owner_source", s.own.OwnerSource))
	}
	if s.own.OwnerSource == "role" {
		a.custodianRules(id, s)
	}
	if s.role != nil && s.role.Team != "" && s.person != nil && !a.departed(s.person) &&
		s.own.OwnerSource == "role" && s.person.Team != "" && !strings.EqualFold(s.person.Team, s.role.Team) {
		a.emit(rules.RuleOwnerMoved, id, s, on{}, evidence(
			"owner", s.person.ID, "owner_team", s.person.Team, "role_team", s.role.Team,
		))
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
		ev := evidence("custodian", key, "custodian_source", source, "owner", s.own.Owner, "reassign_to", s.own.Owner)
		if p != nil {
			ev.Set("departed", ts(p.Departed))
		} else {
			ev.Set("provider_status", "not an active account at the provider")
		}
		if n := a.activeStatic(id); n > 0 {
			ev.Set("credentials_to_rotate", itoa(n))
		}
		a.emit(rules.RuleOwnerDeparted, id, s, on{}, ev)
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
