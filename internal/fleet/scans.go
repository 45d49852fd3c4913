package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Scan states.
const (
	StatePlanning   = "planning"
	StateCollecting = "collecting"
	StateFinalizing = "finalizing"
	StateFinalized  = "finalized"
	StateFailed     = "failed"
)

// Scan is one requested scan.
type Scan struct {
	ID          int64
	Trigger     string
	RequestedAt time.Time
	State       string
	// Scopes are those the plan listed (nil while planning).
	Scopes []Scope
	// Parts and Gaps count the scopes recorded so far, and how many of
	// them are gaps.
	Parts, Gaps int
	Reason      string
	FinalizedAt time.Time
}

// Done reports whether the scan ended: finalised or failed.
func (s Scan) Done() bool { return s.State == StateFinalized || s.State == StateFailed }

// ErrNotFound: no such scan.
var ErrNotFound = errors.New("fleet: no such scan")

// Enqueue requests a scan now, on behalf of trigger (empty: a manual scan
// with a random name). The scan row and its plan job are inserted in one
// transaction; a trigger already used returns the scan it started.
func (f *Fleet) Enqueue(ctx context.Context, trigger string) (int64, error) {
	if trigger == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		trigger = "manual:" + hex.EncodeToString(b[:])
	}
	var id int64
	err := pgx.BeginFunc(ctx, f.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO fleet_scans (trigger, requested_at, state) VALUES ($1, $2, $3)
			ON CONFLICT (trigger) DO NOTHING RETURNING id`, trigger, f.cfg.Now().UTC(), StatePlanning).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return tx.QueryRow(ctx, "SELECT id FROM fleet_scans WHERE trigger = $1", trigger).Scan(&id)
		}
		if err != nil {
			return err
		}
		_, err = f.client.InsertTx(ctx, tx, PlanArgs{ScanID: id}, nil)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("fleet: enqueue scan: %w", err)
	}
	return id, nil
}

const scanColumns = `s.id, s.trigger, s.requested_at, s.state, s.scopes, s.reason, s.finalized_at,
	(SELECT count(*) FROM fleet_parts p WHERE p.scan_id = s.id),
	(SELECT count(*) FROM fleet_parts p WHERE p.scan_id = s.id AND p.gap)`

func scanScan(row pgx.Row) (Scan, error) {
	var (
		s         Scan
		scopes    []byte
		finalized *time.Time
	)
	if err := row.Scan(&s.ID, &s.Trigger, &s.RequestedAt, &s.State, &scopes, &s.Reason, &finalized, &s.Parts, &s.Gaps); err != nil {
		return s, err
	}
	if scopes != nil {
		if err := json.Unmarshal(scopes, &s.Scopes); err != nil {
			return s, fmt.Errorf("scan %d: scopes: %w", s.ID, err)
		}
	}
	s.RequestedAt = s.RequestedAt.UTC()
	if finalized != nil {
		s.FinalizedAt = finalized.UTC()
	}
	return s, nil
}

// Scan reads one scan.
func (f *Fleet) Scan(ctx context.Context, id int64) (Scan, error) {
	s, err := scanScan(f.pool.QueryRow(ctx, "SELECT "+scanColumns+" FROM fleet_scans s WHERE s.id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return s, fmt.Errorf("%w: %d", ErrNotFound, id)
	}
	return s, err
}

// Scans lists every scan, newest first.
func (f *Fleet) Scans(ctx context.Context) ([]Scan, error) {
	rows, err := f.pool.Query(ctx, "SELECT "+scanColumns+" FROM fleet_scans s ORDER BY s.id DESC")
	if err != nil {
		return nil, fmt.Errorf("fleet: scans: %w", err)
	}
	defer rows.Close()
	var out []Scan
	for rows.Next() {
		s, err := scanScan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Wait polls the scan until it ends or ctx does.
func (f *Fleet) Wait(ctx context.Context, id int64, every time.Duration) (Scan, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s, err := f.Scan(ctx, id)
		if err != nil || s.Done() {
			return s, err
		}
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-t.C:
		}
	}
}

// lockScan reads the scan under a row lock held until tx ends: whoever
// records a part, claims the finalisation or fails the scan holds it. Its
// state and scopes are current; its Parts and Gaps counts may not be (they
// are read with the snapshot taken before the lock was granted).
func lockScan(ctx context.Context, tx pgx.Tx, id int64) (Scan, error) {
	return scanScan(tx.QueryRow(ctx, "SELECT "+scanColumns+" FROM fleet_scans s WHERE s.id = $1 FOR UPDATE OF s", id))
}

// part is one scope's recorded result.
type part struct {
	scope   Scope
	inv     nhi.Inventory
	gap     bool
	attempt int
}

// recordPart stores a scope's part (a retried job replaces its earlier
// part; a gap never replaces collected data) and, in the same transaction,
// enqueues the finalisation when it was the last part the scan waited
// for. A part for a scan already finalised or failed is dropped.
func (f *Fleet) recordPart(ctx context.Context, scanID int64, p part) error {
	body, err := json.Marshal(p.inv)
	if err != nil {
		return fmt.Errorf("fleet: encode part %s: %w", p.scope.Key(), err)
	}
	return pgx.BeginFunc(ctx, f.pool, func(tx pgx.Tx) error {
		s, err := lockScan(ctx, tx, scanID)
		if err != nil {
			return fmt.Errorf("fleet: scan %d: %w", scanID, err)
		}
		if s.State != StateCollecting {
			f.cfg.Logger.Warn("fleet: part for a scan no longer collecting dropped", "scan", scanID, "scope", p.scope.Key(), "state", s.State)
			return nil
		}
		// A part is new when its row was inserted, not updated (xmax 0).
		var inserted bool
		err = tx.QueryRow(ctx, `INSERT INTO fleet_parts (scan_id, provider, scope, inventory, gap, attempt, worker, recorded_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (scan_id, provider, scope) DO UPDATE SET inventory = excluded.inventory, gap = excluded.gap,
				attempt = excluded.attempt, worker = excluded.worker, recorded_at = excluded.recorded_at
			WHERE fleet_parts.gap OR NOT excluded.gap
			RETURNING xmax = 0`,
			scanID, string(p.scope.Provider), p.scope.ID, string(body), p.gap, p.attempt, f.cfg.ID, f.cfg.Now().UTC()).Scan(&inserted)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return nil // a gap arriving after the scope's data: kept the data
		case err != nil:
			return fmt.Errorf("fleet: record part %s: %w", p.scope.Key(), err)
		case !inserted:
			return nil // a retry replaced its part; the count is unchanged
		}
		// The count lives on the locked row: a count of fleet_parts read
		// with lockScan could miss a part committed while this waited.
		var n int
		if err := tx.QueryRow(ctx, "UPDATE fleet_scans SET parts = parts + 1 WHERE id = $1 RETURNING parts", scanID).Scan(&n); err != nil {
			return err
		}
		if n < len(s.Scopes) {
			return nil
		}
		if _, err := tx.Exec(ctx, "UPDATE fleet_scans SET state = $2 WHERE id = $1", scanID, StateFinalizing); err != nil {
			return err
		}
		_, err = f.client.InsertTx(ctx, tx, FinalizeArgs{ScanID: scanID}, nil)
		return err
	})
}

// failScan ends a scan that cannot be finalised, with the reason.
func (f *Fleet) failScan(ctx context.Context, scanID int64, reason string) error {
	return pgx.BeginFunc(ctx, f.pool, func(tx pgx.Tx) error {
		s, err := lockScan(ctx, tx, scanID)
		if err != nil || s.Done() {
			return err
		}
		_, err = tx.Exec(ctx, "UPDATE fleet_scans SET state = $2, reason = $3 WHERE id = $1", scanID, StateFailed, reason)
		return err
	})
}

func providerOf(s string) nhi.Provider { return nhi.Provider(s) }
