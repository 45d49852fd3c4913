package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Finding statuses in the lifecycle.
const (
	FindingOpen       = "open"
	FindingResolved   = "resolved"
	FindingSuppressed = "suppressed"
)

// Finding lifecycle events recorded per scan.
const (
	EventNew          = "new"
	EventReopened     = "reopened"
	EventResolved     = "resolved"
	EventSuppressed   = "suppressed"
	EventUnsuppressed = "unsuppressed"
)

// FindingRecord is a finding with its lifecycle. The embedded Finding is the
// latest one produced.
type FindingRecord struct {
	nhi.Finding
	Status     string
	FirstSeen  time.Time
	LastSeen   time.Time
	ResolvedAt time.Time // zero unless resolved
	// FirstScanID and LastScanID are the scans that first and last produced
	// the finding.
	FirstScanID int64
	LastScanID  int64
	// Reopened counts how often the finding came back after being resolved;
	// ReopenedAt is the last time it did.
	Reopened   int
	ReopenedAt time.Time
}

// FindingFilter selects findings; empty fields match everything.
type FindingFilter struct {
	Status   string // open, resolved, suppressed
	Family   string
	RuleID   string
	Owner    string
	Provider string
	// MinSeverity keeps findings at or above this severity.
	MinSeverity nhi.Severity
}

// FindingEvent is one lifecycle change of a finding in a scan.
type FindingEvent struct {
	ScanID      int64
	Fingerprint string
	Event       string
	At          time.Time
}

type preparedFinding struct {
	f    nhi.Finding
	body []byte
}

// prepareFindings checks and encodes the findings of a scan, sorted by
// fingerprint.
func prepareFindings(fs []nhi.Finding) ([]preparedFinding, error) {
	out := make([]preparedFinding, 0, len(fs))
	for i, f := range fs {
		if f.Fingerprint == "" {
			return nil, fmt.Errorf("findings[%d] (%s %s): fingerprint is empty", i, f.RuleID, f.IdentityID)
		}
		if f.Severity.Rank() < 0 {
			return nil, fmt.Errorf("findings[%d] (%s): unknown severity %q", i, f.Fingerprint, f.Severity)
		}
		if !f.ExceptionExpires.IsZero() {
			f.ExceptionExpires = f.ExceptionExpires.UTC()
		}
		b, err := json.Marshal(f)
		if err != nil {
			return nil, fmt.Errorf("findings[%d] (%s): %w", i, f.Fingerprint, err)
		}
		out = append(out, preparedFinding{f: f, body: b})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].f.Fingerprint < out[j].f.Fingerprint })
	for i := 1; i < len(out); i++ {
		if out[i].f.Fingerprint == out[i-1].f.Fingerprint {
			return nil, fmt.Errorf("finding %s appears twice (rules %s and %s)", out[i].f.Fingerprint, out[i-1].f.RuleID, out[i].f.RuleID)
		}
	}
	return out, nil
}

type priorFinding struct {
	status   string
	provider nhi.Provider
	scope    string
}

// updateFindings stores the scan's findings and moves the lifecycle. It
// returns how many findings had each event.
func updateFindings(ctx context.Context, tx *sql.Tx, scanID int64, at time.Time, inv *nhi.Inventory, fs []preparedFinding) (map[string]int, error) {
	prior := map[string]priorFinding{}
	rows, err := tx.QueryContext(ctx, "SELECT fingerprint, status, provider, scope FROM findings")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var fp string
		var p priorFinding
		if err := rows.Scan(&fp, &p.status, &p.provider, &p.scope); err != nil {
			rows.Close()
			return nil, err
		}
		prior[fp] = p
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	insScan, err := tx.PrepareContext(ctx, "INSERT INTO scan_findings (scan_id, fingerprint, body) VALUES (?, ?, ?)")
	if err != nil {
		return nil, err
	}
	defer insScan.Close()
	insNew, err := tx.PrepareContext(ctx, `INSERT INTO findings (fingerprint, status, rule_id, family, severity, severity_rank,
		provider, scope, identity_id, owner, first_seen, last_seen, first_scan_id, last_scan_id, body)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, err
	}
	defer insNew.Close()
	// reopen is 1 when a resolved finding comes back.
	upd, err := tx.PrepareContext(ctx, `UPDATE findings SET status = ?1, rule_id = ?2, family = ?3, severity = ?4,
		severity_rank = ?5, provider = ?6, scope = ?7, identity_id = ?8, owner = ?9, last_seen = ?10, last_scan_id = ?11,
		body = ?12, resolved_at = NULL, reopened = reopened + ?13,
		reopened_at = CASE WHEN ?13 = 1 THEN ?10 ELSE reopened_at END
		WHERE fingerprint = ?14`)
	if err != nil {
		return nil, err
	}
	defer upd.Close()
	resolve, err := tx.PrepareContext(ctx, "UPDATE findings SET status = 'resolved', resolved_at = ? WHERE fingerprint = ?")
	if err != nil {
		return nil, err
	}
	defer resolve.Close()
	event, err := tx.PrepareContext(ctx, "INSERT INTO finding_events (scan_id, fingerprint, event, at) VALUES (?, ?, ?, ?)")
	if err != nil {
		return nil, err
	}
	defer event.Close()

	atText := formatTime(at)
	counts := map[string]int{}
	record := func(fp, ev string) error {
		counts[ev]++
		_, err := event.ExecContext(ctx, scanID, fp, ev, atText)
		return err
	}
	seen := make(map[string]bool, len(fs))
	for _, pf := range fs {
		f := pf.f
		seen[f.Fingerprint] = true
		if _, err := insScan.ExecContext(ctx, scanID, f.Fingerprint, pf.body); err != nil {
			return nil, fmt.Errorf("finding %s: %w", f.Fingerprint, err)
		}
		status := FindingOpen
		if f.Suppressed {
			status = FindingSuppressed
		}
		p, existed := prior[f.Fingerprint]
		if !existed {
			if _, err := insNew.ExecContext(ctx, f.Fingerprint, status, f.RuleID, f.Family, string(f.Severity), f.Severity.Rank(),
				string(f.Provider), f.Scope, f.IdentityID, f.Owner, atText, atText, scanID, scanID, pf.body); err != nil {
				return nil, fmt.Errorf("finding %s: %w", f.Fingerprint, err)
			}
			if err := record(f.Fingerprint, EventNew); err != nil {
				return nil, err
			}
			if status == FindingSuppressed {
				if err := record(f.Fingerprint, EventSuppressed); err != nil {
					return nil, err
				}
			}
			continue
		}
		reopen := 0
		var ev string
		switch {
		case p.status == FindingResolved:
			reopen, ev = 1, EventReopened
		case p.status == FindingOpen && status == FindingSuppressed:
			ev = EventSuppressed
		case p.status == FindingSuppressed && status == FindingOpen:
			ev = EventUnsuppressed
		}
		if _, err := upd.ExecContext(ctx, status, f.RuleID, f.Family, string(f.Severity), f.Severity.Rank(),
			string(f.Provider), f.Scope, f.IdentityID, f.Owner, atText, scanID, pf.body, reopen, f.Fingerprint); err != nil {
			return nil, fmt.Errorf("finding %s: %w", f.Fingerprint, err)
		}
		if ev != "" {
			if err := record(f.Fingerprint, ev); err != nil {
				return nil, err
			}
		}
		if reopen == 1 && status == FindingSuppressed {
			if err := record(f.Fingerprint, EventSuppressed); err != nil {
				return nil, err
			}
		}
	}

	// Only a scope this scan attempted can show that a finding went away.
	attempted := make(map[priorFinding]bool, len(inv.Scopes))
	for _, sc := range inv.Scopes {
		attempted[priorFinding{provider: sc.Provider, scope: sc.ID}] = true
	}
	gone := make([]string, 0)
	for fp, p := range prior {
		if seen[fp] || p.status == FindingResolved {
			continue
		}
		// A gap must never look like remediation: keep findings of a
		// partial scope, and of a scope (or a whole provider) this scan did
		// not collect at all, as they are.
		if inv.Partial(p.provider, p.scope) || !attempted[priorFinding{provider: p.provider, scope: p.scope}] {
			continue
		}
		gone = append(gone, fp)
	}
	sort.Strings(gone)
	for _, fp := range gone {
		if _, err := resolve.ExecContext(ctx, atText, fp); err != nil {
			return nil, fmt.Errorf("resolve finding %s: %w", fp, err)
		}
		if err := record(fp, EventResolved); err != nil {
			return nil, err
		}
	}
	return counts, nil
}

// Findings returns the findings with their lifecycle that match the filter,
// most severe first, then by rule, identity and fingerprint.
func (s *Store) Findings(ctx context.Context, f FindingFilter) ([]FindingRecord, error) {
	var where []string
	var args []any
	add := func(col, v string) {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	add("status", f.Status)
	add("family", f.Family)
	add("rule_id", f.RuleID)
	add("owner", f.Owner)
	add("provider", f.Provider)
	if f.MinSeverity != "" {
		r := f.MinSeverity.Rank()
		if r < 0 {
			return nil, fmt.Errorf("findings: unknown severity %q", f.MinSeverity)
		}
		where = append(where, "severity_rank >= ?")
		args = append(args, r)
	}
	switch f.Status {
	case "", FindingOpen, FindingResolved, FindingSuppressed:
	default:
		return nil, fmt.Errorf("findings: unknown status %q (want open, resolved or suppressed)", f.Status)
	}
	q := `SELECT fingerprint, status, first_seen, last_seen, resolved_at, first_scan_id, last_scan_id, reopened, reopened_at, body
		FROM findings`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY severity_rank DESC, rule_id, identity_id, fingerprint"
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("findings: %w", err)
	}
	defer rows.Close()
	var out []FindingRecord
	for rows.Next() {
		var r FindingRecord
		var fp, first, last string
		var resolved, reopenedAt sql.NullString
		var body []byte
		if err := rows.Scan(&fp, &r.Status, &first, &last, &resolved, &r.FirstScanID, &r.LastScanID, &r.Reopened, &reopenedAt, &body); err != nil {
			return nil, fmt.Errorf("findings: %w", err)
		}
		if err := json.Unmarshal(body, &r.Finding); err != nil {
			return nil, fmt.Errorf("finding %s: %w", fp, err)
		}
		var errs []error
		var e error
		r.FirstSeen, e = parseTime(first)
		errs = append(errs, e)
		r.LastSeen, e = parseTime(last)
		errs = append(errs, e)
		r.ResolvedAt, e = parseNullTime(resolved)
		errs = append(errs, e)
		r.ReopenedAt, e = parseNullTime(reopenedAt)
		errs = append(errs, e)
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("finding %s: %w", fp, err)
		}
		normalizeFinding(&r.Finding)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("findings: %w", err)
	}
	return out, nil
}

func normalizeFinding(f *nhi.Finding) {
	if !f.ExceptionExpires.IsZero() {
		f.ExceptionExpires = f.ExceptionExpires.UTC()
	}
}

// ScanFindings returns the findings a scan produced, exactly as given to
// FinishScan, most severe first, then by rule, identity and fingerprint.
func (s *Store) ScanFindings(ctx context.Context, scanID int64) ([]nhi.Finding, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT fingerprint, body FROM scan_findings WHERE scan_id = ?", scanID)
	if err != nil {
		return nil, fmt.Errorf("findings of scan %d: %w", scanID, err)
	}
	defer rows.Close()
	var out []nhi.Finding
	for rows.Next() {
		var fp string
		var body []byte
		if err := rows.Scan(&fp, &body); err != nil {
			return nil, fmt.Errorf("findings of scan %d: %w", scanID, err)
		}
		var f nhi.Finding
		if err := json.Unmarshal(body, &f); err != nil {
			return nil, fmt.Errorf("finding %s of scan %d: %w", fp, scanID, err)
		}
		normalizeFinding(&f)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("findings of scan %d: %w", scanID, err)
	}
	SortFindings(out)
	return out, nil
}

// SortFindings sorts findings most severe first, then by rule id, identity id
// and fingerprint: the order every store read uses.
func SortFindings(fs []nhi.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if ra, rb := a.Severity.Rank(), b.Severity.Rank(); ra != rb {
			return ra > rb
		}
		if a.RuleID != b.RuleID {
			return a.RuleID < b.RuleID
		}
		if a.IdentityID != b.IdentityID {
			return a.IdentityID < b.IdentityID
		}
		return a.Fingerprint < b.Fingerprint
	})
}

// FindingEvents returns the lifecycle changes recorded by a scan, by
// fingerprint then event.
func (s *Store) FindingEvents(ctx context.Context, scanID int64) ([]FindingEvent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT fingerprint, event, at FROM finding_events WHERE scan_id = ?
		ORDER BY fingerprint, event`, scanID)
	if err != nil {
		return nil, fmt.Errorf("finding events of scan %d: %w", scanID, err)
	}
	defer rows.Close()
	var out []FindingEvent
	for rows.Next() {
		e := FindingEvent{ScanID: scanID}
		var at string
		if err := rows.Scan(&e.Fingerprint, &e.Event, &at); err != nil {
			return nil, fmt.Errorf("finding events of scan %d: %w", scanID, err)
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("finding events of scan %d: %w", scanID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// RetireScope resolves every open or suppressed finding of a scope that is
// no longer collected — a closed account, a deleted project, a provider
// taken out of the configuration — and records who did it and why in the
// audit log, in one transaction. Scans never do this themselves: a scope
// missing from a scan is not evidence of remediation. A scope the latest
// scan still collected is refused, because its findings follow the scans.
func (s *Store) RetireScope(ctx context.Context, provider nhi.Provider, scope string, at time.Time, actor, reason string) (int, error) {
	if scope == "" || !provider.Valid() {
		return 0, fmt.Errorf("retire scope: provider %q and a scope are required", provider)
	}
	if strings.TrimSpace(actor) == "" || strings.TrimSpace(reason) == "" {
		return 0, errors.New("retire scope: an actor and a reason are required")
	}
	if latest, err := s.LatestScan(ctx); err == nil {
		for _, sc := range latest.Scopes {
			if sc.Provider == provider && sc.ID == scope {
				return 0, fmt.Errorf("retire scope %s %s: scan %d collected it; its findings follow the scans: %w", provider, scope, latest.ID, ErrScopeCollected)
			}
		}
	} else if !errors.Is(err, ErrNotFound) {
		return 0, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("retire scope: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE findings SET status = 'resolved', resolved_at = ?
		WHERE provider = ? AND scope = ? AND status IN ('open', 'suppressed')`, formatTime(at), string(provider), scope)
	if err != nil {
		return 0, fmt.Errorf("retire scope: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("retire scope: %w", err)
	}
	if err := appendAudit(ctx, tx, AuditEntry{At: at, Actor: actor, Action: "findings.retire-scope",
		Subject: string(provider) + ":" + scope, Detail: map[string]string{"reason": reason, "findings": strconv.FormatInt(n, 10)}}); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("retire scope: %w", err)
	}
	return int(n), nil
}
