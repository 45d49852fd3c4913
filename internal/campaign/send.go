package campaign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SendOptions changes how notices go out.
type SendOptions struct {
	// DryRun delivers through Notifier (typically a folder of .eml files)
	// without opening a draft, escalating, or touching the delivery log.
	DryRun bool
	// Notifier overrides the service's notifier for this run.
	Notifier Notifier
	// Actor is who runs the send (an operator login), for the audit log.
	Actor string
}

// Sent is one notice and what became of it.
type Sent struct {
	Kind      NoticeKind
	To        string
	Items     int
	Transport string
	MessageID string
	// Err is the delivery failure ("" when delivered).
	Err string
}

// SendResult is what a send or remind run did.
type SendResult struct {
	Notices []Sent
	// Escalated lists the identity items escalated by this run.
	Escalated []Assignment
	// Stuck lists overdue identity items nobody is above their reviewer to
	// take (no manager, no fallback).
	Stuck []int
}

// Failed counts the notices that were not delivered.
func (r *SendResult) Failed() int {
	n := 0
	for _, s := range r.Notices {
		if s.Err != "" {
			n++
		}
	}
	return n
}

// Send opens a draft campaign and sends each reviewer who holds items they
// were not yet told about one digest of all their open items (an invite;
// an escalation notice when some came to them by escalation). It is
// idempotent: a rerun sends nothing new, and a notice that failed is sent
// again by the next run.
func (s *Service) Send(ctx context.Context, id int64, opt SendOptions) (SendResult, error) {
	st, err := s.load(ctx, id)
	if err != nil {
		return SendResult{}, err
	}
	switch {
	case st.c.State == StateClosed:
		return SendResult{}, fmt.Errorf("campaign %d is closed", id)
	case st.c.State == StateDraft && !opt.DryRun:
		if err := s.Store.OpenCampaign(ctx, id, s.now(), opt.Actor); err != nil {
			return SendResult{}, err
		}
		st.c.State, st.c.OpenedAt = StateOpen, s.now()
	}
	return s.deliver(ctx, st, s.notices(st, false), opt)
}

// Remind runs what is due at now on an open campaign: each unresolved
// identity item past its deadline plus the escalation grace goes to its
// reviewer's manager or the fallback; then every reviewer with items due
// for a reminder, or with items they were not told about (escalated or
// reassigned to them), gets one digest. Like Send it is idempotent.
func (s *Service) Remind(ctx context.Context, id int64, opt SendOptions) (SendResult, error) {
	st, err := s.load(ctx, id)
	if err != nil {
		return SendResult{}, err
	}
	if st.c.State != StateOpen {
		return SendResult{}, fmt.Errorf("campaign %d is %s: reminders run while it is open", id, st.c.State)
	}
	var res SendResult
	if !opt.DryRun {
		res.Escalated, res.Stuck = s.escalations(st)
		if len(res.Escalated) > 0 {
			if err := s.Store.AssignItems(ctx, id, res.Escalated); err != nil {
				return res, err
			}
			if st, err = s.load(ctx, id); err != nil {
				return res, err
			}
		}
	}
	out, err := s.deliver(ctx, st, s.notices(st, true), opt)
	out.Escalated, out.Stuck = res.Escalated, res.Stuck
	return out, err
}

// escalations lists the assignments escalation makes at now.
func (s *Service) escalations(st *state) (asg []Assignment, stuck []int) {
	now := s.now()
	people := s.people()
	for i := range st.items {
		it := &st.items[i]
		if !EscalationDue(&st.c.Policy, it, now) || Resolved(it, st.last) {
			continue
		}
		to := EscalationTarget(people, st.c.Policy.Fallback, it.Reviewer, it.Conflicted, now)
		if to == "" {
			stuck = append(stuck, it.ID)
			continue
		}
		asg = append(asg, Assignment{ItemID: it.ID, Reviewer: to, Reason: AssignEscalated, At: now, By: Actor})
	}
	return asg, stuck
}

// Delivery-log keys: a reviewer told about an identity item they hold
// since its gen-th assignment, and reminded of it at one offset. The
// generation makes an item that comes back to an earlier reviewer (by
// reassignment or escalation) news to them again.
func toldKey(reviewer string, item, gen int) string {
	return "told|" + reviewer + "|" + strconv.Itoa(item) + "|" + strconv.Itoa(gen)
}

func remindKey(reviewer string, item, gen int, offset time.Duration) string {
	return "remind|" + reviewer + "|" + strconv.Itoa(item) + "|" + strconv.Itoa(gen) + "|" + strconv.FormatInt(int64(offset/time.Second), 10) + "s"
}

// notices works out, per reviewer, the digest due now (if any).
func (s *Service) notices(st *state, reminders bool) []*Notice {
	now := s.now()
	sent := map[string]bool{}
	for _, d := range st.deliveries {
		if d.Status == DeliverySent {
			sent[d.Key] = true
		}
	}
	// Who each escalated item came from: the holder before the latest
	// escalation or "don't know".
	from := map[int]string{}
	prev := map[int]string{}
	gen := map[int]int{}
	for _, a := range st.asg {
		gen[a.ItemID]++
		if a.Reason == AssignEscalated || a.Reason == AssignDontKnow {
			from[a.ItemID] = prev[a.ItemID]
		} else {
			delete(from, a.ItemID)
		}
		prev[a.ItemID] = a.Reviewer
	}
	byReviewer := map[string][]Item{}
	for _, it := range st.items {
		if !Resolved(&it, st.last) {
			byReviewer[it.Reviewer] = append(byReviewer[it.Reviewer], it)
		}
	}
	reviewers := make([]string, 0, len(byReviewer))
	for r := range byReviewer {
		reviewers = append(reviewers, r)
	}
	slices.Sort(reviewers)
	var out []*Notice
	for _, r := range reviewers {
		if n := s.notice(st, r, byReviewer[r], sent, from, gen, reminders, now); n != nil {
			out = append(out, n)
		}
	}
	return out
}

func (s *Service) notice(st *state, reviewer string, items []Item, sent map[string]bool, from map[int]string, gen map[int]int,
	reminders bool, now time.Time) *Notice {
	n := &Notice{Campaign: st.c, Items: items, New: map[int]bool{}, Escalated: map[int]string{}, At: now}
	kind := NoticeReminder
	for _, it := range items {
		if it.ParentID != 0 {
			continue
		}
		if n.Deadline.IsZero() || it.Deadline.Before(n.Deadline) {
			n.Deadline = it.Deadline
		}
		due, isDue := ReminderDue(&st.c.Policy, it.Deadline, now)
		g := gen[it.ID]
		if k := toldKey(reviewer, it.ID, g); !sent[k] {
			n.New[it.ID] = true
			n.Keys = append(n.Keys, k)
			if isDue {
				// Telling now settles the reminder already due.
				n.Keys = append(n.Keys, remindKey(reviewer, it.ID, g, due))
			}
			if kind != NoticeEscalation {
				kind = NoticeInvite
			}
			if it.Escalated {
				n.Escalated[it.ID] = from[it.ID]
				kind = NoticeEscalation
			}
			continue
		}
		if reminders && isDue {
			if k := remindKey(reviewer, it.ID, g, due); !sent[k] {
				n.Keys = append(n.Keys, k)
			}
		}
	}
	if len(n.Keys) == 0 {
		return nil
	}
	n.Kind = kind
	n.To = Recipient{Address: reviewer}
	if p, ok := s.people().Lookup(reviewer); ok {
		n.To.Name = p.Name
	}
	n.Link, n.LinkExpires = s.Link(&st.c, reviewer)
	sum := sha256.Sum256([]byte(strconv.FormatInt(st.c.ID, 10) + "\n" + strings.Join(n.Keys, "\n")))
	n.MessageID = "<nhiscan-" + strconv.FormatInt(st.c.ID, 10) + "-" + hex.EncodeToString(sum[:12]) + "@nhiscan.invalid>"
	return n
}

// deliver hands each notice to the notifier and, unless a dry run, records
// every key it settles in the delivery log (sent or failed).
func (s *Service) deliver(ctx context.Context, st *state, notices []*Notice, opt SendOptions) (SendResult, error) {
	notifier := opt.Notifier
	if notifier == nil {
		notifier = s.Notifier
	}
	var res SendResult
	if notifier == nil {
		return res, errors.New("no notifier: configure smtp, or send with --dry-run to write .eml files")
	}
	for _, n := range notices {
		rec, err := notifier.Notify(ctx, n)
		sent := Sent{Kind: n.Kind, To: n.To.Address, Items: len(n.Items), Transport: rec.Transport, MessageID: rec.MessageID}
		status, msg := DeliverySent, ""
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			status, msg = DeliveryFailed, detail(err)
			sent.Err = msg
			s.log().Warn("notice not delivered", "campaign", st.c.ID, "to", n.To.Address, "kind", string(n.Kind), "error", msg)
		}
		res.Notices = append(res.Notices, sent)
		if opt.DryRun {
			continue
		}
		ds := make([]Delivery, 0, len(n.Keys))
		for _, k := range n.Keys {
			ds = append(ds, Delivery{CampaignID: st.c.ID, Key: k, Recipient: n.To.Address, Kind: n.Kind,
				Transport: rec.Transport, Status: status, MessageID: rec.MessageID, Error: msg, At: s.now()})
		}
		if err := s.Store.RecordDeliveries(ctx, ds); err != nil {
			return res, err
		}
	}
	return res, nil
}
