// Package fleet runs a scan as jobs on River (riverqueue/river) over
// PostgreSQL, so that several `nhiscan worker` replicas share it: a
// plan_scan job lists the scopes (an AWS account, a GitHub organisation,
// an Azure tenant, a GCP organisation), one collect_scope job per scope
// collects it and records its inventory fragment, or, when its last
// attempt fails, a gap for the whole scope (nothing observed there), and
// the finalize_scan job, enqueued in the transaction that records the last
// part, merges the parts and hands the inventory to the Finalizer exactly
// once. Scheduled scans are River periodic jobs: only the elected leader
// inserts them, and each fire is also unique by its time slot.
//
// The package owns its tables (fleet_scans, fleet_parts; schema.go) and
// River's; it knows no collector, store or analysis: the command wires a
// Planner, a ScopeCollector and a Finalizer.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Scope is what one collect_scope job collects.
type Scope struct {
	Provider nhi.Provider `json:"provider"`
	// ID is the account, organisation, tenant or GCP parent.
	ID string `json:"id"`
	// Name is the scope's display name where the plan learnt it.
	Name string `json:"name,omitempty"`
	// Peers are scopes outside this one that the scan does not count as
	// external (the AWS organisation's member accounts): what one job
	// judges must not depend on which other jobs exist.
	Peers []string `json:"peers,omitempty"`
}

// Key names the scope in fleet_parts and logs.
func (s Scope) Key() string { return string(s.Provider) + "/" + s.ID }

// Planner lists the scopes of a scan.
type Planner func(ctx context.Context) ([]Scope, error)

// ScopeCollector collects one scope. A nil error with gaps in the
// inventory is a collected scope; an error is retried, and on the last
// attempt the scope becomes a gap.
type ScopeCollector func(ctx context.Context, s Scope) (nhi.Inventory, error)

// Finalizer receives the merged inventory of a scan whose every scope was
// collected or recorded as a gap: it analyses, runs the lifecycle, stores
// and audits. It is called once per scan; should a worker die after it
// returned and before the claim committed, it is called again for the
// same Scan.ID and must recognise the scan it already stored.
type Finalizer func(ctx context.Context, scan Scan, inv nhi.Inventory) error

// Schedule is a cron schedule of scans.
type Schedule struct {
	// Spec is the expression as configured; it names the scans it
	// enqueues.
	Spec string
	Next interface{ Next(time.Time) time.Time }
}

// Config is a Fleet's wiring and limits.
type Config struct {
	Pool     *pgxpool.Pool
	Plan     Planner
	Collect  ScopeCollector
	Finalize Finalizer
	// Digest names the configuration the scan is planned with; a worker
	// whose own differs refuses its jobs (they are retried elsewhere).
	Digest string
	// Work makes the client run jobs; false makes an insert-only client
	// (enqueue, status).
	Work        bool
	Concurrency int
	MaxAttempts int
	JobTimeout  time.Duration
	RescueAfter time.Duration
	Schedules   []Schedule
	// SweepInterval is how often the leader records as gaps the scopes
	// whose jobs River discarded without a part (default 1m).
	SweepInterval time.Duration
	// RetryDelay overrides River's retry backoff (tests); zero keeps it.
	RetryDelay time.Duration
	Logger     *slog.Logger
	Now        func() time.Time
	// ID names this worker in River and in fleet_parts (default
	// hostname:pid).
	ID string
}

// Fleet is one replica's River client with the fleet's workers.
type Fleet struct {
	cfg    Config
	pool   *pgxpool.Pool
	client *river.Client[pgx.Tx]
}

// New makes a Fleet. Migrate must have run.
func New(cfg Config) (*Fleet, error) {
	if cfg.Pool == nil {
		return nil, errors.New("fleet: no PostgreSQL pool")
	}
	if cfg.Work && (cfg.Plan == nil || cfg.Collect == nil || cfg.Finalize == nil) {
		return nil, errors.New("fleet: a working client needs a planner, a collector and a finalizer")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ID == "" {
		host, _ := os.Hostname()
		cfg.ID = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = time.Minute
	}
	f := &Fleet{cfg: cfg, pool: cfg.Pool}
	rc := &river.Config{
		ID:                   cfg.ID,
		Logger:               cfg.Logger.With("component", "river"),
		MaxAttempts:          cfg.MaxAttempts,
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
	}
	if cfg.RetryDelay > 0 {
		rc.RetryPolicy = fixedRetry(cfg.RetryDelay)
	}
	if cfg.Work {
		workers := river.NewWorkers()
		river.AddWorker(workers, &planWorker{f: f})
		river.AddWorker(workers, &collectWorker{f: f})
		river.AddWorker(workers, &finalizeWorker{f: f})
		river.AddWorker(workers, &scheduledWorker{f: f})
		river.AddWorker(workers, &sweepWorker{f: f})
		rc.Workers = workers
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: max(cfg.Concurrency, 1)}}
		rc.PeriodicJobs = f.periodicJobs()
	}
	c, err := river.NewClient(riverpgxv5.New(cfg.Pool), rc)
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	f.client = c
	return f, nil
}

// Start starts working jobs (a working client only).
func (f *Fleet) Start(ctx context.Context) error {
	if err := f.client.Start(ctx); err != nil {
		return fmt.Errorf("fleet: start: %w", err)
	}
	return nil
}

// Stop stops fetching jobs and waits for the running ones.
func (f *Fleet) Stop(ctx context.Context) error {
	return f.client.Stop(ctx)
}

// StopAndCancel cancels the running jobs and stops; River retries them
// (on another worker) after their retry delay.
func (f *Fleet) StopAndCancel(ctx context.Context) error {
	return f.client.StopAndCancel(ctx)
}

// fixedRetry retries after the same delay every time.
type fixedRetry time.Duration

func (d fixedRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(time.Duration(d)) }
