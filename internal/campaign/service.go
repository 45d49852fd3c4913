package campaign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// Store is what the service needs of the store (internal/store.Store
// implements it).
type Store interface {
	CreateCampaign(ctx context.Context, c Campaign, items []Item) (int64, error)
	Campaign(ctx context.Context, id int64) (Campaign, error)
	CampaignItems(ctx context.Context, id int64) ([]Item, error)
	CampaignAssignments(ctx context.Context, id int64) ([]Assignment, error)
	CampaignDecisions(ctx context.Context, id int64) ([]Decision, error)
	CampaignDeliveries(ctx context.Context, id int64) ([]Delivery, error)
	OpenCampaign(ctx context.Context, id int64, at time.Time, actor string) error
	RecordDecisions(ctx context.Context, id int64, ds []Decision, asg []Assignment) error
	AssignItems(ctx context.Context, id int64, asg []Assignment) error
	RecordDeliveries(ctx context.Context, ds []Delivery) error
	CloseCampaign(ctx context.Context, id int64, in Closing) error

	Snapshot(ctx context.Context, scanID int64) (nhi.Inventory, string, error)
	ScanOwnership(ctx context.Context, scanID int64) (map[string]nhi.Ownership, error)
	ScanFindings(ctx context.Context, scanID int64) ([]nhi.Finding, error)
	LatestCertification(ctx context.Context) (*nhi.Certification, error)
}

// Service runs campaigns over a store: create, send, remind and escalate,
// decide, close. Every time comes from Now.
type Service struct {
	Store Store
	// Notifier delivers notices; nil sends nothing (a campaign run without
	// mail, like the certify shortcut).
	Notifier Notifier
	// Signer signs review links and ReviewURL is the review page they
	// point at; without both, notices carry no link.
	Signer    *Signer
	ReviewURL string
	// Catalog gives the people: routing, reassignment and escalation
	// targets. Nil knows nobody.
	Catalog *catalog.Catalog
	Now     func() time.Time
	Log     *slog.Logger
}

// Service errors callers may test with errors.Is.
var (
	// ErrUnrouted: no reviewer could be found for some identities.
	ErrUnrouted = errors.New("no reviewer for some identities")
	// ErrEmpty: no identity of the scan matches the filter.
	ErrEmpty = errors.New("no identity matches the campaign's filter")
)

func (s *Service) now() time.Time { return s.Now().UTC() }

func (s *Service) people() People {
	if s.Catalog == nil {
		return People{}
	}
	return NewPeople(s.Catalog.People)
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// CreateInput describes a new campaign.
type CreateInput struct {
	Name      string
	ScanID    int64
	Filter    Filter
	Policy    Policy
	Deadline  time.Time
	CreatedBy string
}

// Create builds a draft campaign from a stored scan: its items with their
// context, routed to reviewers. It fails with ErrEmpty when nothing
// matches and with ErrUnrouted (naming the identities) when someone has no
// reviewer; nothing is written then.
func (s *Service) Create(ctx context.Context, in CreateInput) (Campaign, []Item, error) {
	now := s.now()
	inv, _, err := s.Store.Snapshot(ctx, in.ScanID)
	if err != nil {
		return Campaign{}, nil, err
	}
	own, err := s.Store.ScanOwnership(ctx, in.ScanID)
	if err != nil {
		return Campaign{}, nil, err
	}
	fs, err := s.Store.ScanFindings(ctx, in.ScanID)
	if err != nil {
		return Campaign{}, nil, err
	}
	cert, err := s.Store.LatestCertification(ctx)
	if err != nil {
		return Campaign{}, nil, err
	}
	if in.Deadline.IsZero() || !in.Deadline.After(now) {
		return Campaign{}, nil, fmt.Errorf("deadline %s is not in the future", in.Deadline.UTC().Format(time.RFC3339))
	}
	if !in.Policy.Unanswered.Valid() {
		in.Policy.Unanswered = DefaultNone
	}
	if !in.Policy.LeaverUnanswered.Valid() {
		in.Policy.LeaverUnanswered = DefaultNone
	}
	leaverDeadline := in.Deadline
	if d := in.Policy.LeaverDeadline; d > 0 && now.Add(d).Before(in.Deadline) {
		leaverDeadline = now.Add(d)
	}
	items := Build(BuildInput{Inventory: inv, Ownership: own, Findings: fs, Certification: cert, Catalog: s.Catalog,
		Filter: in.Filter, Now: now, Deadline: in.Deadline.UTC(), LeaverDeadline: leaverDeadline.UTC()})
	if len(items) == 0 {
		return Campaign{}, nil, ErrEmpty
	}
	r := Router{People: s.people(), Fallback: in.Policy.Fallback, Single: in.Policy.SingleReviewer, Now: now}
	if unrouted := r.Route(items, &inv); len(unrouted) > 0 {
		var names []string
		for _, n := range unrouted {
			names = append(names, items[n-1].IdentityName+" ("+items[n-1].IdentityID+")")
		}
		return Campaign{}, nil, fmt.Errorf("%w: %s; set campaigns.fallback_reviewer or give them an owner in the catalog",
			ErrUnrouted, strings.Join(names, ", "))
	}
	c := Campaign{Name: in.Name, ScanID: in.ScanID, State: StateDraft, Filter: in.Filter, Policy: in.Policy,
		CreatedBy: in.CreatedBy, CreatedAt: now, Deadline: in.Deadline.UTC()}
	if c.ID, err = s.Store.CreateCampaign(ctx, c, items); err != nil {
		return Campaign{}, nil, err
	}
	s.log().Info("campaign created", "campaign", c.ID, "items", len(items), "scan", in.ScanID)
	return c, items, nil
}

// state is one campaign read back: the row, its items with their current
// reviewers, the decision log and the delivery log.
type state struct {
	c          Campaign
	items      []Item
	decisions  []Decision
	last       map[int]*Decision
	asg        []Assignment
	deliveries []Delivery
}

func (s *Service) load(ctx context.Context, id int64) (*state, error) {
	c, err := s.Store.Campaign(ctx, id)
	if err != nil {
		return nil, err
	}
	st := &state{c: c}
	if st.items, err = s.Store.CampaignItems(ctx, id); err != nil {
		return nil, err
	}
	if st.decisions, err = s.Store.CampaignDecisions(ctx, id); err != nil {
		return nil, err
	}
	if st.asg, err = s.Store.CampaignAssignments(ctx, id); err != nil {
		return nil, err
	}
	if st.deliveries, err = s.Store.CampaignDeliveries(ctx, id); err != nil {
		return nil, err
	}
	st.last = Last(st.decisions)
	return st, nil
}

// Status is a campaign at a moment: its items, decisions, KPIs and each
// reviewer's progress.
type Status struct {
	Campaign   Campaign
	Items      []Item
	Decisions  []Decision
	Deliveries []Delivery
	KPIs       KPIs
	Reviewers  []ReviewerStatus
}

// ReviewerStatus is one reviewer's progress.
type ReviewerStatus struct {
	Reviewer string
	// Items counts the items they hold; Open those not resolved, Overdue
	// those past their deadline.
	Items, Open, Overdue int
	// Notified is when they were last sent a notice (zero: never).
	Notified time.Time
}

// Status reads a campaign and computes its KPIs now (or at its close).
func (s *Service) Status(ctx context.Context, id int64) (Status, error) {
	st, err := s.load(ctx, id)
	if err != nil {
		return Status{}, err
	}
	at := s.now()
	if st.c.State == StateClosed {
		at = st.c.ClosedAt
	}
	out := Status{Campaign: st.c, Items: st.items, Decisions: st.decisions, Deliveries: st.deliveries,
		KPIs: ComputeKPIs(st.items, st.decisions, at)}
	byReviewer := map[string]*ReviewerStatus{}
	for i := range st.items {
		it := &st.items[i]
		r := byReviewer[it.Reviewer]
		if r == nil {
			r = &ReviewerStatus{Reviewer: it.Reviewer}
			byReviewer[it.Reviewer] = r
		}
		r.Items++
		if !Resolved(it, st.last) {
			r.Open++
			if !at.Before(it.Deadline) {
				r.Overdue++
			}
		}
	}
	for _, d := range st.deliveries {
		if r := byReviewer[d.Recipient]; r != nil && d.Status == DeliverySent && d.At.After(r.Notified) {
			r.Notified = d.At
		}
	}
	for _, r := range byReviewer {
		out.Reviewers = append(out.Reviewers, *r)
	}
	slices.SortFunc(out.Reviewers, func(a, b ReviewerStatus) int { return strings.Compare(a.Reviewer, b.Reviewer) })
	return out, nil
}

// ReviewerItems returns the campaign and the items one reviewer holds (all
// of them, resolved or not) with the latest decision on each: what a review
// page for a verified link shows.
func (s *Service) ReviewerItems(ctx context.Context, id int64, reviewer string) (Campaign, []Item, map[int]*Decision, error) {
	st, err := s.load(ctx, id)
	if err != nil {
		return Campaign{}, nil, nil, err
	}
	var out []Item
	for _, it := range st.items {
		if strings.EqualFold(it.Reviewer, reviewer) {
			out = append(out, it)
		}
	}
	return st.c, out, st.last, nil
}

// Link returns the signed review link of a reviewer in a campaign, valid
// from now for the policy's LinkTTL (default 14 days); "" when no signer
// or review URL is configured.
func (s *Service) Link(c *Campaign, reviewer string) (string, time.Time) {
	if s.Signer == nil || s.ReviewURL == "" {
		return "", time.Time{}
	}
	ttl := c.Policy.LinkTTL
	if ttl <= 0 {
		ttl = 14 * 24 * time.Hour
	}
	exp := s.now().Add(ttl).Truncate(time.Second)
	tok := s.Signer.Sign(Claims{CampaignID: c.ID, Reviewer: reviewer, Expires: exp})
	sep := "?"
	if strings.Contains(s.ReviewURL, "?") {
		sep = "&"
	}
	return s.ReviewURL + sep + "t=" + url.QueryEscape(tok), exp
}

// Decide validates and records decisions on an open campaign, in order
// (a reassign earlier in the batch hands the item to its new reviewer for
// the decisions after it). A reassign hands the identity to the named
// person; a "don't know" escalates it to the reviewer's manager or the
// fallback. On any invalid decision nothing is recorded and the error
// names every problem by item.
func (s *Service) Decide(ctx context.Context, id int64, ds []Decision) error {
	st, err := s.load(ctx, id)
	if err != nil {
		return err
	}
	if st.c.State != StateOpen {
		return fmt.Errorf("campaign %d is %s: decisions are taken while it is open", id, st.c.State)
	}
	ds, asg, errs := s.prepare(st, ds)
	if len(errs) > 0 {
		var all []error
		for _, e := range errs {
			all = append(all, e.err)
		}
		return errors.Join(all...)
	}
	return s.Store.RecordDecisions(ctx, id, ds, asg)
}

// decisionError is the problem with the i-th decision of a batch.
type decisionError struct {
	i   int
	err error
}

// prepare validates the decisions against a working copy of the items and
// returns them completed (campaign, conflict, time) with the assignments
// they cause.
func (s *Service) prepare(st *state, ds []Decision) ([]Decision, []Assignment, []decisionError) {
	now := s.now()
	people := s.people()
	items := slices.Clone(st.items)
	out := make([]Decision, 0, len(ds))
	var asg []Assignment
	var errs []decisionError
	for i, d := range ds {
		fail := func(err error) { errs = append(errs, decisionError{i, err}) }
		if d.ItemID < 1 || d.ItemID > len(items) {
			fail(fmt.Errorf("item %d: %w: campaign %d has items 1 to %d", d.ItemID, ErrInvalid, st.c.ID, len(items)))
			continue
		}
		it := &items[d.ItemID-1]
		d.CampaignID, d.Conflict = st.c.ID, it.Conflict
		d.Reviewer = canonical(people, d.Reviewer)
		if d.At.IsZero() {
			d.At = now
		}
		if err := Validate(&d, it, Children(items, it.ID), people, now); err != nil {
			fail(err)
			continue
		}
		switch d.Kind {
		case Reassign:
			d.ReassignTo = canonical(people, d.ReassignTo)
			asg = append(asg, handOn(items, it, d.ReassignTo, AssignReassign, d.Reviewer, d.At))
		case DontKnow:
			to := EscalationTarget(people, st.c.Policy.Fallback, it.Reviewer, it.Conflicted, now)
			if to == "" {
				fail(fmt.Errorf("item %d: %w: nobody above %s to escalate to; reassign it instead", it.ID, ErrInvalid, it.Reviewer))
				continue
			}
			asg = append(asg, handOn(items, it, to, AssignDontKnow, d.Reviewer, d.At))
		}
		out = append(out, d)
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	return out, asg, nil
}

// handOn moves an identity item (and its children) to a new reviewer in the
// working copy and returns the assignment.
func handOn(items []Item, head *Item, to, reason, by string, at time.Time) Assignment {
	for i := range items {
		if items[i].ID == head.ID || items[i].ParentID == head.ID {
			items[i].Reviewer = to
			if reason != AssignReassign {
				items[i].Escalated = true
			}
		}
	}
	return Assignment{ItemID: head.ID, Reviewer: to, Reason: reason, At: at, By: by}
}

// Bulk records one decision on many items of one reviewer as a bulk
// action: every decision carries the same bulk id. Validation is per item;
// any invalid item fails the whole bulk.
func (s *Service) Bulk(ctx context.Context, id int64, template Decision, itemIDs []int) error {
	now := s.now()
	bulk := "bulk-" + strconv.FormatInt(now.UnixNano(), 36) + "-" + shortHash(template.Reviewer)
	ds := make([]Decision, 0, len(itemIDs))
	for _, n := range itemIDs {
		d := template
		d.ItemID, d.BulkID, d.At = n, bulk, now
		ds = append(ds, d)
	}
	return s.Decide(ctx, id, ds)
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// Close closes an open campaign at now: items nobody resolved get the
// campaign default (recorded as decisions), the certified state it leaves
// becomes the latest certification, and the KPIs are recorded. It returns
// the KPIs.
func (s *Service) Close(ctx context.Context, id int64, actor string) (KPIs, error) {
	st, err := s.load(ctx, id)
	if err != nil {
		return KPIs{}, err
	}
	if st.c.State != StateOpen {
		return KPIs{}, fmt.Errorf("campaign %d is %s: only an open campaign closes", id, st.c.State)
	}
	now := s.now()
	inv, _, err := s.Store.Snapshot(ctx, st.c.ScanID)
	if err != nil {
		return KPIs{}, err
	}
	prev, err := s.Store.LatestCertification(ctx)
	if err != nil {
		return KPIs{}, err
	}
	defaults := Defaults(&st.c, st.items, st.last, now)
	cert := Certification(prev, &inv, st.items, st.last, now)
	// The defaults join the log after every decision: number them so the
	// KPIs see them as the latest.
	all := slices.Clone(st.decisions)
	next := int64(len(all))
	if n := len(all); n > 0 {
		next = all[n-1].ID
	}
	for i, d := range defaults {
		d.ID = next + int64(i) + 1
		all = append(all, d)
	}
	kpis := ComputeKPIs(st.items, all, now)
	if err := s.Store.CloseCampaign(ctx, id, Closing{At: now, Actor: actor, Defaults: defaults, Certification: cert, Summary: kpis}); err != nil {
		return KPIs{}, err
	}
	s.log().Info("campaign closed", "campaign", id, "certified", kpis.Certified, "unanswered", kpis.Unanswered)
	return kpis, nil
}

// detail is a bounded, one-line, printable form of an error for the
// delivery log.
func detail(err error) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return ' '
		}
		return r
	}, err.Error())
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
