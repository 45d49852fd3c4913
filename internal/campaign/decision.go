package campaign

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// DecisionKind is what a reviewer decided on an item.
type DecisionKind string

// Decision kinds. Certify, revoke and reduce resolve an item; reassign and
// don't know hand it on (to a named person, or up to the reviewer's manager
// or the fallback) and leave it open. Unanswered is recorded by nhiscan at
// close for every item nobody resolved, with the campaign's default.
const (
	Certify    = DecisionKind("certify")
	Revoke     = DecisionKind("revoke")
	Reduce     = DecisionKind("reduce")
	Reassign   = DecisionKind("reassign")
	DontKnow   = DecisionKind("dont-know")
	Unanswered = DecisionKind("unanswered")
)

// ReviewerKinds are the decisions a reviewer may make, in display order.
var ReviewerKinds = []DecisionKind{Certify, Revoke, Reduce, Reassign, DontKnow}

// ParseKind reads a reviewer's decision kind; "don't know", "dont_know"
// and "dontknow" all mean DontKnow.
func ParseKind(s string) (DecisionKind, error) {
	k := strings.ToLower(strings.TrimSpace(s))
	switch k {
	case "don't know", "dont know", "dont_know", "dontknow", "don't-know":
		k = string(DontKnow)
	}
	if slices.Contains(ReviewerKinds, DecisionKind(k)) {
		return DecisionKind(k), nil
	}
	return "", fmt.Errorf("unknown decision %q (want certify, revoke, reduce, reassign or dont-know)", s)
}

// Resolves reports whether the decision settles the item.
func (k DecisionKind) Resolves() bool { return k == Certify || k == Revoke || k == Reduce }

// Decision is one decision on one item. Decisions are append-only: a later
// decision on the same item supersedes an earlier one while the campaign is
// open, and both stay in the log.
type Decision struct {
	// ID is the store's sequence number; 0 until recorded.
	ID         int64        `json:"id,omitempty"`
	CampaignID int64        `json:"campaign_id"`
	ItemID     int          `json:"item_id"`
	Reviewer   string       `json:"reviewer"`
	Kind       DecisionKind `json:"kind"`
	// Until limits a certification (zero: until the next campaign).
	Until time.Time `json:"until,omitzero"`
	// Grants are the grant ids a reduce removes.
	Grants []string `json:"grants,omitempty"`
	// ReassignTo is the person a reassign hands the item to.
	ReassignTo    string `json:"reassign_to,omitempty"`
	Justification string `json:"justification,omitempty"`
	// BulkID groups the decisions of one bulk action; empty for a decision
	// on one item.
	BulkID string `json:"bulk_id,omitempty"`
	// Conflict copies the item's conflict at decision time.
	Conflict string `json:"conflict,omitempty"`
	// Default is the campaign default an Unanswered decision applied.
	Default Default `json:"default,omitempty"`
	// Source is where the decision came from: cli, import, web, demo,
	// certify, close.
	Source string `json:"source"`
	// Client is the client address of a web decision.
	Client string    `json:"client,omitempty"`
	At     time.Time `json:"at"`
}

// Bulk reports whether the decision was part of a bulk action.
func (d *Decision) Bulk() bool { return d.BulkID != "" }

// Validation errors callers may test with errors.Is.
var (
	// ErrNotReviewer: the decision is not made by the item's reviewer.
	ErrNotReviewer = errors.New("not the item's reviewer")
	// ErrJustification: the item needs a justification.
	ErrJustification = errors.New("justification required")
	// ErrInvalid: the decision does not fit the item.
	ErrInvalid = errors.New("invalid decision")
)

// People answers who a person is: the catalog's people, found by id
// (lower-case email) or by one of their aliases (a GitHub login),
// case-insensitively. The zero value knows nobody.
type People struct {
	byID, byAlias map[string]nhi.Person
}

// NewPeople indexes the catalog's people (keyed by id).
func NewPeople(people map[string]nhi.Person) People {
	p := People{byID: make(map[string]nhi.Person, len(people)), byAlias: map[string]nhi.Person{}}
	for k, x := range people {
		if x.ID == "" {
			x.ID = k
		}
		x.ID = strings.ToLower(x.ID)
		p.byID[x.ID] = x
		for _, a := range x.Aliases {
			p.byAlias[strings.ToLower(a)] = x
		}
	}
	return p
}

// Lookup finds a person by id or alias.
func (p People) Lookup(v string) (nhi.Person, bool) {
	k := strings.ToLower(strings.TrimSpace(v))
	if k == "" {
		return nhi.Person{}, false
	}
	if x, ok := p.byID[k]; ok {
		return x, true
	}
	x, ok := p.byAlias[k]
	return x, ok
}

// Active reports whether the person is known and has not left by now.
func (p People) Active(v string, now time.Time) bool {
	x, ok := p.Lookup(v)
	return ok && !departed(x, now)
}

func departed(x nhi.Person, now time.Time) bool {
	return x.Status == nhi.PersonDeparted && (x.Departed.IsZero() || !x.Departed.After(now))
}

// Validate checks one decision against its item: the reviewer holds the
// item and has no conflict, the kind fits the item, a reduce names grants of
// the identity, a reassign names an active person, a certification's end
// date is in the future, and a justification is given where the item needs
// one. children are the item's credential and grant items (for an identity
// item).
func Validate(d *Decision, it *Item, children []Item, people People, now time.Time) error {
	switch {
	case !strings.EqualFold(d.Reviewer, it.Reviewer):
		return fmt.Errorf("item %d: %s may not decide: %w (it is with %s)", it.ID, d.Reviewer, ErrNotReviewer, it.Reviewer)
	case it.Conflicted != "" && strings.EqualFold(d.Reviewer, it.Conflicted):
		return fmt.Errorf("item %d: %s has a conflict (%s): %w", it.ID, d.Reviewer, it.Conflict, ErrNotReviewer)
	}
	if err := validateKind(d, it, children, people, now); err != nil {
		return fmt.Errorf("item %d: %w", it.ID, err)
	}
	if d.Kind.Resolves() && it.Context.RequiresJustification && strings.TrimSpace(d.Justification) == "" {
		return fmt.Errorf("item %d: %w: the item is privileged or has findings", it.ID, ErrJustification)
	}
	return nil
}

func validateKind(d *Decision, it *Item, children []Item, people People, now time.Time) error {
	if !d.Until.IsZero() && d.Kind != Certify {
		return fmt.Errorf("%w: only certify takes an end date", ErrInvalid)
	}
	if len(d.Grants) > 0 && d.Kind != Reduce {
		return fmt.Errorf("%w: only reduce takes grants", ErrInvalid)
	}
	if d.ReassignTo != "" && d.Kind != Reassign {
		return fmt.Errorf("%w: only reassign takes a person", ErrInvalid)
	}
	switch d.Kind {
	case Certify:
		if !d.Until.IsZero() && !d.Until.After(now) {
			return fmt.Errorf("%w: certify until %s is not in the future", ErrInvalid, d.Until.UTC().Format(time.DateOnly))
		}
	case Revoke:
		if it.Kind == KindGrant {
			return fmt.Errorf("%w: a grant is removed with reduce, not revoke", ErrInvalid)
		}
	case Reduce:
		return validateReduce(d, it, children)
	case Reassign:
		switch {
		case it.ParentID != 0:
			return fmt.Errorf("%w: reassign hands on a whole identity: decide on item %d", ErrInvalid, it.ParentID)
		case strings.TrimSpace(d.ReassignTo) == "":
			return fmt.Errorf("%w: reassign needs the person to hand the item to", ErrInvalid)
		case !people.Active(d.ReassignTo, now):
			return fmt.Errorf("%w: reassign to %q: not an active person in the catalog", ErrInvalid, d.ReassignTo)
		case strings.EqualFold(canonical(people, d.ReassignTo), it.Reviewer):
			return fmt.Errorf("%w: the item is already with %s", ErrInvalid, it.Reviewer)
		}
	case DontKnow:
		if it.ParentID != 0 {
			return fmt.Errorf("%w: \"don't know\" escalates a whole identity: decide on item %d", ErrInvalid, it.ParentID)
		}
	default:
		return fmt.Errorf("%w: unknown decision %q", ErrInvalid, d.Kind)
	}
	return nil
}

func validateReduce(d *Decision, it *Item, children []Item) error {
	switch it.Kind {
	case KindGrant:
		if len(d.Grants) > 1 || (len(d.Grants) == 1 && d.Grants[0] != it.GrantID) {
			return fmt.Errorf("%w: a grant item reduces its own grant only", ErrInvalid)
		}
		return nil
	case KindIdentity:
	default:
		return fmt.Errorf("%w: reduce applies to an identity's grants", ErrInvalid)
	}
	if len(d.Grants) == 0 {
		return fmt.Errorf("%w: reduce needs the grants to remove", ErrInvalid)
	}
	held := map[string]bool{}
	for _, c := range children {
		if c.Kind == KindGrant {
			held[c.GrantID] = true
		}
	}
	for _, g := range d.Grants {
		if !held[g] {
			return fmt.Errorf("%w: reduce: %q is not a grant of %s", ErrInvalid, g, it.IdentityName)
		}
	}
	return nil
}

// canonical returns the person id for an id or alias, or v itself.
func canonical(people People, v string) string {
	if x, ok := people.Lookup(v); ok {
		return x.ID
	}
	return strings.ToLower(strings.TrimSpace(v))
}
