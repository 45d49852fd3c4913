package schedule_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	_ "time/tzdata" // CRON_TZ zones on any machine

	"github.com/nhiscan/nhiscan/internal/schedule"
)

// The synctest bubble's clock starts at 2000-01-01 00:00 UTC.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func mustParse(t *testing.T, spec string) schedule.Job {
	t.Helper()
	s, err := schedule.Parse(spec)
	if err != nil {
		t.Fatalf("parse %q: %v", spec, err)
	}
	return schedule.Job{Name: spec, Kind: "test", Schedule: s}
}

// recorder records the times a job ran and the events.
type recorder struct {
	mu     sync.Mutex
	runs   []time.Time
	events []schedule.Event
}

func (r *recorder) run(d time.Duration) func(context.Context) error {
	return func(ctx context.Context) error {
		r.mu.Lock()
		r.runs = append(r.runs, time.Now())
		r.mu.Unlock()
		if d == 0 {
			return nil
		}
		select {
		case <-time.After(d):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (r *recorder) observe(e schedule.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) count(k schedule.EventKind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Kind == k {
			n++
		}
	}
	return n
}

// start runs s until the returned stop is called; stop waits for Run.
func start(s *schedule.Scheduler) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

func TestFiresOnSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var r recorder
		j := mustParse(t, "*/10 * * * *")
		j.Run = r.run(0)
		s, err := schedule.New([]schedule.Job{j}, schedule.Options{})
		if err != nil {
			t.Fatal(err)
		}
		stop := start(s)
		time.Sleep(time.Hour + time.Second)
		stop()
		if len(r.runs) != 6 {
			t.Fatalf("runs in an hour of */10 = %d (%v), want 6", len(r.runs), r.runs)
		}
		for i, at := range r.runs {
			if want := epoch.Add(time.Duration(i+1) * 10 * time.Minute); !at.Equal(want) {
				t.Errorf("run %d at %s, want %s", i, at, want)
			}
		}
	})
}

func TestCronTZ(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var r recorder
		// 09:00 in New York on 1 January (EST, UTC-5) is 14:00 UTC.
		j := mustParse(t, "CRON_TZ=America/New_York 0 9 * * *")
		j.Run = r.run(0)
		s, _ := schedule.New([]schedule.Job{j}, schedule.Options{})
		stop := start(s)
		time.Sleep(24 * time.Hour)
		stop()
		if len(r.runs) != 1 || !r.runs[0].Equal(epoch.Add(14*time.Hour)) {
			t.Fatalf("runs = %v, want one at 14:00 UTC", r.runs)
		}
		// Without CRON_TZ the fields are UTC, whatever the host's zone.
		u := mustParse(t, "0 9 * * *")
		if n := u.Schedule.Next(epoch); !n.Equal(epoch.Add(9 * time.Hour)) {
			t.Errorf("0 9 * * * next = %s, want 09:00 UTC", n)
		}
	})
}

func TestNoOverlap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{}
		j := mustParse(t, "* * * * *")
		j.Run = r.run(150 * time.Second) // longer than the period
		s, _ := schedule.New([]schedule.Job{j}, schedule.Options{Observe: r.observe})
		stop := start(s)
		time.Sleep(10*time.Minute + time.Second)
		stop()
		// Slots at 1..10 min: a run starts at 1, 4, 7, 10; the slots in
		// between are skipped, each counted.
		if len(r.runs) != 4 {
			t.Errorf("runs = %v, want 4", r.runs)
		}
		if n := r.count(schedule.Skipped); n != 6 {
			t.Errorf("skipped = %d, want 6", n)
		}
		for i := 1; i < len(r.runs); i++ {
			if r.runs[i].Sub(r.runs[i-1]) < 150*time.Second {
				t.Errorf("run %d started %s after the previous one, which ran 150s", i, r.runs[i].Sub(r.runs[i-1]))
			}
		}
	})
}

func TestJobsDoNotRunTogether(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		active, most := 0, 0
		work := func(ctx context.Context) error {
			mu.Lock()
			active++
			most = max(most, active)
			mu.Unlock()
			time.Sleep(30 * time.Second)
			mu.Lock()
			active--
			mu.Unlock()
			return nil
		}
		a, b := mustParse(t, "*/5 * * * *"), mustParse(t, "@every 5m")
		a.Run, b.Run = work, work
		s, _ := schedule.New([]schedule.Job{a, b}, schedule.Options{})
		stop := start(s)
		time.Sleep(20 * time.Minute)
		stop()
		if most != 1 {
			t.Errorf("at most %d jobs ran at once, want 1", most)
		}
	})
}

// memState is a State in memory.
type memState struct {
	mu     sync.Mutex
	ok     map[string]time.Time
	status map[string]string
}

func (m *memState) LastOK(_ context.Context, job string) (time.Time, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.ok[job]
	return t, ok, nil
}

func (m *memState) Begin(_ context.Context, job string, slot, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status[job] = "running"
	m.ok[job+"/slot"] = slot
	return nil
}

func (m *memState) End(_ context.Context, job string, _ time.Time, status, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status[job] = status
	if status == "ok" {
		m.ok[job] = m.ok[job+"/slot"]
	}
	return nil
}

func TestMissedRunsCatchUpOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		daily := func(name string, missed schedule.Missed, r *recorder) schedule.Job {
			j := mustParse(t, "0 2 * * *")
			j.Name, j.Missed, j.Run = name, missed, r.run(0)
			return j
		}
		var down, never, skip recorder
		st := &memState{ok: map[string]time.Time{}, status: map[string]string{}}
		// The service was down for three slots.
		lastOK := time.Date(1999, 12, 28, 2, 0, 0, 0, time.UTC)
		st.ok["down"], st.ok["skip"] = lastOK, lastOK
		obs := &recorder{}
		s, _ := schedule.New([]schedule.Job{daily("down", schedule.CatchUp, &down), daily("never", schedule.CatchUp, &never),
			daily("skip", schedule.Skip, &skip)}, schedule.Options{State: st, Observe: obs.observe})
		stop := start(s)
		time.Sleep(3 * time.Hour)
		stop()
		// One catch-up at start (not one per missed slot), then the 02:00
		// slot.
		if len(down.runs) != 2 || !down.runs[0].Equal(epoch) || !down.runs[1].Equal(epoch.Add(2*time.Hour)) {
			t.Errorf("down: runs %v, want one at start and one at 02:00", down.runs)
		}
		if obs.count(schedule.CaughtUp) != 1 {
			t.Errorf("catch-up events = %d, want 1", obs.count(schedule.CaughtUp))
		}
		for _, e := range obs.events {
			if e.Kind == schedule.CaughtUp && !e.Slot.Equal(time.Date(1999, 12, 31, 2, 0, 0, 0, time.UTC)) {
				t.Errorf("catch-up slot %s, want the most recent missed slot", e.Slot)
			}
		}
		// A job that never ran, and one with missed: skip, wait for 02:00.
		for name, r := range map[string]*recorder{"never": &never, "skip": &skip} {
			if len(r.runs) != 1 || !r.runs[0].Equal(epoch.Add(2*time.Hour)) {
				t.Errorf("%s: runs %v, want only the 02:00 slot", name, r.runs)
			}
		}
		if got := st.ok["down"]; !got.Equal(epoch.Add(2 * time.Hour)) {
			t.Errorf("down: last ok slot %s", got)
		}
	})
}

func TestJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var r recorder
		j := mustParse(t, "@hourly")
		j.Run = r.run(0)
		var asked time.Duration
		s, _ := schedule.New([]schedule.Job{j}, schedule.Options{Jitter: 5 * time.Minute,
			Rand: func(n time.Duration) time.Duration { asked = n; return 90 * time.Second }})
		stop := start(s)
		time.Sleep(time.Hour + 2*time.Minute)
		stop()
		if asked != 5*time.Minute || len(r.runs) != 1 || !r.runs[0].Equal(epoch.Add(time.Hour+90*time.Second)) {
			t.Errorf("runs %v (jitter asked %s), want one at 01:01:30", r.runs, asked)
		}
	})
}

func TestShutdownGraceThenCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &memState{ok: map[string]time.Time{}, status: map[string]string{}}
		var sawCancel bool
		j := mustParse(t, "@hourly")
		j.Name = "scan"
		j.Run = func(ctx context.Context) error {
			<-ctx.Done()
			sawCancel = true
			return ctx.Err()
		}
		s, _ := schedule.New([]schedule.Job{j}, schedule.Options{State: st, Grace: 30 * time.Second})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan time.Time)
		go func() { _ = s.Run(ctx); done <- time.Now() }()
		time.Sleep(time.Hour + time.Minute) // mid-run
		cancel()
		stopped := <-done
		if !sawCancel || stopped.Sub(epoch.Add(time.Hour+time.Minute)) != 30*time.Second {
			t.Errorf("stopped at %s (cancel seen %v), want the job cancelled after the 30s grace", stopped, sawCancel)
		}
		if st.status["scan"] != "interrupted" {
			t.Errorf("status = %q, want interrupted", st.status["scan"])
		}
	})
}

func TestUpdateReplacesJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var a, b recorder
		ja, jb := mustParse(t, "@hourly"), mustParse(t, "*/30 * * * *")
		ja.Run, jb.Run = a.run(0), b.run(0)
		s, _ := schedule.New([]schedule.Job{ja}, schedule.Options{})
		stop := start(s)
		time.Sleep(90 * time.Minute)
		if err := s.Update([]schedule.Job{jb}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour + time.Second)
		stop()
		if len(a.runs) != 1 || len(b.runs) != 2 {
			t.Errorf("runs: old job %v, new job %v; want 1 then 2", a.runs, b.runs)
		}
		if err := s.Update([]schedule.Job{ja, ja}); err == nil {
			t.Error("two jobs of one name accepted")
		}
	})
}

func TestParseErrors(t *testing.T) {
	for _, spec := range []string{"", "* * *", "61 * * * *", "CRON_TZ=Mars/Olympus 0 9 * * *", "* * * * * *"} {
		if _, err := schedule.Parse(spec); err == nil {
			t.Errorf("Parse(%q) accepted", spec)
		}
	}
}
