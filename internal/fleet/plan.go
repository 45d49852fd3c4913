package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

type planWorker struct {
	river.WorkerDefaults[PlanArgs]
	f *Fleet
}

// Work lists the scopes and, in one transaction under the scan's row
// lock, records them and enqueues their collect jobs. A plan that fails
// on its last attempt fails the scan: nothing was observed.
func (w *planWorker) Work(ctx context.Context, job *river.Job[PlanArgs]) error {
	f := w.f
	scopes, err := f.cfg.Plan(ctx)
	if err == nil && len(scopes) == 0 {
		err = fmt.Errorf("no scope to collect")
	}
	if err != nil {
		if job.Attempt < job.MaxAttempts {
			return err
		}
		return f.failScan(context.WithoutCancel(ctx), job.Args.ScanID, "plan: "+err.Error())
	}
	// One job and one part per scope: a scope listed twice would leave the
	// scan waiting for a part no job records.
	sort.SliceStable(scopes, func(i, j int) bool { return scopes[i].Key() < scopes[j].Key() })
	scopes = slices.CompactFunc(scopes, func(a, b Scope) bool { return a.Key() == b.Key() })
	body, err := json.Marshal(scopes)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, f.pool, func(tx pgx.Tx) error {
		s, err := lockScan(ctx, tx, job.Args.ScanID)
		if err != nil {
			return fmt.Errorf("fleet: scan %d: %w", job.Args.ScanID, err)
		}
		if s.State != StatePlanning {
			return nil // planned by an earlier attempt that committed
		}
		if _, err := tx.Exec(ctx, "UPDATE fleet_scans SET state = $2, scopes = $3 WHERE id = $1", s.ID, StateCollecting, body); err != nil {
			return err
		}
		params := make([]river.InsertManyParams, len(scopes))
		for i, sc := range scopes {
			params[i] = river.InsertManyParams{Args: CollectArgs{ScanID: s.ID, Provider: string(sc.Provider), Scope: sc.ID, Name: sc.Name, Peers: sc.Peers, Digest: f.cfg.Digest}}
		}
		_, err = f.client.InsertManyTx(ctx, tx, params)
		f.cfg.Logger.Info("fleet: scan planned", "scan", s.ID, "scopes", len(scopes))
		return err
	})
}
