package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/internal/notify"
	"github.com/nhiscan/nhiscan/internal/revoke"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/reports"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// demoApprover approves the demo's revocations.
const demoApprover = "grace.kim@acme.example"

// closeDay is the campaign's close, in the demo's day count (demoCampaign
// closes it on day 16); the revocation story's days follow on.
const closeDay = 16

// demoRevocation is the revocation story, on the demo's clock from the
// campaign's close.
type demoRevocation struct {
	a     *app
	st    *store.Store
	cat   *catalog.Catalog
	org   *demoOrg
	out   string
	start time.Time
	// last is the latest scan.
	last scanOutcome
}

// demoRevoke carries out the campaign's decisions and the dormant policy
// through the revocation workflow (plan, apply, verify, rescan), stage by
// stage: with one AWS account's credential report denied (a partial scope),
// notices go to the owners and its actions stay blocked; a week later the
// disable plans are applied, checked and read back; the permission is
// fixed and a rescan marks the findings remediated; then one plan is rolled
// back. It returns the last scan, which the report and evidence describe.
func (a *app) demoRevoke(ctx context.Context, st *store.Store, cat *catalog.Catalog, org *demoOrg, out string) (scanOutcome, error) {
	d := &demoRevocation{a: a, st: st, cat: cat, org: org, out: out, start: a.now().UTC().Add(-closeDay * duration.Day)}
	fmt.Fprintf(a.stdout, "\nrevocation (plan -> apply -> verify -> rescan; simulated days, as the campaign's):\n")
	org.aws.Deny(awsfake.DemoData, "iam:GetCredentialReport")
	if err := d.scan(closeDay, "iam:GetCredentialReport is denied in account "+awsfake.DemoData+" (acme-data-prod)"); err != nil {
		return d.last, err
	}
	notify, err := d.plan(ctx, closeDay, revoke.StageNotify, "all")
	if err != nil {
		return d.last, err
	}
	d.printBlocked(notify)
	if err := d.apply(ctx, closeDay, notify, true); err != nil {
		return d.last, err
	}

	if err := d.scan(closeDay+8, "the data account's credential report is still denied"); err != nil {
		return d.last, err
	}
	decided, err := d.plan(ctx, closeDay+8, revoke.StageDisable, "campaigns")
	if err != nil {
		return d.last, err
	}
	for _, execute := range []bool{false, true} {
		if err := d.apply(ctx, closeDay+8, decided, execute); err != nil {
			return d.last, err
		}
	}
	policy, err := d.plan(ctx, closeDay+8, revoke.StageDisable, "policies")
	if err != nil {
		return d.last, err
	}
	d.printBlocked(policy)
	if err := d.apply(ctx, closeDay+8, policy, true); err != nil {
		return d.last, err
	}

	org.aws.ClearFaults()
	if err := d.scan(closeDay+9, "the permission is restored"); err != nil {
		return d.last, err
	}
	if err := d.rollback(ctx, closeDay+10, decided); err != nil {
		return d.last, err
	}
	fmt.Fprintf(a.stdout, "  see:    nhiscan revoke status --db %s [--plan ID]; notices in %s\n",
		filepath.Join(out, "nhiscan.db"), filepath.Join(out, "notices"))
	return d.last, nil
}

// at moves the demo's clock, and the organisation's, to day n of the
// demo's count.
func (d *demoRevocation) at(day int) time.Time {
	t := d.start.Add(time.Duration(day) * duration.Day)
	d.a.now = func() time.Time { return t }
	d.org.setNow(t)
	return t
}

func (d *demoRevocation) scan(day int, why string) error {
	t := d.at(day)
	out, err := d.a.scanOnce(context.Background(), d.st, d.cat, t, "demo", d.a.collectAll(d.org.collectors))
	if err != nil {
		return fmt.Errorf("demo revocation scan: %w", err)
	}
	d.last = out
	fmt.Fprintf(d.a.stdout, "  day %d: scan %d %s (%s): %d gap(s)", day, out.scan.ID, out.scan.Status, why, len(out.inv.Gaps))
	if n := len(out.remediated); n > 0 {
		fmt.Fprintf(d.a.stdout, "; %d finding(s) it resolved are linked, as remediated, to the actions before them", n)
	}
	fmt.Fprintln(d.a.stdout)
	return nil
}

// demoRevokeConfig is the demo's revocation configuration: the dormant
// policy at the catalog's dormancy threshold, the default guardrails.
func (d *demoRevocation) config() config.Revoke {
	return config.Revoke{Dormant: config.RevokePolicy{On: true, After: d.cat.Defaults.DormantAfter}}
}

func (d *demoRevocation) plan(ctx context.Context, day int, stage revoke.Stage, source string) (revoke.Plan, error) {
	o := planOptions{actor: "demo-operator", source: source}
	p, err := d.a.buildPlan(ctx, d.st, d.cat, d.config(), d.org.controls, stage, o, d.a.now())
	if err != nil {
		return p, fmt.Errorf("demo revocation plan: %w", err)
	}
	if p.ID, err = d.st.CreatePlan(ctx, p); err != nil {
		return p, err
	}
	c := p.Count()
	from := map[string]string{"all": "the campaign's decisions and the dormant policy", "campaigns": "the campaign's decisions and defaults",
		"policies": "the dormant policy (unused for more than " + duration.Format(d.cat.Defaults.DormantAfter) + ")"}[source]
	fmt.Fprintf(d.a.stdout, "  day %d: plan %d, %s stage, from %s: %d ready, %d blocked, %d skipped\n", day, p.ID, p.Stage, from, c.Ready, c.Blocked, c.Skipped)
	return p, nil
}

// printBlocked shows one blocked action for each guardrail that blocks
// some, the partial scope first.
func (d *demoRevocation) printBlocked(p revoke.Plan) {
	for _, guard := range []string{revoke.GuardCoverage, revoke.GuardFreshness, revoke.GuardStage, revoke.GuardMinAge, revoke.GuardProtected, revoke.GuardCap} {
		d.printFirstBlocked(p, guard)
	}
}

func (d *demoRevocation) printFirstBlocked(p revoke.Plan, guard string) {
	for _, x := range p.Actions {
		for _, b := range x.Blocked {
			if b.Guard == guard && x.Skip == "" {
				fmt.Fprintf(d.a.stdout, "          blocked (%s): #%d %s %s: %s\n", b.Guard, x.ID, x.Provider, reports.TermText(x.Label()), reports.TermText(shorten(b.Why)))
				return
			}
		}
	}
}

// shorten keeps a reason to its first clause (a gap's provider message can
// run long).
func shorten(s string) string {
	if i := strings.Index(s, ": operation error"); i > 0 {
		return s[:i]
	}
	return s
}

// apply applies a plan, as a dry run first when execute is false.
func (d *demoRevocation) apply(ctx context.Context, day int, p revoke.Plan, execute bool) error {
	inv, _, err := d.st.Snapshot(ctx, p.ScanID)
	if err != nil {
		return err
	}
	x := &revoke.Executor{Journal: d.st, Controls: controlsFor(d.org.controls, &inv), Notifier: &notify.RevokeMailer{From: demoMailFrom, Now: d.a.now,
		Transports: []notify.Transport{&notify.Outbox{Dir: filepath.Join(d.out, "notices")}}},
		Now: d.a.now, Approver: demoApprover, Reason: "CHG-2026-118 Q4 NHI clean-up", Execute: execute}
	rep, err := x.Apply(ctx, &p)
	if err != nil {
		return fmt.Errorf("demo revocation apply: %w", err)
	}
	d.report(day, rep, "apply")
	return nil
}

func (d *demoRevocation) rollback(ctx context.Context, day int, p revoke.Plan) error {
	d.at(day)
	inv, _, err := d.st.Snapshot(ctx, p.ScanID)
	if err != nil {
		return err
	}
	x := &revoke.Executor{Journal: d.st, Controls: controlsFor(d.org.controls, &inv), Now: d.a.now, Approver: demoApprover,
		Reason: "the owner shows the workload still needs it: reverted pending a new review", Execute: true}
	rep, err := x.Rollback(ctx, &p)
	if err != nil {
		return fmt.Errorf("demo revocation rollback: %w", err)
	}
	d.report(day, rep, "rollback")
	return nil
}

// report prints a run: its counts and one example of each outcome.
func (d *demoRevocation) report(day int, rep revoke.Report, verb string) {
	mode := "applied"
	if verb == "rollback" {
		mode = "rolled back"
	}
	if !rep.Execute {
		mode = "dry run of"
	}
	var counts []string
	for _, s := range []string{revoke.OutcomeDone, revoke.OutcomeWouldAct, revoke.OutcomeAlreadyDone, revoke.OutcomeRefused, revoke.OutcomeFailed,
		revoke.OutcomeUnverified, revoke.OutcomeBlocked, revoke.OutcomeSkipped, revoke.OutcomeIrreversible} {
		if n := rep.Count(s); n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, s))
		}
	}
	fmt.Fprintf(d.a.stdout, "  day %d: %s plan %d (approver %s): %s\n", day, mode, rep.PlanID, demoApprover, strings.Join(counts, ", "))
	shown := map[string]bool{}
	outcomes := slices.Clone(rep.Outcomes)
	slices.SortStableFunc(outcomes, func(x, y revoke.Outcome) int { return boolRank(y.Changed) - boolRank(x.Changed) })
	for _, o := range outcomes {
		if shown[o.Status] || o.Status == revoke.OutcomeBlocked || o.Status == revoke.OutcomeSkipped {
			continue
		}
		shown[o.Status] = true
		line := fmt.Sprintf("          %s: #%d %s %s", o.Status, o.ActionID, o.Op, reports.TermText(o.Label))
		if o.Before != nil && o.After != nil {
			line += fmt.Sprintf(" [%s -> %s, read back]", stateWord(*o.Before), stateWord(*o.After))
		}
		if o.Status != revoke.OutcomeDone && o.Status != revoke.OutcomeWouldAct && o.Note != "" {
			line += ": " + reports.TermText(shorten(o.Note))
		}
		fmt.Fprintln(d.a.stdout, line)
	}
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}
