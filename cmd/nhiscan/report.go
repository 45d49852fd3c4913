package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/reports"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

func (a *app) reportCmd() *cobra.Command {
	var (
		scanID   int64
		out      string
		catalogs []string
	)
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write the self-contained HTML report of a scan",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if out == "" {
				return usagef("--out FILE is required")
			}
			if fi, err := os.Stat(out); err == nil && fi.IsDir() {
				return usagef("--out %s is a directory: name the HTML file to write", out)
			}
			if scanID < 0 {
				return usagef("--scan %d: want a positive scan id", scanID)
			}
			return a.readStoreWithCatalog(ctx, catalogs, func(cat *catalog.Catalog, st *store.Store) error {
				if scanID == 0 {
					latest, err := st.LatestScan(ctx)
					if err != nil {
						return usagef("no completed scan yet")
					}
					scanID = latest.ID
				}
				if err := a.writeHTML(ctx, st, scanID, cat, out); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "report: %s\n", out)
				return nil
			})
		},
	}
	cmd.Flags().Int64Var(&scanID, "scan", 0, "scan id (default: the latest completed scan)")
	cmd.Flags().StringVar(&out, "out", "", "HTML file to write")
	cmd.Flags().StringSliceVar(&catalogs, "catalog", nil, "catalog for role and owner columns (default: config 'catalog')")
	return cmd
}

// reportInput assembles what the reports need for one scan.
func (a *app) reportInput(ctx context.Context, st *store.Store, id int64, cat *catalog.Catalog) (reports.Input, error) {
	sc, err := st.Scan(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return reports.Input{}, usagef("scan %d not found", id)
		}
		return reports.Input{}, err
	}
	if sc.Status != store.ScanComplete && sc.Status != store.ScanPartial {
		return reports.Input{}, usagef("scan %d is %s: only completed or partial scans have evidence", id, sc.Status)
	}
	inv, sum, err := st.Snapshot(ctx, id)
	if err != nil {
		return reports.Input{}, err
	}
	rows, err := scanFindingRows(ctx, st, id)
	if err != nil {
		return reports.Input{}, err
	}
	in := reports.Input{
		Scan: reports.Scan{ID: sc.ID, Started: sc.Started, Ended: sc.Ended, Status: string(sc.Status),
			ToolVersion: sc.ToolVersion, CatalogHash: sc.CatalogHash, SnapshotHash: sum, EvaluatedAt: sc.EvaluatedAt},
		Inventory: inv,
		Findings:  rows,
	}
	in.Ownership, err = st.ScanOwnership(ctx, id)
	if err != nil {
		return reports.Input{}, err
	}
	if len(in.Ownership) == 0 && cat != nil {
		// Older scans without stored ownership: resolve with the catalog.
		in.Ownership = analyzer.Analyze(analyzer.Input{Inventory: inv, Catalog: cat, Now: sc.EvaluatedAt}).Ownership
	}
	if cat != nil {
		if in.Governance, err = a.reportCoverage(ctx, st, sc, &inv, cat); err != nil {
			return reports.Input{}, err
		}
	}
	if in.Campaigns, err = a.campaignEvidence(ctx, st, id); err != nil {
		return reports.Input{}, err
	}
	if in.Remediation, err = remediationEvidence(ctx, st, id); err != nil {
		return reports.Input{}, err
	}
	// The previous scan is the one drift was judged against, with its
	// inventory, so the report can say what the comparison could not judge.
	if prev, prevInv, err := baseline(ctx, st, id); err == nil {
		in.Previous = &reports.Scan{ID: prev.ID, Started: prev.Started, Ended: prev.Ended, Status: string(prev.Status),
			ToolVersion: prev.ToolVersion, CatalogHash: prev.CatalogHash, SnapshotHash: prev.InventorySHA256}
		in.PreviousInventory = prevInv
	} else if !errors.Is(err, store.ErrNotFound) {
		return reports.Input{}, err
	}
	return in, nil
}

// writeHTML writes the HTML report of scan id to out, through a temporary
// file so a failed write never leaves half a report.
func (a *app) writeHTML(ctx context.Context, st *store.Store, id int64, cat *catalog.Catalog, out string) error {
	in, err := a.reportInput(ctx, st, id, cat)
	if err != nil {
		return err
	}
	if dir := filepath.Dir(out); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := reports.WriteHTML(f, in); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}
