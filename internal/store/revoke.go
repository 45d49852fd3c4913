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

	"github.com/nhiscan/nhiscan/internal/revoke"
)

// ErrRevokeRunning: another apply or rollback holds the revocation lock.
var ErrRevokeRunning = errors.New("another revocation run is in progress")

// Audit actions of revocation plans; each journal row is audited as
// revoke.<phase>.<step> (revoke.AuditEntry).
const (
	ActionRevokePlan       = "revoke.plan"
	ActionRevokeRemediated = "revoke.remediated"
)

func planSubject(id int64) string { return "revoke-plan:" + strconv.FormatInt(id, 10) }

// CreatePlan stores a plan (p.ID is set by the store) and audits it, with
// the SHA-256 of its stored form, in one transaction. Plans never change.
func (s *Store) CreatePlan(ctx context.Context, p revoke.Plan) (int64, error) {
	if err := s.writable("create revocation plan"); err != nil {
		return 0, err
	}
	if !p.Stage.Valid() || p.CreatedAt.IsZero() || p.CreatedBy == "" {
		return 0, fmt.Errorf("create plan: stage %q, creation time and creator are required", p.Stage)
	}
	var id int64
	err := s.inTx(ctx, "create plan", func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) + 1 FROM revoke_plans").Scan(&id); err != nil {
			return err
		}
		p.ID = id
		body, err := json.Marshal(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		digest := hex.EncodeToString(sum[:])
		if _, err := tx.ExecContext(ctx, `INSERT INTO revoke_plans (id, scan_id, stage, created_by, created_at, body, sha256) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			id, p.ScanID, string(p.Stage), p.CreatedBy, formatTime(p.CreatedAt), string(body), digest); err != nil {
			return err
		}
		c := p.Count()
		return appendAudit(ctx, tx, AuditEntry{At: p.CreatedAt, Actor: p.CreatedBy, Action: ActionRevokePlan, Subject: planSubject(id),
			Detail: map[string]string{"scan": strconv.FormatInt(p.ScanID, 10), "stage": string(p.Stage), "plan_sha256": digest,
				"ready": strconv.Itoa(c.Ready), "blocked": strconv.Itoa(c.Blocked), "skipped": strconv.Itoa(c.Skipped)}})
	})
	return id, err
}

// Plan returns one plan; the error wraps ErrNotFound when there is none.
func (s *Store) Plan(ctx context.Context, id int64) (revoke.Plan, error) {
	var body, digest string
	err := s.db.QueryRowContext(ctx, "SELECT body, sha256 FROM revoke_plans WHERE id = ?", id).Scan(&body, &digest)
	if errors.Is(err, sql.ErrNoRows) {
		return revoke.Plan{}, fmt.Errorf("plan %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return revoke.Plan{}, fmt.Errorf("plan %d: %w", id, err)
	}
	return decodePlan(id, body, digest)
}

func decodePlan(id int64, body, digest string) (revoke.Plan, error) {
	sum := sha256.Sum256([]byte(body))
	if hex.EncodeToString(sum[:]) != digest {
		return revoke.Plan{}, fmt.Errorf("plan %d: %w", id, ErrCorrupt)
	}
	var p revoke.Plan
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		return revoke.Plan{}, fmt.Errorf("plan %d: %w", id, err)
	}
	return p, nil
}

// Plans returns every plan in id order.
func (s *Store) Plans(ctx context.Context) ([]revoke.Plan, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, body, sha256 FROM revoke_plans ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("plans: %w", err)
	}
	defer rows.Close()
	var out []revoke.Plan
	for rows.Next() {
		var id int64
		var body, digest string
		if err := rows.Scan(&id, &body, &digest); err != nil {
			return nil, fmt.Errorf("plans: %w", err)
		}
		p, err := decodePlan(id, body, digest)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// RevokeJournal returns the journal rows of a plan (of every plan when
// planID is 0) in sequence order.
func (s *Store) RevokeJournal(ctx context.Context, planID int64) ([]revoke.Entry, error) {
	q, args := "SELECT seq, body FROM revoke_journal ORDER BY seq", []any{}
	if planID != 0 {
		q, args = "SELECT seq, body FROM revoke_journal WHERE plan_id = ? ORDER BY seq", []any{planID}
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("revoke journal: %w", err)
	}
	defer rows.Close()
	var out []revoke.Entry
	for rows.Next() {
		var seq int64
		var body string
		if err := rows.Scan(&seq, &body); err != nil {
			return nil, fmt.Errorf("revoke journal: %w", err)
		}
		var e revoke.Entry
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			return nil, fmt.Errorf("revoke journal %d: %w", seq, err)
		}
		e.Seq = seq
		out = append(out, e)
	}
	return out, rows.Err()
}

// RecordRevoke appends a journal row and its audit entry in one
// transaction (revoke.Journal). A second done row of one action and phase
// fails with revoke.ErrAlreadyDone and writes nothing.
func (s *Store) RecordRevoke(ctx context.Context, e revoke.Entry, a *revoke.Action) (revoke.Entry, error) {
	if err := s.writable("record revocation"); err != nil {
		return revoke.Entry{}, err
	}
	if e.At.IsZero() || e.Approver == "" {
		return e, errors.New("record revoke: time and approver are required")
	}
	err := s.inTx(ctx, "record revoke", func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM revoke_journal WHERE plan_id = ? AND action_id = ? AND phase = ? AND step = 'done'",
			e.PlanID, e.ActionID, string(e.Phase)).Scan(&n); err != nil {
			return err
		}
		if n > 0 && e.Step == revoke.StepDone {
			return revoke.ErrAlreadyDone
		}
		body, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO revoke_journal (plan_id, action_id, phase, step, approver, at, body)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
			e.PlanID, e.ActionID, string(e.Phase), string(e.Step), e.Approver, formatTime(e.At), string(body)).Scan(&e.Seq); err != nil {
			return err
		}
		action, subject, detail := revoke.AuditEntry(e, a)
		return appendAudit(ctx, tx, AuditEntry{At: e.At, Actor: e.Approver, Action: action, Subject: subject, Detail: detail})
	})
	return e, err
}

// LockRevoke takes the revocation lock ("<db>.revoke.lock"), so that one
// apply or rollback runs at a time in any process; unlock releases it. The
// lock dies with its process. When another run holds it, the error wraps
// ErrRevokeRunning.
func (s *Store) LockRevoke() (unlock func(), err error) {
	if s.pg != nil {
		return s.lockRevokePG(context.Background())
	}
	l, err := tryLock(s.path + ".revoke.lock")
	if errors.Is(err, errLocked) {
		return nil, fmt.Errorf("revoke: %w", ErrRevokeRunning)
	}
	if err != nil {
		return nil, err
	}
	return func() { l.unlock() }, nil
}

// Remediation links a finding to the applied action a later scan resolved
// it after.
type Remediation struct {
	PlanID      int64
	ActionID    int
	Fingerprint string
	RuleID      string
	// ScanID is the scan that resolved the finding; At its start.
	ScanID int64
	At     time.Time
}

// LinkRemediations records, for every applied (done, verified, not rolled
// back) disable or delete, which of the findings it was planned to
// remediate a scan has since resolved: a revoke_remediations row, and a
// "remediated" event of that scan beside the finding's "resolved" (its
// detail names the plan and action). Only a resolution by a scan that
// started after the action counts; the lifecycle, not this link, decides
// that a finding is resolved (it needs its facets observed). It is
// idempotent, so it may run after every scan; it returns the links it
// added and audits them.
func (s *Store) LinkRemediations(ctx context.Context, at time.Time) ([]Remediation, error) {
	if err := s.writable("link remediations"); err != nil {
		return nil, err
	}
	plans, err := s.Plans(ctx)
	if err != nil {
		return nil, err
	}
	journal, err := s.RevokeJournal(ctx, 0)
	if err != nil {
		return nil, err
	}
	var added []Remediation
	err = s.inTx(ctx, "link remediations", func(tx *sql.Tx) error {
		for _, h := range revoke.History(plans, journal) {
			if !h.Verified || h.RolledBack || (h.Op != revoke.OpDisable && h.Op != revoke.OpDelete) {
				continue
			}
			p := plans[planIndex(plans, h.PlanID)]
			a, _ := p.Action(h.ActionID)
			links, err := linkAction(ctx, tx, h, a.Findings)
			if err != nil {
				return err
			}
			added = append(added, links...)
		}
		if len(added) == 0 {
			return nil
		}
		var refs []string
		for _, r := range added {
			refs = append(refs, fmt.Sprintf("%s@plan %d action %d", r.Fingerprint, r.PlanID, r.ActionID))
		}
		return appendAudit(ctx, tx, AuditEntry{At: at, Actor: actorStore, Action: ActionRevokeRemediated, Subject: scanSubject(added[len(added)-1].ScanID),
			Detail: map[string]string{"findings": strconv.Itoa(len(added)), "links": strings.Join(refs, ", ")}})
	})
	if err != nil {
		return nil, err
	}
	return added, nil
}

func planIndex(plans []revoke.Plan, id int64) int {
	for i := range plans {
		if plans[i].ID == id {
			return i
		}
	}
	return -1
}

// linkAction links the action's resolved findings that are not linked yet.
func linkAction(ctx context.Context, tx *sql.Tx, h revoke.Applied, fps []string) ([]Remediation, error) {
	var out []Remediation
	for _, fp := range fps {
		var rule, started string
		var scan int64
		err := tx.QueryRowContext(ctx, `SELECT f.rule_id, f.resolved_scan_id, s.started FROM findings f JOIN scans s ON s.id = f.resolved_scan_id
			WHERE f.fingerprint = ? AND f.status = 'resolved' AND s.started >= ?
			AND NOT EXISTS (SELECT 1 FROM revoke_remediations r WHERE r.plan_id = ? AND r.action_id = ? AND r.fingerprint = f.fingerprint)`,
			fp, formatTime(h.At), h.PlanID, h.ActionID).Scan(&rule, &scan, &started)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, err
		}
		detail, _ := json.Marshal(map[string]any{"plan": h.PlanID, "action": h.ActionID, "op": h.Op})
		if _, err := tx.ExecContext(ctx, "INSERT INTO revoke_remediations (plan_id, action_id, fingerprint, scan_id, at) VALUES (?, ?, ?, ?, ?)",
			h.PlanID, h.ActionID, fp, scan, started); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO finding_events (scan_id, fingerprint, event, at, detail) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
			scan, fp, EventRemediated, started, string(detail)); err != nil {
			return nil, err
		}
		t, err := parseTime(started)
		if err != nil {
			return nil, err
		}
		out = append(out, Remediation{PlanID: h.PlanID, ActionID: h.ActionID, Fingerprint: fp, RuleID: rule, ScanID: scan, At: t})
	}
	return out, nil
}

// EventRemediated is the finding event a scan records beside "resolved"
// when the finding was resolved after a revocation action planned to
// remediate it (LinkRemediations).
const EventRemediated = "remediated"

// Remediations returns every link, by plan, action and fingerprint.
func (s *Store) Remediations(ctx context.Context) ([]Remediation, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT r.plan_id, r.action_id, r.fingerprint, f.rule_id, r.scan_id, r.at FROM revoke_remediations r
		JOIN findings f ON f.fingerprint = r.fingerprint ORDER BY r.plan_id, r.action_id, r.fingerprint`)
	if err != nil {
		return nil, fmt.Errorf("remediations: %w", err)
	}
	defer rows.Close()
	var out []Remediation
	for rows.Next() {
		var r Remediation
		var at string
		if err := rows.Scan(&r.PlanID, &r.ActionID, &r.Fingerprint, &r.RuleID, &r.ScanID, &at); err != nil {
			return nil, fmt.Errorf("remediations: %w", err)
		}
		if r.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("remediations: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
