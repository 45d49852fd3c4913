package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/reports"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

func (a *app) diffCmd() *cobra.Command {
	var format string
	var catalogs []string
	cmd := &cobra.Command{
		Use:   "diff [OLD-SCAN NEW-SCAN]",
		Short: "Show drift between two scans (default: the last two)",
		Long: `diff compares two stored snapshots by immutable id: identities, credentials
and grants added or removed, and owners changed. Nothing is reported removed
for a scope that either scan covered only partially.`,
		Args: cobra.RangeArgs(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			write, ok := findingWriters[format]
			if !ok {
				return usagef("--format %q: want table, json or csv", format)
			}
			if len(args) == 1 {
				return usagef("diff takes no scan ids or two")
			}
			var oldID, newID int64
			if len(args) == 2 {
				var err error
				if oldID, err = parseScanID(args[0]); err != nil {
					return err
				}
				if newID, err = parseScanID(args[1]); err != nil {
					return err
				}
			}
			return a.readStoreWithCatalog(ctx, catalogs, func(cat *catalog.Catalog, st *store.Store) error {
				if len(args) == 0 {
					latest, err := st.LatestScan(ctx)
					if err != nil {
						if errors.Is(err, store.ErrNotFound) {
							return usagef("no completed scan yet")
						}
						return err
					}
					prev, err := st.PreviousScan(ctx, latest.ID)
					if err != nil {
						if errors.Is(err, store.ErrNotFound) {
							return usagef("only one completed scan (%d): nothing to compare", latest.ID)
						}
						return err
					}
					oldID, newID = prev.ID, latest.ID
				}
				for _, id := range []int64{oldID, newID} {
					if err := checkFinishedScan(ctx, st, id); err != nil {
						return err
					}
				}
				oldInv, _, err := st.Snapshot(ctx, oldID)
				if err != nil {
					return fmt.Errorf("scan %d: %w", oldID, err)
				}
				newInv, _, err := st.Snapshot(ctx, newID)
				if err != nil {
					return fmt.Errorf("scan %d: %w", newID, err)
				}
				// Owner drift needs the catalog; without one, drift is computed
				// from provider owner hints alone.
				if cat == nil {
					cat = &catalog.Catalog{}
				}
				res := analyzer.Analyze(analyzer.Input{Inventory: newInv, Previous: &oldInv, Catalog: cat, Now: newInv.CollectedAt})
				var rows []reports.FindingRow
				for _, f := range res.Findings {
					if f.Family == nhi.FamilyDrift {
						rows = append(rows, reports.FindingRow{Finding: f, Status: reports.StatusOpen})
					}
				}
				fmt.Fprintf(a.stderr, "drift from scan %d to scan %d: %d change(s)\n", oldID, newID, len(rows))
				return write(a.stdout, rows)
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table, json or csv")
	completeValues(cmd, "format", formatValues)
	cmd.Flags().StringSliceVar(&catalogs, "catalog", nil, "catalog for owner resolution (default: config 'catalog')")
	return cmd
}

// checkFinishedScan is a usage error unless scan id exists and finished
// (complete or partial): only a finished scan has a snapshot.
func checkFinishedScan(ctx context.Context, st *store.Store, id int64) error {
	sc, err := st.Scan(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return usagef("scan %d not found", id)
	}
	if err != nil {
		return err
	}
	if sc.Status != store.ScanComplete && sc.Status != store.ScanPartial {
		reason := ""
		if sc.Reason != "" {
			reason = " (" + sc.Reason + ")"
		}
		return usagef("scan %d is %s%s: it has no snapshot to compare", id, sc.Status, reason)
	}
	return nil
}
