package fleet

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// periodicJobs are the schedules' fires and the sweep. River runs
// periodic jobs on the elected leader only, so each fires once across
// every replica.
func (f *Fleet) periodicJobs() []*river.PeriodicJob {
	var out []*river.PeriodicJob
	for _, s := range f.cfg.Schedules {
		out = append(out, river.NewPeriodicJob(s.Next, func() (river.JobArgs, *river.InsertOpts) {
			// The constructor runs when the schedule fires: its second
			// is the slot that names the scan.
			return ScheduledArgs{Schedule: s.Spec, Slot: time.Now().UTC().Truncate(time.Second)}, nil
		}, nil))
	}
	out = append(out, river.NewPeriodicJob(river.PeriodicInterval(f.cfg.SweepInterval), func() (river.JobArgs, *river.InsertOpts) {
		return SweepArgs{}, nil
	}, &river.PeriodicJobOpts{RunOnStart: true}))
	return out
}

type scheduledWorker struct {
	river.WorkerDefaults[ScheduledArgs]
	f *Fleet
}

// Work enqueues the scan of one fire; its trigger names the schedule and
// the slot, so it is one scan however often the fire is worked.
func (w *scheduledWorker) Work(ctx context.Context, job *river.Job[ScheduledArgs]) error {
	id, err := w.f.Enqueue(ctx, ScheduleTrigger(job.Args.Schedule, job.Args.Slot))
	if err == nil {
		w.f.cfg.Logger.Info("fleet: scheduled scan enqueued", "scan", id, "schedule", job.Args.Schedule, "slot", job.Args.Slot)
	}
	return err
}

// ScheduleTrigger names the scan of one fire of a schedule.
func ScheduleTrigger(spec string, slot time.Time) string {
	return fmt.Sprintf("schedule:%s@%s", spec, slot.UTC().Format(time.RFC3339))
}
