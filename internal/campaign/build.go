package campaign

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/privilege"
	"github.com/nhiscan/nhiscan/rules"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// BuildInput is what the items of a campaign are built from: one stored
// scan (its inventory, the analyzer's ownership and its findings), the last
// certification, the catalog, the filter and the deadlines.
type BuildInput struct {
	Inventory nhi.Inventory
	// Ownership is the analyzer's role and owner resolution by identity id.
	Ownership map[string]nhi.Ownership
	// Findings are every finding of the scan (suppressed ones included).
	Findings []nhi.Finding
	// Certification is the last certified state; nil when never certified.
	Certification *nhi.Certification
	// Catalog gives the roles' purposes and the people (nil: none).
	Catalog *catalog.Catalog
	Filter  Filter
	// Now is the evaluation time (who has left by then).
	Now time.Time
	// Deadline is every item's deadline; LeaverDeadline that of leaver
	// items and their credentials and grants (zero: Deadline).
	Deadline, LeaverDeadline time.Time
}

// Build returns the campaign's items, unrouted (Reviewer is empty), in item
// order with IDs from 1: for each identity the filter keeps (by provider,
// scope and id), its identity or leaver item (the owner, or a person who
// holds its credentials, has left), then a credential item per
// credential and a grant item per grant. Provider-managed identities
// (service-linked roles, Google service agents, Microsoft first-party
// principals) are items only when the filter asks for them: nobody in the
// organisation can decide on them.
func Build(in BuildInput) []Item {
	// A normalised copy: credentials and grants sorted by id, times UTC.
	in.Inventory = in.Inventory.Clone()
	in.Inventory.Normalize()
	b := newBuilder(in)
	ids := slices.Clone(in.Inventory.Identities)
	slices.SortFunc(ids, func(x, y nhi.Identity) int {
		return cmp.Or(cmp.Compare(x.Provider, y.Provider), cmp.Compare(x.Scope, y.Scope), cmp.Compare(x.ID, y.ID))
	})
	var items []Item
	for i := range ids {
		id := &ids[i]
		if (id.ProviderManaged && !in.Filter.ProviderManaged) || !b.keep(id) {
			continue
		}
		items = b.identityItems(items, id)
	}
	return items
}

type builder struct {
	in       BuildInput
	cov      *nhi.Coverage
	people   People
	roles    map[string]*catalog.Role
	findings map[string][]nhi.Finding // by identity id
	// unobserved cells of the coverage matrix by provider and scope, and
	// the facets hidden for one identity only (its gaps), by identity id.
	unobserved   map[string][]nhi.FacetStatus
	identityGaps map[string][]nhi.FacetStatus
}

func newBuilder(in BuildInput) *builder {
	b := &builder{in: in, cov: in.Inventory.Coverage(), roles: map[string]*catalog.Role{},
		findings: map[string][]nhi.Finding{}, unobserved: map[string][]nhi.FacetStatus{}, identityGaps: map[string][]nhi.FacetStatus{}}
	if in.Catalog != nil {
		b.people = NewPeople(in.Catalog.People)
		for i := range in.Catalog.Roles {
			r := &in.Catalog.Roles[i]
			b.roles[r.ID] = r
		}
	}
	for _, f := range in.Findings {
		b.findings[f.IdentityID] = append(b.findings[f.IdentityID], f)
	}
	for _, c := range b.cov.Matrix(&in.Inventory) {
		if !c.Observed {
			k := string(c.Provider) + "\x00" + c.Scope
			b.unobserved[k] = append(b.unobserved[k], c)
		}
	}
	for i := range in.Inventory.Gaps {
		g := &in.Inventory.Gaps[i]
		if g.Identity == "" {
			continue
		}
		for _, f := range g.Hides() {
			b.identityGaps[g.Identity] = append(b.identityGaps[g.Identity], nhi.FacetStatus{Provider: g.Provider, Scope: g.Scope, Facet: f, Gap: g,
				Why: "for this identity only: " + g.Source + " " + string(g.Kind)})
		}
	}
	return b
}

func (b *builder) ownership(id string) nhi.Ownership {
	o := b.in.Ownership[id]
	if o.OwnerStatus == "" {
		o.OwnerStatus = nhi.OwnerUnknown
		if o.Owner == "" {
			o.OwnerStatus = nhi.OwnerNone
		}
	}
	return o
}

// keep applies the filter to one identity.
func (b *builder) keep(id *nhi.Identity) bool {
	f := b.in.Filter
	o := b.ownership(id.ID)
	switch {
	case len(f.Providers) > 0 && !slices.Contains(f.Providers, id.Provider):
		return false
	case len(f.Scopes) > 0 && !slices.ContainsFunc(f.Scopes, func(g string) bool { return catalog.Glob(g, id.Scope) }):
		return false
	case len(f.Roles) > 0 && !slices.Contains(f.Roles, o.RoleID):
		return false
	case len(f.Owners) > 0 && !slices.ContainsFunc(f.Owners, func(w string) bool { return strings.EqualFold(w, o.Owner) }):
		return false
	case f.LeaversOnly && b.leaver(id, o) == nil:
		return false
	case f.PrivilegedOnly && privilegedGrants(id) == 0:
		return false
	}
	open := 0
	families := map[string]bool{}
	for _, x := range b.findings[id.ID] {
		if !x.Suppressed {
			open++
			families[x.Family] = true
		}
	}
	if f.WithFindingsOnly && open == 0 {
		return false
	}
	if len(f.Families) > 0 && !slices.ContainsFunc(f.Families, func(fam string) bool { return families[fam] }) {
		return false
	}
	return true
}

func privilegedGrants(id *nhi.Identity) int {
	n := 0
	for i := range id.Grants {
		if p, _ := privilege.Effective(id.Provider, &id.Grants[i]); p {
			n++
		}
	}
	return n
}

// identityItems appends the identity's item and its children's.
func (b *builder) identityItems(items []Item, id *nhi.Identity) []Item {
	o := b.ownership(id.ID)
	fs := b.findings[id.ID]
	deadline := b.in.Deadline
	kind := KindIdentity
	leaver := b.leaver(id, o)
	if leaver != nil {
		kind = KindLeaver
		if !b.in.LeaverDeadline.IsZero() {
			deadline = b.in.LeaverDeadline
		}
	}
	head := Item{ID: len(items) + 1, Kind: kind, Provider: id.Provider, Scope: id.Scope,
		IdentityID: id.ID, IdentityName: id.Name, IdentityKind: id.Kind, Deadline: deadline}
	ctx := b.roleContext(o)
	ctx.Status, ctx.Created = string(id.Status), id.Created
	ctx.Credentials, ctx.Grants, ctx.PrivilegedGrants = len(id.Credentials), len(id.Grants), privilegedGrants(id)
	ctx.Privileged = ctx.PrivilegedGrants > 0
	if ctx.Privileged {
		ctx.PrivilegedReason = fmt.Sprintf("holds %d privileged grant(s)", ctx.PrivilegedGrants)
	}
	ctx.Baseline = b.identityBaseline(id, o, fs)
	// The identity item shows its own findings and those on credentials or
	// grants that are no longer there (a removed key's drift finding).
	present := map[string]bool{}
	for i := range id.Credentials {
		present["c\x00"+id.Credentials[i].ID] = true
	}
	for i := range id.Grants {
		present["g\x00"+id.Grants[i].ID] = true
	}
	ctx.Findings = refs(fs, func(f *nhi.Finding) bool {
		return (f.CredentialID == "" || !present["c\x00"+f.CredentialID]) && (f.GrantID == "" || !present["g\x00"+f.GrantID])
	})
	ctx.Reduce = reduceOffer(fs, func(string) bool { return true })
	ctx.LastUse = b.lastUse(id.Provider, id.Scope, id.Usage)
	ctx.Drift = b.identityDrift(id)
	ctx.Gaps = b.gaps(id, func(f nhi.Facet) bool { return identityFacet(id, f) })
	ctx.RequiresJustification = ctx.Privileged || slices.ContainsFunc(fs, func(f nhi.Finding) bool { return !f.Suppressed })
	ctx.Leaver = leaver
	head.Context = ctx
	items = append(items, head)

	for ci := range id.Credentials {
		items = append(items, b.credentialItem(len(items)+1, &head, id, &id.Credentials[ci], fs))
	}
	for gi := range id.Grants {
		items = append(items, b.grantItem(len(items)+1, &head, id, &id.Grants[gi], fs))
	}
	return items
}

// roleContext is the role, purpose and owners every item of an identity
// shares.
func (b *builder) roleContext(o nhi.Ownership) Context {
	c := Context{Role: o.RoleID, Team: o.Team, Owner: o.Owner, OwnerSource: o.OwnerSource,
		OwnerStatus: o.OwnerStatus, TechnicalOwner: o.TechnicalOwner}
	if r := b.roles[o.RoleID]; r != nil {
		c.Purpose = r.Purpose
		if c.Team == "" {
			c.Team = r.Team
		}
	}
	return c
}

func (b *builder) credentialItem(n int, head *Item, id *nhi.Identity, c *nhi.Credential, fs []nhi.Finding) Item {
	it := Item{ID: n, ParentID: head.ID, Kind: KindCredential, Provider: id.Provider, Scope: id.Scope,
		IdentityID: id.ID, IdentityName: id.Name, IdentityKind: id.Kind, Deadline: head.Deadline,
		CredentialID: c.ID, CredentialType: c.Type, CredentialName: c.Name}
	ctx := b.roleContext(b.ownership(id.ID))
	ctx.Status, ctx.Created, ctx.Expires = string(c.Status), c.Created, c.Expires
	ctx.Privileged, ctx.PrivilegedReason = head.Context.Privileged, head.Context.PrivilegedReason
	mine := func(f *nhi.Finding) bool { return f.CredentialID == c.ID }
	ctx.Findings = refs(fs, mine)
	ctx.LastUse = b.lastUse(id.Provider, id.Scope, c.Usage)
	ctx.Drift = b.memberDrift(id.ID, c.ID, func(cert *nhi.Certification) ([]string, bool) {
		v, ok := cert.Credentials[id.ID]
		if _, certified := cert.Grants[id.ID]; certified {
			ok = true // certified with no credentials
		}
		return v, ok
	})
	ctx.Gaps = b.gaps(id, func(f nhi.Facet) bool {
		return coversSubject(f, nhi.FacetCredentials, string(c.Type)) || coversSubject(f, nhi.FacetUsage, c.Usage.Source)
	})
	ctx.RequiresJustification = ctx.Privileged || slices.ContainsFunc(fs, func(f nhi.Finding) bool { return !f.Suppressed && mine(&f) })
	it.Context = ctx
	return it
}

func (b *builder) grantItem(n int, head *Item, id *nhi.Identity, g *nhi.Grant, fs []nhi.Finding) Item {
	it := Item{ID: n, ParentID: head.ID, Kind: KindGrant, Provider: id.Provider, Scope: id.Scope,
		IdentityID: id.ID, IdentityName: id.Name, IdentityKind: id.Kind, Deadline: head.Deadline,
		GrantID: g.ID, GrantKind: g.Kind, Entitlement: g.Entitlement, GrantScope: g.Scope}
	o := b.ownership(id.ID)
	ctx := b.roleContext(o)
	ctx.Created = g.Created
	ctx.Privileged, ctx.PrivilegedReason = privilege.Effective(id.Provider, g)
	mine := func(f *nhi.Finding) bool { return f.GrantID == g.ID }
	ctx.Findings = refs(fs, mine)
	ctx.Baseline = grantBaseline(o, fs, g.ID)
	ctx.Reduce = reduceOffer(fs, func(gid string) bool { return gid == g.ID })
	ctx.LastUse = grantLastUse(g)
	ctx.Drift = b.memberDrift(id.ID, g.ID, func(cert *nhi.Certification) ([]string, bool) {
		v, ok := cert.Grants[id.ID]
		return v, ok
	})
	// The grant list of its kind, and its use within the window.
	ctx.Gaps = b.gaps(id, func(f nhi.Facet) bool {
		return coversSubject(f, nhi.FacetGrants, g.Kind) || f.Class() == nhi.FacetEntitlementUsage
	})
	ctx.RequiresJustification = ctx.Privileged || slices.ContainsFunc(fs, func(f nhi.Finding) bool { return !f.Suppressed && mine(&f) })
	it.Context = ctx
	return it
}

// leaver describes who left, when the identity's owner has (the analyzer
// resolved it as departed), or when a person who holds its credentials
// through the provider (an owner tag, Entra owner, GitHub added_by or token
// owner: the analyzer's custodian) has; nil otherwise.
func (b *builder) leaver(id *nhi.Identity, o nhi.Ownership) *Leaver {
	var who string
	switch {
	case o.OwnerStatus == nhi.OwnerDeparted:
		who = o.Owner
	default:
		for _, f := range b.findings[id.ID] {
			if f.RuleID == rules.RuleOwnerDeparted && !f.Suppressed && f.Evidence.Get("custodian") != "" {
				who = f.Evidence.Get("custodian")
				break
			}
		}
		if who == "" {
			return nil
		}
	}
	l := &Leaver{Person: who}
	if p, ok := b.people.Lookup(who); ok {
		l.Person, l.Departed, l.Manager = p.ID, p.Departed, p.Manager
	}
	for i := range id.Credentials {
		c := &id.Credentials[i]
		if c.Status == nhi.StatusActive && c.Type.Static() && !c.ProviderRotated {
			l.CredentialsToRotate++
		}
	}
	return l
}

// reduceOffer lists the grants whose unsuppressed unused-entitlement
// finding suggests removing the whole grant, for the grants keep accepts.
func reduceOffer(fs []nhi.Finding, keep func(grantID string) bool) []string {
	var out []string
	for i := range fs {
		f := &fs[i]
		if f.RuleID == rules.RuleUnusedEntitlement && !f.Suppressed && f.GrantID != "" && f.Evidence.Get("reduce") == "remove-grant" && keep(f.GrantID) {
			out = append(out, f.GrantID)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// grantLastUse is a grant's last use, where an entitlement usage source
// reported it (its as-of time is the end of the source's data).
func grantLastUse(g *nhi.Grant) LastUse {
	u := g.Use
	if u == nil {
		return LastUse{State: nhi.UsageNotReported, Reason: "usage is reported per identity and credential, not per grant"}
	}
	return LastUse{State: u.State, At: u.LastUsed, Source: u.Source, AsOf: u.WindowEnd, Reason: u.Reason}
}

// refs lists the findings that apply, in rule order.
func refs(fs []nhi.Finding, applies func(*nhi.Finding) bool) []FindingRef {
	var out []FindingRef
	for i := range fs {
		f := &fs[i]
		if !applies(f) {
			continue
		}
		r := FindingRef{RuleID: f.RuleID, Severity: f.Severity, Title: f.Title, Evidence: f.Evidence.Map(), Fingerprint: f.Fingerprint}
		if f.Suppressed {
			r.Exception = f.Exception
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b FindingRef) int {
		return cmp.Or(cmp.Compare(b.Severity.Rank(), a.Severity.Rank()), cmp.Compare(a.RuleID, b.RuleID), cmp.Compare(a.Fingerprint, b.Fingerprint))
	})
	return out
}

// grantBaseline compares one grant with the role's baseline, as the
// analyzer judged it (grant-outside-baseline and privileged-grant carry the
// verdict).
func grantBaseline(o nhi.Ownership, fs []nhi.Finding, grantID string) string {
	for _, f := range fs {
		if f.GrantID != grantID {
			continue
		}
		switch f.RuleID {
		case rules.RuleOutsideBaseline:
			return "outside the baseline of role " + o.RoleID
		case rules.RulePrivilegedGrant:
			if v := f.Evidence.Get("baseline"); v != "" && v != "no role" {
				return v + " of role " + o.RoleID
			}
		}
	}
	if o.RoleID == "" {
		return "no role: no baseline to compare with"
	}
	return "within the baseline of role " + o.RoleID
}

func (b *builder) identityBaseline(id *nhi.Identity, o nhi.Ownership, fs []nhi.Finding) string {
	if o.RoleID == "" {
		return "no role: no baseline to compare with"
	}
	outside := 0
	for i := range id.Grants {
		if !strings.HasPrefix(grantBaseline(o, fs, id.Grants[i].ID), "within") {
			outside++
		}
	}
	if outside == 0 {
		return fmt.Sprintf("all %d entitlement(s) within the baseline of role %s", len(id.Grants), o.RoleID)
	}
	return fmt.Sprintf("%d of %d entitlement(s) outside the baseline of role %s", outside, len(id.Grants), o.RoleID)
}

// lastUse presents a usage fact, or the gap that hides its source.
func (b *builder) lastUse(p nhi.Provider, scope string, u nhi.Usage) LastUse {
	if u.Source != "" {
		f := nhi.UsageFacet(u.Source)
		if _, why := b.cov.Why(p, scope, f); why != "" {
			return LastUse{State: nhi.UsageUnknown, Gap: string(f) + ": " + why}
		}
	}
	return LastUse{State: u.State, At: u.LastUsed, Source: u.Source, AsOf: u.AsOf, Reason: u.Reason}
}

// gaps lists the unobserved facets of the identity's scope, and those
// hidden for the identity alone, that affect an item.
func (b *builder) gaps(id *nhi.Identity, relevant func(nhi.Facet) bool) []string {
	var out []string
	for _, c := range slices.Concat(b.unobserved[string(id.Provider)+"\x00"+id.Scope], b.identityGaps[id.ID]) {
		if relevant(c.Facet) {
			out = append(out, string(c.Facet)+": "+c.Why)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// identityFacet reports whether an unobserved facet bears on an identity:
// its kind's identity list, any credential or grant list (a gap may hide
// credentials or grants the identity holds), its usage sources, login,
// trust and ownership.
func identityFacet(id *nhi.Identity, f nhi.Facet) bool {
	switch f.Class() {
	case nhi.FacetIdentities:
		return coversSubject(f, nhi.FacetIdentities, string(id.Kind))
	case nhi.FacetUsage:
		sources := map[string]bool{id.Usage.Source: id.Usage.Source != ""}
		for i := range id.Credentials {
			if s := id.Credentials[i].Usage.Source; s != "" {
				sources[s] = true
			}
		}
		return f.Subject() == "" || sources[f.Subject()] || len(sources) == 0 || !id.Usage.Known()
	}
	return true
}

// coversSubject reports whether f is the class or the class's facet for
// subject.
func coversSubject(f, class nhi.Facet, subject string) bool {
	if f.Class() != class {
		return false
	}
	return f.Subject() == "" || f.Subject() == subject
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// identityDrift says what changed in the identity's grants and credentials
// since the last certification. Removals are claimed only where the facet
// was observed.
func (b *builder) identityDrift(id *nhi.Identity) string {
	cert := b.in.Certification
	if cert == nil {
		return "never certified"
	}
	certified, ok := cert.Grants[id.ID]
	if !ok {
		return "not in the last certification (" + day(cert.At) + ")"
	}
	var now []string
	for _, g := range id.Grants {
		now = append(now, g.ID)
	}
	added, removed := diff(certified, now)
	var creds []string
	for _, c := range id.Credentials {
		creds = append(creds, c.ID)
	}
	cadded, cremoved := diff(cert.Credentials[id.ID], creds)
	parts := []string{fmt.Sprintf("%d grant(s) added", added)}
	if _, why := b.cov.Why(id.Provider, id.Scope, nhi.FacetGrants); why != "" {
		parts = append(parts, "grants removed: unknown (grants: "+why+")")
	} else {
		parts = append(parts, fmt.Sprintf("%d grant(s) removed", removed))
	}
	parts = append(parts, fmt.Sprintf("%d credential(s) added", cadded))
	if _, why := b.cov.Why(id.Provider, id.Scope, nhi.FacetCredentials); why != "" {
		parts = append(parts, "credentials removed: unknown (credentials: "+why+")")
	} else {
		parts = append(parts, fmt.Sprintf("%d credential(s) removed", cremoved))
	}
	return "since certification " + day(cert.At) + ": " + strings.Join(parts, ", ")
}

// memberDrift says whether a credential or grant was part of the last
// certification.
func (b *builder) memberDrift(identityID, member string, list func(*nhi.Certification) ([]string, bool)) string {
	cert := b.in.Certification
	if cert == nil {
		return "never certified"
	}
	certified, ok := list(cert)
	switch {
	case !ok:
		return "not in the last certification (" + day(cert.At) + ")"
	case slices.Contains(certified, member):
		return "certified " + day(cert.At)
	}
	return "added since certification " + day(cert.At)
}

// diff counts the ids added to and removed from before.
func diff(before, after []string) (added, removed int) {
	b := map[string]bool{}
	for _, x := range before {
		b[x] = true
	}
	a := map[string]bool{}
	for _, x := range after {
		a[x] = true
		if !b[x] {
			added++
		}
	}
	for x := range b {
		if !a[x] {
			removed++
		}
	}
	return added, removed
}
