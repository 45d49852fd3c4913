package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/signing"
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
		keyFile  string
		format   string
	)
	ev := &cobra.Command{
		Use:   "evidence",
		Short: "Write the tamper-evident evidence pack of a scan (CSV files and a SHA-256 manifest)",
		Long: `evidence writes population.csv, entitlements.csv, findings.csv, drift.csv,
gaps.csv, snapshot.json, manifest.json and SHA256SUMS for one scan into an
empty directory. Columns are documented in docs/evidence.md.

Before writing, it verifies the audit log's chain and the scan's stored
snapshot and findings against the hashes the log recorded when the scan
finished: a scan altered since is not exported (exit 1). The manifest's own
SHA-256 is recorded in the audit log, so rewriting the pack is detectable;
with --key FILE (or NHISCAN_SIGNING_KEY_FILE) the manifest is also signed
(manifest.json.sig). A database that cannot be written (an archived copy) is
read only: the export is then not recorded, and says so.`,
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
			if format != "csv" && format != "ocsf" {
				return usagef("--format %q: want csv, or ocsf (the CSV pack plus findings.ocsf.jsonl)", format)
			}
			key, err := a.signingKey(keyFile)
			if err != nil {
				return err
			}
			return a.storeWithCatalog(ctx, catalogs, writeIfWritable, func(cat *catalog.Catalog, st *store.Store) error {
				return a.exportEvidence(ctx, st, evidenceArgs{id: scanID, out: out, ocsf: format == "ocsf"}, cat, key)
			})
		},
	}
	ev.Flags().Int64Var(&scanID, "scan", 0, "scan id (default: the latest completed scan)")
	ev.Flags().StringVar(&out, "out", "", "directory to write (created; must be empty)")
	ev.Flags().StringSliceVar(&catalogs, "catalog", nil, "catalog for role and owner columns (default: config 'catalog')")
	ev.Flags().StringVar(&format, "format", "csv", "csv, or ocsf: also findings.ocsf.jsonl, every finding as an OCSF Detection Finding event for SIEMs")
	completeValues(ev, "format", func() []string { return []string{"csv", "ocsf"} })
	ev.Flags().StringVar(&keyFile, "key", "", "Ed25519 private key that signs the manifest (default $"+envSigningKey+"; unsigned without)")
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

// evidenceArgs are export evidence's scan, folder and format.
type evidenceArgs struct {
	id   int64
	out  string
	ocsf bool
}

func (a *app) exportEvidence(ctx context.Context, st *store.Store, args evidenceArgs, cat *catalog.Catalog, key ed25519.PrivateKey) error {
	id, out := args.id, args.out
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
	if args.ocsf {
		in.OCSF = &reports.OCSFProduct{Version: version()}
	}
	findingsVerified, err := verifyForExport(ctx, st, id)
	if err != nil {
		return err
	}
	var sign reports.ManifestSigner
	if key != nil {
		sign = manifestSigner(key, a.now())
	}
	m, err := reports.WriteEvidenceSigned(out, in, a.now().UTC(), sign)
	if err != nil {
		return err
	}
	sum, err := fileSHA256(filepath.Join(out, reports.FileManifest))
	if err != nil {
		return err
	}
	signed := ""
	if key != nil {
		signed = ", signed by " + signing.KeyID(key.Public().(ed25519.PublicKey))
	}
	fmt.Fprintf(a.stdout, "evidence for scan %d: %s (%d files, manifest sha256 %s%s)\n", id, out, len(m.Files), sum, signed)
	if !findingsVerified {
		fmt.Fprintf(a.stderr, "nhiscan: warning: scan %d was stored before nhiscan recorded the hash of its findings: its snapshot is verified, its findings are not\n", id)
	}
	if st.ReadOnly() {
		fmt.Fprintf(a.stderr, "nhiscan: warning: the database %s cannot be written (%v), so this export is not recorded in its audit log; "+
			"sign it (--key) or keep manifest sha256 %s where the pack's holder cannot change it (a ticket)\n", st.Path(), store.CanWrite(st.Path()), sum)
		return nil
	}
	detail := map[string]string{"dir": out, "manifest_sha256": sum, "snapshot_sha256": m.SnapshotSHA256}
	addCampaignHashes(detail, m)
	for _, f := range m.Files {
		if f.Name == reports.FileRemediation {
			detail["remediation_sha256"] = f.SHA256
		}
	}
	if key != nil {
		detail["signed_by"] = signing.KeyID(key.Public().(ed25519.PublicKey))
	}
	return st.Audit(ctx, store.AuditEntry{At: a.now().UTC(), Actor: actor(a.getenv), Action: "evidence.export",
		Subject: fmt.Sprintf("scan:%d", id), Detail: detail})
}

// verifyForExport refuses to export a scan whose stored data no longer
// matches what the audit log recorded when it finished: the pack would
// certify an altered history. It reports whether the scan's findings were
// verified (scans stored before their hash was recorded are not).
func verifyForExport(ctx context.Context, st *store.Store, id int64) (bool, error) {
	if _, err := st.VerifyAudit(ctx); err != nil {
		return false, failError{fmt.Sprintf("not exported: audit log NOT intact: %v", err)}
	}
	ok, err := st.VerifyScan(ctx, id)
	if errors.Is(err, store.ErrNotAsRecorded) {
		return false, failError{fmt.Sprintf("not exported: %v", err)}
	}
	return ok, err
}
