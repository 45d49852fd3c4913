package analyzer

import (
	"strings"
	"sync"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// OutsideBaseline returns whether an identity holds a grant outside its
// catalog role's baseline (an unmapped or provider-managed identity holds
// none): the collectors' default budget for entitlement usage data. The
// judgement is overprivileged.go's; the function is safe for concurrent
// use.
func OutsideBaseline(cat *catalog.Catalog) func(*nhi.Identity) bool {
	if cat == nil {
		cat = &catalog.Catalog{}
	}
	a := newAnalysis(cat, time.Time{})
	var mu sync.Mutex
	return func(id *nhi.Identity) bool {
		mu.Lock()
		defer mu.Unlock()
		s := a.resolve(id)
		if s.role == nil || s.managed {
			return false
		}
		for i := range id.Grants {
			if !a.allowed(s.roleIdx, id.Provider, &id.Grants[i]).allowed {
				return true
			}
		}
		return false
	}
}

// Unused is the verdict on one grant's use within the tracking window.
type Unused struct {
	// Judged is false when the use cannot be judged; Why says why.
	Judged bool
	Why    string
	// Unused is true when the whole grant was not used within the
	// window; UnusedServices lists, for an AWS policy, the services it
	// allows that were not used (all of them when Unused).
	Unused         bool
	UnusedServices []string
	UsedServices   []string
}

// JudgeUnused decides whether a grant was used within the window ending
// at now. This is the one place that decides it. The grant's use must be
// known (used or never used), its data must cover the whole window and be
// fresh (its end no older than freshness), the identity must be older than
// the window, and the grant older than grace (firstSeen is when the grant
// is known to have existed: its creation time, else the earliest scan
// that saw it; zero when unknown). Otherwise the use is unknown and no
// finding is made. A service used at any time within the window (once a
// quarter is enough) is used.
func JudgeUnused(id *nhi.Identity, g *nhi.Grant, firstSeen, now time.Time, window, grace, freshness time.Duration) Unused {
	u := g.Use
	from := now.Add(-window)
	switch {
	case u == nil:
		return Unused{Why: "no entitlement usage source reported on the grant"}
	case !u.Known():
		return Unused{Why: "entitlement usage unknown" + reasonSuffix(u.Reason)}
	case u.WindowStart.IsZero() || u.WindowStart.After(from):
		return Unused{Why: "the usage data does not cover the whole " + days(window) + "-day window (it starts " + ts(u.WindowStart) + ")"}
	case u.WindowEnd.IsZero() || now.Sub(u.WindowEnd) > freshness:
		return Unused{Why: "the usage data is stale (it ends " + ts(u.WindowEnd) + ")"}
	case id.Created.IsZero() || id.Created.After(from):
		return Unused{Why: "the identity is younger than the " + days(window) + "-day window or its age is unknown"}
	case firstSeen.IsZero() || now.Sub(firstSeen) < grace:
		return Unused{Why: "the grant is younger than the " + days(grace) + "-day grace period or its age is unknown"}
	}
	v := Unused{Judged: true}
	if len(u.Services) == 0 {
		v.Unused = u.State == nhi.UsageNeverUsed || u.LastUsed.Before(from)
		return v
	}
	for _, s := range u.Services {
		if s.LastUsed.IsZero() || s.LastUsed.Before(from) {
			v.UnusedServices = append(v.UnusedServices, s.Service)
		} else {
			v.UsedServices = append(v.UsedServices, s.Service)
		}
	}
	v.Unused = len(v.UsedServices) == 0
	return v
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return ": " + r
}

// unusedRules: grants (or services of AWS policies) not used within the
// tracking window. A grant whose use cannot be judged makes no finding,
// and an earlier finding on it is kept, not resolved.
func (a *analysis) unusedRules(id *nhi.Identity, s *subject) {
	if s.managed || !id.Active() {
		return
	}
	for i := range id.Grants {
		g := &id.Grants[i]
		if g.Use == nil {
			continue
		}
		var v Unused
		if gap := a.identityGap(id, g.Use.Source); gap != nil {
			v.Why = "entitlement usage not read for this identity: " + gap.Source + " " + string(gap.Kind)
		} else {
			v = JudgeUnused(id, g, a.firstSeen(id, g), a.now, a.def.UnusedWindow, a.def.UnusedGrantGrace, a.def.UsageFreshness)
		}
		if !v.Judged {
			a.cannotJudgeGrant(id, g, v.Why)
			continue
		}
		if !v.Unused && len(v.UnusedServices) == 0 {
			continue
		}
		a.emit(rules.RuleUnusedEntitlement, id, s, on{grant: g, usage: g.Use.Source}, a.unusedEvidence(g, v))
	}
}

func (a *analysis) identityGap(id *nhi.Identity, source string) *nhi.Gap {
	if a.cur == nil {
		return nil
	}
	return a.cur.cov.IdentityGap(id.Provider, id.Scope, id.ID, nhi.EntitlementUsageFacet(source))
}

// firstSeen is when the grant is known to have existed: its creation
// time, else when a scan first saw it (nhi.StampFirstSeen), else, when
// the previous scan saw it, that scan's record of it; else zero.
func (a *analysis) firstSeen(id *nhi.Identity, g *nhi.Grant) time.Time {
	if !g.Created.IsZero() {
		return g.Created
	}
	if !g.FirstSeen.IsZero() {
		return g.FirstSeen
	}
	if a.driftSt == nil {
		return time.Time{}
	}
	// The same walk position drift uses: asked for the same identity, the
	// walk does not move.
	p := a.driftSt.previous(id.ID, &a.prevAt)
	if p == nil {
		return time.Time{}
	}
	for i := range p.Grants {
		if p.Grants[i].ID == g.ID {
			pg := &p.Grants[i]
			switch {
			case !pg.Created.IsZero():
				return pg.Created
			case !pg.FirstSeen.IsZero():
				return pg.FirstSeen
			}
			return a.prevCollected
		}
	}
	return time.Time{}
}

func (a *analysis) unusedEvidence(g *nhi.Grant, v Unused) evidenceBuilder {
	u := g.Use
	ev := evidence("entitlement", g.Entitlement, "grant_kind", g.Kind, "scope", g.Scope,
		"source", u.Source, "window_days", days(a.def.UnusedWindow),
		"data_start", ts(u.WindowStart), "data_end", ts(u.WindowEnd),
		"grace_days", days(a.def.UnusedGrantGrace))
	if !u.LastUsed.IsZero() {
		ev.Set("last_used", ts(u.LastUsed))
	} else {
		ev.Set("last_used", "never within the data")
	}
	if len(u.Services) > 0 {
		var per []string
		for _, s := range u.Services {
			last := "never"
			if !s.LastUsed.IsZero() {
				last = ts(s.LastUsed)
			}
			per = append(per, s.Service+"="+last)
		}
		ev.Set("last_use_by_service", strings.Join(per, ";"))
		ev.Set("unused_services", strings.Join(v.UnusedServices, ","))
		if len(v.UsedServices) > 0 {
			ev.Set("used_services", strings.Join(v.UsedServices, ","))
		}
	}
	if v.Unused {
		ev.Set("reduce", "remove-grant")
	} else {
		ev.Set("reduce", "remove-services")
	}
	return ev
}

// cannotJudgeGrant records that unused-entitlement could not be evaluated
// for the grant: a finding it made before is neither confirmed nor
// resolved.
func (a *analysis) cannotJudgeGrant(id *nhi.Identity, g *nhi.Grant, why string) {
	if a.unevaluated == nil {
		a.unevaluated = map[string]nhi.Hidden{}
	}
	a.unevaluated[nhi.Fingerprint(rules.RuleUnusedEntitlement, id.ID, "", g.ID)] = nhi.Hidden{
		Facet: nhi.EntitlementUsageFacet(g.Use.Source), Why: why}
}
