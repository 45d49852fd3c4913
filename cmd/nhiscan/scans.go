package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/reports"
)

// scansCmd lists the stored scans: which ran, which were partial, failed or
// interrupted, and what each covered.
func (a *app) scansCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "scans",
		Short: "List stored scans with their status, coverage and gaps",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return usagef("--format %q: want table or json", format)
			}
			return a.readStore(cmd.Context(), func(_ config.Config, st *store.Store) error {
				scans, err := st.Scans(cmd.Context())
				if err != nil {
					return err
				}
				if format == "json" {
					type row struct {
						ID          int64  `json:"id"`
						Status      string `json:"status"`
						Started     string `json:"started"`
						Ended       string `json:"ended,omitempty"`
						EvaluatedAt string `json:"evaluated_at,omitempty"`
						Source      string `json:"source"`
						Reason      string `json:"reason,omitempty"`
						Scopes      int    `json:"scopes"`
						Gaps        int    `json:"gaps"`
						Identities  int    `json:"identities"`
						Findings    int    `json:"findings"`
						SHA256      string `json:"snapshot_sha256,omitempty"`
					}
					rows := make([]row, 0, len(scans))
					for _, s := range scans {
						rows = append(rows, row{s.ID, string(s.Status), fmtTime(s.Started), fmtTime(s.Ended), fmtTime(s.EvaluatedAt),
							s.Source, s.Reason, len(s.Scopes), len(s.Gaps), s.Identities, s.Findings, s.InventorySHA256})
					}
					enc := json.NewEncoder(a.stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(rows)
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "SCAN\tSTATUS\tSTARTED\tSCOPES\tGAPS\tIDENTITIES\tFINDINGS\tSOURCE\tREASON")
				for _, s := range scans {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", s.ID, s.Status, fmtTime(s.Started), len(s.Scopes), len(s.Gaps),
						s.Identities, s.Findings, reports.TermText(s.Source), reports.TermText(s.Reason))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}
