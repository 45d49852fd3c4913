package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/reports"
)

func (a *app) auditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Work with the hash-chained audit log"}
	var evidence []string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Verify the audit log's hash chain; exit 1 if any entry was edited or deleted",
		Long: `verify recomputes the audit log's hash chain and exits 1 if any entry was
edited or deleted. With --evidence DIR it also checks an evidence pack: every
file against manifest.json and SHA256SUMS, and the manifest's own SHA-256
against the evidence.export entry the export wrote in the audit log, so a
pack rewritten together with its manifest is detected too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.readStore(cmd.Context(), func(_ config.Config, st *store.Store) error {
				if err := st.IntegrityCheck(cmd.Context()); err != nil {
					return err
				}
				n, err := st.VerifyAudit(cmd.Context())
				if err != nil {
					return failError{fmt.Sprintf("audit log NOT intact: %v", err)}
				}
				fmt.Fprintf(a.stdout, "audit log intact: %d entries\n", n)
				for _, dir := range evidence {
					if err := a.verifyEvidence(cmd.Context(), st, dir); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	verify.Flags().StringSliceVar(&evidence, "evidence", nil, "also verify this evidence pack against the audit log (repeatable)")
	cmd.AddCommand(verify)
	cmd.AddCommand(&cobra.Command{
		Use:   "log",
		Short: "Print the audit log",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.readStore(cmd.Context(), func(_ config.Config, st *store.Store) error {
				recs, err := st.AuditEntries(cmd.Context())
				if err != nil {
					return err
				}
				for _, r := range recs {
					fmt.Fprintf(a.stdout, "%d %s %s %s %s %s\n", r.Seq, fmtTime(r.At), reports.TermText(r.Actor), reports.TermText(r.Action),
						reports.TermText(r.Subject), fmtDetail(r.Detail))
				}
				return nil
			})
		},
	})
	return cmd
}

// verifyEvidence checks a pack's files and that its manifest is the one an
// export recorded in the (verified) audit log.
func (a *app) verifyEvidence(ctx context.Context, st *store.Store, dir string) error {
	if fi, err := os.Stat(filepath.Join(dir, reports.FileManifest)); err != nil || fi.IsDir() {
		return usagef("--evidence %s: no %s there", dir, reports.FileManifest)
	}
	if err := reports.VerifyEvidence(dir); err != nil {
		return failError{fmt.Sprintf("evidence %s NOT intact: %v", dir, err)}
	}
	sum, err := fileSHA256(filepath.Join(dir, reports.FileManifest))
	if err != nil {
		return err
	}
	recs, err := st.AuditEntries(ctx)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Action == "evidence.export" && r.Detail["manifest_sha256"] == sum {
			fmt.Fprintf(a.stdout, "evidence %s intact: manifest sha256 %s recorded by audit entry %d (%s, %s)\n",
				dir, sum, r.Seq, reports.TermText(r.Subject), fmtTime(r.At))
			return nil
		}
	}
	return failError{fmt.Sprintf("evidence %s NOT verified: its files match its manifest, but no export in this database's audit log recorded manifest sha256 %s (rewritten pack, or exported from another database)", dir, sum)}
}

func fmtDetail(d map[string]string) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%q", k, d[k])
	}
	return b.String()
}

// fileSHA256 is the hex SHA-256 of a file's contents.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// actor names who ran a command, for the audit log.
func actor(getenv func(string) string) string {
	for _, k := range []string{"NHISCAN_ACTOR", "USER", "LOGNAME"} {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return "unknown"
}
