package fleet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

type collectWorker struct {
	river.WorkerDefaults[CollectArgs]
	f *Fleet
}

// Work collects one scope and records it. A failed attempt is retried by
// River (elsewhere, when this worker died); the last failed attempt
// records the scope as a gap, so the scan still ends, honestly partial.
// An interrupted collection (shutdown, the job's timeout) is a failure,
// never a part: what a cancelled collector returns is incomplete.
func (w *collectWorker) Work(ctx context.Context, job *river.Job[CollectArgs]) error {
	f := w.f
	sc := job.Args.scope()
	var (
		inv nhi.Inventory
		err error
	)
	if job.Args.Digest != f.cfg.Digest {
		err = fmt.Errorf("this worker's configuration (%s) is not the one the scan was planned with (%s)", f.cfg.Digest, job.Args.Digest)
	} else {
		inv, err = f.cfg.Collect(ctx, sc)
		if err == nil && ctx.Err() != nil {
			err = fmt.Errorf("collection interrupted: %w", ctx.Err())
		}
		if err == nil {
			err = inv.Validate()
		}
	}
	p := part{scope: sc, inv: inv, attempt: job.Attempt}
	if errors.Is(ctx.Err(), context.Canceled) {
		// The worker is stopping: the job goes back to the queue for
		// another worker, and the attempt does not count.
		f.cfg.Logger.Info("fleet: collect interrupted by shutdown; snoozed", "scan", job.Args.ScanID, "scope", sc.Key())
		return river.JobSnooze(time.Second)
	}
	if err != nil {
		f.cfg.Logger.Warn("fleet: collect failed", "scan", job.Args.ScanID, "scope", sc.Key(), "attempt", job.Attempt, "of", job.MaxAttempts, "error", err)
		if job.Attempt < job.MaxAttempts {
			return err
		}
		p.inv, p.gap = gapInventory(sc, err, f.cfg.Now()), true
	}
	// The part is recorded even when the job's context just ended: it was
	// collected (or is the gap of the last attempt).
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	return f.recordPart(rctx, job.Args.ScanID, p)
}

// gapInventory is a scope nothing was observed in: listed, and hidden
// whole by a gap that says why, as a collector that fails outright
// becomes a gap in a one-process scan.
func gapInventory(sc Scope, err error, now time.Time) nhi.Inventory {
	inv := nhi.Inventory{
		Version: nhi.SchemaVersion, CollectedAt: now.UTC(),
		Scopes: []nhi.Scope{{Provider: sc.Provider, ID: sc.ID}},
		Gaps: []nhi.Gap{{Provider: sc.Provider, Scope: sc.ID, Source: "collect", Kind: collectors.GapKind(err),
			Detail: collectors.Detail(err)}},
	}
	inv.Normalize()
	return inv
}
