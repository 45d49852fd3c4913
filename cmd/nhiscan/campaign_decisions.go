package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/reports"
)

func (a *app) campaignDecisionsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "decisions", Short: "Export items to CSV for offline review; import the decisions"}
	cmd.AddCommand(a.decisionsExportCmd(), a.decisionsImportCmd())
	return cmd
}

func (a *app) decisionsExportCmd() *cobra.Command {
	var (
		id       int64
		reviewer string
		out      string
	)
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write a campaign's items (of one reviewer, or all) to CSV for offline review",
		Long: `export writes one row per item with its context (read-only columns) and
empty decision columns: decision (certify, revoke, reduce, reassign,
dont-know), until (a date, for certify), grants (;-separated grant ids, for
reduce), reassign_to (a person, for reassign) and justification. The
reviewer column is filled in. Cells are safe to open in a spreadsheet
(formula injection is neutralised). Fill in the decisions and give the file
to 'nhiscan campaign decisions import'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return a.withCampaigns(ctx, readOnly, nil, false, func(e *campaignEnv) error {
				if _, err := loadCampaign(ctx, e.st, id); err != nil {
					return err
				}
				st, err := e.svc.Status(ctx, id)
				if err != nil {
					return err
				}
				rows := reviewRows(st, reviewer)
				if reviewer != "" && len(rows) == 0 {
					return usagef("%s holds no item in campaign %d", reviewer, id)
				}
				var buf bytes.Buffer
				if err := reports.WriteReviewCSV(&buf, rows); err != nil {
					return err
				}
				if out == "" || out == "-" {
					_, err := a.stdout.Write(buf.Bytes())
					return err
				}
				if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "campaign %d: %d items written to %s\n", id, len(rows), out)
				return nil
			})
		},
	}
	cmd.Flags().Int64Var(&id, "campaign", 0, "campaign id (required)")
	cmd.Flags().StringVar(&reviewer, "reviewer", "", "only this reviewer's items (default: every item)")
	cmd.Flags().StringVar(&out, "out", "", "file to write (default: standard output)")
	return cmd
}

// reviewRows turns the items (of one reviewer, when given) into review
// file rows.
func reviewRows(st campaign.Status, reviewer string) []reports.ReviewRow {
	last := campaign.Last(st.Decisions)
	var rows []reports.ReviewRow
	for _, it := range st.Items {
		if reviewer != "" && !strings.EqualFold(it.Reviewer, reviewer) {
			continue
		}
		c := &it.Context
		r := reports.ReviewRow{CampaignID: st.Campaign.ID, ItemID: it.ID, ParentItemID: it.ParentID, ItemKind: string(it.Kind),
			Provider: string(it.Provider), Scope: it.Scope, IdentityID: it.IdentityID, IdentityName: it.IdentityName,
			IdentityKind: string(it.IdentityKind), CredentialID: it.CredentialID, CredentialType: string(it.CredentialType),
			GrantID: it.GrantID, Entitlement: it.Entitlement, GrantScope: it.GrantScope, Role: c.Role, Purpose: c.Purpose,
			Owner: c.Owner, OwnerStatus: c.OwnerStatus, RequiresJustification: c.RequiresJustification,
			Baseline: c.Baseline, Drift: c.Drift, Gaps: strings.Join(c.Gaps, "; "), Conflict: it.Conflict,
			Deadline: it.Deadline, Reviewer: it.Reviewer, UsageGap: c.LastUse.Gap}
		if c.Privileged {
			r.Privileged = c.PrivilegedReason
		}
		var fs []string
		for _, f := range c.Findings {
			fs = append(fs, string(f.Severity)+" "+f.RuleID)
		}
		r.Findings = strings.Join(fs, "; ")
		if c.LastUse.Gap == "" {
			r.LastUsed = usageCell(c.LastUse)
			r.LastUsedSource, r.LastUsedAsOf = c.LastUse.Source, fmtTime(c.LastUse.AsOf)
		}
		if d := last[it.ID]; d != nil {
			r.CurrentDecision = string(d.Kind) + " by " + d.Reviewer
		}
		rows = append(rows, r)
	}
	return rows
}

func usageCell(u campaign.LastUse) string {
	switch u.State {
	case nhi.UsageUsed:
		return u.At.UTC().Format(time.RFC3339)
	case "":
		return ""
	}
	return string(u.State)
}

func (a *app) decisionsImportCmd() *cobra.Command {
	var (
		id       int64
		catalogs []string
	)
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Record the decisions of an offline review file (all or nothing)",
		Long: `import reads a file written by 'campaign decisions export' with the decision
columns filled in and records each decision (rows without one are skipped).
The file is checked whole first: every problem (a malformed row, an unknown
item, a decision that does not fit its item or is not its reviewer's, a
missing justification on a privileged item or one with findings) is
reported with its line, the command exits 2 and nothing is recorded.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			f, err := os.Open(args[0])
			if err != nil {
				return usagef("%v", err)
			}
			defer f.Close()
			return a.withCampaigns(ctx, readWrite, catalogs, true, func(e *campaignEnv) error {
				c, err := loadCampaign(ctx, e.st, id)
				if err != nil {
					return err
				}
				if err := campaignStateError(c, campaign.StateOpen, "decisions are imported while it is open"); err != nil {
					return err
				}
				n, err := e.svc.Import(ctx, id, args[0], f)
				var ie *campaign.ImportError
				if errors.As(err, &ie) {
					return usagef("%d problem(s) in %s; nothing was recorded:\n%s", len(ie.Problems), args[0], ie.Error())
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "campaign %d: %d decisions recorded from %s\n", id, n, args[0])
				return nil
			})
		},
	}
	cmd.Flags().Int64Var(&id, "campaign", 0, "campaign id (required)")
	cmd.Flags().StringSliceVar(&catalogs, "catalog", nil, "catalog for people (default: config 'catalog')")
	return cmd
}
