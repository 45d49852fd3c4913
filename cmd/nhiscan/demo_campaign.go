package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/notify"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/reports"
	"github.com/nhiscan/nhiscan/rules"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// demoReviewURL is where `nhiscan serve` would host the review page.
const demoReviewURL = "http://127.0.0.1:8080/review"

// demoRun is the demo's recertification campaign: the service over the
// demo database, on a clock the script moves forward day by day.
type demoRun struct {
	a      *app
	svc    *campaign.Service
	clock  time.Time
	outbox string
	c      campaign.Campaign
	people campaign.People
}

// demoCampaign runs a recertification campaign across the four providers
// on scan 2: invitations to every owner (as .eml files in <out>/outbox, and
// over SMTP when the configuration has an smtp section), scripted decisions
// (a certification, a revoked key, a leaver's identity reassigned, bulk
// certifications), reminders, one identity left past its deadline and
// escalated, and the close with its KPIs. The demo's clock then stands at
// the close, so the report and evidence that follow include the campaign.
func (a *app) demoCampaign(ctx context.Context, st *store.Store, cat *catalog.Catalog, scanID int64, out string) error {
	d, err := a.newDemoRun(st, cat, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "\nrecertification campaign (simulated days from today):\n")
	c, items, err := d.svc.Create(ctx, campaign.CreateInput{Name: "Q4 NHI recertification", ScanID: scanID,
		Policy: demoPolicy(), Deadline: d.clock.Add(14 * duration.Day), CreatedBy: "demo-operator"})
	if err != nil {
		return fmt.Errorf("demo campaign: %w", err)
	}
	d.c = c
	k := campaign.ComputeKPIs(items, nil, d.clock)
	fmt.Fprintf(a.stdout, "  day 0: campaign %d over scan %d: %d items (%d identities across aws, azure, gcp and github, "+
		"their credentials and grants) for %d reviewers; %d leaver items, %d conflicts routed to a second reviewer\n",
		c.ID, scanID, k.Items, k.Identities, k.Reviewers, k.Leavers, k.Conflicts)
	if err := d.send(ctx, 0, false); err != nil {
		return err
	}
	if err := d.script(ctx); err != nil {
		return err
	}
	k, err = d.svc.Close(ctx, c.ID, "demo-operator")
	if err != nil {
		return fmt.Errorf("demo campaign: %w", err)
	}
	fmt.Fprintf(a.stdout, "  day 16: closed: %s\n", kpiLine(k))
	fmt.Fprintf(a.stdout, "          the approved state is the new certification; decisions are in the audit log and the evidence pack\n")
	emls, _ := filepath.Glob(filepath.Join(d.outbox, "*.eml"))
	fmt.Fprintf(a.stdout, "  outbox: %d messages in %s (review links point at %s)\n", len(emls), d.outbox, demoReviewURL)
	fmt.Fprintf(a.stdout, "  see:    nhiscan campaign status --db %s --campaign %d\n", filepath.Join(out, "nhiscan.db"), c.ID)
	close := d.clock
	a.now = func() time.Time { return close }
	return nil
}

func demoPolicy() campaign.Policy {
	return campaign.Policy{Reminders: []time.Duration{7 * duration.Day, duration.Day}, EscalateAfter: duration.Day,
		Unanswered: campaign.DefaultNone, LeaverDeadline: 7 * duration.Day, LeaverUnanswered: campaign.DefaultDisable,
		Fallback: "grace.kim@acme.example", LinkTTL: 21 * duration.Day}
}

// newDemoRun writes a fresh review-link key and an empty outbox, and
// builds the service: mail to the outbox, and to SMTP when configured.
func (a *app) newDemoRun(st *store.Store, cat *catalog.Catalog, out string) (*demoRun, error) {
	d := &demoRun{a: a, clock: a.now().UTC().Truncate(time.Second), outbox: filepath.Join(out, "outbox"), people: campaign.NewPeople(cat.People)}
	if err := os.RemoveAll(d.outbox); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	keyFile := filepath.Join(out, "credentials", "link.key")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, err
	}
	signer, err := campaign.LoadKey(keyFile, "")
	if err != nil {
		return nil, err
	}
	mailer := &notify.Mailer{From: demoMailFrom, Transports: []notify.Transport{&notify.Outbox{Dir: d.outbox}}}
	if cfg, err := a.loadConfig(); err == nil && cfg.SMTP != nil {
		m, err := a.smtpMailer(cfg.SMTP)
		if err != nil {
			return nil, err
		}
		mailer.From = cfg.SMTP.From
		mailer.Transports = append(mailer.Transports, m.Transports...)
		fmt.Fprintf(a.stdout, "  (mail also goes to the configured SMTP server %s)\n", cfg.SMTP.Host)
	}
	d.svc = &campaign.Service{Store: st, Notifier: mailer, Signer: signer, ReviewURL: demoReviewURL, Catalog: cat,
		Now: func() time.Time { return d.clock }, Log: a.log}
	return d, nil
}

// at moves the clock to the given day (and hour) after the campaign's start.
func (d *demoRun) at(day int, hour time.Duration) {
	d.clock = d.c.CreatedAt.Add(time.Duration(day)*duration.Day + hour)
}

// send runs send (or remind) and prints what went out.
func (d *demoRun) send(ctx context.Context, day int, remind bool) error {
	opt := campaign.SendOptions{Actor: "demo-operator"}
	var res campaign.SendResult
	var err error
	if remind {
		res, err = d.svc.Remind(ctx, d.c.ID, opt)
	} else {
		res, err = d.svc.Send(ctx, d.c.ID, opt)
	}
	if err != nil {
		return fmt.Errorf("demo campaign: %w", err)
	}
	for _, as := range res.Escalated {
		fmt.Fprintf(d.a.stdout, "  day %d: item %d is past its deadline: escalated to %s\n", day, as.ItemID, as.Reviewer)
	}
	byKind := map[campaign.NoticeKind][]string{}
	for _, n := range res.Notices {
		if n.Err != "" {
			return fmt.Errorf("demo campaign: notice to %s: %s", n.To, n.Err)
		}
		byKind[n.Kind] = append(byKind[n.Kind], n.To)
	}
	for _, kind := range []campaign.NoticeKind{campaign.NoticeInvite, campaign.NoticeReminder, campaign.NoticeEscalation} {
		if to := byKind[kind]; len(to) > 0 {
			fmt.Fprintf(d.a.stdout, "  day %d: %d %s email(s): %s\n", day, len(to), kind, strings.Join(to, ", "))
		}
	}
	return nil
}

// script plays the reviewers: day 1 a certification, a revoked key and a
// leaver's identity reassigned; day 2 the new owner claims it and everyone
// else certifies the rest in bulk, but for one identity nobody answers;
// reminders on day 7, escalation on day 15.
func (d *demoRun) script(ctx context.Context) error {
	st, err := d.svc.Status(ctx, d.c.ID)
	if err != nil {
		return err
	}
	items := st.Items
	d.at(1, 0)
	first := d.pickFirst(items)
	if err := d.decide(ctx, 1, items, first...); err != nil {
		return err
	}
	d.at(1, time.Hour)
	if err := d.send(ctx, 1, true); err != nil {
		return err
	}
	d.at(2, 0)
	if err := d.bulkRest(ctx); err != nil {
		return err
	}
	d.at(7, time.Hour)
	if err := d.send(ctx, 7, true); err != nil {
		return err
	}
	d.at(15, time.Hour)
	if err := d.send(ctx, 15, true); err != nil {
		return err
	}
	d.at(16, 0)
	return nil
}

// pickFirst chooses day 1's decisions: an identity of the platform owner
// certified, a dormant access key revoked, and a leaver's identity handed
// to a colleague of the leaver.
func (d *demoRun) pickFirst(items []campaign.Item) []campaign.Decision {
	var out []campaign.Decision
	for _, it := range items {
		if it.Kind == campaign.KindIdentity && it.Reviewer == "carol.diaz@acme.example" && it.Conflict == "" {
			out = append(out, campaign.Decision{ItemID: it.ID, Reviewer: it.Reviewer, Kind: campaign.Certify, Until: d.clock.AddDate(0, 6, 0),
				Justification: "provisions production with Terraform; reviewed with the platform team", Source: "demo"})
			break
		}
	}
	// A dormant key of an identity that stays (an AWS access key when there
	// is one): the reviewer keeps the identity and revokes that key only.
	var key *campaign.Item
	for i := range items {
		it := &items[i]
		if it.Kind == campaign.KindCredential && hasRule(*it, rules.RuleDormantCredential) && items[it.ParentID-1].Kind == campaign.KindIdentity &&
			(key == nil || (key.CredentialType != nhi.CredAWSAccessKey && it.CredentialType == nhi.CredAWSAccessKey)) {
			key = it
		}
	}
	if key != nil {
		out = append(out, campaign.Decision{ItemID: key.ID, Reviewer: key.Reviewer, Kind: campaign.Revoke,
			Justification: "dormant key: nothing has used it within the dormancy threshold", Source: "demo"})
	}
	for _, it := range items {
		if it.Kind != campaign.KindLeaver || it.Context.Leaver == nil {
			continue
		}
		if to := d.successor(it); to != "" {
			out = append(out, campaign.Decision{ItemID: it.ID, Reviewer: it.Reviewer, Kind: campaign.Reassign, ReassignTo: to, Source: "demo"})
			break
		}
	}
	return out
}

func hasRule(it campaign.Item, rule string) bool {
	return slices.ContainsFunc(it.Context.Findings, func(f campaign.FindingRef) bool { return f.RuleID == rule && f.Exception == "" })
}

// successor is an active colleague of the leaver (same team), other than
// the reviewer.
func (d *demoRun) successor(it campaign.Item) string {
	leaver, ok := d.people.Lookup(it.Context.Leaver.Person)
	if !ok || leaver.Team == "" {
		return ""
	}
	var ids []string
	for _, p := range d.svc.Catalog.People {
		ids = append(ids, p.ID)
	}
	slices.Sort(ids)
	for _, id := range ids {
		p, _ := d.people.Lookup(id)
		if p.Team == leaver.Team && d.people.Active(id, d.clock) && id != it.Reviewer {
			return id
		}
	}
	return ""
}

func (d *demoRun) decide(ctx context.Context, day int, items []campaign.Item, ds ...campaign.Decision) error {
	if err := d.svc.Decide(ctx, d.c.ID, ds); err != nil {
		return fmt.Errorf("demo campaign: %w", err)
	}
	for _, x := range ds {
		what := string(x.Kind)
		if x.Kind == campaign.Reassign {
			what += " to " + x.ReassignTo
		}
		fmt.Fprintf(d.a.stdout, "  day %d: %s: %s item %d (%s)\n", day, x.Reviewer, what, x.ItemID, reports.TermText(items[x.ItemID-1].Label()))
	}
	return nil
}

// bulkRest has each reviewer certify their open identities in one bulk
// action, except one identity nobody answers (it will escalate).
func (d *demoRun) bulkRest(ctx context.Context) error {
	st, err := d.svc.Status(ctx, d.c.ID)
	if err != nil {
		return err
	}
	last := campaign.Last(st.Decisions)
	left := 0
	byReviewer := map[string][]int{}
	for i := range st.Items {
		it := &st.Items[i]
		if it.ParentID != 0 || campaign.Resolved(it, last) {
			continue
		}
		if left == 0 && it.Kind == campaign.KindIdentity && campaign.EscalationTarget(d.people, d.c.Policy.Fallback, it.Reviewer, it.Conflicted, d.clock) != "" {
			left = it.ID
			continue
		}
		byReviewer[it.Reviewer] = append(byReviewer[it.Reviewer], it.ID)
	}
	reviewers := make([]string, 0, len(byReviewer))
	for r := range byReviewer {
		reviewers = append(reviewers, r)
	}
	slices.Sort(reviewers)
	n := 0
	for _, r := range reviewers {
		tmpl := campaign.Decision{Reviewer: r, Kind: campaign.Certify, Source: "demo",
			Justification: "reviewed in the Q4 campaign: still needed with this access"}
		if err := d.svc.Bulk(ctx, d.c.ID, tmpl, byReviewer[r]); err != nil {
			return fmt.Errorf("demo campaign: bulk for %s: %w", r, err)
		}
		n += len(byReviewer[r])
	}
	fmt.Fprintf(d.a.stdout, "  day 2: %d reviewers certified %d identities in bulk (recorded as bulk)\n", len(reviewers), n)
	if left > 0 {
		fmt.Fprintf(d.a.stdout, "  day 2: nobody answers for item %d (%s)\n", left, reports.TermText(st.Items[left-1].IdentityName))
	}
	return nil
}

// demoMailFrom is the sender of the demo's campaign and revocation notices.
const demoMailFrom = "nhiscan <nhiscan@acme.example>"
