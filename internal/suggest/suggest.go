// Package suggest drafts an owned-role catalog from a scan: it groups the
// identities no catalog role maps by role tags and labels, naming
// patterns, shared grant sets and owner hints, and proposes for each group
// a role with a baseline drawn from its members' grants, owners where the
// hints agree, and member selectors that select exactly the group. The
// draft is YAML that catalog.Load accepts as it is, with a comment per
// role saying why it was grouped and how confident the grouping is, and
// TODOs where a human must decide: privileged and rare grants are never
// allowed by the draft, and owners nobody agreed on are a placeholder
// person who has departed, so nothing looks governed before a human says
// so.
//
// It is pure: no I/O except writing the draft to an io.Writer, no clock.
package suggest

import (
	"cmp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// Placeholder is the person a draft names where no owner could be agreed
// on. It is defined in the draft as having departed long ago, so every
// role it owns reports its identities as orphaned, and governance
// coverage counts them without an active owner, until a human names the
// real owner. The .invalid domain can never be a real address (RFC 2606).
const Placeholder = "owner-to-be-decided@nhiscan.invalid"

// PlaceholderDeparted is the placeholder's leaving date.
const PlaceholderDeparted = "1970-01-01"

// Options tune a draft.
type Options struct {
	// Existing is the catalog a merge draft adds to: identities its roles
	// map are left out, its people resolve owners, role ids do not clash
	// with its own, and the draft relies on its people (load both
	// together). Nil drafts a whole catalog.
	Existing *catalog.Catalog
	// People resolve owner hints in a whole-catalog draft, by id.
	People map[string]nhi.Person
	// PeopleFiles are written as the draft's people_files (paths relative
	// to where the draft is written), so that it loads with its people.
	PeopleFiles []string
	// Now is when people are judged: one whose leaving date has passed has
	// departed.
	Now time.Time
	// Source says in the draft's header what it was drafted from.
	Source string
}

// Draft is a proposed catalog (or, with Options.Existing, proposed
// additions to one).
type Draft struct {
	Source      string
	Merge       bool
	PeopleFiles []string
	Roles       []Role
	// Considered counts the identities grouping looked at: those no
	// existing role maps and the provider does not manage.
	Considered int
	// AlreadyMapped identities are mapped by the existing catalog.
	AlreadyMapped int
	// ProviderManaged identities are never held to role rules.
	ProviderManaged int
	// Unassigned lists the identities with no grouping evidence, by name
	// (sorted): they stay unmapped until a human places them.
	Unassigned []string
	// DefinePlaceholder: the draft defines the Placeholder person.
	DefinePlaceholder bool
}

// Covered counts the identities the draft's roles map.
func (d *Draft) Covered() int {
	n := 0
	for _, r := range d.Roles {
		n += len(r.Members)
	}
	return n
}

// Role is one proposed role.
type Role struct {
	ID string
	// Why names what grouped it: "role tag app=payments", "name stem
	// payments-api", …
	Why string
	// Members are the identity ids, sorted; Examples up to five names.
	Members  []string
	Examples []string
	// Evidence counts the members by why each joined.
	Evidence map[Evidence]int
	// Cohesion is the members' mean grant similarity (Jaccard) to the
	// grants most members of their provider hold (-1: no provider has two
	// members); OwnerAgreement the share of members with a known owner
	// that name the most common one (-1: none named).
	Cohesion, OwnerAgreement float64
	// Confidence is 0–1; Level says high, medium or low.
	Confidence float64
	Level      string

	// BusinessOwner is a known person, or Placeholder.
	BusinessOwner string
	// TechnicalOwner is a known person or a team name, or "".
	TechnicalOwner string
	Team           string
	// OwnerHints summarises what the members' hints said.
	OwnerHints string

	Baseline  []Allowance
	Selectors []catalog.Selector
	// GrantsUnobserved counts members whose grants were not fully observed
	// (a gap hides a grant facet of their scope): the baseline may lack
	// what they hold.
	GrantsUnobserved int
}

// Decision is what the draft does with an entitlement members hold. All
// but Allow are written commented out, with a TODO, for a human.
type Decision uint8

// Decisions.
const (
	// Allow: in the baseline.
	Allow Decision = iota
	// DecidePrivileged: privileged (the collector's verdict, else
	// internal/privilege's).
	DecidePrivileged
	// ReviewRare: held by fewer than half the members of its provider in
	// a role with three or more of them.
	ReviewRare
	// ReviewGlob: the entitlement or scope holds "*" or "?", which a
	// catalog glob reads as wildcards: allowed as written, it would allow
	// more than what the members hold.
	ReviewGlob
	// Unwritable: the entitlement or scope cannot be written as a catalog
	// glob at all ([ ] { } \ or not UTF-8); only a comment names it.
	Unwritable
)

// Allowance is one entitlement the members hold.
type Allowance struct {
	Provider    nhi.Provider
	Entitlement string
	// Scope is the one scope every holder holds it at, or "" when held at
	// several (Scopes counts them).
	Scope  string
	Scopes int
	// Holders of the Of members of its provider hold it.
	Holders, Of int
	// Privileged with the collector's (or internal/privilege's) reason.
	Privileged bool
	Reason     string
	Decision   Decision
}

// Suggest drafts roles for the inventory's unmapped identities.
func Suggest(inv *nhi.Inventory, opt Options) *Draft {
	d := &Draft{Source: opt.Source, Merge: opt.Existing != nil}
	cat := opt.Existing
	if cat == nil {
		cat = &catalog.Catalog{Defaults: catalog.DefaultDefaults, People: opt.People}
		d.PeopleFiles = opt.PeopleFiles
	}
	res := analyzer.NewResolver(cat, opt.Now)
	cov := inv.Coverage()
	g := &grouper{byKey: map[string]int{}}
	for i := range inv.Identities {
		id := &inv.Identities[i]
		switch {
		case id.ProviderManaged:
			d.ProviderManaged++
			continue
		case opt.Existing != nil && res.Resolve(id).RoleID != "":
			d.AlreadyMapped++
			continue
		case !utf8.ValidString(id.ID):
			// A selector could not name it.
			d.Considered++
			d.Unassigned = append(d.Unassigned, string(id.Provider)+" "+id.Name)
			continue
		}
		x := ident{id: id, group: -1, tokens: tokenize(id.Name, id.Scope), ents: entitlements(id)}
		x.tagKey, x.tagVal = roleTag(id.Tags)
		if o := res.Resolve(id); o.OwnerStatus == nhi.OwnerActive {
			x.owner = o.Owner
		}
		g.ids = append(g.ids, x)
	}
	d.Considered += len(g.ids)
	// Work in identity order, whatever order the inventory came in.
	slices.SortFunc(g.ids, func(a, b ident) int { return cmp.Compare(a.id.ID, b.id.ID) })
	g.assignStems()
	g.anchor()
	g.computeCores()
	g.mergeSiblings()
	g.attach()
	g.leftovers()
	g.computeCores()

	ix := newIndex(inv)
	taken := map[string]bool{}
	if opt.Existing != nil {
		for _, r := range opt.Existing.Roles {
			taken[r.ID] = true
		}
	}
	order := slices.Clone(g.groups)
	slices.SortFunc(order, func(a, b *group) int { return cmp.Compare(a.key, b.key) })
	for _, gr := range order {
		if len(gr.members) == 0 {
			continue
		}
		r := g.propose(gr, res, ix, cov)
		r.ID = uniqueID(roleID(gr.label), taken)
		d.Roles = append(d.Roles, r)
		if r.BusinessOwner == Placeholder {
			d.DefinePlaceholder = true
		}
	}
	if _, defined := cat.People[Placeholder]; defined {
		d.DefinePlaceholder = false
	}
	slices.SortFunc(d.Roles, func(a, b Role) int { return cmp.Compare(a.ID, b.ID) })
	for i := range g.ids {
		if g.ids[i].group < 0 {
			d.Unassigned = append(d.Unassigned, string(g.ids[i].id.Provider)+" "+g.ids[i].id.Name)
		}
	}
	slices.Sort(d.Unassigned)
	return d
}

// entitlements returns the identity's grants as grant-similarity keys
// (see ident.ents).
func entitlements(id *nhi.Identity) []string {
	out := make([]string, 0, len(id.Grants))
	for i := range id.Grants {
		g := &id.Grants[i]
		scope := g.Scope
		if scope == id.Scope || strings.TrimPrefix(scope, "projects/") == id.Scope {
			scope = "~"
		}
		out = append(out, string(id.Provider)+"\x00"+g.Entitlement+"\x00"+scope)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// roleID makes a catalog role id from a label: lower case, letters, digits
// and dashes, at most 60 characters.
func roleID(label string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(label) {
		ok := (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')
		switch {
		case ok:
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 60 {
			break
		}
	}
	id := strings.Trim(b.String(), "-")
	if id == "" {
		return "role"
	}
	return id
}

// uniqueID returns id, or id-2, id-3… when taken, and marks it taken.
func uniqueID(id string, taken map[string]bool) string {
	out := id
	for n := 2; taken[out]; n++ {
		out = id + "-" + itoa(n)
	}
	taken[out] = true
	return out
}
