package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/reports"
)

// auditLogCmd prints the audit log, read-only.
func (a *app) auditLogCmd() *cobra.Command {
	return &cobra.Command{
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
						reports.TermText(r.Subject), reports.TermText(fmtDetail(r.Detail)))
				}
				return nil
			})
		},
	}
}
