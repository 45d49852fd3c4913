package analyzer

import (
	"strings"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
)

// ownerRules: no owner, a departed or unknown owner, a departed custodian,
// and an owner who moved to another team. An identity is one leaver case
// however many of its owner and custodians have left: one finding, whose
// evidence names them all (a fingerprint is the rule and the identity).
func (a *analysis) ownerRules(id *nhi.Identity, s *subject) {
	var leaver *evidenceBuilder
	switch s.own.OwnerStatus {
	case nhi.OwnerNone:
		ev := evidence("owner_tag_keys", strings.Join(a.def.OwnerTagKeys, ","))
		if s.role != nil {
			ev.Set("role", s.role.ID)
		}
		a.emit(rules.RuleNoOwner, id, s, on{}, ev)
	case nhi.OwnerDeparted:
		ev := a.departedOwner(s)
		leaver = &ev
	case nhi.OwnerUnknown:
		a.emit(rules.RuleOwnerUnknown, id, s, on{}, evidence("owner", s.own.Owner, "owner_source", s.own.OwnerSource))
	}
	if s.own.OwnerSource == "role" {
		leaver = a.departedCustodians(id, s, leaver)
	}
	if leaver != nil {
		if n := a.activeStatic(id); n > 0 {
			leaver.Set("credentials_to_rotate", itoa(n))
		}
		a.emit(rules.RuleOwnerDeparted, id, s, on{}, *leaver)
	}
	if s.role != nil && s.role.Team != "" && s.person != nil && !a.departed(s.person) &&
		s.own.OwnerSource == "role" && s.person.Team != "" && !strings.EqualFold(s.person.Team, s.role.Team) {
		a.emit(rules.RuleOwnerMoved, id, s, on{}, evidence(
			"owner", s.person.ID, "owner_team", s.person.Team, "role_team", s.role.Team,
		))
	}
}

// departedOwner is the evidence of an accountable owner who has left.
func (a *analysis) departedOwner(s *subject) evidenceBuilder {
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
	return ev
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

// departedCustodians handles identities whose accountable owner comes
// from the catalog role but whose provider hints (owner tag, Entra owner,
// GitHub added_by or token owner) name a person who has left. The role
// keeps an owner, so the identity is not orphaned, but the leaver may
// still hold its credentials: it is a leaver case, to be reassigned to the
// role's business owner with its credentials rotated (IA-5(i)). It adds
// the custodians who left to the evidence of a departed owner (ev), or
// starts the evidence when the owner is still here; nil when no one left.
func (a *analysis) departedCustodians(id *nhi.Identity, s *subject, ev *evidenceBuilder) *evidenceBuilder {
	var names, sources, left []string
	seen := map[string]bool{}
	add := func(value, source string, p *nhi.Person) {
		key := strings.ToLower(value)
		if p != nil {
			key = p.ID
		}
		if seen[key] {
			return
		}
		seen[key] = true
		names, sources = append(names, key), append(sources, source)
		if p != nil {
			left = append(left, ts(p.Departed))
		} else {
			left = append(left, "not an active account at the provider")
		}
	}
	for _, k := range a.def.OwnerTagKeys {
		if v, ok := id.Tags[k]; ok {
			if p := a.people.lookup(v); p != nil && a.departed(p) {
				add(v, "tag", p)
			}
		}
	}
	for _, h := range id.OwnerHints {
		p := a.people.lookup(h.Value)
		switch {
		case p != nil && a.departed(p):
			add(h.Value, h.Source, p)
		case p == nil && h.Active != nil && !*h.Active:
			add(h.Value, h.Source, nil)
		}
	}
	return custodianEvidence(s, ev, names, sources, left)
}

// custodianEvidence writes the departed custodians into a leaver case's
// evidence: "departed" (or "provider_status") is the custodian's when only
// custodians left, and "custodian_departed" beside the owner's when both
// did. Several custodians are listed in the order found, comma-separated.
func custodianEvidence(s *subject, ev *evidenceBuilder, names, sources, left []string) *evidenceBuilder {
	if len(names) == 0 {
		return ev
	}
	join := func(xs []string) string { return strings.Join(xs, ", ") }
	if ev != nil {
		ev.Set("custodian", join(names))
		ev.Set("custodian_source", join(sources))
		ev.Set("custodian_departed", join(left))
		return ev
	}
	e := evidence("custodian", join(names), "custodian_source", join(sources), "owner", s.own.Owner, "reassign_to", s.own.Owner)
	if len(left) == 1 && !strings.HasPrefix(left[0], "not ") {
		e.Set("departed", left[0])
	} else if len(left) == 1 {
		e.Set("provider_status", left[0])
	} else {
		e.Set("departed", join(left))
	}
	return &e
}
