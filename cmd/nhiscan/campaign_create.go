package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
)

func (a *app) campaignCreateCmd() *cobra.Command {
	var (
		name, deadline, due string
		scanID              int64
		providers           []string
		f                   campaign.Filter
		catalogs            []string
	)
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Build a draft campaign from a scan and a scope",
		Long: `create builds a draft campaign from a stored scan (default: the latest): one
item per identity in scope and, below it, one per credential and grant, each
with its role and purpose, entitlements against the baseline, findings with
evidence, last use with its source and as-of time, drift since the last
certification and the coverage gaps that affect it. Items are routed to the
role's business owner, else the technical owner, else (when the owner left)
the owner's manager, else the fallback reviewer; a reviewer with a conflict
of interest (self-review, creator of a credential) is skipped and the
conflict recorded. Identities whose owner left become leaver items for
their manager, with the shorter leaver deadline. Nothing is sent until
'campaign send'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			for _, p := range providers {
				if !nhi.Provider(p).Valid() {
					return usagef("--provider %q: want aws, azure, gcp or github", p)
				}
				f.Providers = append(f.Providers, nhi.Provider(p))
			}
			for _, fam := range f.Families {
				if !slices.Contains(nhi.Families, fam) {
					return usagef("--family %q: want one of %s", fam, strings.Join(nhi.Families, ", "))
				}
			}
			if deadline != "" && due != "" {
				return usagef("--deadline and --due: give one")
			}
			return a.withCampaigns(ctx, readWrite, catalogs, true, func(e *campaignEnv) error {
				if scanID == 0 {
					latest, err := e.st.LatestScan(ctx)
					if err != nil {
						return usagef("no completed scan yet")
					}
					scanID = latest.ID
				}
				sc, err := e.st.Scan(ctx, scanID)
				if errors.Is(err, store.ErrNotFound) {
					return usagef("scan %d not found", scanID)
				}
				if err != nil {
					return err
				}
				if sc.Status != store.ScanComplete && sc.Status != store.ScanPartial {
					return usagef("scan %d is %s: campaigns are built from a completed scan", scanID, sc.Status)
				}
				policy := campaignPolicy(e.cfg.Campaigns)
				if fb := policy.Fallback; fb != "" && !campaign.NewPeople(e.cat.People).Active(fb, a.now()) {
					return usagef("campaigns.fallback_reviewer %s is not an active person in the catalog", fb)
				}
				end, err := a.campaignDeadline(deadline, due, e.cfg.Campaigns.Deadline)
				if err != nil {
					return err
				}
				if name == "" {
					name = fmt.Sprintf("Recertification of scan %d", scanID)
				}
				c, items, err := e.svc.Create(ctx, campaign.CreateInput{Name: name, ScanID: scanID, Filter: f, Policy: policy,
					Deadline: end, CreatedBy: actor(a.getenv)})
				if errors.Is(err, campaign.ErrEmpty) || errors.Is(err, campaign.ErrUnrouted) {
					return usageError{err}
				}
				if err != nil {
					return err
				}
				a.printCreated(c, items, sc.Status)
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&name, "name", "", "campaign name (default: \"Recertification of scan N\")")
	fl.Int64Var(&scanID, "scan", 0, "scan to build the campaign from (default: the latest completed scan)")
	fl.StringSliceVar(&providers, "provider", nil, "only these providers (aws, azure, gcp, github; repeatable)")
	fl.StringSliceVar(&f.Scopes, "scope", nil, "only these accounts, projects, tenants or organisations (globs; repeatable)")
	fl.StringSliceVar(&f.Roles, "role", nil, "only identities of these catalog roles (repeatable)")
	fl.StringSliceVar(&f.Owners, "owner", nil, "only identities of these owners (email; repeatable)")
	fl.StringSliceVar(&f.Families, "family", nil, "only identities with an open finding of these families (repeatable)")
	fl.BoolVar(&f.PrivilegedOnly, "privileged-only", false, "only identities that hold a privileged grant")
	fl.BoolVar(&f.WithFindingsOnly, "with-findings", false, "only identities with an open finding")
	fl.BoolVar(&f.LeaversOnly, "leavers", false, "only identities whose owner has left (the leaver flow)")
	fl.StringVar(&deadline, "deadline", "", "deadline, a date (2026-12-31) or RFC 3339 (default: now + campaigns.deadline, 14d)")
	fl.StringVar(&due, "due", "", "deadline as a duration from now (14d, 3w)")
	fl.StringSliceVar(&catalogs, "catalog", nil, "catalog for roles and people (default: config 'catalog')")
	completeValues(cmd, "provider", func() []string { return []string{"aws", "azure", "gcp", "github"} })
	completeValues(cmd, "family", func() []string { return nhi.Families })
	return cmd
}

// campaignDeadline is --deadline, or now plus --due, or now plus the
// configured (or default) campaign duration.
func (a *app) campaignDeadline(deadline, due string, configured time.Duration) (time.Time, error) {
	now := a.now().UTC()
	switch {
	case deadline != "":
		for _, layout := range []string{time.RFC3339, time.DateOnly} {
			if t, err := time.Parse(layout, deadline); err == nil {
				if layout == time.DateOnly {
					t = t.Add(24*time.Hour - time.Second) // the end of that day
				}
				if !t.After(now) {
					return time.Time{}, usagef("--deadline %s is not in the future", deadline)
				}
				return t.UTC(), nil
			}
		}
		return time.Time{}, usagef("--deadline %q: want a date (2026-12-31) or RFC 3339", deadline)
	case due != "":
		d, err := duration.Parse(due)
		if err != nil || d <= 0 {
			return time.Time{}, usagef("--due %q: want a positive duration (14d, 3w)", due)
		}
		return now.Add(d), nil
	case configured > 0:
		return now.Add(configured), nil
	}
	return now.Add(defaultCampaignDeadline), nil
}

func (a *app) printCreated(c campaign.Campaign, items []campaign.Item, scanStatus store.ScanStatus) {
	k := campaign.ComputeKPIs(items, nil, c.CreatedAt)
	fmt.Fprintf(a.stdout, "campaign %d created (draft) from scan %d: %d items on %d identities for %d reviewers; deadline %s\n",
		c.ID, c.ScanID, k.Items, k.Identities, k.Reviewers, fmtTime(c.Deadline))
	if k.Leavers > 0 {
		fmt.Fprintf(a.stdout, "  leavers: %d identities whose owner left go to their manager\n", k.Leavers)
	}
	if k.Conflicts > 0 {
		fmt.Fprintf(a.stdout, "  conflicts: %d items routed to a second reviewer\n", k.Conflicts)
	}
	gaps := 0
	for _, it := range items {
		if len(it.Context.Gaps) > 0 {
			gaps++
		}
	}
	if gaps > 0 {
		fmt.Fprintf(a.stdout, "  not observed: %d items show a coverage gap instead of a value\n", gaps)
	}
	if scanStatus == store.ScanPartial {
		fmt.Fprintf(a.stderr, "warning: scan %d is partial: identities in scopes it could not read are not in this campaign\n", c.ScanID)
	}
	fmt.Fprintf(a.stdout, "next: nhiscan campaign send --campaign %d   (or --dry-run --out DIR to preview the mail)\n", c.ID)
}
