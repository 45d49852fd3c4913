package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/fleet"
	"github.com/nhiscan/nhiscan/reports"
)

func (a *app) workerScansCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "scans",
		Short: "List the worker fleet's scans: state, scopes recorded, gaps, finalisation",
		Long: `scans lists the scans requested from the worker fleet, newest first: what
triggered each (a manual enqueue or a schedule's fire), its state (planning,
collecting, finalizing, finalized, failed), how many of its scopes are recorded
and how many of those are gaps, when it was finalised, and why it failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.listFleetScans(cmd.Context())
		},
	}
}

func (a *app) listFleetScans(ctx context.Context) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	pool, err := a.openFleetPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	f, err := fleet.New(fleet.Config{Pool: pool, Logger: a.log, Now: a.now})
	if err != nil {
		return err
	}
	scans, err := f.Scans(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tTRIGGER\tSTATE\tSCOPES\tGAPS\tREQUESTED\tFINALISED\tREASON")
	for _, s := range scans {
		fmt.Fprintf(w, "%d\t%s\t%s\t%d/%d\t%d\t%s\t%s\t%s\n", s.ID, reports.TermText(s.Trigger), s.State, s.Parts, len(s.Scopes), s.Gaps,
			fmtTime(s.RequestedAt), fmtTime(s.FinalizedAt), reports.TermText(s.Reason))
	}
	return w.Flush()
}
