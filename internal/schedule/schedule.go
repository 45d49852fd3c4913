// Package schedule runs nhiscan serve's jobs on cron schedules
// (robfig/cron/v3's standard five-field syntax, descriptors such as @daily,
// and a CRON_TZ=Zone prefix).
//
// The policies, each decided here and nowhere else:
//
//   - Overlap: a job never overlaps itself. A slot that comes while the
//     job's previous run is still going is skipped, logged and counted
//     (Event Skipped). Jobs never run at the same time as one another
//     either: a job whose slot comes while another job runs waits for it
//     (they share one store, and a scan and a revocation stage must not
//     interleave).
//   - Jitter: each run starts after a random delay in [0, Jitter), so many
//     installations do not call the providers' APIs at the same second.
//   - Missed runs: on start, a job whose last successful run served a slot
//     older than its most recent scheduled slot (the service was down, or
//     the run failed) runs once, at once: catch-up, never one run per
//     missed slot. A job that never ran waits for its first slot. A job
//     with Missed: Skip never catches up.
//   - Shutdown: when Run's context ends no run starts; a running job gets
//     Grace to finish, then its context is cancelled, and Run returns once
//     it has returned (a scan marks itself failed, "interrupted").
//
// Time is the standard library's (time.Now, timers): tests run the
// scheduler inside a testing/synctest bubble, whose clock is fake.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// Parser reads a schedule: five fields (minute hour day-of-month month
// day-of-week), or a descriptor (@daily, @every 6h), optionally prefixed
// with CRON_TZ=Area/City (the zone the fields are read in; default UTC).
var Parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Parse parses a schedule spec with Parser, in UTC unless it names a
// zone.
func Parse(spec string) (cron.Schedule, error) {
	s, err := Parser.Parse(spec)
	if err != nil {
		return nil, err
	}
	if ss, ok := s.(*cron.SpecSchedule); ok && ss.Location == time.Local {
		// The parser defaults to the machine's zone; a service's schedule
		// must not change meaning with the host's TZ.
		ss.Location = time.UTC
	}
	return s, nil
}

// Missed is a job's policy for slots missed while the service was down.
type Missed string

const (
	// CatchUp runs the job once at start when its last successful run is
	// older than its most recent slot (the default).
	CatchUp Missed = "run-once"
	// Skip waits for the next slot.
	Skip Missed = "skip"
)

// Job is one scheduled job.
type Job struct {
	// Name identifies the job in the store, logs and metrics.
	Name string
	// Kind is what the job does (scan, campaign-remind...), for logs and
	// metrics.
	Kind     string
	Schedule cron.Schedule
	Missed   Missed
	// Run does the work. Its context ends at shutdown (after Grace).
	Run func(ctx context.Context) error
}

// State keeps each job's last run across restarts (the store).
type State interface {
	// LastOK returns the slot of the job's last successful run; ok is
	// false when it never succeeded.
	LastOK(ctx context.Context, job string) (slot time.Time, ok bool, err error)
	Begin(ctx context.Context, job string, slot, started time.Time) error
	End(ctx context.Context, job string, ended time.Time, status, detail string) error
}

// EventKind says what happened to a job.
type EventKind string

// Events.
const (
	Started  EventKind = "started"
	Finished EventKind = "finished" // Err nil: ok
	Skipped  EventKind = "skipped"  // the previous run was still going
	CaughtUp EventKind = "catch-up" // a missed slot is run at start
)

// Event is reported to Options.Observe (metrics).
type Event struct {
	Kind      EventKind
	Job, Type string
	Slot      time.Time
	Took      time.Duration
	Err       error
}

// Options configure a Scheduler.
type Options struct {
	State State
	Log   *slog.Logger
	// Jitter bounds the random delay before each run (0: none).
	Jitter time.Duration
	// Rand returns a delay in [0, n); default math/rand/v2.
	Rand func(n time.Duration) time.Duration
	// Grace is how long a running job may go on after shutdown begins.
	Grace time.Duration
	// Observe hears every event (may be nil).
	Observe func(Event)
}

// Scheduler runs jobs. Create it with New; Update replaces the jobs (a
// reload); Run runs until its context ends.
type Scheduler struct {
	opt Options

	mu      sync.Mutex
	jobs    []Job
	running map[string]bool
	changed chan struct{}
	// exclusive serialises runs of different jobs (a channel, so a job
	// waiting for it can also hear shutdown).
	exclusive chan struct{}
}

// New returns a scheduler of jobs; their names must be unique.
func New(jobs []Job, opt Options) (*Scheduler, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Rand == nil {
		opt.Rand = func(n time.Duration) time.Duration { return time.Duration(rand.Int64N(int64(n))) }
	}
	s := &Scheduler{opt: opt, running: map[string]bool{}, changed: make(chan struct{}, 1), exclusive: make(chan struct{}, 1)}
	if err := s.Update(jobs); err != nil {
		return nil, err
	}
	return s, nil
}

// Update replaces the job set. A running job finishes; its replacement of
// the same name does not start while it runs.
func (s *Scheduler) Update(jobs []Job) error {
	seen := map[string]bool{}
	for _, j := range jobs {
		if j.Name == "" || j.Schedule == nil || j.Run == nil {
			return fmt.Errorf("schedule: job %q needs a name, a schedule and a function", j.Name)
		}
		if seen[j.Name] {
			return fmt.Errorf("schedule: two jobs named %q", j.Name)
		}
		seen[j.Name] = true
	}
	s.mu.Lock()
	s.jobs = append([]Job(nil), jobs...)
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return nil
}

// SetTiming replaces Jitter and Grace (a reload); runs already waiting
// keep theirs.
func (s *Scheduler) SetTiming(jitter, grace time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opt.Jitter, s.opt.Grace = jitter, grace
}

func (s *Scheduler) timing() (jitter, grace time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opt.Jitter, s.opt.Grace
}

// Jobs returns the current job set.
func (s *Scheduler) Jobs() []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Job(nil), s.jobs...)
}

// Run runs the jobs until ctx ends, then waits for running jobs (Grace,
// then cancellation) and returns.
func (s *Scheduler) Run(ctx context.Context) error {
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	var wg sync.WaitGroup
	start := time.Now()
	for _, j := range s.Jobs() {
		if slot, due := s.missed(ctx, j, start); due {
			s.observe(Event{Kind: CaughtUp, Job: j.Name, Type: j.Kind, Slot: slot})
			s.opt.Log.Info("running a missed slot once (catch-up)", "job", j.Name, "slot", slot)
			s.launch(ctx, jobCtx, &wg, j, slot)
		}
	}
	next := map[string]time.Time{}
	for {
		now := time.Now()
		wake := s.due(ctx, jobCtx, &wg, next, now)
		t := time.NewTimer(wake.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			s.shutdown(&wg, cancelJobs)
			return nil
		case <-s.changed:
			t.Stop()
			clear(next)
		case <-t.C:
		}
	}
}

// due launches every job whose slot has come, and returns when the next
// slot of any job comes (an hour from now at most, so a job set emptied
// by a reload still wakes).
func (s *Scheduler) due(stop, ctx context.Context, wg *sync.WaitGroup, next map[string]time.Time, now time.Time) time.Time {
	wake := now.Add(time.Hour)
	jobs := s.Jobs()
	sort.Slice(jobs, func(i, k int) bool { return jobs[i].Name < jobs[k].Name })
	for _, j := range jobs {
		n, ok := next[j.Name]
		if !ok {
			n = j.Schedule.Next(now)
			next[j.Name] = n
		}
		if !now.Before(n) {
			s.launch(stop, ctx, wg, j, n)
			n = j.Schedule.Next(now)
			next[j.Name] = n
		}
		if !n.IsZero() && n.Before(wake) {
			wake = n
		}
	}
	return wake
}

// missed applies the missed-run policy: the job's most recent slot at or
// before now, and whether it is due once now.
func (s *Scheduler) missed(ctx context.Context, j Job, now time.Time) (time.Time, bool) {
	if j.Missed == Skip || s.opt.State == nil {
		return time.Time{}, false
	}
	last, ok, err := s.opt.State.LastOK(ctx, j.Name)
	if err != nil {
		s.opt.Log.Warn("cannot read the job's last run: no catch-up", "job", j.Name, "err", err)
		return time.Time{}, false
	}
	if !ok {
		return time.Time{}, false
	}
	var slot time.Time
	// The most recent slot after the last successful one; bounded so a
	// schedule of every minute and a long outage stay cheap.
	for n, i := j.Schedule.Next(last), 0; !n.IsZero() && !n.After(now) && i < 100000; n, i = j.Schedule.Next(n), i+1 {
		slot = n
	}
	return slot, !slot.IsZero()
}

// launch starts a run of j for slot unless j is still running. stop ends
// when no run may start any more; ctx is the run's.
func (s *Scheduler) launch(stop, ctx context.Context, wg *sync.WaitGroup, j Job, slot time.Time) {
	s.mu.Lock()
	if s.running[j.Name] {
		s.mu.Unlock()
		s.opt.Log.Warn("job still running: slot skipped", "job", j.Name, "slot", slot)
		s.observe(Event{Kind: Skipped, Job: j.Name, Type: j.Kind, Slot: slot})
		return
	}
	s.running[j.Name] = true
	s.mu.Unlock()
	wg.Go(func() {
		defer func() {
			s.mu.Lock()
			delete(s.running, j.Name)
			s.mu.Unlock()
		}()
		s.runOnce(stop, ctx, j, slot)
	})
}

// runOnce waits out the jitter and the other jobs, then runs j and
// records the run.
func (s *Scheduler) runOnce(stop, ctx context.Context, j Job, slot time.Time) {
	if jitter, _ := s.timing(); jitter > 0 {
		t := time.NewTimer(s.opt.Rand(jitter))
		select {
		case <-stop.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	select {
	case s.exclusive <- struct{}{}:
		defer func() { <-s.exclusive }()
	case <-stop.Done():
		return
	}
	if stop.Err() != nil {
		return
	}
	started := time.Now()
	log := s.opt.Log.With("job", j.Name, "kind", j.Kind)
	if st := s.opt.State; st != nil {
		if err := st.Begin(ctx, j.Name, slot, started); err != nil {
			log.Error("cannot record the job's start: not run", "err", err)
			s.observe(Event{Kind: Finished, Job: j.Name, Type: j.Kind, Slot: slot, Err: err})
			return
		}
	}
	s.observe(Event{Kind: Started, Job: j.Name, Type: j.Kind, Slot: slot})
	log.Info("job started", "slot", slot)
	err := j.Run(ctx)
	took := time.Since(started)
	status, detail := "ok", ""
	switch {
	case err != nil && ctx.Err() != nil:
		status, detail = "interrupted", err.Error()
	case err != nil:
		status, detail = "failed", err.Error()
	}
	if st := s.opt.State; st != nil {
		if rerr := st.End(context.WithoutCancel(ctx), j.Name, time.Now(), status, detail); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	if err != nil {
		log.Error("job "+status, "took", took, "err", err)
	} else {
		log.Info("job finished", "took", took)
	}
	s.observe(Event{Kind: Finished, Job: j.Name, Type: j.Kind, Slot: slot, Took: took, Err: err})
}

// shutdown lets running jobs finish within Grace, then cancels them, and
// waits.
func (s *Scheduler) shutdown(wg *sync.WaitGroup, cancel context.CancelFunc) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	_, grace := s.timing()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
		s.opt.Log.Warn("shutdown: cancelling the running job", "grace", grace)
		cancel()
	}
	<-done
}

func (s *Scheduler) observe(e Event) {
	if s.opt.Observe != nil {
		s.opt.Observe(e)
	}
}
