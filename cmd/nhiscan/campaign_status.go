package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/reports"
)

func (a *app) campaignStatusCmd() *cobra.Command {
	var (
		id     int64
		format string
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show a campaign's progress: KPIs, reviewers, overdue items and failed notices",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if format != "table" && format != "json" {
				return usagef("--format %q: want table or json", format)
			}
			return a.withCampaigns(ctx, readOnly, nil, false, func(e *campaignEnv) error {
				if _, err := loadCampaign(ctx, e.st, id); err != nil {
					return err
				}
				st, err := e.svc.Status(ctx, id)
				if err != nil {
					return err
				}
				if format == "json" {
					return a.statusJSON(st)
				}
				return a.statusTable(st)
			})
		},
	}
	cmd.Flags().Int64Var(&id, "campaign", 0, "campaign id (required)")
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	completeValues(cmd, "format", func() []string { return []string{"table", "json"} })
	return cmd
}

func (a *app) statusTable(st campaign.Status) error {
	c := st.Campaign
	fmt.Fprintf(a.stdout, "campaign %d: %s\n  state %s, scan %d, created %s by %s, deadline %s", c.ID, reports.TermText(c.Name),
		c.State, c.ScanID, fmtTime(c.CreatedAt), reports.TermText(c.CreatedBy), fmtTime(c.Deadline))
	if !c.ClosedAt.IsZero() {
		fmt.Fprintf(a.stdout, ", closed %s", fmtTime(c.ClosedAt))
	}
	fmt.Fprintf(a.stdout, "\n  %s\n\n", kpiLine(st.KPIs))
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REVIEWER\tITEMS\tOPEN\tOVERDUE\tLAST NOTICE")
	for _, r := range st.Reviewers {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", reports.TermText(r.Reviewer), r.Items, r.Open, r.Overdue, fmtTime(r.Notified))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failed := campaign.Undelivered(st.Deliveries); len(failed) > 0 {
		fmt.Fprintf(a.stdout, "\nundelivered notices (the next send or remind retries them):\n")
		for _, r := range st.Reviewers {
			if d, ok := failed[r.Reviewer]; ok {
				fmt.Fprintf(a.stdout, "  %s %s at %s: %s\n", reports.TermText(d.Recipient), d.Kind, fmtTime(d.At), reports.TermText(d.Error))
			}
		}
	}
	return nil
}

// statusJSON is the documented JSON form of a campaign's status.
func (a *app) statusJSON(st campaign.Status) error {
	type reviewer struct {
		Reviewer string `json:"reviewer"`
		Items    int    `json:"items"`
		Open     int    `json:"open"`
		Overdue  int    `json:"overdue"`
		Notified string `json:"last_notice,omitempty"`
	}
	// Durations as the configuration writes them (14d), not nanoseconds.
	p := st.Campaign.Policy
	var reminders []string
	for _, r := range p.Reminders {
		reminders = append(reminders, duration.Format(r))
	}
	policy := map[string]any{"reminders": reminders, "escalate_after": duration.Format(p.EscalateAfter),
		"unanswered": p.Unanswered, "leaver_deadline": duration.Format(p.LeaverDeadline), "leaver_unanswered": p.LeaverUnanswered,
		"fallback": p.Fallback, "single_reviewer": p.SingleReviewer, "link_ttl": duration.Format(p.LinkTTL)}
	c := st.Campaign
	out := struct {
		ID        int64           `json:"id"`
		Name      string          `json:"name"`
		ScanID    int64           `json:"scan_id"`
		State     campaign.State  `json:"state"`
		Filter    campaign.Filter `json:"filter"`
		Policy    map[string]any  `json:"policy"`
		CreatedBy string          `json:"created_by"`
		CreatedAt string          `json:"created_at"`
		OpenedAt  string          `json:"opened_at,omitempty"`
		Deadline  string          `json:"deadline"`
		ClosedAt  string          `json:"closed_at,omitempty"`
		KPIs      campaign.KPIs   `json:"kpis"`
		Reviewers []reviewer      `json:"reviewers"`
	}{ID: c.ID, Name: c.Name, ScanID: c.ScanID, State: c.State, Filter: c.Filter, Policy: policy, CreatedBy: c.CreatedBy,
		CreatedAt: fmtTime(c.CreatedAt), OpenedAt: fmtTime(c.OpenedAt), Deadline: fmtTime(c.Deadline), ClosedAt: fmtTime(c.ClosedAt),
		KPIs: st.KPIs, Reviewers: []reviewer{}}
	for _, r := range st.Reviewers {
		out.Reviewers = append(out.Reviewers, reviewer{r.Reviewer, r.Items, r.Open, r.Overdue, fmtTime(r.Notified)})
	}
	return a.printJSON(out)
}
