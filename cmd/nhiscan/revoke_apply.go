package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/revoke"
	"github.com/nhiscan/nhiscan/internal/store"
)

// runOptions are the flags apply and rollback share.
type runOptions struct {
	plan     int64
	approver string
	reason   string
	execute  bool
	outbox   string
}

func (o *runOptions) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.Int64Var(&o.plan, "plan", 0, "plan id (required; see nhiscan revoke status)")
	f.StringVar(&o.approver, "approver", "", "email of who approves (required; recorded in the journal and the audit log)")
	f.StringVar(&o.reason, "reason", "", "why, for the record (a change ticket)")
	f.BoolVar(&o.execute, "execute", false, "act; without it the run re-reads every target and reports what it would do")
	f.BoolVar(&o.execute, "yes", false, "same as --execute")
}

func (a *app) revokeApplyCmd() *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "apply --plan ID --approver EMAIL [--reason TEXT] [--execute]",
		Short: "Apply a revocation plan (a dry run unless --execute)",
		Long: `apply takes the ready actions of a plan in order. It re-reads each target
just before acting and refuses one that changed since the plan (another
immutable id, another state, a later last use); it acts, reads the target
back to verify, and journals a row before and after each action, with the
approver and reason, in the store and the audit log. An action the journal
shows done is never taken again, so a rerun (after a crash, a failure or a
refusal) resumes where the last one stopped. Without --execute nothing is
changed: every target is re-read and the run says what it would do.

A notify-stage plan emails one notice per owner through the configured smtp
server, and keeps a copy of each message (.eml) in --outbox (default: the
folder revoke-notices beside the database); without an smtp section the
outbox copy is the only delivery, for the operator to send on.

Exit codes: 0 done (or a dry run); 1 an action was refused or not verified;
2 usage; 3 a provider failed (journaled; a rerun retries it).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.revokeRun(cmd.Context(), o, revoke.PhaseApply) },
	}
	o.flags(cmd)
	cmd.Flags().StringVar(&o.outbox, "outbox", "", "folder for copies of the notify stage's notices, .eml (default: revoke-notices beside the database)")
	return cmd
}

// revokeRun applies or rolls back a plan with the configured providers'
// controls.
func (a *app) revokeRun(ctx context.Context, o runOptions, phase revoke.Phase) error {
	approver, err := approverAddress(o.approver)
	if err != nil {
		return err
	}
	o.approver = approver
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	if o.outbox == "" {
		o.outbox = "revoke-notices" // beside a PostgreSQL history: the working directory
		if !store.IsPostgres(cfg.Database) {
			o.outbox = revokeOutbox(cfg)
		}
	}
	return a.withExisting(ctx, cfg.Database, readWrite, func(st *store.Store) error {
		p, err := loadPlan(ctx, st, o.plan)
		if err != nil {
			return err
		}
		notifier, err := a.revokeNotifier(cfg, o.outbox)
		if err != nil {
			return err
		}
		return a.runPlan(ctx, st, &p, a.configControls(cfg, nil), notifier, o, phase)
	})
}

// runPlan runs the executor over one plan, under the revocation lock when
// it acts, and prints the outcomes.
func (a *app) runPlan(ctx context.Context, st *store.Store, p *revoke.Plan, set *controlSet, notifier revoke.Notifier, o runOptions, phase revoke.Phase) error {
	if o.execute {
		unlock, err := st.LockRevoke()
		if err != nil {
			return err
		}
		defer unlock()
	}
	inv, _, err := st.Snapshot(ctx, p.ScanID)
	if err != nil {
		return fmt.Errorf("plan %d: scan %d: %w", p.ID, p.ScanID, err)
	}
	x := &revoke.Executor{Journal: st, Controls: controlsFor(set, &inv), Notifier: notifier, Now: a.now,
		Approver: o.approver, Reason: o.reason, Execute: o.execute, AfterAct: revokeAfterAct}
	var rep revoke.Report
	if phase == revoke.PhaseRollback {
		rep, err = x.Rollback(ctx, p)
	} else {
		rep, err = x.Apply(ctx, p)
	}
	if errors.Is(err, revoke.ErrPlanExpired) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	if p.Stage == revoke.StageNotify && o.execute && rep.Count(revoke.OutcomeDone) > 0 {
		fmt.Fprintf(a.stdout, "notices sent; copies in %s\n", o.outbox)
	}
	return a.printOutcomes(rep)
}

// revokeOutbox is the default folder for copies of the notify stage's
// notices: revoke-notices beside a SQLite database, or in the working
// directory when the database is PostgreSQL.
func revokeOutbox(cfg config.Config) string {
	if store.IsPostgres(cfg.Database) {
		return "revoke-notices"
	}
	return filepath.Join(filepath.Dir(cfg.Database), "revoke-notices")
}
