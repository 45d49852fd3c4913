package main

import (
	"github.com/spf13/cobra"
)

func (a *app) campaignRemindCmd() *cobra.Command {
	var (
		id       int64
		dryRun   bool
		out      string
		catalogs []string
	)
	cmd := &cobra.Command{
		Use:   "remind",
		Short: "Escalate overdue items and send the reminders that are due",
		Long: `remind does what is due now in an open campaign: every unresolved identity
past its deadline (plus campaigns.escalate_after) goes to its reviewer's
manager, or the fallback reviewer, who gets an escalation notice; every
reviewer with items inside a reminder window (campaigns.reminders before the
deadline) gets one reminder digest per window. Run it daily (cron, or
'nhiscan serve' later); like send it is idempotent. --dry-run --out DIR
writes the reminders as .eml files and escalates nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runSend(cmd.Context(), id, catalogs, dryRun, out, true)
		},
	}
	cmd.Flags().Int64Var(&id, "campaign", 0, "campaign id (required)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "write .eml files to --out instead of sending; escalate nothing")
	cmd.Flags().StringVar(&out, "out", "", "folder for the .eml files of --dry-run")
	cmd.Flags().StringSliceVar(&catalogs, "catalog", nil, "catalog for people (default: config 'catalog')")
	return cmd
}
