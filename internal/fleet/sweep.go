package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/riverqueue/river"
)

type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	f *Fleet
}

// Work ends what River gave up on without our code running: a job whose
// last attempt was cut short by a dead worker is discarded by River's
// rescuer, and no part records it. Such a collect job's scope becomes a
// gap (so the scan can finalise, honestly partial); a discarded plan or
// finalize job fails its scan.
func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	f := w.f
	rows, err := f.pool.Query(ctx, `SELECT j.kind, j.args, coalesce(j.errors[array_length(j.errors, 1)]->>'error', '') FROM river_job j
		JOIN fleet_scans s ON s.id = (j.args->>'scan_id')::bigint
		WHERE j.kind IN ('plan_scan', 'collect_scope', 'finalize_scan') AND j.state IN ('discarded', 'cancelled')
		AND s.state IN ('planning', 'collecting', 'finalizing')
		AND NOT EXISTS (SELECT 1 FROM fleet_parts p WHERE p.scan_id = s.id AND p.provider = j.args->>'provider' AND p.scope = j.args->>'scope')`)
	if err != nil {
		return fmt.Errorf("fleet: sweep: %w", err)
	}
	type ended struct {
		kind   string
		args   CollectArgs
		reason string
	}
	var todo []ended
	for rows.Next() {
		var (
			e       ended
			args    []byte
			lastErr string
		)
		if err := rows.Scan(&e.kind, &args, &lastErr); err != nil {
			rows.Close()
			return fmt.Errorf("fleet: sweep: %w", err)
		}
		if err := json.Unmarshal(args, &e.args); err != nil {
			rows.Close()
			return err
		}
		e.reason = "river gave up on the job"
		if lastErr != "" {
			e.reason += ": " + lastErr
		}
		todo = append(todo, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var all []error
	for _, e := range todo {
		f.cfg.Logger.Warn("fleet: sweep", "kind", e.kind, "scan", e.args.ScanID, "scope", e.args.Provider+"/"+e.args.Scope, "reason", e.reason)
		if e.kind != "collect_scope" {
			all = append(all, f.failScan(ctx, e.args.ScanID, e.kind+": "+e.reason))
			continue
		}
		sc := e.args.scope()
		all = append(all, f.recordPart(ctx, e.args.ScanID, part{scope: sc, gap: true, inv: gapInventory(sc, errors.New(e.reason), f.cfg.Now())}))
	}
	return errors.Join(all...)
}
