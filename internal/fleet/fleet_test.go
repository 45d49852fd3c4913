package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/robfig/cron/v3"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/fleet"
	"github.com/nhiscan/nhiscan/internal/fleet/fleettest"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// org is a fake organisation collected scope by scope: each scope holds
// one service account named after it.
type org struct {
	scopes []fleet.Scope
	// fail says how often a scope's collection fails before it succeeds
	// (-1: always).
	fail  map[string]int
	mu    sync.Mutex
	calls map[string]int
	// finals records each Finalizer call.
	finals []final
}

type final struct {
	scan fleet.Scan
	inv  nhi.Inventory
}

func (o *org) plan(context.Context) ([]fleet.Scope, error) { return o.scopes, nil }

func (o *org) collect(ctx context.Context, s fleet.Scope) (nhi.Inventory, error) {
	o.mu.Lock()
	o.calls[s.ID]++
	n := o.calls[s.ID]
	o.mu.Unlock()
	if f := o.fail[s.ID]; f < 0 || n <= f {
		return nhi.Inventory{}, fmt.Errorf("%s: %w", s.ID, collectors.ErrDenied)
	}
	inv := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: t0,
		Scopes: []nhi.Scope{{Provider: s.Provider, ID: s.ID}},
		Identities: []nhi.Identity{{ID: nhi.MakeID(s.Provider, s.ID, "sa-"+s.ID), Provider: s.Provider, Scope: s.ID,
			Kind: nhi.KindGitHubAppInstallation, NativeID: "sa-" + s.ID, Name: "sa-" + s.ID, Status: nhi.StatusActive,
			Usage: nhi.Usage{State: nhi.UsageNotReported}}},
	}
	inv.Normalize()
	return inv, nil
}

func (o *org) finalize(_ context.Context, s fleet.Scan, inv nhi.Inventory) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.finals = append(o.finals, final{s, inv})
	return nil
}

func (o *org) finalsOf(id int64) []final {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []final
	for _, f := range o.finals {
		if f.scan.ID == id {
			out = append(out, f)
		}
	}
	return out
}

func newOrg(scopes ...string) *org {
	o := &org{fail: map[string]int{}, calls: map[string]int{}}
	for _, s := range scopes {
		o.scopes = append(o.scopes, fleet.Scope{Provider: nhi.GitHub, ID: s})
	}
	return o
}

// cluster starts n working replicas on one fresh database.
func cluster(t testing.TB, o *org, n int, edit func(*fleet.Config)) (*pgxpool.Pool, []*fleet.Fleet) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, fleettest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := fleet.Migrate(ctx, pool, nil); err != nil {
		t.Fatal(err)
	}
	var fs []*fleet.Fleet
	for i := range n {
		cfg := fleet.Config{Pool: pool, Plan: o.plan, Collect: o.collect, Finalize: o.finalize, Digest: "d1", Work: true,
			Concurrency: 2, MaxAttempts: 3, JobTimeout: 10 * time.Second, RescueAfter: 20 * time.Second, RetryDelay: 50 * time.Millisecond,
			SweepInterval: time.Second, ID: fmt.Sprintf("replica-%d", i),
			Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))}
		if edit != nil {
			edit(&cfg)
		}
		f, err := fleet.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = f.Stop(ctx)
		})
		fs = append(fs, f)
	}
	return pool, fs
}

func wait(t testing.TB, f *fleet.Fleet, id int64) fleet.Scan {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := f.Wait(ctx, id, 50*time.Millisecond)
	if err != nil {
		t.Fatalf("scan %d: %v (state %s)", id, err, s.State)
	}
	return s
}

// TestScanFinalisedOnce: three replicas share a scan of five scopes; one
// scope fails twice and is collected on its third attempt, one is denied
// every time and ends as a gap hiding the whole scope. The scan is
// finalised once, with every collected identity once and the gap.
func TestScanFinalisedOnce(t *testing.T) {
	o := newOrg("acme", "acme-labs", "flaky", "denied", "zeta", "acme") // acme listed twice: one job
	o.fail["flaky"], o.fail["denied"] = 2, -1
	pool, fs := cluster(t, o, 3, nil)
	id, err := fs[0].Enqueue(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	s := wait(t, fs[1], id)
	if s.State != fleet.StateFinalized || s.FinalizedAt.IsZero() || s.Parts != 5 || s.Gaps != 1 {
		t.Fatalf("scan ended %+v", s)
	}
	time.Sleep(500 * time.Millisecond) // a second finalisation would land now
	finals := o.finalsOf(id)
	if len(finals) != 1 {
		t.Fatalf("finalised %d times, want once", len(finals))
	}
	inv := finals[0].inv
	var names []string
	for _, x := range inv.Identities {
		names = append(names, x.Name)
	}
	slices.Sort(names)
	if want := []string{"sa-acme", "sa-acme-labs", "sa-flaky", "sa-zeta"}; !slices.Equal(names, want) {
		t.Errorf("identities %v, want %v", names, want)
	}
	if len(inv.Gaps) != 1 || inv.Gaps[0].Scope != "denied" || inv.Gaps[0].Kind != nhi.GapDenied || len(inv.Gaps[0].Facets) != 0 {
		t.Errorf("gaps %+v, want one denied gap hiding scope denied whole", inv.Gaps)
	}
	if cov := inv.Coverage(); cov.Observed(nhi.GitHub, "denied", nhi.FacetUsage) || !cov.Observed(nhi.GitHub, "zeta", nhi.FacetUsage) {
		t.Error("coverage: the denied scope must be unobserved, the others observed")
	}
	if o.calls["flaky"] != 3 || o.calls["denied"] != 3 || o.calls["acme"] != 1 {
		t.Errorf("calls %v: want flaky and denied 3 (max attempts), the others once", o.calls)
	}
	var jobs int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM river_job WHERE kind = 'collect_scope'").Scan(&jobs); err != nil || jobs != 5 {
		t.Errorf("collect jobs %d (%v), want 5", jobs, err)
	}
}

// TestCancelledJobSwept: a collect job River gives up on without our code
// recording anything (cancelled here, as a dead worker's last attempt is
// discarded) becomes a gap at the next sweep, and the scan finalises.
func TestCancelledJobSwept(t *testing.T) {
	o := newOrg("acme", "stuck")
	block := make(chan struct{})
	var started atomic.Bool
	collect := o.collect
	pool, fs := cluster(t, o, 2, func(c *fleet.Config) {
		c.Collect = func(ctx context.Context, s fleet.Scope) (nhi.Inventory, error) {
			if s.ID == "stuck" {
				started.Store(true)
				select {
				case <-block:
				case <-ctx.Done():
				}
				return nhi.Inventory{}, errors.New("cancelled")
			}
			return collect(ctx, s)
		}
	})
	defer close(block)
	id, err := fs[0].Enqueue(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !started.Load() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	var job int64
	if err := pool.QueryRow(context.Background(), "SELECT id FROM river_job WHERE kind = 'collect_scope' AND args->>'scope' = 'stuck'").Scan(&job); err != nil {
		t.Fatal(err)
	}
	if _, err := fs[1].JobCancel(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	s := wait(t, fs[0], id)
	if s.State != fleet.StateFinalized || s.Gaps != 1 {
		t.Fatalf("scan ended %+v, want finalised with one gap", s)
	}
	if f := o.finalsOf(id); len(f) != 1 || len(f[0].inv.Gaps) != 1 || f[0].inv.Gaps[0].Scope != "stuck" {
		t.Fatalf("finalisations %+v", f)
	}
}

// TestScheduleFiresOnceAcrossReplicas: three replicas with a schedule
// firing every two seconds: each fire is one scan, finalised once, and
// the scans follow the schedule, not the number of replicas.
func TestScheduleFiresOnceAcrossReplicas(t *testing.T) {
	o := newOrg("acme")
	spec := "*/2 * * * * *"
	sched, err := cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow).Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	pool, fs := cluster(t, o, 3, func(c *fleet.Config) { c.Schedules = []fleet.Schedule{{Spec: spec, Next: sched}} })
	time.Sleep(9 * time.Second)
	for _, f := range fs {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := f.Stop(ctx); err != nil {
			t.Error(err)
		}
		cancel()
	}
	elapsed := time.Since(start)
	var fires, distinct, worked int
	if err := pool.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT args->>'slot'), count(*) FILTER (WHERE state = 'completed')
		FROM river_job WHERE kind = 'scheduled_scan'`).Scan(&fires, &distinct, &worked); err != nil {
		t.Fatal(err)
	}
	if fires != distinct {
		t.Errorf("%d fires for %d slots: a slot fired twice", fires, distinct)
	}
	if max := int(elapsed/(2*time.Second)) + 1; fires < 2 || fires > max {
		t.Errorf("%d fires in %s with three replicas, want 2..%d (once per slot, not per replica)", fires, elapsed.Round(time.Second), max)
	}
	scans, err := fs[0].Scans(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// A fire inserted just before the replicas stopped may not have been
	// worked: every fire worked is one scan.
	if len(scans) != worked {
		t.Errorf("%d scans for %d fires worked", len(scans), worked)
	}
	for _, s := range scans {
		if n := len(o.finalsOf(s.ID)); n > 1 || (s.State == fleet.StateFinalized && n != 1) {
			t.Errorf("scan %d (%s) finalised %d times", s.ID, s.Trigger, n)
		}
	}
}

// TestShutdownRequeues: a replica stopped while it collects (SIGTERM, a
// rolling update) puts the job back without spending an attempt: with a
// single attempt allowed, the scope is still collected by the next
// replica, not recorded as a gap.
func TestShutdownRequeues(t *testing.T) {
	o := newOrg("acme")
	var started atomic.Bool
	collect := o.collect
	pool, fs := cluster(t, o, 1, func(c *fleet.Config) {
		c.MaxAttempts = 1
		c.Collect = func(ctx context.Context, s fleet.Scope) (nhi.Inventory, error) {
			started.Store(true)
			<-ctx.Done()
			return nhi.Inventory{}, ctx.Err()
		}
	})
	id, err := fs[0].Enqueue(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !started.Load() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fs[0].StopAndCancel(ctx); err != nil {
		t.Fatal(err)
	}
	next, err := fleet.New(fleet.Config{Pool: pool, Plan: o.plan, Collect: collect, Finalize: o.finalize, Digest: "d1", Work: true,
		Concurrency: 1, MaxAttempts: 1, JobTimeout: 10 * time.Second, RescueAfter: 20 * time.Second, ID: "next"})
	if err != nil {
		t.Fatal(err)
	}
	if err := next.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer next.Stop(context.Background())
	s := wait(t, next, id)
	if s.State != fleet.StateFinalized || s.Gaps != 0 || len(o.finalsOf(id)) != 1 {
		t.Fatalf("scan after a shutdown mid-collection: %+v", s)
	}
}

// TestPermanentFinalizeFails: a finalisation the Finalizer marks permanent
// (the scan collected nothing) fails the scan at once, without retries.
func TestPermanentFinalizeFails(t *testing.T) {
	o := newOrg("denied")
	o.fail["denied"] = -1
	var calls atomic.Int32
	_, fs := cluster(t, o, 1, func(c *fleet.Config) {
		c.Finalize = func(context.Context, fleet.Scan, nhi.Inventory) error {
			calls.Add(1)
			return fleet.Permanent(errors.New("collected nothing"))
		}
	})
	id, err := fs[0].Enqueue(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	s := wait(t, fs[0], id)
	if s.State != fleet.StateFailed || !strings.Contains(s.Reason, "collected nothing") || !s.FinalizedAt.IsZero() || calls.Load() != 1 {
		t.Fatalf("scan %+v after %d finalisation(s), want failed after one", s, calls.Load())
	}
}
