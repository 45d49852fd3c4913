package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"strings"
)

// Stored data against the audit log. The audit chain proves the log was
// not edited in place; what the rest of the database holds is proved by
// the hashes the log recorded when it was written. Each scan.finish entry
// records the SHA-256 of the scan's snapshot (inventory_sha256) and, since
// this was added, of its findings and lifecycle events (findings_sha256)
// and of its owner resolution (ownership_sha256, when it stored one);
// VerifyStored and VerifyScan recompute them from the stored rows and
// compare. A snapshot replaced together with its sha256 column no longer
// matches the entry that recorded the original.

// ErrNotAsRecorded is wrapped by every VerifyStored and VerifyScan problem:
// what the database stores differs from what its audit log recorded.
var ErrNotAsRecorded = errors.New("stored data does not match the audit log")

// Detail keys of the scan.finish entry that carry hashes.
const (
	detailInventorySHA256 = "inventory_sha256"
	detailFindingsSHA256  = "findings_sha256"
	detailOwnershipSHA256 = "ownership_sha256"
)

// sha256Hex is the hex SHA-256 of b.
func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// StoredReport is what VerifyStored checked.
type StoredReport struct {
	// Scans is the number of scans checked against their audit entries.
	Scans int
	// Snapshots counts the snapshots whose bytes, sha256 column and
	// scan.finish entry agree.
	Snapshots int
	// Findings counts the scans whose findings and lifecycle events match
	// the findings_sha256 their scan.finish entry recorded.
	Findings int
	// FindingsNotRecorded lists the finished scans stored before nhiscan
	// recorded findings_sha256: their findings are not verified.
	FindingsNotRecorded []int64
}

// rowsQueryer is a database or a transaction.
type rowsQueryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// findingsDigest is the findings_sha256 of a stored scan: SHA-256 over
// one JSON array per line, first ["finding", fingerprint, body] for each
// stored finding of the scan by fingerprint, then ["event", fingerprint,
// event, at, detail] for each lifecycle event it recorded by fingerprint
// and event. findingsDigestOf computes the same as FinishScan writes.
// The "remediated" events linked after the scan finished (revoke.go) are
// not part of it: each is recorded in the audit log on its own
// (revoke.remediated).
func findingsDigest(ctx context.Context, db rowsQueryer, scanID int64) (string, error) {
	d := newDigest()
	rows, err := db.QueryContext(ctx, "SELECT fingerprint, body FROM scan_findings WHERE scan_id = ? ORDER BY fingerprint", scanID)
	if err != nil {
		return "", err
	}
	for rows.Next() {
		var fp, body string
		if err := rows.Scan(&fp, &body); err != nil {
			rows.Close()
			return "", err
		}
		d.line("finding", fp, body)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", err
	}
	rows, err = db.QueryContext(ctx, "SELECT fingerprint, event, at, detail FROM finding_events WHERE scan_id = ? AND event != ? ORDER BY fingerprint, event", scanID, EventRemediated)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var e [4]string
		if err := rows.Scan(&e[0], &e[1], &e[2], &e[3]); err != nil {
			return "", err
		}
		d.line("event", e[:]...)
	}
	return d.sum(), rows.Err()
}

// findingsDigestOf is findingsDigest of the findings a scan is storing
// (sorted by fingerprint) and the events it records.
func findingsDigestOf(fs []preparedFinding, events [][4]string) string {
	d := newDigest()
	for i := range fs {
		d.line("finding", fs[i].f.Fingerprint, string(fs[i].body))
	}
	events = slices.Clone(events)
	slices.SortFunc(events, func(a, b [4]string) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
	for _, e := range events {
		d.line("event", e[:]...)
	}
	return d.sum()
}

// digest hashes JSON-array lines.
type digest struct{ h hash.Hash }

func newDigest() *digest { return &digest{h: sha256.New()} }

func (d *digest) line(tag string, fields ...string) {
	arr := make([]string, 0, len(fields)+1)
	arr = append(arr, tag)
	arr = append(arr, fields...)
	b, _ := json.Marshal(arr)
	d.h.Write(append(b, '\n'))
}

func (d *digest) sum() string { return hex.EncodeToString(d.h.Sum(nil)) }

// recorded indexes the audit entries that recorded stored data.
type recorded struct {
	begin, end map[string][]AuditRecord // by subject; end is finish, fail or interrupted
	finish     map[string][]AuditRecord
	// refs are the entries that name a scan's snapshot hash.
	refs []AuditRecord
}

func (s *Store) recorded(ctx context.Context) (*recorded, error) {
	recs, err := s.AuditEntries(ctx)
	if err != nil {
		return nil, err
	}
	r := &recorded{begin: map[string][]AuditRecord{}, end: map[string][]AuditRecord{}, finish: map[string][]AuditRecord{}}
	for _, e := range recs {
		switch e.Action {
		case ActionScanBegin:
			r.begin[e.Subject] = append(r.begin[e.Subject], e)
		case ActionScanFinish:
			r.finish[e.Subject] = append(r.finish[e.Subject], e)
			r.end[e.Subject] = append(r.end[e.Subject], e)
		case ActionScanFail, ActionScanInterrupted:
			r.end[e.Subject] = append(r.end[e.Subject], e)
		default:
			if e.Detail["snapshot_sha256"] != "" && strings.HasPrefix(e.Subject, "scan:") {
				r.refs = append(r.refs, e)
			}
		}
	}
	return r, nil
}

// storedScan is a scan row with its snapshot hash column.
type storedScan struct {
	id                   int64
	status               string
	identities, findings int
	sha                  sql.NullString
}

// VerifyScan checks one finished scan against the audit log: its
// scan.begin and single scan.finish entry exist, the snapshot's bytes hash
// to its sha256 column and to the inventory_sha256 the entry recorded,
// the status and counts agree, and its findings and lifecycle events match
// findings_sha256 when one was recorded (findingsVerified says whether).
// Problems wrap ErrNotAsRecorded. Verify the chain first (VerifyAudit): a
// rebuilt chain can record anything.
func (s *Store) VerifyScan(ctx context.Context, id int64) (findingsVerified bool, err error) {
	r, err := s.recorded(ctx)
	if err != nil {
		return false, fmt.Errorf("verify scan %d: %w", id, err)
	}
	var sc storedScan
	err = s.db.QueryRowContext(ctx, `SELECT s.id, s.status, s.identities, s.findings, n.sha256 FROM scans s
		LEFT JOIN snapshots n ON n.scan_id = s.id WHERE s.id = ?`, id).Scan(&sc.id, &sc.status, &sc.identities, &sc.findings, &sc.sha)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("verify scan %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return false, fmt.Errorf("verify scan %d: %w", id, err)
	}
	problems, verified, err := s.checkScan(ctx, r, sc)
	if err != nil {
		return false, fmt.Errorf("verify scan %d: %w", id, err)
	}
	return verified, joinProblems(problems)
}

// VerifyStored checks every scan against the audit log as VerifyScan
// does, and every audit entry that recorded a scan's data against the
// stored scans: a scan.finish whose scan or snapshot is gone, a second
// scan.finish for one scan, and a certification or export entry whose
// snapshot_sha256 is not the hash the scan recorded. All problems are
// returned at once and wrap ErrNotAsRecorded.
func (s *Store) VerifyStored(ctx context.Context) (StoredReport, error) {
	var rep StoredReport
	r, err := s.recorded(ctx)
	if err != nil {
		return rep, fmt.Errorf("verify stored data: %w", err)
	}
	scans, err := s.storedScans(ctx)
	if err != nil {
		return rep, fmt.Errorf("verify stored data: %w", err)
	}
	var problems []string
	seen := map[string]bool{}
	for _, sc := range scans {
		seen[scanSubject(sc.id)] = true
		ps, verified, err := s.checkScan(ctx, r, sc)
		if err != nil {
			return rep, fmt.Errorf("verify stored data: %w", err)
		}
		problems = append(problems, ps...)
		rep.Scans++
		if len(ps) == 0 && sc.sha.Valid {
			rep.Snapshots++
			if verified {
				rep.Findings++
			} else {
				rep.FindingsNotRecorded = append(rep.FindingsNotRecorded, sc.id)
			}
		}
	}
	for subject, es := range r.finish {
		if !seen[subject] {
			problems = append(problems, fmt.Sprintf("audit entry %d recorded the end of %s, which the database no longer holds (scan deleted)", es[0].Seq, subject))
		}
	}
	problems = append(problems, r.checkRefs()...)
	return rep, joinProblems(problems)
}

// checkRefs checks that every entry naming a scan's snapshot hash
// (certification.record, evidence.export) names the one its scan.finish
// recorded.
func (r *recorded) checkRefs() []string {
	var problems []string
	for _, e := range r.refs {
		fin := r.finish[e.Subject]
		switch {
		case len(fin) == 0:
			problems = append(problems, fmt.Sprintf("audit entry %d (%s) names the snapshot of %s, which no scan.finish entry recorded", e.Seq, e.Action, e.Subject))
		case fin[0].Detail[detailInventorySHA256] != e.Detail["snapshot_sha256"]:
			problems = append(problems, fmt.Sprintf("audit entry %d (%s) names snapshot sha256 %s for %s, but scan.finish entry %d recorded %s",
				e.Seq, e.Action, e.Detail["snapshot_sha256"], e.Subject, fin[0].Seq, fin[0].Detail[detailInventorySHA256]))
		}
	}
	return problems
}

func (s *Store) storedScans(ctx context.Context) ([]storedScan, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT s.id, s.status, s.identities, s.findings, n.sha256 FROM scans s
		LEFT JOIN snapshots n ON n.scan_id = s.id ORDER BY s.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storedScan
	for rows.Next() {
		var sc storedScan
		if err := rows.Scan(&sc.id, &sc.status, &sc.identities, &sc.findings, &sc.sha); err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, rows.Err()
}

// checkScan compares one scan with the entries that recorded it. It
// returns the problems found and whether the findings were verified
// against a recorded findings_sha256; err is a failure to read.
func (s *Store) checkScan(ctx context.Context, r *recorded, sc storedScan) (problems []string, findingsVerified bool, err error) {
	subject := scanSubject(sc.id)
	add := func(format string, a ...any) {
		problems = append(problems, fmt.Sprintf("scan %d: ", sc.id)+fmt.Sprintf(format, a...))
	}
	if len(r.begin[subject]) == 0 {
		add("no scan.begin entry in the audit log (entries deleted, or the scan inserted)")
	}
	fin := r.finish[subject]
	finished := ScanStatus(sc.status) == ScanComplete || ScanStatus(sc.status) == ScanPartial
	switch {
	case len(fin) > 1:
		add("%d scan.finish entries (%d and %d): one was appended", len(fin), fin[0].Seq, fin[1].Seq)
	case len(r.end[subject]) > 1:
		add("%d entries end it (a scan ends once)", len(r.end[subject]))
	case finished && len(fin) == 0:
		add("%s, but the audit log has no scan.finish entry for it (entries deleted, or the scan rewritten)", sc.status)
	case !finished && len(fin) > 0:
		add("%s, but scan.finish entry %d recorded it %s", sc.status, fin[0].Seq, fin[0].Detail["status"])
	case ScanStatus(sc.status) == ScanFailed && len(r.end[subject]) == 0:
		add("failed, but the audit log does not record how it ended (entries deleted, or the scan rewritten)")
	}
	if !finished {
		if sc.sha.Valid {
			add("%s, but it has a snapshot (a snapshot was inserted)", sc.status)
		}
		return problems, false, nil
	}
	if len(fin) != 1 {
		return problems, false, nil
	}
	e := fin[0]
	d := e.Detail
	if d["status"] != sc.status {
		add("status %s, but scan.finish entry %d recorded %s", sc.status, e.Seq, d["status"])
	}
	if d["identities"] != strconv.Itoa(sc.identities) || d["findings"] != strconv.Itoa(sc.findings) {
		add("%d identities and %d findings, but scan.finish entry %d recorded %s and %s", sc.identities, sc.findings, e.Seq, d["identities"], d["findings"])
	}
	ps, err := s.checkSnapshot(ctx, sc, e)
	if err != nil {
		return nil, false, err
	}
	problems = append(problems, ps...)
	if want, ok := d[detailOwnershipSHA256]; ok {
		var body string
		err := s.db.QueryRowContext(ctx, "SELECT body FROM scan_ownership WHERE scan_id = ?", sc.id).Scan(&body)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			add("its owner resolution is gone (scan.finish entry %d recorded sha256 %s)", e.Seq, want)
		case err != nil:
			return nil, false, err
		case sha256Hex([]byte(body)) != want:
			add("its owner resolution hashes to %s, but scan.finish entry %d recorded %s (owners edited)", sha256Hex([]byte(body)), e.Seq, want)
		}
	}
	want, ok := d[detailFindingsSHA256]
	if !ok {
		return problems, false, nil
	}
	got, err := findingsDigest(ctx, s.db, sc.id)
	if err != nil {
		return nil, false, err
	}
	if got != want {
		add("its findings and lifecycle events hash to %s, but scan.finish entry %d recorded %s (findings edited, added or removed)", got, e.Seq, want)
	}
	return problems, true, nil
}

// checkSnapshot compares a finished scan's snapshot bytes, its sha256
// column and the inventory_sha256 its scan.finish entry e recorded.
func (s *Store) checkSnapshot(ctx context.Context, sc storedScan, e AuditRecord) ([]string, error) {
	want := e.Detail[detailInventorySHA256]
	if !sc.sha.Valid {
		return []string{fmt.Sprintf("scan %d: %s, but its snapshot is gone (scan.finish entry %d recorded sha256 %s)", sc.id, sc.status, e.Seq, want)}, nil
	}
	var body []byte
	if err := s.db.QueryRowContext(ctx, "SELECT inventory FROM snapshots WHERE scan_id = ?", sc.id).Scan(&body); err != nil {
		return nil, err
	}
	got, err := snapshotHash(body)
	var problems []string
	if err != nil {
		problems = append(problems, fmt.Sprintf("scan %d: the snapshot cannot be read: %v", sc.id, err))
	}
	if got != sc.sha.String {
		problems = append(problems, fmt.Sprintf("scan %d: the snapshot's bytes hash to %s, but its sha256 column says %s (snapshot edited)", sc.id, got, sc.sha.String))
	}
	if sc.sha.String != want {
		problems = append(problems, fmt.Sprintf("scan %d: the snapshot's sha256 is %s, but scan.finish entry %d recorded %s (snapshot replaced with its hash)",
			sc.id, sc.sha.String, e.Seq, want))
	}
	return problems, nil
}

// joinProblems is nil for none, else one error wrapping ErrNotAsRecorded
// that lists them, one a line.
func joinProblems(problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w:\n  %s", ErrNotAsRecorded, strings.Join(problems, "\n  "))
}
