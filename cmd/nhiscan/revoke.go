package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/aws"
	"github.com/nhiscan/nhiscan/collectors/azure"
	"github.com/nhiscan/nhiscan/collectors/gcp"
	"github.com/nhiscan/nhiscan/collectors/github"
	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/notify"
	"github.com/nhiscan/nhiscan/internal/revoke"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/reports"
)

func (a *app) revokeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "revoke",
		Short: "Plan, apply, verify and roll back the revocation of credentials",
		Long: `revoke turns campaign decisions (revoke, reduce), the defaults of unanswered
items and the opt-in policies of the configuration into plans, one stage at a
time: notify the owner, disable (reversible), then after a grace period delete.
Every action names its target by immutable id, its provider operation, its
reasons and the facts it relies on. Guardrails block what a scan did not
observe, stale usage data, protected or young identities, and anything beyond
the caps. Applying re-reads each target first and refuses one that changed,
reads it back after, and journals every step, so an interrupted run resumes
without acting twice. See docs/revocation.md.`,
	}
	cmd.AddCommand(a.revokePlanCmd(), a.revokeApplyCmd(), a.revokeStatusCmd(), a.revokeRollbackCmd())
	return cmd
}

// controller is what the workflow needs of a provider: its actions and the
// re-read of one target.
type controller interface {
	collectors.Controller
	collectors.Inspector
}

// controlSet builds each provider's controls once, on first use: a plan
// that acts only on AWS never needs GitHub credentials.
type controlSet struct {
	mu    sync.Mutex
	build map[nhi.Provider]func() (controller, error)
	built map[nhi.Provider]controller
	errs  map[nhi.Provider]error
}

func newControlSet(build map[nhi.Provider]func() (controller, error)) *controlSet {
	return &controlSet{build: build, built: map[nhi.Provider]controller{}, errs: map[nhi.Provider]error{}}
}

func (s *controlSet) get(p nhi.Provider) (controller, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.built[p]; ok {
		return c, nil
	}
	if err, ok := s.errs[p]; ok {
		return nil, err
	}
	b, ok := s.build[p]
	if !ok {
		err := fmt.Errorf("provider %s is not configured for revocation: add its section under providers", p)
		s.errs[p] = err
		return nil, err
	}
	c, err := b()
	if err != nil {
		err = fmt.Errorf("%s controls: %w", p, err)
		s.errs[p] = err
		return nil, err
	}
	s.built[p] = c
	return c, nil
}

// configControls builds the controls of the configured providers from the
// same sections the collectors read, the AWS one under the revocation role
// (revoke.aws_role_name) when it is set. The endpoints are the
// configuration's, so the controls reach an emulator exactly as the scan
// does.
func (a *app) configControls(cfg config.Config, ownerTagKeys []string) *controlSet {
	p := cfg.Providers
	build := map[nhi.Provider]func() (controller, error){}
	if p.AWS != nil {
		build[nhi.AWS] = func() (controller, error) {
			c, err := a.awsConfig(p.AWS, cfg.FilesOf("aws"), ownerTagKeys)
			if err != nil {
				return nil, err
			}
			if cfg.Revoke.AWSRoleName != "" {
				c.RoleName = cfg.Revoke.AWSRoleName
			}
			return aws.NewControls(c)
		}
	}
	if p.Azure != nil {
		build[nhi.Azure] = func() (controller, error) { return azure.NewControls(a.azureConfig(p.Azure, ownerTagKeys)) }
	}
	if p.GCP != nil {
		build[nhi.GCP] = func() (controller, error) { return gcp.NewControls(a.gcpConfig(p.GCP, ownerTagKeys)) }
	}
	if p.GitHub != nil {
		build[nhi.GitHub] = func() (controller, error) { return github.NewControls(a.githubConfig(p.GitHub, ownerTagKeys)) }
	}
	return newControlSet(build)
}

// planControls adapts one provider's controls to revoke.Controls: the
// request carries the identity as the plan's scan collected it.
type planControls struct {
	ctl controller
	ids map[string]*nhi.Identity
}

func (c planControls) request(a *revoke.Action) (collectors.ActionRequest, error) {
	id, ok := c.ids[a.IdentityID]
	if !ok {
		return collectors.ActionRequest{}, fmt.Errorf("identity %s is not in the plan's scan", a.IdentityID)
	}
	return collectors.ActionRequest{Identity: *id, CredentialID: a.CredentialID, GrantID: a.GrantID}, nil
}

func (c planControls) Inspect(ctx context.Context, a *revoke.Action) (revoke.State, error) {
	req, err := c.request(a)
	if err != nil {
		return revoke.State{}, err
	}
	st, err := c.ctl.Inspect(ctx, req)
	if err != nil {
		return revoke.State{}, err
	}
	return revoke.State{Exists: st.Exists, ID: st.ID, Status: st.Status, Native: st.Native, Created: st.Created, Usage: st.Usage, Detail: st.Detail}, nil
}

var controlActions = map[revoke.Op]collectors.Action{
	revoke.OpDisable: collectors.Disable, revoke.OpEnable: collectors.Enable,
	revoke.OpDelete: collectors.Delete, revoke.OpRestore: collectors.Restore,
}

// grantActions are the operations on a grant: a reduce removes it, and its
// rollback restores it.
var grantActions = map[revoke.Op]collectors.Action{
	revoke.OpReduce: collectors.RemoveGrant, revoke.OpRestore: collectors.RestoreGrant,
}

func (c planControls) Act(ctx context.Context, a *revoke.Action, op revoke.Op, restore json.RawMessage) (revoke.Result, error) {
	req, err := c.request(a)
	if err != nil {
		return revoke.Result{}, err
	}
	act, ok := controlActions[op]
	if a.GrantID != "" {
		act, ok = grantActions[op]
	}
	if !ok {
		return revoke.Result{}, fmt.Errorf("operation %s: %w", op, collectors.ErrUnsupported)
	}
	req.Action, req.RestoreData = act, restore
	res, err := c.ctl.Act(ctx, req)
	if err != nil {
		return revoke.Result{}, err
	}
	return revoke.Result{Changed: res.Changed, Before: res.Before, After: res.After, Detail: res.Detail, RestoreData: res.RestoreData}, nil
}

// controlsFor gives the executor the controls of each provider, over the
// identities of inv.
func controlsFor(set *controlSet, inv *nhi.Inventory) func(nhi.Provider) (revoke.Controls, error) {
	ids := make(map[string]*nhi.Identity, len(inv.Identities))
	for i := range inv.Identities {
		ids[inv.Identities[i].ID] = &inv.Identities[i]
	}
	return func(p nhi.Provider) (revoke.Controls, error) {
		c, err := set.get(p)
		if err != nil {
			return nil, err
		}
		return planControls{ctl: c, ids: ids}, nil
	}
}

// revokeAfterAct, when set, runs after each provider action of an apply,
// before its journal row (the process tests stop the process there).
var revokeAfterAct func(*revoke.Action)

// revokeNotifier sends the notify stage's notices as email: always into
// the outbox folder (.eml files, the record of what was sent) and, when an
// smtp section is configured, through the mail server too.
func (a *app) revokeNotifier(cfg config.Config, outbox string) (*notify.RevokeMailer, error) {
	m := &notify.RevokeMailer{From: outboxMailer(cfg, outbox).From, Now: a.now,
		Transports: []notify.Transport{&notify.Outbox{Dir: outbox}}}
	if cfg.SMTP != nil {
		sm, err := a.smtpMailer(cfg.SMTP)
		if err != nil {
			return nil, err
		}
		m.Transports = append(m.Transports, sm.Transports...)
	}
	return m, nil
}

// approverAddress checks --approver: a plain email address.
func approverAddress(s string) (string, error) {
	if s == "" {
		return "", usagef("--approver EMAIL is required: who approves the actions (recorded in the journal and the audit log)")
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" {
		return "", usagef("--approver %q is not an email address", s)
	}
	return strings.ToLower(addr.Address), nil
}

// loadPlan reads a plan, a usage error when there is none.
func loadPlan(ctx context.Context, st *store.Store, id int64) (revoke.Plan, error) {
	if id <= 0 {
		return revoke.Plan{}, usagef("--plan ID is required (see nhiscan revoke status)")
	}
	p, err := st.Plan(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return p, usagef("plan %d not found", id)
	}
	return p, err
}

// printOutcomes prints a run's outcomes and returns the error that sets
// the exit code: 3 when a provider failed, 1 when an action was refused or
// could not be verified.
func (a *app) printOutcomes(rep revoke.Report) error {
	verb := "apply"
	if rep.Phase == revoke.PhaseRollback {
		verb = "rollback"
	}
	mode := "dry run (nothing changed; add --execute to act)"
	if rep.Execute {
		mode = "executed"
	}
	fmt.Fprintf(a.stdout, "%s of plan %d: %s\n", verb, rep.PlanID, mode)
	for _, o := range rep.Outcomes {
		fmt.Fprintf(a.stdout, "  #%d %-12s %s %s", o.ActionID, o.Status, o.Op, reports.TermText(o.Label))
		if o.Before != nil && o.After != nil {
			fmt.Fprintf(a.stdout, " [%s -> %s]", stateWord(*o.Before), stateWord(*o.After))
		} else if o.Before != nil {
			fmt.Fprintf(a.stdout, " [now %s]", stateWord(*o.Before))
		}
		fmt.Fprintln(a.stdout)
		if o.Note != "" {
			fmt.Fprintf(a.stdout, "      %s\n", reports.TermText(o.Note))
		}
	}
	counts := []string{}
	for _, s := range []string{revoke.OutcomeDone, revoke.OutcomeWouldAct, revoke.OutcomeAlreadyDone, revoke.OutcomeRefused, revoke.OutcomeFailed,
		revoke.OutcomeUnverified, revoke.OutcomeBlocked, revoke.OutcomeSkipped, revoke.OutcomeIrreversible} {
		if n := rep.Count(s); n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, s))
		}
	}
	fmt.Fprintf(a.stdout, "  %s\n", strings.Join(counts, ", "))
	switch {
	case rep.Count(revoke.OutcomeFailed) > 0:
		return fmt.Errorf("%d action(s) failed at the provider; they are journaled and a rerun retries them", rep.Count(revoke.OutcomeFailed))
	case rep.Count(revoke.OutcomeRefused)+rep.Count(revoke.OutcomeUnverified) > 0:
		return failError{fmt.Sprintf("%d action(s) refused (the target changed since the plan) or not verified", rep.Count(revoke.OutcomeRefused)+rep.Count(revoke.OutcomeUnverified))}
	}
	return nil
}

func stateWord(s revoke.State) string {
	if !s.Exists {
		return "gone"
	}
	if s.Native != "" {
		return s.Native
	}
	return string(s.Status)
}
