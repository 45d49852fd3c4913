package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/fleet"
)

func (a *app) workerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run one replica of a worker fleet: collect scopes and finalise scans from PostgreSQL (River)",
		Long: `worker joins the fleet that shares scans through PostgreSQL (fleet.database_file):
it takes per-scope jobs (an AWS account, a GitHub organisation, the Azure tenant,
the GCP organisation) with River's retries, uniqueness and timeouts, records each
scope's inventory or, after its last attempt, a gap for it, and finalises each
scan exactly once when every scope is in: merge, analyse, lifecycle, store,
audit. Scheduled scans (fleet.schedules) are enqueued once across every
replica. A replica killed mid-job loses nothing: River hands the job to another
(after fleet.rescue_after) and its part replaces, never duplicates.

Run as many replicas as you like against one PostgreSQL; enqueue a scan with
nhiscan worker enqueue. It works until interrupted (SIGTERM lets running jobs
finish).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runWorker(cmd.Context())
		},
	}
	cmd.AddCommand(a.workerEnqueueCmd())
	return cmd
}

// workerStopGrace is how long a stopping worker lets its running jobs
// finish before it cancels them (they are then retried elsewhere).
const workerStopGrace = 30 * time.Second

func (a *app) runWorker(ctx context.Context) error {
	cfg, cat, _, err := a.configAndCatalog(nil)
	if err != nil {
		return err
	}
	// Every provider section is checked before the worker joins: a
	// replica that cannot build its collectors would only fail its jobs.
	if _, err := a.buildCollectors(cfg, cat.Defaults.OwnerTagKeys); err != nil {
		return err
	}
	pool, err := a.openFleetPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	fc, err := a.fleetConfig(cfg, pool, cat.Defaults.OwnerTagKeys, true)
	if err != nil {
		return err
	}
	f, err := fleet.New(fc)
	if err != nil {
		return err
	}
	if err := f.Start(ctx); err != nil {
		return err
	}
	a.log.Info("worker started", "digest", fc.Digest, "concurrency", fc.Concurrency, "schedules", len(fc.Schedules))
	fmt.Fprintf(a.stderr, "nhiscan worker: working (configuration %s, %d job(s) at once); interrupt to stop\n", fc.Digest, fc.Concurrency)
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), workerStopGrace)
	defer cancel()
	if err := f.Stop(sctx); err != nil {
		// Jobs still running are cancelled; River retries them elsewhere.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), workerStopGrace)
		defer cancel()
		if err := f.StopAndCancel(cctx); err != nil {
			return fmt.Errorf("worker stop: %w", err)
		}
	}
	return nil
}
