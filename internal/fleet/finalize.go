package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

type finalizeWorker struct {
	river.WorkerDefaults[FinalizeArgs]
	f *Fleet
}

// Work finalises a scan exactly once: under the scan's row lock it checks
// that no finalisation committed, merges the parts, calls the Finalizer
// and sets finalized_at in the same transaction. A second finalize job
// (or a retry after this one's worker died) waits for the lock, then sees
// finalized_at and does nothing; a worker that dies holding the lock rolls
// the claim back with its connection, and River retries the job.
func (w *finalizeWorker) Work(ctx context.Context, job *river.Job[FinalizeArgs]) error {
	f := w.f
	id := job.Args.ScanID
	var ferr error
	err := pgx.BeginFunc(ctx, f.pool, func(tx pgx.Tx) error {
		s, err := lockScan(ctx, tx, id)
		if err != nil {
			return fmt.Errorf("fleet: scan %d: %w", id, err)
		}
		if s.State != StateFinalizing {
			return nil // finalised already, or failed
		}
		inv, err := mergeParts(ctx, tx, s)
		if err != nil {
			return err
		}
		if ferr = f.cfg.Finalize(ctx, s, inv); ferr != nil {
			if IsBusy(ferr) {
				// Another replica may hold the history: let it (or this
				// one, later) take the job, without spending an attempt.
				f.cfg.Logger.Info("fleet: finalisation snoozed", "scan", id, "why", ferr.Error())
				return river.JobSnooze(busySnooze)
			}
			if job.Attempt < job.MaxAttempts && !IsPermanent(ferr) {
				return ferr
			}
			_, err := tx.Exec(ctx, "UPDATE fleet_scans SET state = $2, reason = $3 WHERE id = $1", id, StateFailed, "finalize: "+ferr.Error())
			return err
		}
		_, err = tx.Exec(ctx, "UPDATE fleet_scans SET state = $2, finalized_at = $3 WHERE id = $1", id, StateFinalized, f.cfg.Now().UTC())
		return err
	})
	if err == nil && ferr == nil {
		f.cfg.Logger.Info("fleet: scan finalised", "scan", id)
	}
	return err
}

// mergeParts joins the scan's parts into one inventory, as a one-process
// scan joins its collectors' (nhi.Merge). Each part is read with the
// strict inventory decoder.
func mergeParts(ctx context.Context, tx pgx.Tx, s Scan) (nhi.Inventory, error) {
	rows, err := tx.Query(ctx, "SELECT provider, scope, inventory FROM fleet_parts WHERE scan_id = $1 ORDER BY provider, scope", s.ID)
	if err != nil {
		return nhi.Inventory{}, fmt.Errorf("fleet: parts of scan %d: %w", s.ID, err)
	}
	defer rows.Close()
	var invs []nhi.Inventory
	for rows.Next() {
		var p, sc, body string
		if err := rows.Scan(&p, &sc, &body); err != nil {
			return nhi.Inventory{}, err
		}
		inv, err := nhi.Decode(strings.NewReader(body))
		if err != nil {
			return nhi.Inventory{}, fmt.Errorf("fleet: part %s/%s of scan %d: %w", p, sc, s.ID, err)
		}
		invs = append(invs, inv)
	}
	if err := rows.Err(); err != nil {
		return nhi.Inventory{}, err
	}
	return nhi.Merge(invs...), nil
}

var errPermanent = errors.New("permanent")

// errBusy marks a Finalizer error that says this process cannot store the
// scan now (another process, such as nhiscan serve, holds the history's
// writer lock).
var errBusy = errors.New("busy")

// busySnooze is how long a busy finalisation waits before a replica tries
// it again.
const busySnooze = 5 * time.Second

// Busy marks a Finalizer error as "not here, not now": the finalize job is
// snoozed (no attempt spent), so whichever replica can store the scan takes
// it; the claim is rolled back with the transaction.
func Busy(err error) error { return busyError{err} }

// IsBusy reports whether err was marked Busy.
func IsBusy(err error) bool { return errors.Is(err, errBusy) }

type busyError struct{ err error }

func (e busyError) Error() string   { return e.err.Error() }
func (e busyError) Unwrap() []error { return []error{e.err, errBusy} }

// Permanent marks a Finalizer error that another attempt cannot change (the
// scan collected nothing): the scan fails at once.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool { return errors.Is(err, errPermanent) }

type permanentError struct{ err error }

func (e permanentError) Error() string   { return e.err.Error() }
func (e permanentError) Unwrap() []error { return []error{e.err, errPermanent} }
