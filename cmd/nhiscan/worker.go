package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
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
	cmd.AddCommand(a.workerEnqueueCmd(), a.workerScansCmd())
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
	stop, err := a.startFleet(ctx, cfg, cat.Defaults.OwnerTagKeys)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "nhiscan worker: working; interrupt to stop\n")
	<-ctx.Done()
	return stop()
}
