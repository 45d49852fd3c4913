package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/campaign"
)

// Campaign errors callers may test with errors.Is.
var (
	// ErrCampaignState: the campaign is not in the state the operation
	// needs (decisions only while open; a closed campaign is final).
	ErrCampaignState = errors.New("campaign is not in a state that allows this")
	// ErrDelivered: the notice key was already delivered.
	ErrDelivered = errors.New("notice already delivered")
)

// Audit actions of campaigns.
const (
	ActionCampaignCreate   = "campaign.create"
	ActionCampaignOpen     = "campaign.open"
	ActionCampaignDecision = "campaign.decision"
	ActionCampaignAssign   = "campaign.assign"
	ActionCampaignClose    = "campaign.close"
)

func campaignSubject(id int64) string { return "campaign:" + strconv.FormatInt(id, 10) }

func itemSubject(id int64, item int) string {
	return campaignSubject(id) + "/item:" + strconv.Itoa(item)
}

// CreateCampaign stores a draft campaign with its items and each identity
// item's first assignment (its routed reviewer), and audits the creation,
// in one transaction. It returns the campaign id; c.ID and c.State are set
// by the store.
func (s *Store) CreateCampaign(ctx context.Context, c campaign.Campaign, items []campaign.Item) (int64, error) {
	if err := s.writable("create campaign"); err != nil {
		return 0, err
	}
	filter, err := json.Marshal(c.Filter)
	if err != nil {
		return 0, fmt.Errorf("create campaign: %w", err)
	}
	policy, err := json.Marshal(c.Policy)
	if err != nil {
		return 0, fmt.Errorf("create campaign: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("create campaign: %w", err)
	}
	defer tx.Rollback()
	var id int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO campaigns (name, scan_id, state, created_by, created_at, deadline, filter, policy)
		VALUES (?, ?, 'draft', ?, ?, ?, ?, ?) RETURNING id`, c.Name, c.ScanID, c.CreatedBy, formatTime(c.CreatedAt), formatTime(c.Deadline),
		string(filter), string(policy)).Scan(&id); err != nil {
		return 0, fmt.Errorf("create campaign: %w", err)
	}
	if err := insertItems(ctx, tx, id, items, c.CreatedAt); err != nil {
		return 0, fmt.Errorf("create campaign: %w", err)
	}
	heads, reviewers := 0, map[string]bool{}
	for _, it := range items {
		if it.ParentID == 0 {
			heads++
			reviewers[it.Reviewer] = true
		}
	}
	if err := appendAudit(ctx, tx, AuditEntry{At: c.CreatedAt, Actor: c.CreatedBy, Action: ActionCampaignCreate, Subject: campaignSubject(id),
		Detail: map[string]string{"name": c.Name, "scan": strconv.FormatInt(c.ScanID, 10), "items": strconv.Itoa(len(items)),
			"identities": strconv.Itoa(heads), "reviewers": strconv.Itoa(len(reviewers)), "deadline": formatTime(c.Deadline),
			"filter": string(filter)}}); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("create campaign: %w", err)
	}
	return id, nil
}

func insertItems(ctx context.Context, tx *sql.Tx, id int64, items []campaign.Item, at time.Time) error {
	ins, err := tx.PrepareContext(ctx, `INSERT INTO campaign_items (campaign_id, item_id, parent_id, kind, identity_id, body) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	asg, err := tx.PrepareContext(ctx, `INSERT INTO campaign_assignments (campaign_id, item_id, reviewer, reason, actor, at) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer asg.Close()
	for i := range items {
		it := items[i]
		if it.ID != i+1 {
			return fmt.Errorf("item %d is number %d: items are numbered from 1 in order", i, it.ID)
		}
		reviewer := it.Reviewer
		it.Reviewer, it.Escalated = "", false // held in the assignment log
		body, err := json.Marshal(it)
		if err != nil {
			return err
		}
		if _, err := ins.ExecContext(ctx, id, it.ID, it.ParentID, string(it.Kind), it.IdentityID, string(body)); err != nil {
			return err
		}
		if it.ParentID != 0 {
			continue
		}
		if reviewer == "" {
			return fmt.Errorf("item %d (%s) has no reviewer", it.ID, it.IdentityID)
		}
		reason := campaign.AssignRouted
		if it.Conflict != "" {
			reason = campaign.AssignConflict
		}
		if _, err := asg.ExecContext(ctx, id, it.ID, reviewer, reason, campaign.Actor, formatTime(at)); err != nil {
			return err
		}
	}
	return nil
}

const campaignColumns = `id, name, scan_id, state, created_by, created_at, opened_at, deadline, closed_at, filter, policy, summary`

func scanCampaign(r rowScanner) (campaign.Campaign, error) {
	var c campaign.Campaign
	var state, created, opened, deadline, closed, filter, policy, summary string
	if err := r.Scan(&c.ID, &c.Name, &c.ScanID, &state, &c.CreatedBy, &created, &opened, &deadline, &closed, &filter, &policy, &summary); err != nil {
		return c, err
	}
	c.State = campaign.State(state)
	var err error
	for _, t := range []struct {
		dst *time.Time
		s   string
	}{{&c.CreatedAt, created}, {&c.OpenedAt, opened}, {&c.Deadline, deadline}, {&c.ClosedAt, closed}} {
		if *t.dst, err = parseNullTime(sql.NullString{String: t.s, Valid: t.s != ""}); err != nil {
			return c, err
		}
	}
	if err := json.Unmarshal([]byte(filter), &c.Filter); err != nil {
		return c, fmt.Errorf("filter: %w", err)
	}
	if err := json.Unmarshal([]byte(policy), &c.Policy); err != nil {
		return c, fmt.Errorf("policy: %w", err)
	}
	if summary != "" {
		c.Summary = &campaign.KPIs{}
		if err := json.Unmarshal([]byte(summary), c.Summary); err != nil {
			return c, fmt.Errorf("summary: %w", err)
		}
	}
	return c, nil
}

// Campaign returns one campaign; the error wraps ErrNotFound when there is
// none with that id.
func (s *Store) Campaign(ctx context.Context, id int64) (campaign.Campaign, error) {
	c, err := scanCampaign(s.db.QueryRowContext(ctx, "SELECT "+campaignColumns+" FROM campaigns WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("campaign %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("campaign %d: %w", id, err)
	}
	return c, nil
}

// Campaigns lists every campaign by id.
func (s *Store) Campaigns(ctx context.Context) ([]campaign.Campaign, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+campaignColumns+" FROM campaigns ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("campaigns: %w", err)
	}
	defer rows.Close()
	var out []campaign.Campaign
	for rows.Next() {
		c, err := scanCampaign(rows)
		if err != nil {
			return nil, fmt.Errorf("campaigns: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CampaignItems returns the campaign's items in order, each with its
// current reviewer and escalation from the assignment log (credential and
// grant items follow their identity item).
func (s *Store) CampaignItems(ctx context.Context, id int64) ([]campaign.Item, error) {
	asg, err := s.CampaignAssignments(ctx, id)
	if err != nil {
		return nil, err
	}
	current := map[int]campaign.Assignment{}
	escalated := map[int]bool{}
	for _, a := range asg {
		current[a.ItemID] = a
		if a.Reason == campaign.AssignEscalated || a.Reason == campaign.AssignDontKnow {
			escalated[a.ItemID] = true
		}
	}
	rows, err := s.db.QueryContext(ctx, "SELECT body FROM campaign_items WHERE campaign_id = ? ORDER BY item_id", id)
	if err != nil {
		return nil, fmt.Errorf("campaign %d items: %w", id, err)
	}
	defer rows.Close()
	var out []campaign.Item
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("campaign %d items: %w", id, err)
		}
		var it campaign.Item
		if err := json.Unmarshal([]byte(body), &it); err != nil {
			return nil, fmt.Errorf("campaign %d items: %w", id, err)
		}
		head := it.ID
		if it.ParentID != 0 {
			head = it.ParentID
		}
		it.Reviewer, it.Escalated = current[head].Reviewer, escalated[head]
		out = append(out, it)
	}
	return out, rows.Err()
}

// CampaignAssignments returns the assignment log of a campaign in order.
func (s *Store) CampaignAssignments(ctx context.Context, id int64) ([]campaign.Assignment, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT item_id, reviewer, reason, actor, at FROM campaign_assignments
		WHERE campaign_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("campaign %d assignments: %w", id, err)
	}
	defer rows.Close()
	var out []campaign.Assignment
	for rows.Next() {
		var a campaign.Assignment
		var at string
		if err := rows.Scan(&a.ItemID, &a.Reviewer, &a.Reason, &a.By, &at); err != nil {
			return nil, fmt.Errorf("campaign %d assignments: %w", id, err)
		}
		if a.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("campaign %d assignments: %w", id, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// OpenCampaign moves a draft campaign to open and audits it.
func (s *Store) OpenCampaign(ctx context.Context, id int64, at time.Time, actor string) error {
	if err := s.writable("open campaign"); err != nil {
		return err
	}
	return s.inTx(ctx, "open campaign", func(tx *sql.Tx) error {
		if err := requireState(ctx, tx, id, campaign.StateDraft); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE campaigns SET state = 'open', opened_at = ? WHERE id = ?", formatTime(at), id); err != nil {
			return err
		}
		return appendAudit(ctx, tx, AuditEntry{At: at, Actor: actor, Action: ActionCampaignOpen, Subject: campaignSubject(id)})
	})
}

func (s *Store) inTx(ctx context.Context, what string, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// requireState checks the campaign's state inside tx.
func requireState(ctx context.Context, tx *sql.Tx, id int64, want campaign.State) error {
	var state string
	err := tx.QueryRowContext(ctx, "SELECT state FROM campaigns WHERE id = ?", id).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("campaign %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return err
	}
	if campaign.State(state) != want {
		return fmt.Errorf("campaign %d is %s, not %s: %w", id, state, want, ErrCampaignState)
	}
	return nil
}

// RecordDecisions appends decisions and the assignments they cause
// (reassign, don't know) to an open campaign, each with its audit entry
// (the reviewer as actor, the time and the decision), all in one
// transaction: on any error nothing is written. Decisions are assigned
// their ids in order.
func (s *Store) RecordDecisions(ctx context.Context, id int64, ds []campaign.Decision, asg []campaign.Assignment) error {
	if err := s.writable("record decisions"); err != nil {
		return err
	}
	return s.inTx(ctx, "record decisions", func(tx *sql.Tx) error {
		if err := requireState(ctx, tx, id, campaign.StateOpen); err != nil {
			return err
		}
		if err := insertDecisions(ctx, tx, id, ds); err != nil {
			return err
		}
		return insertAssignments(ctx, tx, id, asg)
	})
}

// AssignItems appends assignments (escalations) to an open campaign with
// their audit entries, in one transaction.
func (s *Store) AssignItems(ctx context.Context, id int64, asg []campaign.Assignment) error {
	if err := s.writable("assign items"); err != nil {
		return err
	}
	return s.inTx(ctx, "assign items", func(tx *sql.Tx) error {
		if err := requireState(ctx, tx, id, campaign.StateOpen); err != nil {
			return err
		}
		return insertAssignments(ctx, tx, id, asg)
	})
}

func insertDecisions(ctx context.Context, tx *sql.Tx, id int64, ds []campaign.Decision) error {
	ins, err := tx.PrepareContext(ctx, `INSERT INTO campaign_decisions (campaign_id, item_id, reviewer, kind, until, grants,
		reassign_to, justification, bulk_id, conflict, default_to, source, client, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING id`)
	if err != nil {
		return err
	}
	defer ins.Close()
	for _, d := range ds {
		if d.At.IsZero() || d.Reviewer == "" {
			return fmt.Errorf("decision on item %d: time and reviewer are required", d.ItemID)
		}
		grants, err := json.Marshal(nonNil(d.Grants))
		if err != nil {
			return err
		}
		until := ""
		if !d.Until.IsZero() {
			until = formatTime(d.Until)
		}
		var seq int64
		if err := ins.QueryRowContext(ctx, id, d.ItemID, d.Reviewer, string(d.Kind), until, string(grants), d.ReassignTo,
			d.Justification, d.BulkID, d.Conflict, string(d.Default), d.Source, d.Client, formatTime(d.At)).Scan(&seq); err != nil {
			return fmt.Errorf("decision on item %d: %w", d.ItemID, err)
		}
		detail := map[string]string{"decision_id": strconv.FormatInt(seq, 10), "decision": string(d.Kind), "source": d.Source}
		for k, v := range map[string]string{"until": until, "grants": strings.Join(d.Grants, ","), "reassign_to": d.ReassignTo,
			"justification": d.Justification, "bulk_id": d.BulkID, "conflict": d.Conflict, "default": string(d.Default), "client": d.Client} {
			if v != "" {
				detail[k] = v
			}
		}
		if err := appendAudit(ctx, tx, AuditEntry{At: d.At, Actor: d.Reviewer, Action: ActionCampaignDecision,
			Subject: itemSubject(id, d.ItemID), Detail: detail}); err != nil {
			return err
		}
	}
	return nil
}

func insertAssignments(ctx context.Context, tx *sql.Tx, id int64, asg []campaign.Assignment) error {
	for _, a := range asg {
		if a.At.IsZero() || a.Reviewer == "" || a.By == "" {
			return fmt.Errorf("assignment of item %d: time, reviewer and actor are required", a.ItemID)
		}
		var parent int
		err := tx.QueryRowContext(ctx, "SELECT parent_id FROM campaign_items WHERE campaign_id = ? AND item_id = ?", id, a.ItemID).Scan(&parent)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("assignment: campaign %d has no item %d", id, a.ItemID)
		}
		if err != nil {
			return err
		}
		if parent != 0 {
			return fmt.Errorf("assignment: item %d is not an identity item (its identity is item %d)", a.ItemID, parent)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO campaign_assignments (campaign_id, item_id, reviewer, reason, actor, at)
			VALUES (?, ?, ?, ?, ?, ?)`, id, a.ItemID, a.Reviewer, a.Reason, a.By, formatTime(a.At)); err != nil {
			return err
		}
		if err := appendAudit(ctx, tx, AuditEntry{At: a.At, Actor: a.By, Action: ActionCampaignAssign, Subject: itemSubject(id, a.ItemID),
			Detail: map[string]string{"reviewer": a.Reviewer, "reason": a.Reason}}); err != nil {
			return err
		}
	}
	return nil
}

// CampaignDecisions returns the decision log of a campaign in order.
func (s *Store) CampaignDecisions(ctx context.Context, id int64) ([]campaign.Decision, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, item_id, reviewer, kind, until, grants, reassign_to, justification, bulk_id,
		conflict, default_to, source, client, at FROM campaign_decisions WHERE campaign_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("campaign %d decisions: %w", id, err)
	}
	defer rows.Close()
	var out []campaign.Decision
	for rows.Next() {
		d := campaign.Decision{CampaignID: id}
		var kind, until, grants, def, at string
		if err := rows.Scan(&d.ID, &d.ItemID, &d.Reviewer, &kind, &until, &grants, &d.ReassignTo, &d.Justification, &d.BulkID,
			&d.Conflict, &def, &d.Source, &d.Client, &at); err != nil {
			return nil, fmt.Errorf("campaign %d decisions: %w", id, err)
		}
		d.Kind, d.Default = campaign.DecisionKind(kind), campaign.Default(def)
		if err := json.Unmarshal([]byte(grants), &d.Grants); err != nil {
			return nil, fmt.Errorf("campaign %d decision %d: %w", id, d.ID, err)
		}
		if len(d.Grants) == 0 {
			d.Grants = nil
		}
		if d.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("campaign %d decision %d: %w", id, d.ID, err)
		}
		if d.Until, err = parseNullTime(sql.NullString{String: until, Valid: until != ""}); err != nil {
			return nil, fmt.Errorf("campaign %d decision %d: %w", id, d.ID, err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// RecordDeliveries appends delivery attempts to the log in one
// transaction (one notice settles several keys). A second successful
// delivery of a key returns an error wrapping ErrDelivered, and then
// nothing of the batch is written.
func (s *Store) RecordDeliveries(ctx context.Context, ds []campaign.Delivery) error {
	if err := s.writable("record deliveries"); err != nil {
		return err
	}
	return s.inTx(ctx, "record deliveries", func(tx *sql.Tx) error {
		ins, err := tx.PrepareContext(ctx, `INSERT INTO campaign_deliveries (campaign_id, key, recipient, kind, transport, status, message_id, error, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, d := range ds {
			if d.At.IsZero() || d.Key == "" {
				return errors.New("time and key are required")
			}
			_, err := ins.ExecContext(ctx, d.CampaignID, d.Key, d.Recipient, string(d.Kind), d.Transport, d.Status, d.MessageID, d.Error, formatTime(d.At))
			if uniqueViolation(err) {
				return fmt.Errorf("%q: %w", d.Key, ErrDelivered)
			}
			if err != nil {
				return fmt.Errorf("%q: %w", d.Key, err)
			}
		}
		return nil
	})
}

// CampaignDeliveries returns the delivery log of a campaign in order.
func (s *Store) CampaignDeliveries(ctx context.Context, id int64) ([]campaign.Delivery, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, key, recipient, kind, transport, status, message_id, error, at
		FROM campaign_deliveries WHERE campaign_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("campaign %d deliveries: %w", id, err)
	}
	defer rows.Close()
	var out []campaign.Delivery
	for rows.Next() {
		d := campaign.Delivery{CampaignID: id}
		var kind, at string
		if err := rows.Scan(&d.ID, &d.Key, &d.Recipient, &kind, &d.Transport, &d.Status, &d.MessageID, &d.Error, &at); err != nil {
			return nil, fmt.Errorf("campaign %d deliveries: %w", id, err)
		}
		d.Kind = campaign.NoticeKind(kind)
		if d.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("campaign %d deliveries: %w", id, err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// CloseCampaign closes an open campaign in one transaction: it appends the
// defaults (each audited), saves the certification, records the KPIs and
// audits the close with the summary's SHA-256. A closed campaign is final.
func (s *Store) CloseCampaign(ctx context.Context, id int64, in campaign.Closing) error {
	if err := s.writable("close campaign"); err != nil {
		return err
	}
	summary, err := json.Marshal(in.Summary)
	if err != nil {
		return fmt.Errorf("close campaign: %w", err)
	}
	return s.inTx(ctx, "close campaign", func(tx *sql.Tx) error {
		if err := requireState(ctx, tx, id, campaign.StateOpen); err != nil {
			return err
		}
		if err := insertDecisions(ctx, tx, id, in.Defaults); err != nil {
			return err
		}
		if err := saveCertification(ctx, tx, in.Certification); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE campaigns SET state = 'closed', closed_at = ?, summary = ? WHERE id = ?",
			formatTime(in.At), string(summary), id); err != nil {
			return err
		}
		sum := sha256.Sum256(summary)
		var kpis map[string]int
		_ = json.Unmarshal(summary, &kpis) // our own encoding of KPIs
		detail := map[string]string{"summary_sha256": hex.EncodeToString(sum[:]),
			"certified_identities": strconv.Itoa(len(in.Certification.Grants))}
		for k, v := range kpis {
			detail[k] = strconv.Itoa(v)
		}
		return appendAudit(ctx, tx, AuditEntry{At: in.At, Actor: in.Actor, Action: ActionCampaignClose, Subject: campaignSubject(id), Detail: detail})
	})
}
