package main

import (
	"context"
	"errors"
	"fmt"
	"slices"

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
and grants added or removed, and owners changed. A change is judged only
where both scans observed the scope and facet (the identity list, a
credential type, a grant kind, usage, login, trust, ownership); every cell
either scan did not observe is listed as not evaluated, on stderr, with the
gap that hid it. Without ids it compares the last two scans that observed
something.`,
		Args: cobra.RangeArgs(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			write, ok := findingWriters[format]
			if !ok {
				return usagef("--format %q: want table, json, csv or ocsf", format)
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
					var err error
					if oldID, newID, err = lastTwo(ctx, st); err != nil {
						return err
					}
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
				// The analysis hands its findings on as it makes them and
				// diff keeps the drift alone: a large estate's other findings
				// are never held.
				var rows []reports.FindingRow
				analyzer.Analyze(analyzer.Input{Inventory: newInv, Previous: &oldInv, Catalog: cat, Now: newInv.CollectedAt,
					Findings: func(fs []nhi.Finding) {
						for _, f := range fs {
							if f.Family == nhi.FamilyDrift {
								f.Evidence = slices.Clone(f.Evidence) // the batch's evidence is reused
								rows = append(rows, reports.FindingRow{Finding: f, Status: reports.StatusOpen})
							}
						}
					}})
				a.printDiffHeader(oldID, newID, len(rows), notEvaluated(&oldInv, &newInv))
				return write(a.stdout, rows)
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table, json or csv")
	completeValues(cmd, "format", formatValues)
	cmd.Flags().StringSliceVar(&catalogs, "catalog", nil, "catalog for owner resolution (default: config 'catalog')")
	return cmd
}

// lastTwo returns the ids of the last two finished scans that observed
// something.
func lastTwo(ctx context.Context, st *store.Store) (oldID, newID int64, err error) {
	latest, _, err := baseline(ctx, st, 0)
	if errors.Is(err, store.ErrNotFound) {
		return 0, 0, usagef("no completed scan yet")
	}
	if err != nil {
		return 0, 0, err
	}
	prev, _, err := baseline(ctx, st, latest.ID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, 0, usagef("only one completed scan (%d): nothing to compare", latest.ID)
	}
	if err != nil {
		return 0, 0, err
	}
	return prev.ID, latest.ID, nil
}

// printDiffHeader says, on stderr, how many changes the diff found and
// lists the scope × facet cells it could not judge: "0 change(s)" is never
// said of what was not observed.
func (a *app) printDiffHeader(oldID, newID int64, changes int, cells []nhi.FacetStatus) {
	if len(cells) == 0 {
		fmt.Fprintf(a.stderr, "drift from scan %d to scan %d: %d change(s); both scans observed every scope and facet they cover\n", oldID, newID, changes)
		return
	}
	fmt.Fprintf(a.stderr, "drift from scan %d to scan %d: %d change(s) in what both scans observed\n", oldID, newID, changes)
	fmt.Fprintf(a.stderr, "not evaluated: %d scope × facet cell(s); additions, removals and changes there are unknown:\n", len(cells))
	writeCells(a.stderr, "  ", cells, 0, "")
}
