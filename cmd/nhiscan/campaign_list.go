package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/reports"
)

func (a *app) campaignListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List campaigns with their state, scan and deadline",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return a.withCampaigns(ctx, readOnly, nil, false, func(e *campaignEnv) error {
				cs, err := e.st.Campaigns(ctx)
				if err != nil {
					return err
				}
				if len(cs) == 0 {
					fmt.Fprintln(a.stdout, "no campaigns yet: nhiscan campaign create")
					return nil
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSTATE\tSCAN\tCREATED\tDEADLINE\tCLOSED\tNAME")
				for _, c := range cs {
					fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\n", c.ID, c.State, c.ScanID, fmtTime(c.CreatedAt), fmtTime(c.Deadline),
						fmtTime(c.ClosedAt), reports.TermText(c.Name))
				}
				return tw.Flush()
			})
		},
	}
}
