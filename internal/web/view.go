package web

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/reports"
)

// The page's view of a reviewer's items. Every string from a cloud API or
// the catalog goes through text(), which shows control characters and bidi
// overrides as escapes; html/template escapes the rest.

func text(s string) string { return reports.TermText(s) }

func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// group is one identity and the items below it that the reviewer holds.
type group struct {
	Head     *itemView
	Children []*itemView
	// Open counts the group's open items.
	Open int
}

// itemView is one item with its context and the decisions that fit it.
type itemView struct {
	ID       int
	ParentID int
	Kind     string
	// Title is the identity's name (identity and leaver items) or the
	// credential or entitlement (below an identity).
	Title    string
	Subtitle string
	Deadline string
	Overdue  bool
	Escalate bool
	Conflict string

	Facts    []fact
	Findings []findingView
	// Gaps are what the scan could not observe about the item: shown
	// instead of values, never as facts.
	Gaps []string

	RequiresJustification bool
	Open                  bool
	// Blocked says why the reviewer may not decide the item (they have
	// the conflict it was routed around); empty when they may.
	Blocked string
	// Decision describes the latest decision ("certify by carol@… at …",
	// or "covered by item 4's certify"); empty when none.
	Decision string
	Choices  []choice
	Grants   []grantOption
	// Form holds what was entered when a decision was refused, and Error
	// why.
	Form  formValues
	Error string
}

// fact is one labelled line of context; Warn marks a value to notice
// (privileged, a leaver, drift, an unknown last use).
type fact struct {
	Label, Value string
	Warn         bool
}

type findingView struct {
	Severity, Rule, Title, Evidence, Exception string
}

// choice is one decision an item takes.
type choice struct {
	Value, Label string
	Checked      bool
}

type grantOption struct {
	ID, Label string
	Checked   bool
}

// formValues are a decision form's fields as submitted.
type formValues struct {
	Decision, Justification, Until, ReassignTo string
	Grants                                     []string
}

// groups builds the reviewer's identities with their items, in item order.
// An item whose identity the reviewer does not hold forms a group of its
// own.
func groups(items []campaign.Item, last map[int]*campaign.Decision, reviewer string, now time.Time) []*group {
	var out []*group
	byHead := map[int]*group{}
	for i := range items {
		it := &items[i]
		v := newItemView(it, items, last, now)
		if it.Conflicted != "" && strings.EqualFold(it.Conflicted, reviewer) {
			v.Blocked = "You may not decide this item: " + text(it.Conflict) + ". Ask the campaign owner to reassign it."
		}
		key := it.ID
		if it.ParentID != 0 {
			key = it.ParentID
		}
		g := byHead[key]
		if g == nil {
			g = &group{}
			byHead[key] = g
			out = append(out, g)
		}
		if it.ParentID == 0 {
			g.Head = v
		} else {
			g.Children = append(g.Children, v)
		}
		if v.Open {
			g.Open++
		}
	}
	return out
}

func newItemView(it *campaign.Item, items []campaign.Item, last map[int]*campaign.Decision, now time.Time) *itemView {
	c := &it.Context
	v := &itemView{ID: it.ID, ParentID: it.ParentID, Kind: string(it.Kind), Deadline: day(it.Deadline),
		Overdue: !now.Before(it.Deadline), Escalate: it.Escalated, Conflict: text(it.Conflict),
		Gaps: texts(c.Gaps), RequiresJustification: c.RequiresJustification, Open: !campaign.Resolved(it, last)}
	v.Title, v.Subtitle = titles(it)
	v.Facts = facts(it)
	for _, f := range c.Findings {
		v.Findings = append(v.Findings, findingView{Severity: text(string(f.Severity)), Rule: text(f.RuleID), Title: text(f.Title),
			Evidence: evidence(f.Evidence), Exception: text(f.Exception)})
	}
	v.Decision = decided(it, last)
	v.Choices = choices(it)
	if it.Kind == campaign.KindIdentity {
		for _, ch := range campaign.Children(items, it.ID) {
			if ch.Kind == campaign.KindGrant {
				// The grants unused-entitlement found unused come checked.
				v.Grants = append(v.Grants, grantOption{ID: ch.GrantID, Label: text(ch.Entitlement) + " on " + text(ch.GrantScope),
					Checked: slices.Contains(c.Reduce, ch.GrantID)})
			}
		}
		if len(v.Grants) == 0 {
			v.Choices = slices.DeleteFunc(v.Choices, func(c choice) bool { return c.Value == string(campaign.Reduce) })
		}
	}
	return v
}

func titles(it *campaign.Item) (string, string) {
	where := text(string(it.Provider)) + " " + text(string(it.IdentityKind)) + " in " + text(it.Scope)
	name := text(it.IdentityName)
	if name == "" {
		name = text(it.IdentityID)
	}
	switch it.Kind {
	case campaign.KindCredential:
		t := text(string(it.CredentialType)) + " " + text(it.CredentialID)
		if it.CredentialName != "" && it.CredentialName != it.CredentialID {
			t += " (" + text(it.CredentialName) + ")"
		}
		return t, "credential of " + name
	case campaign.KindGrant:
		return text(it.Entitlement), "grant of " + name + " on " + text(it.GrantScope)
	}
	return name, where
}

// facts lists the item's context. Values the scan did not observe are
// never here: the campaign replaced them by gaps (LastUse.Gap, Gaps).
func facts(it *campaign.Item) []fact {
	c := &it.Context
	var out []fact
	add := func(label, value string, warn bool) {
		if value != "" {
			out = append(out, fact{label, value, warn})
		}
	}
	if l := c.Leaver; l != nil {
		s := text(l.Person) + " has left"
		if !l.Departed.IsZero() {
			s += " (" + day(l.Departed) + ")"
		}
		if l.CredentialsToRotate > 0 {
			s += fmt.Sprintf("; %d static credential(s) they may hold should be rotated", l.CredentialsToRotate)
		}
		add("Owner left", s, true)
	}
	if it.ParentID == 0 {
		role := "none (unmapped)"
		if c.Role != "" {
			role = text(c.Role)
			if c.Purpose != "" {
				role += ": " + text(c.Purpose)
			}
		}
		add("Role", role, c.Role == "")
		add("Owner", owner(c), c.OwnerStatus != "" && c.OwnerStatus != string(nhi.OwnerActive))
	}
	add("Status", text(c.Status), false)
	add("Created", day(c.Created), false)
	add("Expires", day(c.Expires), false)
	if c.Privileged {
		add("Privileged", orDefault(text(c.PrivilegedReason), "yes"), true)
	}
	add("Entitlements", counts(c), false)
	add("Baseline", text(c.Baseline), strings.Contains(c.Baseline, "outside"))
	if it.Kind != campaign.KindGrant || c.LastUse.State != nhi.UsageNotReported {
		lu, warn := lastUse(c.LastUse)
		add("Last use", lu, warn)
	}
	if len(c.Reduce) > 0 {
		// Grants unused within the tracking window (unused-entitlement):
		// what a reduce decision removes.
		add("Unused, offered to reduce", text(strings.Join(c.Reduce, ", ")), true)
	}
	add("Since last certification", text(c.Drift), strings.Contains(c.Drift, "added since") || strings.Contains(c.Drift, "unknown"))
	return out
}

func counts(c *campaign.Context) string {
	if c.Grants == 0 && c.Credentials == 0 {
		return ""
	}
	s := fmt.Sprintf("%d grant(s)", c.Grants)
	if c.PrivilegedGrants > 0 {
		s += fmt.Sprintf(", %d privileged", c.PrivilegedGrants)
	}
	return s + fmt.Sprintf("; %d credential(s)", c.Credentials)
}

func owner(c *campaign.Context) string {
	if c.Owner == "" {
		return "none"
	}
	s := text(c.Owner)
	var how []string
	if c.OwnerStatus != "" {
		how = append(how, text(c.OwnerStatus))
	}
	if c.OwnerSource != "" {
		how = append(how, "from "+text(c.OwnerSource))
	}
	if len(how) > 0 {
		s += " (" + strings.Join(how, ", ") + ")"
	}
	if c.TechnicalOwner != "" {
		s += "; technical owner " + text(c.TechnicalOwner)
	}
	return s
}

// lastUse says when the item was last used, by which source, as of when;
// or, where the scan did not observe its usage, that it is unknown and why.
func lastUse(u campaign.LastUse) (string, bool) {
	var src []string
	if u.Source != "" {
		src = append(src, "source "+text(u.Source))
	}
	if !u.AsOf.IsZero() {
		src = append(src, "as of "+stamp(u.AsOf))
	}
	suffix := ""
	if len(src) > 0 {
		suffix = " (" + strings.Join(src, ", ") + ")"
	}
	switch {
	case u.Gap != "":
		return "unknown, not observed: " + text(u.Gap), true
	case u.State == nhi.UsageUsed:
		return day(u.At) + suffix, false
	case u.State == nhi.UsageNeverUsed:
		return "never used" + suffix, true
	case u.State == nhi.UsageNotReported:
		return "not reported by the provider" + prefixed(": ", text(u.Reason)), false
	}
	return "unknown" + prefixed(": ", text(u.Reason)) + suffix, true
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func evidence(ev map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(ev)) {
		parts = append(parts, text(k)+"="+text(ev[k]))
	}
	return strings.Join(parts, ", ")
}

func texts(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = text(s)
	}
	return out
}

// decided describes the decision that settles (or last touched) the item.
func decided(it *campaign.Item, last map[int]*campaign.Decision) string {
	if d := last[it.ID]; d != nil {
		s := kindLabel(d.Kind) + " by " + text(d.Reviewer) + ", " + stamp(d.At)
		if d.Bulk() {
			s += " (bulk)"
		}
		if !d.Until.IsZero() {
			s += ", until " + day(d.Until)
		}
		if d.Kind.Resolves() || it.ParentID == 0 {
			return s
		}
	}
	if p := last[it.ParentID]; it.ParentID != 0 && p != nil && p.Kind.Resolves() {
		return fmt.Sprintf("covered by item %d: %s", it.ParentID, kindLabel(p.Kind))
	}
	return ""
}

func kindLabel(k campaign.DecisionKind) string {
	switch k {
	case campaign.Certify:
		return "certified"
	case campaign.Revoke:
		return "revoked"
	case campaign.Reduce:
		return "reduced"
	case campaign.Reassign:
		return "reassigned"
	case campaign.DontKnow:
		return "handed up (don't know)"
	case campaign.Unanswered:
		return "unanswered"
	}
	return text(string(k))
}

// choices are the decisions that fit an item (campaign.Validate has the
// final word).
func choices(it *campaign.Item) []choice {
	c := func(k campaign.DecisionKind, label string) choice { return choice{Value: string(k), Label: label} }
	switch it.Kind {
	case campaign.KindCredential:
		return []choice{c(campaign.Certify, "Certify: still needed"), c(campaign.Revoke, "Revoke this credential")}
	case campaign.KindGrant:
		return []choice{c(campaign.Certify, "Certify: still needed"), c(campaign.Reduce, "Remove this grant (reduce)")}
	case campaign.KindLeaver:
		return []choice{c(campaign.Certify, "Claim it: still needed as it is"), c(campaign.Revoke, "Revoke the identity"),
			c(campaign.Reassign, "Reassign to its new owner"), c(campaign.DontKnow, "Don't know: hand it to my manager")}
	}
	return []choice{c(campaign.Certify, "Certify: still needed as it is"), c(campaign.Revoke, "Revoke the identity"),
		c(campaign.Reduce, "Reduce: remove the grants chosen below"), c(campaign.Reassign, "Reassign to another owner"),
		c(campaign.DontKnow, "Don't know: hand it to my manager")}
}

// withForm marks the submitted values (and the error) on the item's form.
func (v *itemView) withForm(f formValues, err string) {
	v.Form, v.Error = f, err
	for i := range v.Choices {
		v.Choices[i].Checked = v.Choices[i].Value == f.Decision
	}
	for i := range v.Grants {
		v.Grants[i].Checked = slices.Contains(f.Grants, v.Grants[i].ID)
	}
}

// person is a reassignment target.
type person struct {
	ID, Label string
}

// people lists the active people of the catalog but the reviewer, by name.
func people(all map[string]nhi.Person, reviewer string, now time.Time) []person {
	idx := campaign.NewPeople(all)
	var out []person
	for k, p := range all {
		id := strings.ToLower(orDefault(p.ID, k))
		if strings.EqualFold(id, reviewer) || !idx.Active(id, now) {
			continue
		}
		label := text(id)
		if p.Name != "" {
			label = text(p.Name) + " <" + label + ">"
		}
		out = append(out, person{ID: id, Label: label})
	}
	slices.SortFunc(out, func(a, b person) int { return strings.Compare(a.Label, b.Label) })
	return out
}
