package campaign

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Router chooses the reviewer of each identity's items: the business owner,
// then the technical owner, then the owner's manager when the owner has
// left, then the fallback. A leaver item goes to the leaver's manager first
// (the owner who left, or the person who held the identity's credentials).
// Only active people in the catalog review.
//
// A reviewer with a conflict of interest is skipped and the item goes to the
// next reviewer in that order (or the conflicted reviewer's manager), with
// the conflict recorded: the identity's owner of record through a token
// (self-review), or the person who created or last changed one of its
// credentials where the provider says so (GitHub's added_by, created_by or
// last_changed_by attributes).
type Router struct {
	People People
	// Fallback is the reviewer of last resort.
	Fallback string
	// Single, when set, receives every item (the certify shortcut);
	// conflicts are flagged but not rerouted.
	Single string
	// Now decides who has left.
	Now time.Time
}

// Route sets Reviewer, Conflict and Conflicted on every item (credential
// and grant items follow their identity item) and returns the ids of the
// identity items no reviewer could be found for.
func (r *Router) Route(items []Item, inv *nhi.Inventory) (unrouted []int) {
	ids := make(map[string]*nhi.Identity, len(inv.Identities))
	for i := range inv.Identities {
		ids[inv.Identities[i].ID] = &inv.Identities[i]
	}
	var head Item
	for i := range items {
		it := &items[i]
		if it.ParentID == 0 {
			id := ids[it.IdentityID]
			if id == nil {
				id = &nhi.Identity{ID: it.IdentityID}
			}
			it.Reviewer, it.Conflict, it.Conflicted = r.route(it, id)
			if it.Reviewer == "" {
				unrouted = append(unrouted, it.ID)
			}
			head = *it
			continue
		}
		it.Reviewer, it.Conflict, it.Conflicted = head.Reviewer, head.Conflict, head.Conflicted
	}
	return unrouted
}

func (r *Router) route(it *Item, id *nhi.Identity) (reviewer, conflict, conflicted string) {
	if r.Single != "" {
		if p, ok := r.People.Lookup(r.Single); ok {
			return p.ID, conflictOf(r.People, id, p), ""
		}
		return strings.ToLower(r.Single), "", ""
	}
	for _, c := range r.chain(it) {
		p, _ := r.People.Lookup(c)
		why := conflictOf(r.People, id, p)
		switch {
		case why == "" && !strings.EqualFold(p.ID, conflicted):
			return p.ID, conflict, conflicted
		case why != "" && conflicted == "":
			conflict, conflicted = why, p.ID
		}
	}
	return "", conflict, conflicted
}

// chain lists the candidate reviewers in order, active people only, each
// once.
func (r *Router) chain(it *Item) []string {
	ctx := &it.Context
	var owner nhi.Person
	ownerLeft := false
	if p, ok := r.People.Lookup(ctx.Owner); ok {
		owner = p
		ownerLeft = departed(p, r.Now)
	}
	if ctx.OwnerStatus == nhi.OwnerDeparted {
		ownerLeft = true
	}
	var cands []string
	if l := ctx.Leaver; l != nil {
		// The leaver's manager reassigns what the leaver owned or held.
		cands = append(cands, l.Manager)
	}
	if !ownerLeft {
		cands = append(cands, ctx.Owner)
	}
	cands = append(cands, ctx.TechnicalOwner)
	if ownerLeft {
		cands = append(cands, owner.Manager)
	}
	// The manager of a conflicted owner or technical owner is a second
	// reviewer before the fallback.
	for _, c := range []string{ctx.Owner, ctx.TechnicalOwner} {
		if p, ok := r.People.Lookup(c); ok && !departed(p, r.Now) {
			cands = append(cands, p.Manager)
		}
	}
	cands = append(cands, r.Fallback)
	var out []string
	for _, c := range cands {
		p, ok := r.People.Lookup(c)
		if !ok || departed(p, r.Now) || slices.Contains(out, p.ID) {
			continue
		}
		out = append(out, p.ID)
	}
	return out
}

// conflictAttributes are credential or identity attributes that name who
// created or last changed it, where a provider reports that.
var conflictAttributes = []string{"created_by", "added_by", "last_changed_by", "last_modified_by"}

// conflictOf says why p may not review the identity, or "".
func conflictOf(people People, id *nhi.Identity, p nhi.Person) string {
	if p.ID == "" {
		return ""
	}
	is := func(v string) bool {
		if q, ok := people.Lookup(v); ok {
			return q.ID == p.ID
		}
		return strings.EqualFold(strings.TrimSpace(v), p.ID)
	}
	for _, h := range id.OwnerHints {
		switch {
		case h.Source == "token-owner" && is(h.Value):
			return fmt.Sprintf("self-review: %s owns this token (token-owner %s)", p.ID, h.Value)
		case h.Source == "github-added-by" && is(h.Value):
			return fmt.Sprintf("%s created this credential (github-added-by %s)", p.ID, h.Value)
		}
	}
	for _, k := range conflictAttributes {
		if v, ok := id.Attributes[k]; ok && is(v) {
			return fmt.Sprintf("%s %s this identity (%s)", p.ID, verb(k), k)
		}
	}
	for i := range id.Credentials {
		c := &id.Credentials[i]
		for _, k := range conflictAttributes {
			if v, ok := c.Attributes[k]; ok && is(v) {
				return fmt.Sprintf("%s %s credential %s (%s)", p.ID, verb(k), c.ID, k)
			}
		}
	}
	return ""
}

func verb(attr string) string {
	if strings.HasPrefix(attr, "last_") {
		return "last changed"
	}
	return "created"
}

// EscalationTarget is who an overdue or "don't know" item of reviewer
// goes to: the reviewer's manager when active, else the fallback; never
// conflicted, the person the item was routed around for a conflict (who
// may not decide it); "" when there is nobody above the reviewer.
func EscalationTarget(people People, fallback, reviewer, conflicted string, now time.Time) string {
	eligible := func(p nhi.Person) bool {
		return !departed(p, now) && !strings.EqualFold(p.ID, reviewer) && !strings.EqualFold(p.ID, conflicted)
	}
	if p, ok := people.Lookup(reviewer); ok {
		if m, ok := people.Lookup(p.Manager); ok && eligible(m) {
			return m.ID
		}
	}
	if f, ok := people.Lookup(fallback); ok && eligible(f) {
		return f.ID
	}
	return ""
}
