package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/internal/web"
	"github.com/nhiscan/nhiscan/internal/web/oidctest"
	"github.com/nhiscan/nhiscan/reports"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// demoOwner is who the demo's identity provider signs in: the campaign
// owner (and fallback reviewer) of the demo organisation.
const demoOwner = "grace.kim@acme.example"

// demoServe is `nhiscan demo --serve`: after the demo, a second campaign
// over the last scan is opened for real (its invitations join the outbox),
// and the review page serves it until interrupted. The address of one
// reviewer's page is printed; an in-process OpenID provider signs the
// campaign owner in to the owner's view. The clock goes on from the demo's
// (simulated) last day.
func (a *app) demoServe(ctx context.Context, out, listen string) error {
	start, clockStart := a.now(), time.Now()
	now := func() time.Time { return start.Add(time.Since(clockStart)) }
	st, err := a.openExisting(ctx, filepath.Join(out, "nhiscan.db"), readWrite)
	if err != nil {
		return err
	}
	defer st.Close()
	cat, err := catalog.Load(start, filepath.Join(out, "catalog"))
	if err != nil {
		return fmt.Errorf("demo catalog: %w", err)
	}
	signer, err := campaign.LoadKey(filepath.Join(out, "credentials", "link.key"), "")
	if err != nil {
		return err
	}
	ln, err := a.listen(ctx, config.Serve{Listen: listen})
	if err != nil {
		return err
	}
	defer ln.Close() // when something below fails before serving
	base := ln.base
	svc := &campaign.Service{Store: st, Notifier: outboxMailer(config.Config{}, filepath.Join(out, "outbox")), Signer: signer,
		ReviewURL: base + "/review", Catalog: cat, Now: now, Log: a.log}
	scan, err := st.LatestScan(ctx)
	if err != nil {
		return err
	}
	c, items, err := svc.Create(ctx, campaign.CreateInput{Name: "Live review (demo --serve)", ScanID: scan.ID, Policy: demoPolicy(),
		Deadline: now().Add(14 * duration.Day), CreatedBy: "demo-operator"})
	if err != nil {
		return fmt.Errorf("demo --serve: %w", err)
	}
	res, err := svc.Send(ctx, c.ID, campaign.SendOptions{Actor: "demo-operator"})
	if err != nil {
		return fmt.Errorf("demo --serve: %w", err)
	}
	idp, err := oidctest.New(oidctest.Options{ClientID: "nhiscan-demo", RedirectURL: base + "/auth/callback",
		Email: demoOwner, EmailVerified: true, Now: now})
	if err != nil {
		return err
	}
	defer idp.Close()
	srv, err := web.New(ctx, web.Config{Campaigns: web.Service{Service: svc, Lister: st}, Signer: signer, People: cat.People, Now: now, Log: a.log,
		OIDC: &web.OIDC{Issuer: idp.Issuer, ClientID: "nhiscan-demo", RedirectURL: base + "/auth/callback",
			AllowedOwners: []string{demoOwner}, HTTPClient: idp.Client()}})
	if err != nil {
		return err
	}
	reviewer := demoReviewer(items)
	link, _ := svc.Link(&c, reviewer)
	k := campaign.ComputeKPIs(items, nil, now())
	fmt.Fprintf(a.stdout, "\nreview page (demo --serve): %s\n", base)
	fmt.Fprintf(a.stdout, "  campaign %d %q is open: %d items for %d reviewers; %d invitations in %s\n",
		c.ID, c.Name, k.Items, k.Reviewers, len(res.Notices), filepath.Join(out, "outbox"))
	fmt.Fprintf(a.stdout, "  %s's review: %s\n", reports.TermText(reviewer), link)
	fmt.Fprintf(a.stdout, "  owner's view: %s/owner (the demo's identity provider signs you in as %s)\n", base, demoOwner)
	fmt.Fprintf(a.stdout, "  serving until interrupted (Ctrl-C)\n")
	return a.serveOn(ctx, ln, srv.Handler(), true)
}

// checkDemoListen refuses a --serve address other hosts could reach: the
// demo serves clear text.
func checkDemoListen(listen string) error {
	if !config.LoopbackListen(listen) {
		return usagef("--listen %q: the demo serves clear text, so only on a loopback address (127.0.0.1:8080)", listen)
	}
	return nil
}

// demoReviewer is the reviewer whose link the demo prints: the platform
// owner when they hold items, else the first reviewer by name.
func demoReviewer(items []campaign.Item) string {
	var all []string
	for _, it := range items {
		if it.ParentID == 0 {
			all = append(all, it.Reviewer)
		}
	}
	if slices.Contains(all, "carol.diaz@acme.example") {
		return "carol.diaz@acme.example"
	}
	slices.SortFunc(all, strings.Compare)
	return all[0]
}
