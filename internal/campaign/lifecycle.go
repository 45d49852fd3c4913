package campaign

import (
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Last returns the latest decision on each item (decisions are in log
// order: a later one supersedes an earlier one).
func Last(decisions []Decision) map[int]*Decision {
	out := map[int]*Decision{}
	for i := range decisions {
		d := &decisions[i]
		if p := out[d.ItemID]; p == nil || d.ID > p.ID || (d.ID == p.ID && !d.At.Before(p.At)) {
			out[d.ItemID] = d
		}
	}
	return out
}

// Heads indexes the identity and leaver items by id.
func Heads(items []Item) map[int]*Item {
	out := map[int]*Item{}
	for i := range items {
		if items[i].ParentID == 0 {
			out[items[i].ID] = &items[i]
		}
	}
	return out
}

// Children lists the credential and grant items of an identity item.
func Children(items []Item, head int) []Item {
	var out []Item
	for _, it := range items {
		if it.ParentID == head {
			out = append(out, it)
		}
	}
	return out
}

// Resolved reports whether an item is settled: its own latest decision
// certifies, revokes or reduces it, or (for a credential or grant) its
// identity's does.
func Resolved(it *Item, last map[int]*Decision) bool {
	if d := last[it.ID]; d != nil && d.Kind.Resolves() {
		return true
	}
	if it.ParentID != 0 {
		if d := last[it.ParentID]; d != nil && d.Kind.Resolves() {
			return true
		}
	}
	return false
}

// KPIs are a campaign's headline numbers. Items counts every item;
// the decision counts are by each item's latest decision; Unanswered counts
// items not resolved (by their own decision or their identity's), Overdue
// those of them whose deadline has passed.
type KPIs struct {
	Items      int `json:"items"`
	Identities int `json:"identities"`
	Reviewers  int `json:"reviewers"`
	Certified  int `json:"certified"`
	Revoked    int `json:"revoked"`
	Reduced    int `json:"reduced"`
	// Reassigned counts items that were reassigned at least once.
	Reassigned int `json:"reassigned"`
	DontKnow   int `json:"dont_know"`
	Unanswered int `json:"unanswered"`
	Overdue    int `json:"overdue"`
	Conflicts  int `json:"conflicts"`
	Escalated  int `json:"escalated"`
	Leavers    int `json:"leavers"`
	// Defaulted counts unanswered items whose default is revoke or disable.
	Defaulted int `json:"defaulted"`
}

// ComputeKPIs counts the campaign's items at time at (the close time for a
// closed campaign).
func ComputeKPIs(items []Item, decisions []Decision, at time.Time) KPIs {
	last := Last(decisions)
	reassigned := map[int]bool{}
	for _, d := range decisions {
		if d.Kind == Reassign {
			reassigned[d.ItemID] = true
		}
	}
	heads := Heads(items)
	var k KPIs
	reviewers := map[string]bool{}
	for i := range items {
		it := &items[i]
		k.Items++
		head := it
		if it.ParentID != 0 && heads[it.ParentID] != nil {
			head = heads[it.ParentID]
		}
		if it.ParentID == 0 {
			k.Identities++
			reviewers[it.Reviewer] = true
			if it.Kind == KindLeaver {
				k.Leavers++
			}
		}
		if it.Conflict != "" {
			k.Conflicts++
		}
		if head.Escalated {
			k.Escalated++
		}
		if reassigned[head.ID] {
			k.Reassigned++
		}
		k.count(it, last, at)
	}
	k.Reviewers = len(reviewers)
	return k
}

func (k *KPIs) count(it *Item, last map[int]*Decision, at time.Time) {
	d := last[it.ID]
	if d == nil || !d.Kind.Resolves() {
		if p := last[it.ParentID]; it.ParentID != 0 && p != nil && p.Kind.Resolves() {
			d = p
		}
	}
	switch {
	case d != nil && d.Kind == Certify:
		k.Certified++
	case d != nil && d.Kind == Revoke:
		k.Revoked++
	case d != nil && d.Kind == Reduce:
		k.Reduced++
	default:
		k.Unanswered++
		if !at.Before(it.Deadline) {
			k.Overdue++
		}
		if own := last[it.ID]; own != nil {
			if own.Kind == DontKnow {
				k.DontKnow++
			}
			if own.Kind == Unanswered && own.Default != DefaultNone && own.Default != "" {
				k.Defaulted++
			}
		}
	}
}

// ReminderDue returns the reminder offset due for an item at now: the
// smallest configured offset o with deadline-o <= now < deadline. ok is
// false when none is due.
func ReminderDue(p *Policy, deadline, now time.Time) (offset time.Duration, ok bool) {
	if !now.Before(deadline) {
		return 0, false
	}
	offs := slices.Clone(p.Reminders)
	slices.Sort(offs)
	for _, o := range offs {
		if !now.Before(deadline.Add(-o)) {
			return o, true
		}
	}
	return 0, false
}

// EscalationDue reports whether an unresolved identity item is due for
// escalation at now: past its deadline plus the policy's grace, and not
// escalated yet.
func EscalationDue(p *Policy, it *Item, now time.Time) bool {
	return it.ParentID == 0 && !it.Escalated && !now.Before(it.Deadline.Add(p.EscalateAfter))
}

// Defaults returns the Unanswered decisions closing records at time at:
// one for every item not resolved, with the policy's default on identity
// items (leaver items take LeaverUnanswered) and none on their credentials
// and grants, which their identity's default covers.
func Defaults(c *Campaign, items []Item, last map[int]*Decision, at time.Time) []Decision {
	var out []Decision
	for i := range items {
		it := &items[i]
		if Resolved(it, last) {
			continue
		}
		def := DefaultNone
		if it.ParentID == 0 {
			def = c.Policy.Unanswered
			if it.Kind == KindLeaver {
				def = c.Policy.LeaverUnanswered
			}
			if !def.Valid() {
				def = DefaultNone
			}
		}
		out = append(out, Decision{CampaignID: c.ID, ItemID: it.ID, Reviewer: Actor, Kind: Unanswered,
			Default: def, Conflict: it.Conflict, Source: "close", At: at,
			Justification: "no decision by the deadline; campaign default " + string(def)})
	}
	return out
}

// Certification returns the certified state a campaign leaves: the previous
// certification, with each identity whose item was certified or reduced
// replaced by what the reviewer approved (its current grants and
// credentials less those reduced or revoked below it) and each revoked
// identity removed. Identities nobody resolved keep their previous entry:
// nobody approved their current state. Where the scan did not fully observe
// the identity's grants (or credentials), the previously certified ones are
// kept beside the approved ones, so a gap never turns into drift.
func Certification(prev *nhi.Certification, inv *nhi.Inventory, items []Item, last map[int]*Decision, at time.Time) nhi.Certification {
	out := nhi.Certification{At: at.UTC(), Grants: map[string][]string{}, Credentials: map[string][]string{}}
	if prev != nil {
		out.Grants = maps.Clone(prev.Grants)
		out.Credentials = maps.Clone(prev.Credentials)
		if out.Grants == nil {
			out.Grants = map[string][]string{}
		}
		if out.Credentials == nil {
			out.Credentials = map[string][]string{}
		}
	}
	ids := map[string]*nhi.Identity{}
	for i := range inv.Identities {
		ids[inv.Identities[i].ID] = &inv.Identities[i]
	}
	cov := inv.Coverage()
	for i := range items {
		head := &items[i]
		if head.ParentID != 0 {
			continue
		}
		d := last[head.ID]
		id := ids[head.IdentityID]
		switch {
		case d == nil || id == nil:
		case d.Kind == Revoke:
			delete(out.Grants, id.ID)
			delete(out.Credentials, id.ID)
		case d.Kind == Certify || d.Kind == Reduce:
			removed := removedBelow(items, head.ID, last, d)
			grants := kept(id.Grants, func(g nhi.Grant) string { return g.ID }, removed)
			creds := kept(id.Credentials, func(c nhi.Credential) string { return c.ID }, removed)
			if !cov.Observed(id.Provider, id.Scope, nhi.FacetGrants) && prev != nil {
				grants = union(grants, prev.Grants[id.ID], removed)
			}
			if !cov.Observed(id.Provider, id.Scope, nhi.FacetCredentials) && prev != nil {
				creds = union(creds, prev.Credentials[id.ID], removed)
			}
			out.Grants[id.ID] = grants
			if len(creds) > 0 {
				out.Credentials[id.ID] = creds
			} else {
				delete(out.Credentials, id.ID)
			}
		}
	}
	return out
}

// removedBelow lists the grant and credential ids the identity's reviewer
// took away: the grants an identity-level reduce names, and each grant or
// credential item whose own latest decision reduces or revokes it.
func removedBelow(items []Item, head int, last map[int]*Decision, d *Decision) map[string]bool {
	removed := map[string]bool{}
	if d.Kind == Reduce {
		for _, g := range d.Grants {
			removed[g] = true
		}
	}
	for _, c := range Children(items, head) {
		cd := last[c.ID]
		if cd == nil {
			continue
		}
		switch {
		case c.Kind == KindGrant && cd.Kind == Reduce:
			removed[c.GrantID] = true
		case c.Kind == KindCredential && cd.Kind == Revoke:
			removed[c.CredentialID] = true
		}
	}
	return removed
}

func kept[T any](xs []T, key func(T) string, removed map[string]bool) []string {
	out := []string{}
	for _, x := range xs {
		if k := key(x); !removed[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func union(a, b []string, removed map[string]bool) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !removed[x] {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Remediation says what remains to be done for a decision: "pending" for
// the latest revoke or reduce of an item and for a revoke or disable
// default, "superseded" for a decision a later one replaced, "none"
// otherwise. The revocation workflow records progress beyond "pending".
func Remediation(d *Decision, last map[int]*Decision) string {
	if l := last[d.ItemID]; l != nil && l.ID != d.ID {
		return "superseded"
	}
	switch {
	case d.Kind == Revoke || d.Kind == Reduce:
		return "pending"
	case d.Kind == Unanswered && (d.Default == DefaultRevoke || d.Default == DefaultDisable):
		return "pending"
	}
	return "none"
}
