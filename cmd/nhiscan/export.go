package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

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
	detail := map[string]string{"dir": out, "manifest_sha256": sum, "snapshot_sha256": m.SnapshotSHA256}
	addCampaignHashes(detail, m)
	for _, f := range m.Files {
		if f.Name == reports.FileRemediation {
			detail["remediation_sha256"] = f.SHA256
		}
	}
	if err := st.Audit(ctx, store.AuditEntry{At: a.now().UTC(), Actor: actor(a.getenv), Action: "evidence.export",
		Subject: fmt.Sprintf("scan:%d", id), Detail: detail}); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "evidence for scan %d: %s (%d files, manifest sha256 %s)\n", id, out, len(m.Files), sum)
	return nil
}
