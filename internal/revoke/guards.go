package revoke

import (
	"fmt"
	"time"

	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// guard applies the guardrails that depend on the target alone; the caps,
// which depend on the plan's order, come after (applyCaps). Every guard
// that fails adds its reason: a blocked action lists them all.
func (b *builder) guard(a *Action, id *nhi.Identity, m *merged) {
	b.coverage(a)
	b.freshness(a, m)
	b.protected(a, id)
	b.minAge(a, id)
}

// coverage blocks an action when its scan did not observe a facet it
// depends on: a gap hides it (in the scope, or for its identity alone), the
// collector does not read it there, or the scope was not collected at all.
func (b *builder) coverage(a *Action) {
	for _, f := range a.Facets {
		if g, why := b.cov.Why(a.Provider, a.Scope, f); why != "" {
			a.Blocked = append(a.Blocked, Block{Guard: GuardCoverage,
				Why: fmt.Sprintf("scan %d did not observe %s in %s %s: %s", b.in.ScanID, f, a.Provider, a.Scope, gapWhy(g, why))})
		} else if g := b.cov.IdentityGap(a.Provider, a.Scope, a.IdentityID, f); g != nil {
			a.Blocked = append(a.Blocked, Block{Guard: GuardCoverage,
				Why: fmt.Sprintf("scan %d did not observe %s for this identity: %s", b.in.ScanID, f, gapWhy(g, ""))})
		}
	}
}

// freshness blocks an action whose scan, or whose last-use fact, is older
// than the threshold, or whose last use has no as-of time at all (field
// anchor B9 fails closed). A target whose use the provider does not report
// has no usage fact to be stale; the dormant policy never picks one.
func (b *builder) freshness(a *Action, m *merged) {
	limit := b.in.Guardrails.Freshness
	if limit <= 0 {
		return
	}
	if at := b.inv.CollectedAt; at.IsZero() || b.in.Now.Sub(at) > limit {
		a.Blocked = append(a.Blocked, Block{Guard: GuardFreshness, Why: fmt.Sprintf(
			"scan %d was collected %s, more than %s before the plan: scan again", b.in.ScanID, stamp(at), duration.Format(limit))})
	}
	u := a.Expect.Usage
	switch {
	case !u.Known() && m.usage:
		a.Blocked = append(a.Blocked, Block{Guard: GuardFreshness, Why: "its last use is unknown: " + usageText(u)})
	case !u.Known():
	case u.AsOf.IsZero():
		a.Blocked = append(a.Blocked, Block{Guard: GuardFreshness, Why: "its last use (" + usageText(u) + ") has no as-of time: its freshness cannot be shown"})
	case b.in.Now.Sub(u.AsOf) > limit:
		a.Blocked = append(a.Blocked, Block{Guard: GuardFreshness, Why: fmt.Sprintf(
			"its usage data (%s) is as of %s, more than %s before the plan", u.Source, stamp(u.AsOf), duration.Format(limit))})
	}
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "at an unknown time"
	}
	return t.UTC().Format(time.RFC3339)
}

// protected blocks every action on a provider-managed identity and on one
// the catalog protects.
func (b *builder) protected(a *Action, id *nhi.Identity) {
	if id.ProviderManaged {
		a.Blocked = append(a.Blocked, Block{Guard: GuardProtected, Why: "provider-managed: the provider owns it"})
	}
	if b.in.Catalog == nil {
		return
	}
	if why, ok := b.in.Catalog.Protects(id, b.in.Ownership[id.ID].RoleID); ok {
		a.Blocked = append(a.Blocked, Block{Guard: GuardProtected, Why: why + " in the catalog"})
	}
}

// minAge blocks an action on an identity younger than the minimum age, or
// whose age is unknown.
func (b *builder) minAge(a *Action, id *nhi.Identity) {
	min := b.in.Guardrails.MinIdentityAge
	if min <= 0 {
		return
	}
	switch {
	case id.Created.IsZero():
		a.Blocked = append(a.Blocked, Block{Guard: GuardMinAge, Why: "the identity's creation time is unknown, so its age cannot be shown to exceed " + duration.Format(min)})
	case b.in.Now.Sub(id.Created) < min:
		a.Blocked = append(a.Blocked, Block{Guard: GuardMinAge, Why: fmt.Sprintf(
			"the identity was created %s, less than %s before the plan", stamp(id.Created), duration.Format(min))})
	}
}

// applyCaps blocks the ready actions beyond the caps, in plan order: at
// most MaxPerRun in the plan and MaxPerScope in any one scope.
func applyCaps(actions []Action, g Guardrails) {
	total, perScope := 0, map[string]int{}
	for i := range actions {
		a := &actions[i]
		if !a.Ready() {
			continue
		}
		k := string(a.Provider) + " " + a.Scope
		switch {
		case g.MaxPerRun > 0 && total >= g.MaxPerRun:
			a.Blocked = append(a.Blocked, Block{Guard: GuardCap, Why: fmt.Sprintf("the plan already holds %d ready actions (max_per_run): plan again after applying", g.MaxPerRun)})
		case g.MaxPerScope > 0 && perScope[k] >= g.MaxPerScope:
			a.Blocked = append(a.Blocked, Block{Guard: GuardCap, Why: fmt.Sprintf("the plan already holds %d ready actions in %s (max_per_scope)", g.MaxPerScope, k)})
		default:
			total++
			perScope[k]++
		}
	}
}
