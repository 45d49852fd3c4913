package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/reports"
	"github.com/nhiscan/nhiscan/rules"
)

// Version is set at build time with -ldflags "-X main.Version=v1.2.3".
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			commit := ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						commit = s.Value
					}
				}
			}
			fmt.Fprintf(a.stdout, "nhiscan %s", version())
			if commit != "" {
				fmt.Fprintf(a.stdout, " (%s)", commit[:min(12, len(commit))])
			}
			fmt.Fprintf(a.stdout, " %s, inventory schema v%d, database schema v%d\n", runtime.Version(), nhi.SchemaVersion, store.SchemaVersion())
			return nil
		},
	}
}

func (a *app) catalogCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "catalog", Short: "Work with the owned-role catalog"}
	cmd.AddCommand(a.catalogSuggestCmd(), a.catalogCoverageCmd())
	cmd.AddCommand(&cobra.Command{
		Use:   "validate [PATH...]",
		Short: "Check catalog files: every problem with file:line:col, exit 2 on any",
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			at, err := a.evalTime()
			if err != nil {
				return err
			}
			cat, err := a.loadCatalog(cfg, args, at)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "catalog ok: %d people, %d roles, %d exceptions from %d file(s); sha256 %s\n",
				len(cat.People), len(cat.Roles), len(cat.Exceptions), len(cat.Files), cat.Hash)
			for _, e := range cat.Exceptions {
				if !e.Expires.After(at) {
					fmt.Fprintf(a.stdout, "  note: exception %s (%s) expired %s and no longer suppresses\n", e.ID, e.Rule, fmtTime(e.Expires))
				}
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "rules",
		Short: "List the built-in rules with their family, severity and controls",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			for _, r := range rules.Builtin() {
				fmt.Fprintf(a.stdout, "%-32s %-16s %-8s %s\n    controls: %s\n", r.ID, r.Family, r.Severity, r.Title, strings.Join(r.Controls, ", "))
			}
			return nil
		},
	})
	return cmd
}

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
	sortStrings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%q", k, d[k])
	}
	return b.String()
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

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
