package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/fleet"
	"github.com/nhiscan/nhiscan/reports"
)

func (a *app) workerEnqueueCmd() *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "enqueue",
		Short: "Enqueue a scan for the worker fleet",
		Long: `enqueue requests a scan from the worker fleet (nhiscan worker) and prints its
fleet scan id. With --wait it waits until the scan is finalised or failed and
exits 3 when it failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.enqueueScan(cmd.Context(), wait)
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the scan is finalised or failed")
	return cmd
}

func (a *app) enqueueScan(ctx context.Context, wait bool) error {
	cfg, cat, _, err := a.configAndCatalog(nil)
	if err != nil {
		return err
	}
	pool, err := a.openFleetPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	fc, err := a.fleetConfig(cfg, pool, cat.Defaults.OwnerTagKeys, false)
	if err != nil {
		return err
	}
	f, err := fleet.New(fc)
	if err != nil {
		return err
	}
	id, err := f.Enqueue(ctx, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "fleet scan %d enqueued\n", id)
	if !wait {
		return nil
	}
	s, err := f.Wait(ctx, id, fleetWait)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "fleet scan %d %s: %d scope(s), %d gap(s)\n", s.ID, s.State, len(s.Scopes), s.Gaps)
	if s.State == fleet.StateFailed {
		return fmt.Errorf("fleet scan %d failed: %s", s.ID, reports.TermText(s.Reason))
	}
	return nil
}
