package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/reports"
)

// sendArgs are the flags send and remind share.
type sendArgs struct {
	id       int64
	dryRun   bool
	out      string
	catalogs []string
}

func (s *sendArgs) flags(cmd *cobra.Command, dryRunHelp string) {
	cmd.Flags().Int64Var(&s.id, "campaign", 0, "campaign id (required)")
	cmd.Flags().BoolVar(&s.dryRun, "dry-run", false, dryRunHelp)
	cmd.Flags().StringVar(&s.out, "out", "", "folder for the .eml files of --dry-run")
	cmd.Flags().StringSliceVar(&s.catalogs, "catalog", nil, "catalog for people (default: config 'catalog')")
}

func (a *app) campaignSendCmd() *cobra.Command {
	var args sendArgs
	cmd := &cobra.Command{
		Use:   "send",
		Short: "Open a draft campaign and email each reviewer one digest of their items",
		Long: `send opens a draft campaign and sends each reviewer one digest (HTML and
plain text) of all their open items, with the deadline and a signed review
link. It is idempotent: the delivery log records every notice, so a rerun
sends only what is new (items reassigned or escalated to someone since) and
retries what failed. With --dry-run --out DIR it writes each message as an
.eml file into DIR instead, and neither opens the campaign nor records a
delivery.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runSend(cmd.Context(), args, false)
		},
	}
	args.flags(cmd, "write .eml files to --out instead of sending")
	return cmd
}

// runSend is send (remind=false) or remind.
func (a *app) runSend(ctx context.Context, args sendArgs, remind bool) error {
	id, dryRun, out := args.id, args.dryRun, args.out
	if dryRun != (out != "") {
		return usagef("--dry-run and --out DIR go together")
	}
	return a.withCampaigns(ctx, readWrite, args.catalogs, true, func(e *campaignEnv) error {
		c, err := loadCampaign(ctx, e.st, id)
		if err != nil {
			return err
		}
		opt := campaign.SendOptions{DryRun: dryRun, Actor: actor(a.getenv)}
		if dryRun {
			opt.Notifier = outboxMailer(e.cfg, out)
		} else if e.svc.Notifier == nil {
			return usagef("no smtp section in the configuration: configure smtp (docs/configuration.md), or preview with --dry-run --out DIR")
		}
		var res campaign.SendResult
		if remind {
			if err := campaignStateError(c, campaign.StateOpen, "reminders run while it is open"); err != nil {
				return err
			}
			res, err = e.svc.Remind(ctx, id, opt)
		} else {
			if c.State == campaign.StateClosed {
				return usagef("campaign %d is closed", id)
			}
			res, err = e.svc.Send(ctx, id, opt)
		}
		a.printSent(c.ID, res, dryRun, out)
		if err != nil {
			return err
		}
		if n := res.Failed(); n > 0 {
			return fmt.Errorf("%d of %d notices were not delivered (recorded in the delivery log; a rerun retries them)", n, len(res.Notices))
		}
		return nil
	})
}

func (a *app) printSent(id int64, res campaign.SendResult, dryRun bool, out string) {
	for _, as := range res.Escalated {
		fmt.Fprintf(a.stdout, "escalated item %d to %s\n", as.ItemID, reports.TermText(as.Reviewer))
	}
	for _, n := range res.Stuck {
		fmt.Fprintf(a.stderr, "warning: item %d is overdue and nobody is above its reviewer to escalate to (set campaigns.fallback_reviewer)\n", n)
	}
	verb := "sent"
	if dryRun {
		verb = "written"
	}
	for _, n := range res.Notices {
		if n.Err != "" {
			fmt.Fprintf(a.stdout, "%-10s to %s: %d items: NOT delivered: %s\n", n.Kind, reports.TermText(n.To), n.Items, reports.TermText(n.Err))
			continue
		}
		fmt.Fprintf(a.stdout, "%-10s to %s: %d items (%s)\n", n.Kind, reports.TermText(n.To), n.Items, verb)
	}
	switch {
	case len(res.Notices) == 0:
		fmt.Fprintf(a.stdout, "campaign %d: nothing to send (every reviewer was told about their items; reminders follow their schedule)\n", id)
	case dryRun:
		fmt.Fprintf(a.stdout, "campaign %d: %d messages written to %s (dry run: nothing sent, nothing recorded)\n", id, len(res.Notices), out)
	default:
		fmt.Fprintf(a.stdout, "campaign %d: %d notices, %d delivered\n", id, len(res.Notices), len(res.Notices)-res.Failed())
	}
}
