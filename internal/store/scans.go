package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// ScanStatus is the state of a scan.
type ScanStatus string

// Scan statuses. A scan is running from BeginScan until FinishScan (complete
// or partial) or FailScan (failed); a scan whose process died is marked failed
// with reason ReasonInterrupted.
const (
	ScanRunning  = ScanStatus("running")
	ScanComplete = ScanStatus("complete")
	ScanPartial  = ScanStatus("partial")
	ScanFailed   = ScanStatus("failed")
)

// ReasonInterrupted is the failure reason of a scan whose process died.
const ReasonInterrupted = "interrupted"

// ScanMeta describes a scan as it begins.
type ScanMeta struct {
	Started     time.Time
	ToolVersion string
	// CatalogHash identifies the catalog and policy the scan evaluates.
	CatalogHash string
	// Source says what started the scan: cli, serve, schedule, demo.
	Source string
}

// Scan is one scan as stored.
type Scan struct {
	ID          int64
	Status      ScanStatus
	Started     time.Time
	Ended       time.Time // zero while running
	ToolVersion string
	CatalogHash string
	Source      string
	// Reason is why a failed scan failed.
	Reason string
	// Scopes and Gaps are those of the scan's inventory (empty until it
	// finishes).
	Scopes []nhi.Scope
	Gaps   []nhi.Gap
	// InventorySHA256 is the hash of the stored snapshot; empty when none.
	InventorySHA256 string
	Identities      int
	Findings        int
	// EvaluatedAt is the analysis time (--as-of); zero for scans stored
	// before it was recorded.
	EvaluatedAt time.Time
	// Coverage is the scan's coverage matrix: each facet of each scope,
	// observed or the gap that hid it, sorted by provider, scope and
	// facet. For scans stored before it was recorded it is derived from
	// the scopes and gaps alone (without the identities, so a scope shows
	// only its identity list and the facets its gaps hide).
	Coverage []CoverageCell
}

// CoverageCell is one cell of a scan's coverage matrix (nhi.FacetStatus in
// its stored form).
type CoverageCell struct {
	Provider nhi.Provider `json:"provider"`
	Scope    string       `json:"scope"`
	Facet    nhi.Facet    `json:"facet"`
	Observed bool         `json:"observed"`
	// Why is empty when observed; otherwise the gap's source and kind,
	// or why no gap is to blame (nhi.WhyNotCollected, nhi.WhyNotRead).
	Why       string      `json:"why,omitempty"`
	GapSource string      `json:"gap_source,omitempty"`
	GapKind   nhi.GapKind `json:"gap_kind,omitempty"`
}

// coverageCells renders the inventory's coverage matrix.
func coverageCells(inv *nhi.Inventory) []CoverageCell {
	m := inv.Coverage().Matrix(inv)
	out := make([]CoverageCell, len(m))
	for i, c := range m {
		out[i] = CoverageCell{Provider: c.Provider, Scope: c.Scope, Facet: c.Facet, Observed: c.Observed, Why: c.Why}
		if c.Gap != nil {
			out[i].GapSource, out[i].GapKind = c.Gap.Source, c.Gap.Kind
		}
	}
	return out
}

// FinishInput is what a finished scan produced.
type FinishInput struct {
	Ended     time.Time
	Inventory nhi.Inventory
	Findings  []nhi.Finding
	// Ownership is the analyzer's resolution of each identity's role and
	// owner; EvaluatedAt the time the analysis was evaluated at.
	Ownership   map[string]nhi.Ownership
	EvaluatedAt time.Time
	// Lifecycle moves the findings' lifecycle (analyzer.Lifecycle);
	// required.
	Lifecycle LifecycleFunc
	// Written, when set, holds the findings already stored batch by batch
	// (BeginFindings), in the transaction FinishScan commits; Findings is
	// then ignored, and Lifecycle judges the recorded findings no batch
	// produced.
	Written *FindingsWriter
}

// BeginScan records a running scan. The Store holds the single-writer lock
// from Open, so no other process can be scanning; a second BeginScan on this
// Store while its scan runs gets an error wrapping ErrScanRunning that names
// that scan. Scans left running by a dead process are marked failed first.
func (s *Store) BeginScan(ctx context.Context, meta ScanMeta) (int64, error) {
	if meta.Started.IsZero() {
		return 0, errors.New("begin scan: start time is zero")
	}
	if s.readOnly {
		return 0, fmt.Errorf("begin scan: %w", ErrReadOnly)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.scanID != 0 {
		return 0, fmt.Errorf("begin scan: %w", s.runningErr(ctx, s.scanID))
	}
	id, err := s.beginLocked(ctx, meta)
	if err != nil {
		return 0, fmt.Errorf("begin scan: %w", err)
	}
	s.scanID = id
	return id, nil
}

func (s *Store) beginLocked(ctx context.Context, meta ScanMeta) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if err := markInterrupted(ctx, tx, s.now()); err != nil {
		return 0, err
	}
	var id int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO scans (status, started, tool_version, catalog_hash, source)
		VALUES ('running', ?, ?, ?, ?) RETURNING id`, formatTime(meta.Started), meta.ToolVersion, meta.CatalogHash, meta.Source).Scan(&id); err != nil {
		return 0, err
	}
	if err := appendAudit(ctx, tx, AuditEntry{
		At: meta.Started, Actor: actorStore, Action: ActionScanBegin, Subject: scanSubject(id),
		Detail: map[string]string{"tool_version": meta.ToolVersion, "catalog_hash": meta.CatalogHash, "source": meta.Source},
	}); err != nil {
		return 0, err
	}
	return id, tx.Commit()
}

// runningErr builds the ErrScanRunning error of this Store's own running
// scan.
func (s *Store) runningErr(ctx context.Context, id int64) error {
	var started string
	if err := s.db.QueryRowContext(ctx, "SELECT started FROM scans WHERE id = ?", id).Scan(&started); err != nil {
		return fmt.Errorf("%w: scan %d", ErrScanRunning, id)
	}
	return fmt.Errorf("%w: scan %d started at %s", ErrScanRunning, id, started)
}

// recoverInterrupted marks scans left running as failed. The caller holds
// the lock, so their process is gone.
func (s *Store) recoverInterrupted(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("recover interrupted scans: %w", err)
	}
	defer tx.Rollback()
	if err := markInterrupted(ctx, tx, s.now()); err != nil {
		return fmt.Errorf("recover interrupted scans: %w", err)
	}
	return tx.Commit()
}

func markInterrupted(ctx context.Context, tx *sql.Tx, now time.Time) error {
	rows, err := tx.QueryContext(ctx, "SELECT id, started FROM scans WHERE status = 'running' ORDER BY id")
	if err != nil {
		return err
	}
	type run struct {
		id      int64
		started string
	}
	var runs []run
	for rows.Next() {
		var r run
		if err := rows.Scan(&r.id, &r.started); err != nil {
			rows.Close()
			return err
		}
		runs = append(runs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range runs {
		if _, err := tx.ExecContext(ctx, "UPDATE scans SET status = 'failed', ended = ?, reason = ? WHERE id = ?",
			formatTime(now), ReasonInterrupted, r.id); err != nil {
			return err
		}
		if err := appendAudit(ctx, tx, AuditEntry{
			At: now, Actor: actorStore, Action: ActionScanInterrupted, Subject: scanSubject(r.id),
			Detail: map[string]string{"started": r.started, "reason": ReasonInterrupted},
		}); err != nil {
			return err
		}
	}
	return nil
}

func scanSubject(id int64) string { return "scan:" + strconv.FormatInt(id, 10) }

// heldScan checks that scanID is the scan this Store is running.
func (s *Store) heldScan(scanID int64) error {
	if s.scanID == 0 || s.scanID != scanID {
		return fmt.Errorf("scan %d is not running in this store", scanID)
	}
	return nil
}

func (s *Store) release() { s.scanID = 0 }

// FailScan marks the running scan failed with a reason.
func (s *Store) FailScan(ctx context.Context, scanID int64, reason string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.heldScan(scanID); err != nil {
		return fmt.Errorf("fail scan: %w", err)
	}
	if at.IsZero() {
		at = s.now()
	}
	err := func() error {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, "UPDATE scans SET status = 'failed', ended = ?, reason = ? WHERE id = ?",
			formatTime(at), reason, scanID); err != nil {
			return err
		}
		if err := appendAudit(ctx, tx, AuditEntry{
			At: at, Actor: actorStore, Action: ActionScanFail, Subject: scanSubject(scanID),
			Detail: map[string]string{"reason": reason},
		}); err != nil {
			return err
		}
		return tx.Commit()
	}()
	// Release even on error: the row stays running and the next writer
	// marks it interrupted.
	s.release()
	if err != nil {
		return fmt.Errorf("fail scan %d: %w", scanID, err)
	}
	return nil
}

// FinishScan stores what the scan produced in one transaction — snapshot,
// scopes, gaps, coverage matrix, the scan's findings and the finding
// lifecycle (the transitions in.Lifecycle returns) — marks it complete
// (partial when the inventory has any gap: some facet was not observed),
// and audits it. The lifecycle uses the scan's start time as
// the time findings were seen or resolved. On error nothing is stored and the
// scan stays running: call FailScan.
func (s *Store) FinishScan(ctx context.Context, scanID int64, in FinishInput) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.heldScan(scanID); err != nil {
		return fmt.Errorf("finish scan: %w", err)
	}
	if in.Ended.IsZero() {
		return fmt.Errorf("finish scan %d: end time is zero", scanID)
	}
	if in.Lifecycle == nil {
		return fmt.Errorf("finish scan %d: no lifecycle function (analyzer.Lifecycle)", scanID)
	}
	finish := s.finish
	if in.Written != nil {
		finish = s.finishWritten
	}
	if err := finish(ctx, scanID, in); err != nil {
		return fmt.Errorf("finish scan %d: %w", scanID, err)
	}
	s.release()
	return nil
}

func (s *Store) finish(ctx context.Context, scanID int64, in FinishInput) error {
	p, err := prepareFinish(in)
	if err != nil {
		return err
	}
	prepared, err := prepareFindings(in.Findings, facetEncoder{})
	if err != nil {
		return err
	}
	conn, tx, err := s.beginOnConn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer tx.Rollback()
	seenAt, err := runningSince(ctx, tx, scanID)
	if err != nil {
		return err
	}
	counts, findingsHash, err := updateFindings(ctx, tx, s.bulkFor(conn, tx), scanID, seenAt, &p.inv, in.Findings, prepared, in.Lifecycle)
	if err != nil {
		return err
	}
	if err := writeFinish(ctx, tx, scanID, in, p, counts, findingsHash, len(prepared)); err != nil {
		return err
	}
	return tx.Commit()
}

// finishPrep is what FinishScan encodes before its transaction: the
// normalised inventory, its snapshot and hash, the scopes, gaps, coverage
// and ownership as stored, and the scan's status.
type finishPrep struct {
	inv                               nhi.Inventory
	snap                              []byte
	invHash                           string
	scopes, gaps, coverage, ownership []byte
	status                            ScanStatus
}

func prepareFinish(in FinishInput) (*finishPrep, error) {
	p := &finishPrep{inv: in.Inventory, status: ScanComplete}
	inv := &p.inv
	// Normalize sorts in place; work on copies of the caller's slices.
	inv.Scopes = append([]nhi.Scope(nil), inv.Scopes...)
	inv.Identities = append([]nhi.Identity(nil), inv.Identities...)
	inv.Gaps = append([]nhi.Gap(nil), inv.Gaps...)
	inv.Normalize()
	snap := newSnapshotWriter()
	if err := nhi.Encode(snap, *inv); err != nil {
		return nil, fmt.Errorf("encode inventory: %w", err)
	}
	var err error
	if p.snap, p.invHash, err = snap.stored(); err != nil {
		return nil, fmt.Errorf("encode inventory: %w", err)
	}
	if len(inv.Gaps) > 0 {
		p.status = ScanPartial
	}
	for _, x := range []struct {
		dst *[]byte
		v   any
	}{{&p.scopes, nonNil(inv.Scopes)}, {&p.gaps, nonNil(inv.Gaps)}, {&p.coverage, nonNil(coverageCells(inv))}, {&p.ownership, in.Ownership}} {
		if *x.dst, err = json.Marshal(x.v); err != nil { // map keys encode sorted
			return nil, err
		}
	}
	return p, nil
}

// runningSince returns when the running scan began: the time its findings
// are seen at.
func runningSince(ctx context.Context, tx *sql.Tx, scanID int64) (time.Time, error) {
	var startedText string
	if err := tx.QueryRowContext(ctx, "SELECT started FROM scans WHERE id = ? AND status = 'running'", scanID).Scan(&startedText); err != nil {
		return time.Time{}, fmt.Errorf("scan is not running: %w", err)
	}
	return parseTime(startedText)
}

// writeFinish writes the scan's snapshot and ownership, marks it finished
// and appends the audit entry with the hashes of what it stored.
func writeFinish(ctx context.Context, tx *sql.Tx, scanID int64, in FinishInput, p *finishPrep, counts map[string]int, findingsHash string, findings int) error {
	inv := &p.inv
	if _, err := tx.ExecContext(ctx, "INSERT INTO snapshots (scan_id, sha256, inventory) VALUES (?, ?, ?)",
		scanID, p.invHash, p.snap); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if in.Ownership != nil {
		if _, err := tx.ExecContext(ctx, "INSERT INTO scan_ownership (scan_id, body) VALUES (?, ?)", scanID, string(p.ownership)); err != nil {
			return fmt.Errorf("ownership: %w", err)
		}
	}
	evaluated := ""
	if !in.EvaluatedAt.IsZero() {
		evaluated = formatTime(in.EvaluatedAt)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE scans SET status = ?, ended = ?, scopes = ?, gaps = ?, identities = ?, findings = ?, evaluated_at = ?,
		coverage = ? WHERE id = ?`, string(p.status), formatTime(in.Ended), string(p.scopes), string(p.gaps), len(inv.Identities), findings, evaluated,
		string(p.coverage), scanID); err != nil {
		return err
	}
	// The log records the hashes of what the scan stored, so that a later
	// edit of the snapshot, the findings or the owners shows (VerifyStored).
	detail := map[string]string{
		"status":              string(p.status),
		detailInventorySHA256: p.invHash,
		detailFindingsSHA256:  findingsHash,
		"identities":          strconv.Itoa(len(inv.Identities)),
		"gaps":                strconv.Itoa(len(inv.Gaps)),
		"findings":            strconv.Itoa(findings),
		"new":                 strconv.Itoa(counts[EventNew]),
		"resolved":            strconv.Itoa(counts[EventResolved]),
		"reopened":            strconv.Itoa(counts[EventReopened]),
		"not_reevaluated":     strconv.Itoa(counts[EventNotReevaluated]),
	}
	if in.Ownership != nil {
		detail[detailOwnershipSHA256] = sha256Hex(p.ownership)
	}
	return appendAudit(ctx, tx, AuditEntry{
		At: in.Ended, Actor: actorStore, Action: ActionScanFinish, Subject: scanSubject(scanID), Detail: detail,
	})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

const scanColumns = `s.id, s.status, s.started, s.ended, s.tool_version, s.catalog_hash, s.source, s.reason,
	s.scopes, s.gaps, s.identities, s.findings, COALESCE(n.sha256, ''), s.evaluated_at, s.coverage`

const scanFrom = ` FROM scans s LEFT JOIN snapshots n ON n.scan_id = s.id `

type rowScanner interface{ Scan(dest ...any) error }

func scanScan(r rowScanner) (Scan, error) {
	var sc Scan
	var status, started, scopes, gaps, evaluated, coverage string
	var ended sql.NullString
	if err := r.Scan(&sc.ID, &status, &started, &ended, &sc.ToolVersion, &sc.CatalogHash, &sc.Source, &sc.Reason,
		&scopes, &gaps, &sc.Identities, &sc.Findings, &sc.InventorySHA256, &evaluated, &coverage); err != nil {
		return Scan{}, err
	}
	if evaluated != "" {
		t, err := parseTime(evaluated)
		if err != nil {
			return Scan{}, fmt.Errorf("scan %d: evaluated_at: %w", sc.ID, err)
		}
		sc.EvaluatedAt = t
	}
	sc.Status = ScanStatus(status)
	var err error
	if sc.Started, err = parseTime(started); err != nil {
		return Scan{}, fmt.Errorf("scan %d: %w", sc.ID, err)
	}
	if sc.Ended, err = parseNullTime(ended); err != nil {
		return Scan{}, fmt.Errorf("scan %d: %w", sc.ID, err)
	}
	if err := json.Unmarshal([]byte(scopes), &sc.Scopes); err != nil {
		return Scan{}, fmt.Errorf("scan %d: scopes: %w", sc.ID, err)
	}
	if err := json.Unmarshal([]byte(gaps), &sc.Gaps); err != nil {
		return Scan{}, fmt.Errorf("scan %d: gaps: %w", sc.ID, err)
	}
	if len(sc.Scopes) == 0 {
		sc.Scopes = nil
	}
	if len(sc.Gaps) == 0 {
		sc.Gaps = nil
	}
	if coverage != "" {
		if err := json.Unmarshal([]byte(coverage), &sc.Coverage); err != nil {
			return Scan{}, fmt.Errorf("scan %d: coverage: %w", sc.ID, err)
		}
	} else if len(sc.Scopes) > 0 {
		sc.Coverage = coverageCells(&nhi.Inventory{Scopes: sc.Scopes, Gaps: sc.Gaps})
	}
	if len(sc.Coverage) == 0 {
		sc.Coverage = nil
	}
	return sc, nil
}

// Scans lists every scan, newest first.
func (s *Store) Scans(ctx context.Context) ([]Scan, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+scanColumns+scanFrom+"ORDER BY s.id DESC")
	if err != nil {
		return nil, fmt.Errorf("scans: %w", err)
	}
	defer rows.Close()
	var out []Scan
	for rows.Next() {
		sc, err := scanScan(rows)
		if err != nil {
			return nil, fmt.Errorf("scans: %w", err)
		}
		out = append(out, sc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("scans: %w", err)
	}
	return out, nil
}

func (s *Store) oneScan(ctx context.Context, what, where string, args ...any) (Scan, error) {
	sc, err := scanScan(s.db.QueryRowContext(ctx, "SELECT "+scanColumns+scanFrom+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return Scan{}, fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if err != nil {
		return Scan{}, fmt.Errorf("%s: %w", what, err)
	}
	return sc, nil
}

// Scan returns one scan; the error wraps ErrNotFound when there is none.
func (s *Store) Scan(ctx context.Context, id int64) (Scan, error) {
	return s.oneScan(ctx, fmt.Sprintf("scan %d", id), "WHERE s.id = ?", id)
}

// LatestScan returns the newest complete or partial scan — never a failed
// or running one, which has no snapshot to compare with: it is the
// baseline the next scan's drift is computed against. The error wraps
// ErrNotFound when there is none.
func (s *Store) LatestScan(ctx context.Context) (Scan, error) {
	return s.oneScan(ctx, "latest scan", "WHERE s.status IN ('complete', 'partial') ORDER BY s.id DESC LIMIT 1")
}

// PreviousScan returns the newest complete or partial scan before id (a
// failed scan is never the previous scan); the error wraps ErrNotFound
// when there is none.
func (s *Store) PreviousScan(ctx context.Context, id int64) (Scan, error) {
	return s.oneScan(ctx, fmt.Sprintf("scan before %d", id),
		"WHERE s.id < ? AND s.status IN ('complete', 'partial') ORDER BY s.id DESC LIMIT 1", id)
}

// Snapshot returns the inventory stored by a scan and its SHA-256. The stored
// bytes are checked against the recorded hash; a mismatch wraps ErrCorrupt.
func (s *Store) Snapshot(ctx context.Context, scanID int64) (nhi.Inventory, string, error) {
	var want string
	var body []byte
	err := s.db.QueryRowContext(ctx, "SELECT sha256, inventory FROM snapshots WHERE scan_id = ?", scanID).Scan(&want, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return nhi.Inventory{}, "", fmt.Errorf("snapshot of scan %d: %w", scanID, ErrNotFound)
	}
	if err != nil {
		return nhi.Inventory{}, "", fmt.Errorf("snapshot of scan %d: %w", scanID, err)
	}
	// Decode strictly but without nhi.Decode's validation: the snapshot is
	// returned as it was collected, whatever its quality. The JSON is
	// hashed as it is read (a compressed snapshot is never held whole).
	r, err := snapshotJSON(body)
	h := sha256.New()
	var inv nhi.Inventory
	if err == nil {
		tee := io.TeeReader(r, h)
		dec := json.NewDecoder(tee)
		dec.DisallowUnknownFields()
		err = dec.Decode(&inv)
		if _, cerr := io.Copy(io.Discard, tee); err == nil {
			err = cerr
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return nhi.Inventory{}, "", fmt.Errorf("snapshot of scan %d: %w (recorded %s, stored bytes %s)", scanID, ErrCorrupt, want, got)
	}
	if err != nil {
		return nhi.Inventory{}, "", fmt.Errorf("snapshot of scan %d: %w", scanID, err)
	}
	inv.Normalize()
	return inv, want, nil
}

// ScanOwnership returns the role and owner resolution stored with a scan,
// by identity id; empty when the scan stored none.
func (s *Store) ScanOwnership(ctx context.Context, scanID int64) (map[string]nhi.Ownership, error) {
	var body string
	err := s.db.QueryRowContext(ctx, "SELECT body FROM scan_ownership WHERE scan_id = ?", scanID).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return map[string]nhi.Ownership{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ownership of scan %d: %w", scanID, err)
	}
	out := map[string]nhi.Ownership{}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		return nil, fmt.Errorf("ownership of scan %d: %w", scanID, err)
	}
	return out, nil
}
