package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/campaign"
)

func (a *app) campaignCloseCmd() *cobra.Command {
	var id int64
	cmd := &cobra.Command{
		Use:   "close",
		Short: "Close a campaign: apply defaults, record the certified state and the KPIs",
		Long: `close ends an open campaign. Items nobody resolved take the campaign's
default (campaigns.unanswered, and campaigns.leaver_unanswered for leaver
items: none, revoke or disable), recorded as decisions. The state the
reviewers approved becomes the latest certification: later scans report
grants added since as drift-grant-since-certification. Identities nobody
resolved keep their previous certification, and where the scan did not
observe an identity's grants the previously certified ones stay certified.
The KPIs are recorded and audited; a closed campaign is final.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return a.withCampaigns(ctx, readWrite, nil, false, func(e *campaignEnv) error {
				c, err := loadCampaign(ctx, e.st, id)
				if err != nil {
					return err
				}
				if err := campaignStateError(c, campaign.StateOpen, "only an open campaign closes (send opens a draft)"); err != nil {
					return err
				}
				k, err := e.svc.Close(ctx, id, actor(a.getenv))
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "campaign %d closed: %s\n", id, kpiLine(k))
				if k.Defaulted > 0 {
					fmt.Fprintf(a.stdout, "  %d unanswered identities took the default %q or %q (remediation pending)\n",
						k.Defaulted, c.Policy.Unanswered, c.Policy.LeaverUnanswered)
				}
				fmt.Fprintf(a.stdout, "  the approved state is now the certification later scans compare with\n")
				return nil
			})
		},
	}
	cmd.Flags().Int64Var(&id, "campaign", 0, "campaign id (required)")
	return cmd
}
