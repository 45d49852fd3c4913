package revoke

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// Input is everything Build needs. Build reads it and never changes it.
type Input struct {
	Stage Stage
	// ScanID is the stored scan the plan is built from (the latest), with
	// its inventory, findings and the analyzer's ownership.
	ScanID    int64
	Inventory *nhi.Inventory
	Findings  []nhi.Finding
	Ownership map[string]nhi.Ownership
	// Catalog gives the protected roles and selectors and the people; nil
	// protects nothing and knows nobody.
	Catalog    *catalog.Catalog
	Campaigns  []CampaignInput
	Policies   Policies
	Guardrails Guardrails
	// History is what earlier plans did (History of their journals): the
	// notices and disables the later stages wait for.
	History []Applied
	// Live holds re-reads of single credentials (by Target.Key) whose
	// usage the scan could not tell, made just before planning; their
	// usage is then a fact of its own, with the re-read's time as as-of.
	Live map[string]State
	// Now is the plan's time; CreatedBy who asked for it.
	Now       time.Time
	CreatedBy string
}

// builder carries what every action of one plan needs.
type builder struct {
	in       *Input
	inv      *nhi.Inventory
	cov      *nhi.Coverage
	ids      map[string]*nhi.Identity
	findings map[string][]string
	history  map[string][]Applied
}

func newBuilder(in *Input) *builder {
	b := &builder{in: in, inv: in.Inventory, ids: map[string]*nhi.Identity{}, findings: map[string][]string{}, history: map[string][]Applied{}}
	if b.inv == nil {
		b.inv = &nhi.Inventory{}
	}
	b.cov = b.inv.Coverage()
	for i := range b.inv.Identities {
		b.ids[b.inv.Identities[i].ID] = &b.inv.Identities[i]
	}
	for i := range in.Findings {
		f := &in.Findings[i]
		if f.Suppressed {
			continue
		}
		k := (&Target{IdentityID: f.IdentityID, CredentialID: f.CredentialID, GrantID: f.GrantID}).Key()
		b.findings[k] = append(b.findings[k], f.Fingerprint)
	}
	for _, h := range in.History {
		k := h.Target.Key()
		b.history[k] = append(b.history[k], h)
	}
	return b
}

// Build builds the plan of one stage from the scan, the campaigns and the
// policies, and applies the guardrails. Every target any source asks for is
// an action: ready, blocked (with every reason) or skipped (nothing to do).
// Actions are sorted by provider, scope, identity, credential and grant,
// and numbered from 1; the caps keep the first ready ones.
func Build(in Input) Plan {
	b := newBuilder(&in)
	cis, sources := campaignIntents(in.Campaigns)
	pis, psources := b.policyIntents()
	merged := merge(append(cis, pis...))
	p := Plan{ScanID: in.ScanID, Stage: in.Stage, ScanAt: b.inv.CollectedAt, CreatedBy: in.CreatedBy, CreatedAt: in.Now,
		Guardrails: in.Guardrails, Policies: in.Policies, Sources: append(sources, psources...), Actions: []Action{}}
	for _, m := range merged {
		p.Actions = append(p.Actions, b.action(m))
	}
	slices.SortFunc(p.Actions, func(x, y Action) int {
		return cmp.Or(cmp.Compare(x.Provider, y.Provider), cmp.Compare(x.Scope, y.Scope), cmp.Compare(x.IdentityID, y.IdentityID),
			cmp.Compare(x.CredentialID, y.CredentialID), cmp.Compare(x.GrantID, y.GrantID))
	})
	for i := range p.Actions {
		p.Actions[i].ID = i + 1
	}
	applyCaps(p.Actions, in.Guardrails)
	return p
}

// merged is every intent on one target.
type merged struct {
	target          Target
	want            Want
	reasons         []Reason
	facts           []Fact
	blocks          []Block
	unblocked       bool
	usage, ownedOut bool
}

// merge joins the intents on each target: one action with every reason. A
// revoke outweighs a disable. A source's own block (an open campaign)
// blocks only when no other source asks without one.
func merge(ins []intent) []*merged {
	byKey := map[string]*merged{}
	var out []*merged
	slices.SortStableFunc(ins, func(x, y intent) int {
		return cmp.Or(cmp.Compare(x.target.Key(), y.target.Key()), cmp.Compare(x.reason.Ref, y.reason.Ref))
	})
	for _, in := range ins {
		k := in.target.Key()
		m := byKey[k]
		if m == nil {
			m = &merged{target: in.target, want: in.want}
			byKey[k] = m
			out = append(out, m)
		}
		if in.want == WantRevoke {
			m.want = WantRevoke
		}
		fillTarget(&m.target, &in.target)
		m.reasons = append(m.reasons, in.reason)
		m.facts = append(m.facts, in.facts...)
		m.usage = m.usage || in.usage
		m.ownedOut = m.ownedOut || in.ownership
		if in.block != nil {
			m.blocks = append(m.blocks, *in.block)
		} else {
			m.unblocked = true
		}
	}
	return out
}

// fillTarget copies what t lacks from u.
func fillTarget(t, u *Target) {
	for _, f := range []struct{ dst, src *string }{
		{&t.IdentityName, &u.IdentityName}, {&t.NativeID, &u.NativeID}, {&t.Entitlement, &u.Entitlement}, {&t.Scope, &u.Scope},
	} {
		if *f.dst == "" {
			*f.dst = *f.src
		}
	}
	if t.IdentityKind == "" {
		t.IdentityKind = u.IdentityKind
	}
	if t.CredentialType == "" {
		t.CredentialType = u.CredentialType
	}
	if t.Provider == "" {
		t.Provider = u.Provider
	}
}

// action builds one target's action: the target as the scan has it, what
// the plan expects of it, its stage operation, and the guardrails.
func (b *builder) action(m *merged) Action {
	a := Action{Target: m.target, Want: m.want, Reasons: m.reasons, Facts: m.facts}
	if !m.unblocked {
		a.Blocked = append(a.Blocked, m.blocks...)
	}
	id, c, g, ok := b.resolve(&a)
	if !ok {
		return a
	}
	a.Owner = b.owner(id)
	a.Findings = b.findings[a.Target.Key()]
	b.expect(&a, id, c, g)
	a.Facets = b.facets(&a, id, c, m)
	b.stage(&a, id)
	b.guard(&a, id, m)
	return a
}

// resolve finds the target in the scan. A target the scan does not hold
// is gone (skipped) when the scan observed where it would be, and blocked
// when it did not: a gap never says a target is gone.
func (b *builder) resolve(a *Action) (*nhi.Identity, *nhi.Credential, *nhi.Grant, bool) {
	id, ok := b.ids[a.IdentityID]
	if !ok {
		b.absent(a, nhi.IdentitiesFacet(a.IdentityKind), "identity")
		return nil, nil, nil, false
	}
	a.Provider, a.Scope, a.IdentityName, a.IdentityKind, a.NativeID = id.Provider, id.Scope, id.Name, id.Kind, id.NativeID
	var c *nhi.Credential
	if a.CredentialID != "" {
		cr, ok := id.Credential(a.CredentialID)
		if !ok {
			b.absent(a, nhi.CredentialsFacet(a.CredentialType), "credential")
			return nil, nil, nil, false
		}
		c = cr
		a.CredentialType = c.Type
	}
	var g *nhi.Grant
	if a.GrantID != "" {
		for i := range id.Grants {
			if id.Grants[i].ID == a.GrantID {
				g = &id.Grants[i]
			}
		}
		if g == nil {
			b.absent(a, nhi.FacetGrants, "grant")
			return nil, nil, nil, false
		}
		a.Entitlement, a.GrantKind = g.Entitlement, g.Kind
	}
	return id, c, g, true
}

func (b *builder) absent(a *Action, f nhi.Facet, what string) {
	if gap, why := b.cov.Why(a.Provider, a.Scope, f); why != "" {
		a.Blocked = append(a.Blocked, Block{Guard: GuardCoverage,
			Why: fmt.Sprintf("the %s is not in scan %d, which did not observe %s there (%s)", what, b.in.ScanID, f, gapWhy(gap, why))})
		return
	}
	a.Skip = fmt.Sprintf("gone: the %s is not in scan %d, which observed %s", what, b.in.ScanID, f)
}

func gapWhy(g *nhi.Gap, why string) string {
	if g == nil {
		return why
	}
	s := g.Source + " " + string(g.Kind)
	if g.Detail != "" {
		s += ": " + g.Detail
	}
	return s
}

// owner is who the notify stage tells: the resolved owner, their manager
// when they left, or the technical owner when it is a person.
func (b *builder) owner(id *nhi.Identity) string {
	o := b.in.Ownership[id.ID]
	people := map[string]nhi.Person{}
	if b.in.Catalog != nil {
		people = b.in.Catalog.People
	}
	switch {
	case o.Owner != "" && o.OwnerStatus == nhi.OwnerDeparted:
		if p, ok := people[strings.ToLower(o.Owner)]; ok && p.Manager != "" {
			return p.Manager
		}
	case o.Owner != "":
		return o.Owner
	}
	if strings.Contains(o.TechnicalOwner, "@") {
		return o.TechnicalOwner
	}
	return ""
}

// expect records the target's state in the scan, which apply compares the
// re-read with, and the facts it rests on.
func (b *builder) expect(a *Action, id *nhi.Identity, c *nhi.Credential, g *nhi.Grant) {
	scan := b.in.ScanID
	at := b.inv.CollectedAt
	e := Expect{ID: id.NativeID, Status: id.Status, Created: id.Created, Usage: id.Usage}
	subject := "identity"
	facet := nhi.IdentitiesFacet(id.Kind)
	if c != nil {
		e = Expect{ID: c.ID, Status: c.Status, Created: c.Created, Usage: c.Usage}
		subject, facet = "credential", nhi.CredentialsFacet(c.Type)
	}
	if g != nil {
		a.Facts = append(a.Facts, Fact{Name: "grant", Value: g.Entitlement + " @ " + g.Scope, Source: string(nhi.GrantsFacet(g.Kind)), ScanID: scan, AsOf: at})
		// A reduce acts on the grant: apply re-reads the grant (present,
		// by its id), not the identity's use.
		e = Expect{ID: g.ID, Status: nhi.StatusActive, Usage: nhi.Usage{State: nhi.UsageNotReported, Reason: "a grant's use is not re-read"}}
		subject, facet = "grant", nhi.GrantsFacet(g.Kind)
		if u := g.Use; u != nil {
			a.Facts = append(a.Facts, Fact{Name: "grant use", Value: grantUseText(u), Source: string(nhi.EntitlementUsageFacet(u.Source)), ScanID: scan, AsOf: u.WindowEnd})
		}
	}
	a.Facts = append(a.Facts, Fact{Name: subject + " status", Value: string(e.Status), Source: string(facet), ScanID: scan, AsOf: at})
	if !e.Created.IsZero() {
		a.Facts = append(a.Facts, Fact{Name: subject + " created", Value: e.Created.UTC().Format(time.RFC3339), Source: string(facet), ScanID: scan, AsOf: at})
	}
	if live, ok := b.in.Live[a.Target.Key()]; ok && live.Exists && live.Usage.Known() && !e.Usage.Known() {
		e.Usage = live.Usage
		a.Facts = append(a.Facts, Fact{Name: "last use", Value: usageText(live.Usage), Source: "live re-read: " + live.Usage.Source, AsOf: live.Usage.AsOf})
	} else {
		a.Facts = append(a.Facts, Fact{Name: "last use", Value: usageText(e.Usage), Source: usageSource(e.Usage), ScanID: scan, AsOf: e.Usage.AsOf})
	}
	a.Expect = e
}

func grantUseText(u *nhi.GrantUse) string {
	s := string(u.State)
	if !u.LastUsed.IsZero() {
		s += " " + u.LastUsed.UTC().Format(time.RFC3339)
	}
	if !u.WindowStart.IsZero() {
		s += " (data from " + u.WindowStart.UTC().Format(time.RFC3339) + ")"
	}
	return s
}

func usageSource(u nhi.Usage) string {
	if u.Source == "" {
		return ""
	}
	return string(nhi.UsageFacet(u.Source))
}

func usageText(u nhi.Usage) string {
	switch u.State {
	case nhi.UsageUsed:
		return "used " + u.LastUsed.UTC().Format(time.RFC3339)
	case nhi.UsageNeverUsed:
		return "never used"
	}
	s := string(u.State)
	if u.State == "" {
		s = "unknown"
	}
	if u.Reason != "" {
		s += ": " + u.Reason
	}
	return s
}

// facets are what the action depends on in its scope: the identity list of
// its kind, its credential type, the usage source of its last use in the
// scan (even when a live re-read gave the use: a gap on the source still
// blocks), and the owner data when the owner is the reason.
func (b *builder) facets(a *Action, id *nhi.Identity, c *nhi.Credential, m *merged) []nhi.Facet {
	fs := []nhi.Facet{nhi.IdentitiesFacet(id.Kind)}
	u := id.Usage
	if c != nil {
		fs = append(fs, nhi.CredentialsFacet(c.Type))
		u = c.Usage
	}
	if a.GrantID != "" {
		for _, g := range id.Grants {
			if g.ID == a.GrantID {
				fs = append(fs, nhi.GrantsFacet(g.Kind))
				if g.Use != nil {
					// Why the grant goes: its use within the window.
					fs = append(fs, nhi.EntitlementUsageFacet(g.Use.Source))
				}
			}
		}
	}
	if u.Source != "" {
		fs = append(fs, nhi.UsageFacet(u.Source))
	}
	if m.ownedOut {
		if _, why := b.cov.Why(id.Provider, id.Scope, nhi.FacetOwnership); why != nhi.WhyNotRead {
			fs = append(fs, nhi.FacetOwnership)
		}
	}
	slices.Sort(fs)
	return slices.Compact(fs)
}
