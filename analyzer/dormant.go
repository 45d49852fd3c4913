package analyzer

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
)

func (a *analysis) dormantWindow(s *subject) time.Duration {
	if s.role != nil && s.role.Credentials.DormantAfter > 0 {
		return s.role.Credentials.DormantAfter
	}
	return a.def.DormantAfter
}

// usageEvidence describes a usage fact, and whether it is stale. A known
// fact (used, never used) always names its source and as-of time, "unknown"
// when the inventory does not say; a fact whose freshness cannot be shown
// is stale, so no revocation acts on it (field-anchors B9 fails closed).
func (a *analysis) usageEvidence(u nhi.Usage) (evidenceBuilder, bool) {
	ev := evidence("usage_state", string(u.State))
	if u.Source != "" {
		ev.Set("usage_source", u.Source)
	} else if u.Known() {
		ev.Set("usage_source", "unknown")
	}
	if !u.LastUsed.IsZero() {
		ev.Set("last_used", a.ts(u.LastUsed))
	}
	switch {
	case !u.AsOf.IsZero():
		ev.Set("usage_as_of", a.ts(u.AsOf))
	case u.Known():
		ev.Set("usage_as_of", "unknown")
	}
	stale := a.usageStale(u)
	if stale {
		ev.Set("stale", "true")
		ev.Set("freshness_threshold_days", days(a.def.UsageFreshness))
	}
	return ev, stale
}

// usageStale reports whether usage data is older than the freshness
// threshold, or of unknown age.
func (a *analysis) usageStale(u nhi.Usage) bool {
	if !u.AsOf.IsZero() {
		return a.now.Sub(u.AsOf) > a.def.UsageFreshness
	}
	return u.Known()
}

// staler reports whether usage u is less fresh than v: no as-of time at
// all, else an older one.
func staler(u, v nhi.Usage) bool {
	if u.AsOf.IsZero() || v.AsOf.IsZero() {
		return u.AsOf.IsZero() && !v.AsOf.IsZero()
	}
	return u.AsOf.Before(v.AsOf)
}

// usageRules: dormant, never used, usage unknown, stale usage data.
// Disabled or expired identities and credentials are contained, not dormant.
// Usage the provider does not report, or that could not be read, is an
// informational finding and never "dormant".
func (a *analysis) usageRules(id *nhi.Identity, s *subject) {
	window := a.dormantWindow(s)
	var us usageFacts
	if id.Status == nhi.StatusActive {
		// Identity-level usage, unless the provider does not report it and
		// the credentials' usage speaks for the identity. Unknown usage (a
		// failed source, a documented blind spot such as API keys or
		// domain-wide delegation) is always reported, even when some
		// credentials' usage is known: the identity may be used another way.
		if !(id.Usage.State == nhi.UsageNotReported && a.credentialUsageKnown(id)) {
			a.checkUsage(&us, id, s, nil, window)
		}
		for i := range id.Credentials {
			c := &id.Credentials[i]
			if !a.credActive(c) || c.ProviderRotated {
				continue
			}
			a.checkUsage(&us, id, s, c, window)
		}
	}
	if (id.Status == nhi.StatusDisabled || id.Status == nhi.StatusSuspended) && !s.managed {
		a.lingering(id, s, window)
	}
	a.usageUnknown(id, s, &us)
	if us.isStale {
		ev, _ := a.usageEvidence(nhi.Usage{State: us.stale.State, Source: us.stale.Source, AsOf: us.stale.AsOf})
		a.emit(rules.RuleUsageStale, id, s, on{usage: us.stale.Source}, ev)
	}
}

// usageFacts gathers, over one identity, what usage-unknown and
// usage-data-stale report.
type usageFacts struct {
	unknown, unknownSrc []string
	unknownAsOf         time.Time
	stale               nhi.Usage // the stalest usage fact a finding could rest on
	isStale             bool
}

func (us *usageFacts) noteStale(u *nhi.Usage, st bool) {
	if st && (!us.isStale || staler(*u, us.stale)) {
		us.stale, us.isStale = *u, true
	}
}

func (us *usageFacts) noteUnknown(u *nhi.Usage, what string) {
	reason := string(u.State)
	if u.Reason != "" {
		reason += ": " + u.Reason
	}
	if u.Source != "" {
		reason += "; source " + u.Source
		us.unknownSrc = append(us.unknownSrc, u.Source)
	}
	if !u.AsOf.IsZero() {
		reason += " as of " + ts(u.AsOf)
		if us.unknownAsOf.IsZero() || u.AsOf.Before(us.unknownAsOf) {
			us.unknownAsOf = u.AsOf
		}
	}
	us.unknown = append(us.unknown, what+" ("+reason+")")
}

// checkUsage judges one usage fact: the identity's (c nil) or one active
// credential's.
func (a *analysis) checkUsage(us *usageFacts, id *nhi.Identity, s *subject, c *nhi.Credential, window time.Duration) {
	u, created, dormantRule, neverRule := id.Usage, id.Created, rules.RuleDormantIdentity, rules.RuleNeverUsedIdentity
	if c != nil {
		u, created, dormantRule, neverRule = c.Usage, c.Created, rules.RuleDormantCredential, rules.RuleNeverUsedCred
	}
	switch u.State {
	case nhi.UsageUsed:
		us.noteStale(&u, a.usageStale(u))
		if idle := a.now.Sub(u.LastUsed); idle > window {
			ev, _ := a.usageEvidence(u)
			ev.Set("days_unused", days(idle))
			ev.Set("dormant_after_days", days(window))
			a.emit(dormantRule, id, s, on{cred: c, usage: u.Source}, ev)
		}
	case nhi.UsageNeverUsed:
		us.noteStale(&u, a.usageStale(u))
		if created.IsZero() {
			return // no creation time: the grace period cannot be applied
		}
		if age := a.now.Sub(created); age > a.def.NeverUsedGrace {
			ev, _ := a.usageEvidence(u)
			ev.Set("created", a.ts(created))
			ev.Set("age_days", days(age))
			ev.Set("never_used_grace_days", days(a.def.NeverUsedGrace))
			a.emit(neverRule, id, s, on{cred: c, usage: u.Source}, ev)
		}
	default:
		what := "identity"
		if c != nil {
			what = "credential " + c.ID
		}
		us.noteUnknown(&u, what)
		if u.State == nhi.UsageUnknown {
			a.cannotEvaluate(id, c, u, dormantRule, neverRule)
		}
	}
}

// cannotEvaluate records that the usage rules could not be evaluated for
// the identity (c nil) or one credential: its usage is unknown now, so a
// finding those rules made before is neither confirmed nor resolved. Stale
// usage data cannot be judged either.
func (a *analysis) cannotEvaluate(id *nhi.Identity, c *nhi.Credential, u nhi.Usage, ruleIDs ...string) {
	if a.unevaluated == nil {
		a.unevaluated = map[string]nhi.Hidden{}
	}
	h := nhi.Hidden{Why: "usage unknown"}
	if u.Source != "" {
		h.Facet = nhi.UsageFacet(u.Source)
	}
	if u.Reason != "" {
		h.Why += ": " + u.Reason
	}
	credID := ""
	if c != nil {
		credID = c.ID
	}
	for _, r := range append(ruleIDs, rules.RuleUsageStale) {
		cid := credID
		if r == rules.RuleUsageStale || r == rules.RuleDisabledLingering {
			cid = "" // identity-level rules
		}
		a.unevaluated[nhi.Fingerprint(r, id.ID, cid, "")] = h
	}
}

// usageUnknown reports the usage facts of the identity that are not known
// (not reported, or unknown). It reads the identity, not the usage data:
// a usage source that failed is exactly what it reports.
func (a *analysis) usageUnknown(id *nhi.Identity, s *subject, us *usageFacts) {
	if len(us.unknown) == 0 {
		return
	}
	sort.Strings(us.unknown)
	ev := evidence("unknown", strings.Join(us.unknown, "; "))
	if len(us.unknownSrc) > 0 {
		sort.Strings(us.unknownSrc)
		ev.Set("usage_source", strings.Join(slices.Compact(us.unknownSrc), ","))
	}
	if !us.unknownAsOf.IsZero() {
		ev.Set("usage_as_of", ts(us.unknownAsOf))
	}
	a.emit(rules.RuleUsageUnknown, id, s, on{}, ev)
}

func (a *analysis) credentialUsageKnown(id *nhi.Identity) bool {
	for i := range id.Credentials {
		if a.credActive(&id.Credentials[i]) && id.Credentials[i].Usage.Known() {
			return true
		}
	}
	return false
}

// lingering lists a contained (disabled or suspended) identity for deletion
// once its last use, or its creation when it was never used, is older than
// the dormancy window (field-anchors B4: contained, not dormant, but still
// listed for deletion). Unknown usage never counts as unused.
func (a *analysis) lingering(id *nhi.Identity, s *subject, window time.Duration) {
	var since time.Time
	switch id.Usage.State {
	case nhi.UsageUsed:
		since = id.Usage.LastUsed
	case nhi.UsageNeverUsed:
		since = id.Created
	case nhi.UsageUnknown:
		a.cannotEvaluate(id, nil, id.Usage, rules.RuleDisabledLingering)
	}
	if since.IsZero() || a.now.Sub(since) <= window {
		return
	}
	ev, _ := a.usageEvidence(id.Usage)
	ev.Set("status", string(id.Status))
	ev.Set("days_since", days(a.now.Sub(since)))
	ev.Set("dormant_after_days", days(window))
	if id.Usage.State == nhi.UsageNeverUsed {
		ev.Set("created", ts(id.Created))
	}
	a.emit(rules.RuleDisabledLingering, id, s, on{usage: id.Usage.Source}, ev)
}
