package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// AuditEntry is one thing that happened, as the caller describes it.
type AuditEntry struct {
	At      time.Time
	Actor   string // who: an operator login, "nhiscan" for the tool itself
	Action  string // what, dotted: scan.begin, scan.finish, credential.disable…
	Subject string // on what: "scan:12", an identity or credential id
	Detail  map[string]string
}

// AuditRecord is an audit entry as stored: its sequence number and the hash
// chain around it.
type AuditRecord struct {
	Seq int64
	AuditEntry
	PrevHash string
	Hash     string
}

// Audit actions the store itself records.
const (
	ActionScanBegin       = "scan.begin"
	ActionScanFinish      = "scan.finish"
	ActionScanFail        = "scan.fail"
	ActionScanInterrupted = "scan.interrupted"
)

// actorStore is the actor of entries the store writes itself.
const actorStore = "nhiscan"

// Audit appends an entry to the audit log.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	if err := s.writable("audit"); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer tx.Rollback()
	if err := appendAudit(ctx, tx, e); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// appendAudit appends e inside tx and moves the head.
func appendAudit(ctx context.Context, tx *sql.Tx, e AuditEntry) error {
	if e.Action == "" {
		return errors.New("audit: action is empty")
	}
	if e.At.IsZero() {
		return errors.New("audit: time is zero")
	}
	var seq int64
	var prev string
	if err := tx.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&seq, &prev); err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	seq++
	detail, err := canonicalDetail(e.Detail)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	at := formatTime(e.At)
	h := auditHash(seq, prev, at, e.Actor, e.Action, e.Subject, detail)
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, seq, at, e.Actor, e.Action, e.Subject, detail, prev, h); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", seq, h); err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	return nil
}

// canonicalDetail encodes the detail map as a JSON object with sorted keys
// (encoding/json sorts map keys); nil and empty both encode as {}.
func canonicalDetail(d map[string]string) (string, error) {
	if d == nil {
		d = map[string]string{}
	}
	b, err := json.Marshal(d)
	return string(b), err
}

// auditHash is SHA-256 over a JSON array of a format tag, the sequence
// number, the previous hash and the entry's stored fields.
func auditHash(seq int64, prev, at, actor, action, subject, detail string) string {
	b, _ := json.Marshal([]any{"nhiscan-audit-v1", seq, prev, at, actor, action, subject, detail})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

type auditRow struct {
	seq                                                int64
	at, actor, action, subject, detail, prevHash, hash string
}

// readAudit reads every entry in seq order inside one read transaction,
// together with the head.
func (s *Store) readAudit(ctx context.Context) (rows []auditRow, headSeq int64, headHash string, err error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, "", err
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&headSeq, &headHash); err != nil {
		return nil, 0, "", fmt.Errorf("audit head: %w", err)
	}
	rs, err := tx.QueryContext(ctx, "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log ORDER BY seq")
	if err != nil {
		return nil, 0, "", err
	}
	defer rs.Close()
	for rs.Next() {
		var r auditRow
		if err := rs.Scan(&r.seq, &r.at, &r.actor, &r.action, &r.subject, &r.detail, &r.prevHash, &r.hash); err != nil {
			return nil, 0, "", err
		}
		rows = append(rows, r)
	}
	return rows, headSeq, headHash, rs.Err()
}

// AuditEntries returns the whole audit log in sequence order.
func (s *Store) AuditEntries(ctx context.Context) ([]AuditRecord, error) {
	rows, _, _, err := s.readAudit(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit entries: %w", err)
	}
	out := make([]AuditRecord, 0, len(rows))
	for _, r := range rows {
		at, err := parseTime(r.at)
		if err != nil {
			return nil, fmt.Errorf("audit entry %d: %w", r.seq, err)
		}
		var d map[string]string
		if err := json.Unmarshal([]byte(r.detail), &d); err != nil {
			return nil, fmt.Errorf("audit entry %d: detail: %w", r.seq, err)
		}
		if len(d) == 0 {
			d = nil
		}
		out = append(out, AuditRecord{
			Seq:        r.seq,
			AuditEntry: AuditEntry{At: at, Actor: r.actor, Action: r.action, Subject: r.subject, Detail: d},
			PrevHash:   r.prevHash,
			Hash:       r.hash,
		})
	}
	return out, nil
}

// VerifyAudit recomputes the hash chain and checks it against the head. It
// returns the number of entries verified; on a break, the error wraps
// ErrAuditBroken and names the first broken sequence number and why: an
// edited entry (hash mismatch), a deleted entry (sequence gap or previous
// hash mismatch) or a deleted tail (the head is ahead of the last entry).
func (s *Store) VerifyAudit(ctx context.Context) (int, error) {
	rows, headSeq, headHash, err := s.readAudit(ctx)
	if err != nil {
		return 0, fmt.Errorf("verify audit: %w", err)
	}
	var prevSeq int64
	prevHash := ""
	for i, r := range rows {
		switch {
		case r.seq != prevSeq+1:
			return i, fmt.Errorf("%w at seq %d: entries %d to %d are missing (deleted)", ErrAuditBroken, prevSeq+1, prevSeq+1, r.seq-1)
		case r.prevHash != prevHash:
			return i, fmt.Errorf("%w at seq %d: previous hash does not match entry %d (entry replaced or deleted)", ErrAuditBroken, r.seq, prevSeq)
		case auditHash(r.seq, r.prevHash, r.at, r.actor, r.action, r.subject, r.detail) != r.hash:
			return i, fmt.Errorf("%w at seq %d: content does not match its hash (entry edited)", ErrAuditBroken, r.seq)
		}
		prevSeq, prevHash = r.seq, r.hash
	}
	switch {
	case headSeq > prevSeq:
		return len(rows), fmt.Errorf("%w at seq %d: the head records %d entries but the log ends at %d (tail deleted)", ErrAuditBroken, prevSeq+1, headSeq, prevSeq)
	case headSeq < prevSeq:
		return len(rows), fmt.Errorf("%w at seq %d: entries after the recorded head %d (head edited or entries inserted)", ErrAuditBroken, headSeq+1, headSeq)
	case headHash != prevHash:
		return len(rows), fmt.Errorf("%w at seq %d: the head hash does not match the last entry", ErrAuditBroken, prevSeq)
	}
	return len(rows), nil
}

// AuditHead is the last entry of the audit log: its sequence number, hash
// and time. Seq 0 is an empty log.
type AuditHead struct {
	Seq  int64
	Hash string
	At   time.Time
}

// Head returns the head of the audit log, as an anchor records it. It does
// not verify the chain: call VerifyAudit first.
func (s *Store) Head(ctx context.Context) (AuditHead, error) {
	var h AuditHead
	if err := s.db.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&h.Seq, &h.Hash); err != nil {
		return AuditHead{}, fmt.Errorf("audit head: %w", err)
	}
	if h.Seq == 0 {
		return h, nil
	}
	var at string
	if err := s.db.QueryRowContext(ctx, "SELECT at FROM audit_log WHERE seq = ?", h.Seq).Scan(&at); err != nil {
		return AuditHead{}, fmt.Errorf("audit head %d: %w", h.Seq, err)
	}
	t, err := parseTime(at)
	if err != nil {
		return AuditHead{}, fmt.Errorf("audit head %d: %w", h.Seq, err)
	}
	h.At = t
	return h, nil
}

// CheckAnchor checks that the audit log still holds entry seq with the
// hash an anchor recorded. Since every hash covers the one before it, the
// entries up to seq are then exactly those that were anchored. An error
// wraps ErrAuditBroken: the log ends before seq (its tail was deleted), or
// entry seq has another hash (the chain was rebuilt after an edit).
func (s *Store) CheckAnchor(ctx context.Context, seq int64, hash string) error {
	if seq == 0 {
		return nil
	}
	var got string
	err := s.db.QueryRowContext(ctx, "SELECT hash FROM audit_log WHERE seq = ?", seq).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		var last int64
		if err := s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM audit_log").Scan(&last); err != nil {
			return fmt.Errorf("check anchor: %w", err)
		}
		return fmt.Errorf("%w: the anchor recorded entry %d, but the log ends at %d (tail deleted)", ErrAuditBroken, seq, last)
	}
	if err != nil {
		return fmt.Errorf("check anchor: %w", err)
	}
	if got != hash {
		return fmt.Errorf("%w: entry %d has hash %s, but the anchor recorded %s (the chain was rebuilt after an edit)", ErrAuditBroken, seq, got, hash)
	}
	return nil
}
