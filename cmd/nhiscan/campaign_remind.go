package main

import (
	"github.com/spf13/cobra"
)

func (a *app) campaignRemindCmd() *cobra.Command {
	var args sendArgs
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
			return a.runSend(cmd.Context(), args, true)
		},
	}
	args.flags(cmd, "write .eml files to --out instead of sending; escalate nothing")
	return cmd
}
