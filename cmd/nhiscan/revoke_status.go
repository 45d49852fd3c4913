package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/revoke"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/reports"
)

func (a *app) revokeStatusCmd() *cobra.Command {
	var (
		planID int64
		format string
	)
	cmd := &cobra.Command{
		Use:   "status [--plan ID] [--format table|json]",
		Short: "List revocation plans, or one plan's actions with their journal and remediated findings",
		Long: `status lists every plan with its counts (ready, blocked, skipped; done,
refused, failed, rolled back; findings remediated), or with --plan each of its
actions: what it does, where the journal has it (begin, done, refused,
failed, unverified; by whom and when, verified when), its rollback, and the
findings later scans resolved after it (remediated).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return usagef("--format %q: want table or json", format)
			}
			return a.readStore(cmd.Context(), func(_ config.Config, st *store.Store) error {
				return a.revokeStatus(cmd.Context(), st, planID, format)
			})
		},
	}
	cmd.Flags().Int64Var(&planID, "plan", 0, "one plan's actions")
	cmd.Flags().StringVar(&format, "format", "table", "output: table or json")
	completeValues(cmd, "format", func() []string { return []string{"table", "json"} })
	return cmd
}

// ActionStatus is one action of a plan with where its journal stands.
type ActionStatus struct {
	revoke.Action
	Applied    *revoke.Entry `json:"applied,omitempty"`
	RolledBack *revoke.Entry `json:"rolled_back,omitempty"`
	// Remediated lists the findings later scans resolved after the action.
	Remediated []store.Remediation `json:"remediated,omitempty"`
}

// PlanStatus is one plan with its counts and, for status --plan, its
// actions.
type PlanStatus struct {
	ID         int64             `json:"id"`
	Stage      revoke.Stage      `json:"stage"`
	ScanID     int64             `json:"scan_id"`
	CreatedBy  string            `json:"created_by"`
	CreatedAt  time.Time         `json:"created_at"`
	Counts     map[string]int    `json:"counts"`
	Sources    []string          `json:"sources"`
	Guardrails revoke.Guardrails `json:"guardrails"`
	Actions    []ActionStatus    `json:"actions,omitempty"`
}

// planStatuses joins the plans, their journal and the remediation links.
func planStatuses(ctx context.Context, st *store.Store) ([]PlanStatus, error) {
	plans, err := st.Plans(ctx)
	if err != nil {
		return nil, err
	}
	journal, err := st.RevokeJournal(ctx, 0)
	if err != nil {
		return nil, err
	}
	links, err := st.Remediations(ctx)
	if err != nil {
		return nil, err
	}
	byPlan := map[int64][]revoke.Entry{}
	for _, e := range journal {
		byPlan[e.PlanID] = append(byPlan[e.PlanID], e)
	}
	out := make([]PlanStatus, 0, len(plans))
	for _, p := range plans {
		c := p.Count()
		ps := PlanStatus{ID: p.ID, Stage: p.Stage, ScanID: p.ScanID, CreatedBy: p.CreatedBy, CreatedAt: p.CreatedAt, Sources: p.Sources, Guardrails: p.Guardrails,
			Counts: map[string]int{"ready": c.Ready, "blocked": c.Blocked, "skipped": c.Skipped}}
		applied, rolled := revoke.Latest(byPlan[p.ID], revoke.PhaseApply), revoke.Latest(byPlan[p.ID], revoke.PhaseRollback)
		for _, x := range p.Actions {
			as := ActionStatus{Action: x}
			if e, ok := applied[x.ID]; ok {
				as.Applied = &e
				ps.Counts[string(e.Step)]++
			}
			if e, ok := rolled[x.ID]; ok {
				as.RolledBack = &e
				if e.Step == revoke.StepDone {
					ps.Counts["rolled_back"]++
				}
			}
			for _, l := range links {
				if l.PlanID == p.ID && l.ActionID == x.ID {
					as.Remediated = append(as.Remediated, l)
					ps.Counts["remediated"]++
				}
			}
			ps.Actions = append(ps.Actions, as)
		}
		out = append(out, ps)
	}
	return out, nil
}

func (a *app) revokeStatus(ctx context.Context, st *store.Store, planID int64, format string) error {
	// Read-only: each scan links the remediations it resolved (scan.go).
	all, err := planStatuses(ctx, st)
	if err != nil {
		return err
	}
	var shown []PlanStatus
	for _, p := range all {
		if planID == 0 {
			p.Actions = nil
		}
		if planID == 0 || p.ID == planID {
			shown = append(shown, p)
		}
	}
	if planID != 0 && len(shown) == 0 {
		return usagef("plan %d not found", planID)
	}
	if format == "json" {
		if shown == nil {
			shown = []PlanStatus{}
		}
		return a.printJSON(shown)
	}
	if len(shown) == 0 {
		fmt.Fprintln(a.stdout, "no revocation plans yet: nhiscan revoke plan --stage notify|disable|delete")
		return nil
	}
	if planID == 0 {
		fmt.Fprintf(a.stdout, "%-5s %-8s %-5s %-20s %s\n", "plan", "stage", "scan", "created", "actions")
		for _, p := range shown {
			fmt.Fprintf(a.stdout, "%-5d %-8s %-5d %-20s %s\n", p.ID, p.Stage, p.ScanID, p.CreatedAt.UTC().Format(time.RFC3339), countText(p.Counts))
		}
		return nil
	}
	a.printPlanStatus(shown[0])
	return nil
}

func countText(c map[string]int) string {
	var parts []string
	for _, k := range []string{"ready", "blocked", "skipped", "begin", "done", "refused", "failed", "unverified", "rolled_back", "remediated"} {
		if c[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[k], strings.ReplaceAll(k, "_", " ")))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func (a *app) printPlanStatus(p PlanStatus) {
	t := reports.TermText
	fmt.Fprintf(a.stdout, "plan %d: %s stage from scan %d, by %s at %s: %s\n", p.ID, p.Stage, p.ScanID, t(p.CreatedBy),
		p.CreatedAt.UTC().Format(time.RFC3339), countText(p.Counts))
	for _, x := range p.Actions {
		state := "ready"
		switch {
		case x.Skip != "":
			state = "skipped"
		case len(x.Blocked) > 0:
			state = "blocked"
		}
		fmt.Fprintf(a.stdout, "  #%d %-8s %s %s %s\n", x.ID, state, x.Op, x.Provider, t(x.Label()))
		if x.Skip != "" {
			fmt.Fprintf(a.stdout, "      skipped: %s\n", t(x.Skip))
		}
		for _, b := range x.Blocked {
			fmt.Fprintf(a.stdout, "      blocked (%s): %s\n", b.Guard, t(b.Why))
		}
		if e := x.Applied; e != nil {
			fmt.Fprintf(a.stdout, "      apply: %s at %s by %s%s\n", e.Step, e.At.UTC().Format(time.RFC3339), t(e.Approver), entryText(e))
		}
		if e := x.RolledBack; e != nil {
			fmt.Fprintf(a.stdout, "      rollback: %s at %s by %s%s\n", e.Step, e.At.UTC().Format(time.RFC3339), t(e.Approver), entryText(e))
		}
		for _, r := range x.Remediated {
			fmt.Fprintf(a.stdout, "      remediated: %s (%s) resolved by scan %d\n", r.RuleID, r.Fingerprint, r.ScanID)
		}
	}
}

func entryText(e *revoke.Entry) string {
	s := ""
	if e.Before != nil && e.After != nil {
		s += "; " + stateWord(*e.Before) + " -> " + stateWord(*e.After)
	}
	if !e.VerifiedAt.IsZero() {
		s += "; verified " + e.VerifiedAt.UTC().Format(time.RFC3339)
	}
	if e.Note != "" {
		s += "; " + reports.TermText(e.Note)
	}
	return s
}

// remediationEvidence is the revocation record of a scan's evidence pack:
// every journaled step of the actions of the plans built from the scan, or
// whose findings the scan resolved (remediated). nil when there is none,
// so the pack of a scan without revocation is unchanged.
func remediationEvidence(ctx context.Context, st *store.Store, scanID int64) (*reports.RemediationEvidence, error) {
	plans, err := planStatuses(ctx, st)
	if err != nil {
		return nil, err
	}
	journal, err := st.RevokeJournal(ctx, 0)
	if err != nil {
		return nil, err
	}
	var out reports.RemediationEvidence
	for _, p := range plans {
		for _, x := range p.Actions {
			fps, firstScan, concerns := remediatedBy(x.Remediated, scanID)
			if p.ScanID != scanID && !concerns {
				continue
			}
			for _, e := range journal {
				if e.PlanID != p.ID || e.ActionID != x.ID || !recorded(e, x) {
					continue
				}
				out.Rows = append(out.Rows, remediationRow(p, x, e, fps, firstScan))
			}
		}
	}
	if len(out.Rows) == 0 {
		return nil, nil
	}
	return &out, nil
}

// remediatedBy lists the action's remediated findings, the first scan that
// resolved one, and whether scanID is one of those scans.
func remediatedBy(links []store.Remediation, scanID int64) ([]string, int64, bool) {
	var fps []string
	var first int64
	concerns := false
	for _, l := range links {
		fps = append(fps, l.Fingerprint)
		if first == 0 || l.ScanID < first {
			first = l.ScanID
		}
		concerns = concerns || l.ScanID == scanID
	}
	return fps, first, concerns
}

// recorded keeps the outcome rows of the journal, and a begin row only
// when it is the latest of its phase (a run interrupted there).
func recorded(e revoke.Entry, x ActionStatus) bool {
	if e.Step != revoke.StepBegin {
		return true
	}
	latest := x.Applied
	if e.Phase == revoke.PhaseRollback {
		latest = x.RolledBack
	}
	return latest != nil && latest.Seq == e.Seq
}

func remediationRow(p PlanStatus, x ActionStatus, e revoke.Entry, fps []string, scan int64) reports.RemediationRow {
	var reasons []string
	for _, r := range x.Reasons {
		reasons = append(reasons, r.Ref+": "+r.Text)
	}
	r := reports.RemediationRow{PlanID: p.ID, ActionID: x.ID, Stage: string(p.Stage), Op: string(e.Op), Operation: x.Operation,
		Provider: string(x.Provider), Scope: x.Scope, IdentityID: x.IdentityID, IdentityName: x.IdentityName,
		CredentialID: x.CredentialID, GrantID: x.GrantID, Reasons: strings.Join(reasons, "; "),
		Phase: string(e.Phase), Step: string(e.Step), Approver: e.Approver, Reason: e.Reason, At: e.At,
		VerifiedAt: e.VerifiedAt, Note: e.Note}
	if e.Before != nil {
		r.Before = stateWord(*e.Before)
	}
	if e.After != nil {
		r.After = stateWord(*e.After)
	}
	if e.Result != nil {
		r.Changed = e.Result.Changed
	}
	if e.Phase == revoke.PhaseApply && e.Step == revoke.StepDone {
		r.FindingsRemediated, r.RemediatedScanID = fps, scan
	}
	return r
}
