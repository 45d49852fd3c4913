package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/reports"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

func (a *app) exportCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "export", Short: "Export evidence for auditors"}
	var (
		scanID   int64
		out      string
		catalogs []string
	)
	ev := &cobra.Command{
		Use:   "evidence",
		Short: "Write the tamper-evident evidence pack of a scan (CSV files and a SHA-256 manifest)",
		Long: `evidence writes population.csv, entitlements.csv, findings.csv, drift.csv,
gaps.csv, snapshot.json, manifest.json and SHA256SUMS for one scan into an
empty directory. The manifest's own SHA-256 is recorded in the audit log, so
rewriting the pack is detectable. Columns are documented in docs/evidence.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if out == "" {
				return usagef("--out DIR is required")
			}
			if err := checkEvidenceDir(out); err != nil {
				return err
			}
			if scanID < 0 {
				return usagef("--scan %d: want a positive scan id", scanID)
			}
			return a.readStoreWithCatalog(ctx, catalogs, func(cat *catalog.Catalog, st *store.Store) error {
				return a.exportEvidence(ctx, st, scanID, cat, out)
			})
		},
	}
	ev.Flags().Int64Var(&scanID, "scan", 0, "scan id (default: the latest completed scan)")
	ev.Flags().StringVar(&out, "out", "", "directory to write (created; must be empty)")
	ev.Flags().StringSliceVar(&catalogs, "catalog", nil, "catalog for role and owner columns (default: config 'catalog')")
	cmd.AddCommand(ev)
	return cmd
}

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

// checkEvidenceDir refuses, before anything is opened or written, an
// evidence directory that is a file or already holds files: a pack holds
// only its own files, so an old pack is never mixed into or overwritten.
func checkEvidenceDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return usagef("--out %s: %v", dir, err)
	}
	if !fi.IsDir() {
		return usagef("--out %s is a file: name an empty or new directory", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return usagef("--out %s: %v", dir, err)
	}
	if len(ents) > 0 {
		return usagef("--out %s is not empty: an evidence pack must hold only its own files; name an empty or new directory", dir)
	}
	return nil
}

// optionalCatalog loads the catalog when one is configured; reports fall
// back to provider owner hints without one.
func (a *app) optionalCatalog(cfg config.Config, paths []string) (*catalog.Catalog, error) {
	if len(paths) == 0 && len(cfg.Catalog) == 0 {
		return nil, nil
	}
	return a.loadCatalog(cfg, paths, a.now())
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
	if prev, err := st.PreviousScan(ctx, id); err == nil {
		in.Previous = &reports.Scan{ID: prev.ID, Started: prev.Started, Ended: prev.Ended, Status: string(prev.Status),
			ToolVersion: prev.ToolVersion, CatalogHash: prev.CatalogHash, SnapshotHash: prev.InventorySHA256}
	} else if !errors.Is(err, store.ErrNotFound) {
		return reports.Input{}, err
	}
	return in, nil
}

func (a *app) exportEvidence(ctx context.Context, st *store.Store, id int64, cat *catalog.Catalog, out string) error {
	if id == 0 {
		latest, err := st.LatestScan(ctx)
		if err != nil {
			return usagef("no completed scan yet")
		}
		id = latest.ID
	}
	in, err := a.reportInput(ctx, st, id, cat)
	if err != nil {
		return err
	}
	m, err := reports.WriteEvidence(out, in, a.now().UTC())
	if err != nil {
		return err
	}
	sum, err := fileSHA256(filepath.Join(out, "manifest.json"))
	if err != nil {
		return err
	}
	if err := st.Audit(ctx, store.AuditEntry{At: a.now().UTC(), Actor: actor(a.getenv), Action: "evidence.export",
		Subject: fmt.Sprintf("scan:%d", id), Detail: map[string]string{"dir": out, "manifest_sha256": sum, "snapshot_sha256": m.SnapshotSHA256}}); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "evidence for scan %d: %s (%d files, manifest sha256 %s)\n", id, out, len(m.Files), sum)
	return nil
}

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
