package analyzer

import (
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/privilege"
	"github.com/nhiscan/nhiscan/rules"
)

// grantRules: grants outside the role's baseline, and privileged grants no
// role explicitly allows.
func (a *analysis) grantRules(id *nhi.Identity, s *subject) {
	if s.managed {
		return
	}
	roleIdx := s.roleIdx
	for i := range id.Grants {
		g := &id.Grants[i]
		priv, why := privilege.Effective(id.Provider, g)
		var allow allowance
		if roleIdx >= 0 {
			allow = a.allowed(roleIdx, id.Provider, g)
		}
		if !(priv && !allow.privileged) && !(s.role != nil && !allow.allowed) {
			continue
		}
		ev := evidence("entitlement", g.Entitlement, "scope", g.Scope, "privilege", string(g.Privilege), "grant_kind", g.Kind)
		if g.Via != "" {
			ev.Set("via", g.Via)
		}
		switch {
		case priv && !allow.privileged:
			ev.Set("reason", why)
			if s.role != nil {
				ev.Set("role", s.role.ID)
				if allow.allowed {
					ev.Set("baseline", "matches the baseline but not as privileged")
				} else {
					ev.Set("baseline", "outside the baseline")
				}
			} else {
				ev.Set("baseline", "no role")
			}
			a.emit(rules.RulePrivilegedGrant, id, s, on{grant: g}, ev)
		case s.role != nil && !allow.allowed:
			ev.Set("role", s.role.ID)
			a.emit(rules.RuleOutsideBaseline, id, s, on{grant: g}, ev)
		}
	}
}
