package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/revoke"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/reports"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// planOptions are revoke plan's flags.
type planOptions struct {
	stage     string
	scanID    int64
	campaigns []int64
	catalogs  []string
	format    string
	noLive    bool
	actor     string
	// source is all (default), campaigns or policies: what the plan reads.
	source string
}

func (a *app) revokePlanCmd() *cobra.Command {
	var o planOptions
	cmd := &cobra.Command{
		Use:   "plan --stage notify|disable|delete",
		Short: "Build a revocation plan of one stage from campaign decisions and the configured policies",
		Long: `plan builds the plan of one stage from the latest scan (or --scan): the revoke
and reduce decisions of closed campaigns (a decision of an open campaign is
listed, blocked), the revoke or disable defaults of unanswered items, and the
revoke.policies of the configuration (all off by default). Each action names
its target by immutable id, the provider operation, its reasons and the facts
it relies on, with their scan and as-of time. The guardrails (coverage,
freshness, protected, minimum age, caps, stage order) block actions and say
why. Nothing is changed: 'nhiscan revoke apply --plan ID' applies it.

Stages: notify tells each owner what will be disabled and from when; disable
contains each target reversibly once its owner's notice is revoke.notice_period
old; delete removes what was disabled at least revoke.delete_grace ago.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.revokePlan(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.stage, "stage", "", "notify, disable or delete (required)")
	f.Int64Var(&o.scanID, "scan", 0, "scan to plan from (default: the latest)")
	f.Int64SliceVar(&o.campaigns, "campaign", nil, "read only these campaigns' decisions (repeatable; default: every campaign)")
	f.StringSliceVar(&o.catalogs, "catalog", nil, "catalog (protected roles, people; default: config 'catalog')")
	f.StringVar(&o.format, "format", "table", "output: table or json")
	f.BoolVar(&o.noLive, "no-live-read", false, "never re-read a credential whose usage the scan could not tell")
	f.StringVar(&o.source, "source", "all", "what the plan reads: all, campaigns (decisions and defaults only) or policies (the configured policies only)")
	completeValues(cmd, "source", func() []string { return []string{"all", "campaigns", "policies"} })
	completeValues(cmd, "stage", func() []string { return []string{"notify", "disable", "delete"} })
	completeValues(cmd, "format", func() []string { return []string{"table", "json"} })
	return cmd
}

func (a *app) revokePlan(ctx context.Context, o planOptions) error {
	stage := revoke.Stage(o.stage)
	if !stage.Valid() {
		return usagef("--stage %q: want notify, disable or delete (each stage is its own plan)", o.stage)
	}
	if o.format != "table" && o.format != "json" {
		return usagef("--format %q: want table or json", o.format)
	}
	switch o.source {
	case "", "all", "campaigns", "policies":
	default:
		return usagef("--source %q: want all, campaigns or policies", o.source)
	}
	cfg, cat, now, err := a.configAndCatalog(o.catalogs)
	if err != nil {
		return err
	}
	o.actor = actor(a.getenv)
	return a.withExisting(ctx, cfg.Database, readWrite, func(st *store.Store) error {
		p, err := a.buildPlan(ctx, st, cat, cfg.Revoke, a.configControls(cfg, cat.Defaults.OwnerTagKeys), stage, o, now)
		if err != nil {
			return err
		}
		if len(p.Actions) == 0 {
			fmt.Fprintf(a.stdout, "nothing to plan from scan %d: no source asks for a revocation\n", p.ScanID)
			for _, s := range p.Sources {
				fmt.Fprintf(a.stdout, "  source: %s\n", reports.TermText(s))
			}
			if len(p.Sources) == 0 {
				fmt.Fprintf(a.stdout, "  (no closed campaign decision, and every revoke.policies entry is off)\n")
			}
			return nil
		}
		if p.ID, err = st.CreatePlan(ctx, p); err != nil {
			return err
		}
		if o.format == "json" {
			return a.printJSON(p)
		}
		a.printPlan(p)
		return nil
	})
}

// buildPlan reads what a plan is built from (the scan, its findings and
// ownership, the campaigns, the history of earlier plans), re-reads the
// credentials whose usage the scan could not tell when a policy needs it,
// and builds the plan (not stored).
func (a *app) buildPlan(ctx context.Context, st *store.Store, cat *catalog.Catalog, rc config.Revoke, controls *controlSet,
	stage revoke.Stage, o planOptions, now time.Time) (revoke.Plan, error) {
	sc, err := a.planScan(ctx, st, o.scanID)
	if err != nil {
		return revoke.Plan{}, err
	}
	inv, _, err := st.Snapshot(ctx, sc.ID)
	if err != nil {
		return revoke.Plan{}, err
	}
	findings, err := st.ScanFindings(ctx, sc.ID)
	if err != nil {
		return revoke.Plan{}, err
	}
	ownership, err := st.ScanOwnership(ctx, sc.ID)
	if err != nil {
		return revoke.Plan{}, err
	}
	var campaigns []revoke.CampaignInput
	if o.source != "policies" {
		if campaigns, err = campaignInputs(ctx, st, o.campaigns); err != nil {
			return revoke.Plan{}, err
		}
	}
	if o.source == "campaigns" {
		rc.Dormant, rc.DepartedOwner, rc.Exposed = config.RevokePolicy{}, config.RevokePolicy{}, false
	}
	plans, err := st.Plans(ctx)
	if err != nil {
		return revoke.Plan{}, err
	}
	journal, err := st.RevokeJournal(ctx, 0)
	if err != nil {
		return revoke.Plan{}, err
	}
	rc = rc.Defaults(cat.Defaults.UsageFreshness)
	in := revoke.Input{Stage: stage, ScanID: sc.ID, Inventory: &inv, Findings: findings, Ownership: ownership, Catalog: cat,
		Campaigns: campaigns, History: revoke.History(plans, journal), Now: now, CreatedBy: o.actor,
		Guardrails: revoke.Guardrails{Freshness: rc.Freshness, MinIdentityAge: *rc.MinIdentityAge, MaxPerRun: rc.MaxPerRun,
			MaxPerScope: rc.MaxPerScope, NoticePeriod: *rc.NoticePeriod, DeleteGrace: *rc.DeleteGrace},
		Policies: revoke.Policies{Dormant: revoke.Policy(rc.Dormant), DepartedOwner: revoke.Policy(rc.DepartedOwner), Exposed: revoke.Policy{On: rc.Exposed}},
	}
	if rc.Dormant.On && !o.noLive {
		in.Live = a.liveReads(ctx, &inv, controls)
		if len(in.Live) > 0 {
			fmt.Fprintf(a.stderr, "nhiscan: re-read %d credential(s) whose use scan %d could not tell\n", len(in.Live), sc.ID)
		}
	}
	return revoke.Build(in), nil
}

// planScan is --scan, or the latest finished scan.
func (a *app) planScan(ctx context.Context, st *store.Store, id int64) (store.Scan, error) {
	if id == 0 {
		sc, err := st.LatestScan(ctx)
		if errors.Is(err, store.ErrNotFound) {
			return sc, usagef("no completed scan yet: run 'nhiscan scan' first")
		}
		return sc, err
	}
	if err := checkFinishedScan(ctx, st, id); err != nil {
		return store.Scan{}, err
	}
	return st.Scan(ctx, id)
}

// campaignInputs reads the campaigns (only ids, when given) with their
// items and decisions.
func campaignInputs(ctx context.Context, st *store.Store, ids []int64) ([]revoke.CampaignInput, error) {
	cs, err := st.Campaigns(ctx)
	if err != nil {
		return nil, err
	}
	var out []revoke.CampaignInput
	for _, c := range cs {
		if len(ids) > 0 && !slices.Contains(ids, c.ID) {
			continue
		}
		items, err := st.CampaignItems(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		ds, err := st.CampaignDecisions(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, revoke.CampaignInput{Campaign: c, Items: items, Decisions: ds})
	}
	for _, id := range ids {
		if !slices.ContainsFunc(out, func(c revoke.CampaignInput) bool { return c.Campaign.ID == id }) {
			return nil, usagef("campaign %d not found", id)
		}
	}
	return out, nil
}

// maxLiveReads bounds the re-reads one plan makes.
const maxLiveReads = 200

// liveReads re-reads, through the configured controls, the active (or
// disabled) credentials whose usage the scan could not tell (for example two AWS
// keys of one user created in the same second, which the credential report
// cannot tell apart), so the dormant policy judges each by its own last
// use. A re-read that fails adds nothing: the credential stays unknown.
func (a *app) liveReads(ctx context.Context, inv *nhi.Inventory, controls *controlSet) map[string]revoke.State {
	out := map[string]revoke.State{}
	ctl := controlsFor(controls, inv)
	for i := range inv.Identities {
		id := &inv.Identities[i]
		for j := range id.Credentials {
			c := &id.Credentials[j]
			if (c.Status != nhi.StatusActive && c.Status != nhi.StatusDisabled) || c.Usage.State != nhi.UsageUnknown || id.ProviderManaged || len(out) >= maxLiveReads {
				continue
			}
			pc, err := ctl(id.Provider)
			if err != nil {
				continue
			}
			act := revoke.Action{Target: revoke.Target{Provider: id.Provider, Scope: id.Scope, IdentityID: id.ID, CredentialID: c.ID, CredentialType: c.Type}}
			st, err := pc.Inspect(ctx, &act)
			if err != nil {
				a.log.Warn("revoke plan: re-read", "identity", id.ID, "credential", c.ID, "error", err)
				continue
			}
			if st.Exists && st.Usage.Known() {
				out[act.Target.Key()] = st
			}
		}
	}
	return out
}

// printPlan prints a plan: its sources, then its ready, blocked and
// skipped actions with their operation, reasons, facts and blocks.
func (a *app) printPlan(p revoke.Plan) {
	c := p.Count()
	fmt.Fprintf(a.stdout, "plan %d: %s stage from scan %d, %d action(s): %d ready, %d blocked, %d skipped\n",
		p.ID, p.Stage, p.ScanID, len(p.Actions), c.Ready, c.Blocked, c.Skipped)
	for _, s := range p.Sources {
		fmt.Fprintf(a.stdout, "  source: %s\n", reports.TermText(s))
	}
	for _, part := range []struct {
		name string
		keep func(*revoke.Action) bool
	}{
		{"ready", func(x *revoke.Action) bool { return x.Ready() }},
		{"blocked", func(x *revoke.Action) bool { return x.Skip == "" && len(x.Blocked) > 0 }},
		{"skipped", func(x *revoke.Action) bool { return x.Skip != "" }},
	} {
		first := true
		for i := range p.Actions {
			x := &p.Actions[i]
			if !part.keep(x) {
				continue
			}
			if first {
				fmt.Fprintf(a.stdout, "%s:\n", part.name)
				first = false
			}
			a.printAction(x)
		}
	}
	if c.Ready > 0 {
		fmt.Fprintf(a.stdout, "next: nhiscan revoke apply --plan %d --approver EMAIL   (a dry run; add --execute to act)\n", p.ID)
	}
}

func (a *app) printAction(x *revoke.Action) {
	t := reports.TermText
	fmt.Fprintf(a.stdout, "  #%d %s %s %s: %s", x.ID, x.Provider, t(x.Scope), t(x.Label()), x.Op)
	if x.Operation != "" {
		fmt.Fprintf(a.stdout, " via %s", t(x.Operation))
	}
	if x.Undo != "" {
		fmt.Fprintf(a.stdout, " (undo: %s)", t(x.Undo))
	} else if x.Op == revoke.OpDelete && x.Ready() {
		fmt.Fprintf(a.stdout, " (irreversible)")
	}
	fmt.Fprintln(a.stdout)
	if x.Then != "" {
		fmt.Fprintf(a.stdout, "      announces: %s\n", t(x.Then))
	}
	for _, r := range x.Reasons {
		fmt.Fprintf(a.stdout, "      reason: %s: %s\n", t(r.Ref), t(r.Text))
	}
	if x.Skip != "" {
		fmt.Fprintf(a.stdout, "      skipped: %s\n", t(x.Skip))
		return
	}
	for _, b := range x.Blocked {
		fmt.Fprintf(a.stdout, "      blocked (%s): %s\n", b.Guard, t(b.Why))
	}
	for _, f := range x.Facts {
		where := []string{}
		if f.Source != "" {
			where = append(where, f.Source)
		}
		if f.ScanID != 0 {
			where = append(where, fmt.Sprintf("scan %d", f.ScanID))
		}
		if !f.AsOf.IsZero() {
			where = append(where, "as of "+f.AsOf.UTC().Format(time.RFC3339))
		}
		fmt.Fprintf(a.stdout, "      fact: %s: %s (%s)\n", t(f.Name), t(f.Value), t(strings.Join(where, ", ")))
	}
}
