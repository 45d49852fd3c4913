package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Finding statuses in the lifecycle.
const (
	FindingOpen       = nhi.FindingOpen
	FindingResolved   = nhi.FindingResolved
	FindingSuppressed = nhi.FindingSuppressed
)

// Finding lifecycle events recorded per scan.
const (
	EventNew          = nhi.EventNew
	EventReopened     = nhi.EventReopened
	EventResolved     = nhi.EventResolved
	EventSuppressed   = nhi.EventSuppressed
	EventUnsuppressed = nhi.EventUnsuppressed
	// EventNotReevaluated: the scan kept an open or suppressed finding it
	// did not produce, because it did not observe a facet the finding
	// rests on. It is recorded by every scan that keeps it.
	EventNotReevaluated = nhi.EventNotReevaluated
)

// LifecycleFunc moves the finding lifecycle of one scan: given the
// findings as last recorded, the findings the scan produced and its
// coverage, it returns one transition per finding to change. FinishScan
// calls it (analyzer.Lifecycle) inside its transaction and persists
// exactly what it returns; the store judges nothing itself.
type LifecycleFunc func(prior []nhi.PriorFinding, current []nhi.Finding, cov *nhi.Coverage) []nhi.Transition

// FindingRecord is a finding with its lifecycle. The embedded Finding is the
// latest one produced.
type FindingRecord struct {
	nhi.Finding
	Status     string
	FirstSeen  time.Time
	LastSeen   time.Time
	ResolvedAt time.Time // zero unless resolved
	// ResolvedScanID is the scan that resolved the finding; 0 unless a
	// scan resolved it (a finding retired by hand, or resolved before the
	// store recorded this, has none).
	ResolvedScanID int64
	// FirstScanID and LastScanID are the scans that first and last produced
	// the finding.
	FirstScanID int64
	LastScanID  int64
	// Reopened counts how often the finding came back after being resolved;
	// ReopenedAt is the last time it did.
	Reopened   int
	ReopenedAt time.Time
	// NotReevaluated is set when the latest scan kept the finding without
	// re-evaluating it: the facet it rests on that the scan did not
	// observe, and the gap that hid it.
	NotReevaluated *nhi.Hidden
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
	// Hidden is why a not-reevaluated event's scan could not re-evaluate
	// the finding.
	Hidden *nhi.Hidden
}

// preparedFinding is a finding as stored: f points into the caller's
// findings (a scan of millions holds them once, not once more per step),
// body is its JSON.
type preparedFinding struct {
	f      *nhi.Finding
	body   []byte
	facets string // JSON array
}

// prepareFindings checks and encodes the findings of a scan, sorted by
// fingerprint.
func prepareFindings(fs []nhi.Finding, facets facetEncoder) ([]preparedFinding, error) {
	out := make([]preparedFinding, 0, len(fs))
	for i := range fs {
		f := fs[i] // a copy for the encoding: the caller's finding is not changed
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
		out = append(out, preparedFinding{f: &fs[i], body: b, facets: facets.encode(f.Facets)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].f.Fingerprint < out[j].f.Fingerprint })
	for i := 1; i < len(out); i++ {
		if out[i].f.Fingerprint == out[i-1].f.Fingerprint {
			return nil, fmt.Errorf("finding %s appears twice (rules %s and %s)", out[i].f.Fingerprint, out[i-1].f.RuleID, out[i].f.RuleID)
		}
	}
	return out, nil
}

// facetEncoder encodes facet lists as JSON, once per distinct list: the
// analyzer shares one list between every finding of the same rule on the
// same kind of identity.
type facetEncoder map[facetList]string

type facetList struct {
	first *nhi.Facet
	n     int
}

func (e facetEncoder) encode(fs []nhi.Facet) string {
	if len(fs) == 0 {
		return "[]"
	}
	k := facetList{&fs[0], len(fs)}
	if s, ok := e[k]; ok {
		return s
	}
	b, _ := json.Marshal(fs) // strings always encode
	e[k] = string(b)
	return string(b)
}

// readPrior reads every finding as last recorded, for the lifecycle. The
// facets of resolved findings are not read: the lifecycle never needs them.
func readPrior(ctx context.Context, tx *sql.Tx) ([]nhi.PriorFinding, error) {
	rows, err := tx.QueryContext(ctx, "SELECT fingerprint, status, provider, scope, facets FROM findings ORDER BY fingerprint")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []nhi.PriorFinding
	for rows.Next() {
		var p nhi.PriorFinding
		var facets string
		if err := rows.Scan(&p.Fingerprint, &p.Status, &p.Provider, &p.Scope, &facets); err != nil {
			return nil, err
		}
		if facets != "" && p.Status != FindingResolved {
			if err := json.Unmarshal([]byte(facets), &p.Facets); err != nil {
				return nil, fmt.Errorf("finding %s: facets: %w", p.Fingerprint, err)
			}
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// updateFindings stores the scan's findings and persists the lifecycle
// transitions the lifecycle function returns. It returns how many findings
// had each event.
// current is the findings fs was prepared from, in any order.
func updateFindings(ctx context.Context, tx *sql.Tx, bulk bulkWriter, scanID int64, at time.Time, inv *nhi.Inventory, current []nhi.Finding, fs []preparedFinding, lifecycle LifecycleFunc) (map[string]int, string, error) {
	prior, err := readPrior(ctx, tx)
	if err != nil {
		return nil, "", err
	}
	byFP := make(map[string]*preparedFinding, len(fs))
	for i := range fs {
		byFP[fs[i].f.Fingerprint] = &fs[i]
	}
	transitions := lifecycle(prior, current, inv.Coverage())
	w, err := newFindingWriter(ctx, tx, scanID, at)
	if err != nil {
		return nil, "", err
	}
	w.bulkSeen = bulk.seen != nil
	defer w.close()
	w.scanRows = make([][]any, len(fs))
	for i := range fs {
		w.scanRows[i] = []any{scanID, fs[i].f.Fingerprint, fs[i].body}
	}
	produced := 0
	for i := range transitions {
		tr := &transitions[i]
		if tr.Finding == nil {
			err = w.absent(tr)
		} else if pf := byFP[tr.Fingerprint]; pf == nil {
			err = fmt.Errorf("lifecycle: transition for finding %s, which the scan did not produce", tr.Fingerprint)
		} else {
			produced++
			err = w.produced(tr, pf)
		}
		if err != nil {
			return nil, "", err
		}
	}
	if produced != len(fs) {
		return nil, "", fmt.Errorf("lifecycle: %d transitions for the %d findings the scan produced", produced, len(fs))
	}
	if err := w.flush(bulk); err != nil {
		return nil, "", err
	}
	return w.counts, findingsDigestOf(fs, w.events), nil
}

// The columns of the rows findingWriter appends in bulk.
var (
	scanFindingCols = []string{"scan_id", "fingerprint", "body"}
	newFindingCols  = []string{"fingerprint", "status", "rule_id", "family", "severity", "severity_rank",
		"provider", "scope", "identity_id", "owner", "first_seen", "last_seen", "first_scan_id", "last_scan_id", "body", "facets"}
	eventCols = []string{"scan_id", "fingerprint", "event", "at", "detail"}
)

// flush appends the collected rows: new findings before the events that
// reference them.
func (w *findingWriter) flush(bulk bulkWriter) error {
	if len(w.seenRows) > 0 {
		if err := bulk.seen(w.ctx, w.seenRows); err != nil {
			return err
		}
	}
	for _, t := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"findings", newFindingCols, w.newRows},
		{"scan_findings", scanFindingCols, w.scanRows},
		{"finding_events", eventCols, w.eventRows},
	} {
		if err := bulk.insert(w.ctx, t.table, t.cols, t.rows); err != nil {
			return err
		}
	}
	return nil
}

// findingWriter persists lifecycle transitions: changes to recorded
// findings with prepared statements, new rows collected for flush.
type findingWriter struct {
	ctx                context.Context
	scanID             int64
	at                 string
	upd, resolve, keep *sql.Stmt
	scanRows, newRows  [][]any
	eventRows          [][]any
	seenRows           [][]any
	bulkSeen           bool // findings seen again go to seenRows, for bulk.seen
	counts             map[string]int
	// events are the lifecycle events recorded, for the findings digest:
	// fingerprint, event, at, detail.
	events [][4]string
}

func newFindingWriter(ctx context.Context, tx *sql.Tx, scanID int64, at time.Time) (*findingWriter, error) {
	w := &findingWriter{ctx: ctx, scanID: scanID, at: formatTime(at), counts: map[string]int{}}
	stmts := []struct {
		s **sql.Stmt
		q string
	}{
		// ?13 is 1 when a resolved finding comes back.
		{&w.upd, `UPDATE findings SET status = ?1, rule_id = ?2, family = ?3, severity = ?4,
			severity_rank = ?5, provider = ?6, scope = ?7, identity_id = ?8, owner = ?9, last_seen = ?10, last_scan_id = ?11,
			body = ?12, resolved_at = NULL, resolved_scan_id = NULL, hidden = '', facets = ?15, reopened = reopened + ?13,
			reopened_at = CASE WHEN ?13 = 1 THEN ?10 ELSE reopened_at END
			WHERE fingerprint = ?14`},
		{&w.resolve, "UPDATE findings SET status = 'resolved', resolved_at = ?, resolved_scan_id = ?, hidden = '' WHERE fingerprint = ?"},
		{&w.keep, "UPDATE findings SET hidden = ? WHERE fingerprint = ?"},
	}
	for _, st := range stmts {
		var err error
		if *st.s, err = tx.PrepareContext(ctx, st.q); err != nil {
			w.close()
			return nil, err
		}
	}
	return w, nil
}

func (w *findingWriter) close() {
	for _, s := range []*sql.Stmt{w.upd, w.resolve, w.keep} {
		if s != nil {
			s.Close()
		}
	}
}

func (w *findingWriter) record(fp, ev, detail string) error {
	w.counts[ev]++
	w.events = append(w.events, [4]string{fp, ev, w.at, detail})
	w.eventRows = append(w.eventRows, []any{w.scanID, fp, ev, w.at, detail})
	return nil
}

// produced persists a finding the scan produced: new, seen again,
// reopened, suppressed or unsuppressed.
func (w *findingWriter) produced(tr *nhi.Transition, pf *preparedFinding) error {
	f := pf.f
	var err error
	if slices.Contains(tr.Events, EventNew) {
		w.newRows = append(w.newRows, []any{f.Fingerprint, tr.Status, f.RuleID, f.Family, string(f.Severity), int64(f.Severity.Rank()),
			string(f.Provider), f.Scope, f.IdentityID, f.Owner, w.at, w.at, w.scanID, w.scanID, pf.body, pf.facets})
	} else {
		reopen := 0
		if slices.Contains(tr.Events, EventReopened) {
			reopen = 1
		}
		if w.bulkSeen {
			w.seenRows = append(w.seenRows, []any{f.Fingerprint, tr.Status, f.RuleID, f.Family, string(f.Severity), int64(f.Severity.Rank()),
				string(f.Provider), f.Scope, f.IdentityID, f.Owner, w.at, w.scanID, pf.body, pf.facets, int64(reopen)})
		} else {
			_, err = w.upd.ExecContext(w.ctx, tr.Status, f.RuleID, f.Family, string(f.Severity), f.Severity.Rank(),
				string(f.Provider), f.Scope, f.IdentityID, f.Owner, w.at, w.scanID, pf.body, reopen, f.Fingerprint, pf.facets)
		}
	}
	if err != nil {
		return fmt.Errorf("finding %s: %w", f.Fingerprint, err)
	}
	for _, ev := range tr.Events {
		if err := w.record(f.Fingerprint, ev, ""); err != nil {
			return err
		}
	}
	return nil
}

// absent persists a finding the scan did not produce: resolved, or kept
// and marked not re-evaluated.
func (w *findingWriter) absent(tr *nhi.Transition) error {
	switch {
	case tr.Status == FindingResolved:
		if _, err := w.resolve.ExecContext(w.ctx, w.at, w.scanID, tr.Fingerprint); err != nil {
			return fmt.Errorf("resolve finding %s: %w", tr.Fingerprint, err)
		}
		return w.record(tr.Fingerprint, EventResolved, "")
	case tr.Hidden != nil:
		b, err := json.Marshal(tr.Hidden)
		if err != nil {
			return err
		}
		if _, err := w.keep.ExecContext(w.ctx, string(b), tr.Fingerprint); err != nil {
			return fmt.Errorf("finding %s: %w", tr.Fingerprint, err)
		}
		return w.record(tr.Fingerprint, EventNotReevaluated, string(b))
	}
	return fmt.Errorf("lifecycle: finding %s is %s, not produced, neither resolved nor hidden", tr.Fingerprint, tr.Status)
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
	q := `SELECT ` + recordColumns + ` FROM findings`
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
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("findings: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("findings: %w", err)
	}
	return out, nil
}

const recordColumns = `fingerprint, status, first_seen, last_seen, resolved_at, COALESCE(resolved_scan_id, 0),
	first_scan_id, last_scan_id, reopened, reopened_at, hidden, body`

// scanRecord reads one row of recordColumns.
func scanRecord(r rowScanner) (FindingRecord, error) {
	var rec FindingRecord
	var fp, first, last, hidden string
	var resolved, reopenedAt sql.NullString
	var body []byte
	if err := r.Scan(&fp, &rec.Status, &first, &last, &resolved, &rec.ResolvedScanID, &rec.FirstScanID, &rec.LastScanID,
		&rec.Reopened, &reopenedAt, &hidden, &body); err != nil {
		return FindingRecord{}, err
	}
	if err := json.Unmarshal(body, &rec.Finding); err != nil {
		return FindingRecord{}, fmt.Errorf("finding %s: %w", fp, err)
	}
	var errs []error
	var e error
	rec.FirstSeen, e = parseTime(first)
	errs = append(errs, e)
	rec.LastSeen, e = parseTime(last)
	errs = append(errs, e)
	rec.ResolvedAt, e = parseNullTime(resolved)
	errs = append(errs, e)
	rec.ReopenedAt, e = parseNullTime(reopenedAt)
	errs = append(errs, e)
	rec.NotReevaluated, e = parseHidden(hidden)
	errs = append(errs, e)
	if err := errors.Join(errs...); err != nil {
		return FindingRecord{}, fmt.Errorf("finding %s: %w", fp, err)
	}
	normalizeFinding(&rec.Finding)
	return rec, nil
}

func parseHidden(s string) (*nhi.Hidden, error) {
	if s == "" {
		return nil, nil
	}
	var h nhi.Hidden
	if err := json.Unmarshal([]byte(s), &h); err != nil {
		return nil, fmt.Errorf("hidden: %w", err)
	}
	return &h, nil
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
	sort.SliceStable(fs, func(i, j int) bool { return lessBySeverity(&fs[i], &fs[j]) })
}

func lessBySeverity(a, b *nhi.Finding) bool {
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
}

// FindingEvents returns the lifecycle changes recorded by a scan, by
// fingerprint then event.
func (s *Store) FindingEvents(ctx context.Context, scanID int64) ([]FindingEvent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT fingerprint, event, at, detail FROM finding_events WHERE scan_id = ?
		ORDER BY fingerprint, event`, scanID)
	if err != nil {
		return nil, fmt.Errorf("finding events of scan %d: %w", scanID, err)
	}
	defer rows.Close()
	var out []FindingEvent
	for rows.Next() {
		e := FindingEvent{ScanID: scanID}
		var at, detail string
		if err := rows.Scan(&e.Fingerprint, &e.Event, &at, &detail); err != nil {
			return nil, fmt.Errorf("finding events of scan %d: %w", scanID, err)
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("finding events of scan %d: %w", scanID, err)
		}
		if e.Event == EventNotReevaluated {
			if e.Hidden, err = parseHidden(detail); err != nil {
				return nil, fmt.Errorf("finding events of scan %d: %s: %w", scanID, e.Fingerprint, err)
			}
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ScanFindingRecords returns what one scan reported, each finding with its
// lifecycle: the findings the scan produced (open or suppressed, as it
// produced them), those it resolved (status resolved, ResolvedAt and
// ResolvedScanID the scan's), and those it kept without re-evaluating them
// (their status then, NotReevaluated the reason recorded by that scan).
// FirstSeen, LastSeen and the reopen count are the finding's whole
// history; a kept finding shows its latest body. The error wraps
// ErrNotFound when there is no such scan. Sorted most severe first, then
// by rule, identity and fingerprint.
func (s *Store) ScanFindingRecords(ctx context.Context, scanID int64) ([]FindingRecord, error) {
	if _, err := s.Scan(ctx, scanID); err != nil {
		return nil, err
	}
	fs, err := s.ScanFindings(ctx, scanID)
	if err != nil {
		return nil, err
	}
	recs, err := s.Findings(ctx, FindingFilter{})
	if err != nil {
		return nil, err
	}
	life := make(map[string]FindingRecord, len(recs))
	for _, r := range recs {
		life[r.Fingerprint] = r
	}
	out := make([]FindingRecord, 0, len(fs))
	for _, f := range fs {
		r := life[f.Fingerprint]
		r.Finding, r.Status = f, FindingOpen
		if f.Suppressed {
			r.Status = FindingSuppressed
		}
		r.ResolvedAt, r.ResolvedScanID, r.NotReevaluated = time.Time{}, 0, nil
		out = append(out, r)
	}
	evs, err := s.FindingEvents(ctx, scanID)
	if err != nil {
		return nil, err
	}
	for _, ev := range evs {
		r, ok := life[ev.Fingerprint]
		if !ok {
			continue
		}
		switch ev.Event {
		case EventResolved:
			r.Status, r.ResolvedAt, r.ResolvedScanID, r.NotReevaluated = FindingResolved, ev.At, scanID, nil
		case EventNotReevaluated:
			r.Status, r.ResolvedAt, r.ResolvedScanID, r.NotReevaluated = FindingOpen, time.Time{}, 0, ev.Hidden
			if r.Suppressed {
				r.Status = FindingSuppressed
			}
		default:
			continue
		}
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return lessBySeverity(&out[i].Finding, &out[j].Finding) })
	return out, nil
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
	if err := s.writable("retire scope"); err != nil {
		return 0, err
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
	res, err := tx.ExecContext(ctx, `UPDATE findings SET status = 'resolved', resolved_at = ?, hidden = ''
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
