package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/internal/notify"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/reports"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// campaignCmd is the parent of the recertification campaign commands.
func (a *app) campaignCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "campaign",
		Short: "Run recertification campaigns: owners certify or revoke what they own, by email",
		Long: `A campaign asks the owners of non-human identities to certify, revoke, reduce
or reassign each identity, credential and grant they own, by a deadline.

  create     build a draft campaign from a scan and a scope
  list       list campaigns
  status     progress, KPIs and reviewers of a campaign
  send       open a draft and email each reviewer their items (idempotent)
  remind     escalate overdue items and send the reminders due (idempotent)
  close      apply the defaults, record the certified state and the KPIs
  decisions  export items to CSV for offline review, import the decisions

The campaigns and smtp sections of the configuration set deadlines,
reminders, defaults, the fallback reviewer and the mail server
(docs/campaigns.md).`,
	}
	cmd.AddCommand(a.campaignCreateCmd(), a.campaignListCmd(), a.campaignStatusCmd(), a.campaignSendCmd(),
		a.campaignRemindCmd(), a.campaignCloseCmd(), a.campaignDecisionsCmd())
	return cmd
}

// campaignEnv is what a campaign command works with.
type campaignEnv struct {
	cfg config.Config
	cat *catalog.Catalog
	st  *store.Store
	svc *campaign.Service
}

// withCampaigns loads the configuration and catalog, opens the store and
// builds the campaign service with its mailer and link signer. Commands
// that route items to people (needPeople) require the catalog; commands
// that only read open the store with readOnly.
func (a *app) withCampaigns(ctx context.Context, acc access, catalogs []string, needPeople bool, fn func(*campaignEnv) error) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	cat, err := a.optionalCatalog(cfg, catalogs)
	if err != nil {
		return err
	}
	if cat == nil && needPeople {
		return usagef("no catalog: campaigns route items to the people in the catalog; pass --catalog PATH or set 'catalog' in the configuration")
	}
	svc, err := a.campaignService(cfg, cat)
	if err != nil {
		return err
	}
	st, err := a.openExisting(ctx, cfg.Database, acc)
	if err != nil {
		return err
	}
	defer st.Close()
	svc.Store = st
	return fn(&campaignEnv{cfg: cfg, cat: cat, st: st, svc: svc})
}

// campaignService builds the service without its store.
func (a *app) campaignService(cfg config.Config, cat *catalog.Catalog) (*campaign.Service, error) {
	svc := &campaign.Service{Catalog: cat, Now: a.now, Log: a.log, ReviewURL: cfg.Campaigns.ReviewURL}
	if cfg.Campaigns.ReviewURL != "" || cfg.Campaigns.LinkKeyFile != "" || a.getenv("NHISCAN_LINK_KEY") != "" {
		s, err := campaign.LoadKey(cfg.Campaigns.LinkKeyFile, a.getenv("NHISCAN_LINK_KEY"))
		if err != nil {
			return nil, usageError{err}
		}
		svc.Signer = s
	}
	if cfg.SMTP != nil {
		m, err := a.smtpMailer(cfg.SMTP)
		if err != nil {
			return nil, err
		}
		svc.Notifier = m
	}
	return svc, nil
}

// smtpMailer builds the SMTP mailer; the password comes from its file or
// NHISCAN_SMTP_PASSWORD and is never printed.
func (a *app) smtpMailer(c *config.SMTP) (*notify.Mailer, error) {
	sc := notify.SMTPConfig{Host: c.Host, Port: c.Port, TLS: c.TLS, Username: c.Username, HELO: c.HELO, Timeout: c.Timeout}
	switch {
	case c.PasswordFile != "":
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return nil, usagef("smtp password_file: %v", err)
		}
		sc.Password = strings.TrimRight(string(b), "\r\n")
	case c.Username != "":
		sc.Password = a.getenv("NHISCAN_SMTP_PASSWORD")
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, usagef("smtp ca_file: %v", err)
		}
		sc.RootCAs = x509.NewCertPool()
		if !sc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, usagef("smtp ca_file %s holds no PEM certificate", c.CAFile)
		}
	}
	tr, err := notify.NewSMTP(sc)
	if err != nil {
		return nil, usageError{err}
	}
	return &notify.Mailer{From: c.From, Transports: []notify.Transport{tr}}, nil
}

// outboxMailer writes .eml files into dir (dry runs, the demo).
func outboxMailer(cfg config.Config, dir string) *notify.Mailer {
	from := "nhiscan <nhiscan@localhost>"
	if cfg.SMTP != nil && cfg.SMTP.From != "" {
		from = cfg.SMTP.From
	}
	return &notify.Mailer{From: from, Transports: []notify.Transport{&notify.Outbox{Dir: dir}}}
}

// Campaign defaults where the configuration leaves a value unset.
const (
	defaultCampaignDeadline = 14 * duration.Day
	defaultLeaverDeadline   = 7 * duration.Day
	defaultLinkTTL          = 21 * duration.Day
)

var defaultReminders = []time.Duration{7 * duration.Day, duration.Day}

// campaignPolicy is the configuration's campaign policy with defaults.
func campaignPolicy(c config.Campaigns) campaign.Policy {
	or := func(v time.Duration, d time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		return d
	}
	p := campaign.Policy{
		Reminders: defaultReminders, EscalateAfter: c.EscalateAfter,
		Unanswered: campaign.Default(c.Unanswered), LeaverUnanswered: campaign.Default(c.LeaverUnanswered),
		LeaverDeadline: or(c.LeaverDeadline, defaultLeaverDeadline), Fallback: c.FallbackReviewer,
		LinkTTL: or(c.LinkTTL, defaultLinkTTL),
	}
	if c.RemindersSet {
		p.Reminders = nil
		for _, r := range c.Reminders {
			p.Reminders = append(p.Reminders, r)
		}
	}
	if !p.Unanswered.Valid() {
		p.Unanswered = campaign.DefaultNone
	}
	if !p.LeaverUnanswered.Valid() {
		p.LeaverUnanswered = campaign.DefaultNone
	}
	return p
}

// loadCampaign reads a campaign, turning "not found" into a usage error.
func loadCampaign(ctx context.Context, st *store.Store, id int64) (campaign.Campaign, error) {
	if id <= 0 {
		return campaign.Campaign{}, usagef("--campaign ID is required (nhiscan campaign list shows them)")
	}
	c, err := st.Campaign(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return c, usagef("campaign %d not found", id)
	}
	return c, err
}

// campaignStateError turns a service refusal that depends on the state of
// the campaign into a usage error.
func campaignStateError(c campaign.Campaign, want campaign.State, what string) error {
	if c.State != want {
		return usagef("campaign %d is %s: %s", c.ID, c.State, what)
	}
	return nil
}

func kpiLine(k campaign.KPIs) string {
	return fmt.Sprintf("items %d (identities %d, reviewers %d): certified %d, revoked %d, reduced %d, reassigned %d, "+
		"don't know %d, unanswered %d, overdue %d, conflicts %d, escalated %d, leavers %d",
		k.Items, k.Identities, k.Reviewers, k.Certified, k.Revoked, k.Reduced, k.Reassigned,
		k.DontKnow, k.Unanswered, k.Overdue, k.Conflicts, k.Escalated, k.Leavers)
}

// certifyShortcut is `nhiscan certify --by`: a one-reviewer campaign over
// the whole scan (provider-managed identities included), opened, certified
// in bulk by the reviewer and closed at once, so the certification is
// recorded the way every campaign records it.
func (a *app) certifyShortcut(ctx context.Context, cfg config.Config, st *store.Store, scanID int64, by, note string) (campaign.Campaign, campaign.KPIs, error) {
	cat, err := a.optionalCatalog(cfg, nil)
	if err != nil {
		return campaign.Campaign{}, campaign.KPIs{}, err
	}
	svc := &campaign.Service{Store: st, Catalog: cat, Now: a.now, Log: a.log}
	who := actor(a.getenv)
	c, items, err := svc.Create(ctx, campaign.CreateInput{Name: "certify --by " + by, ScanID: scanID,
		Filter:   campaign.Filter{ProviderManaged: true},
		Policy:   campaign.Policy{SingleReviewer: by, Unanswered: campaign.DefaultNone, LeaverUnanswered: campaign.DefaultNone},
		Deadline: a.now().Add(time.Hour), CreatedBy: who})
	if errors.Is(err, campaign.ErrEmpty) {
		return c, campaign.KPIs{}, usagef("scan %d has no identity to certify", scanID)
	}
	if err != nil {
		return c, campaign.KPIs{}, err
	}
	if err := st.OpenCampaign(ctx, c.ID, a.now().UTC(), who); err != nil {
		return c, campaign.KPIs{}, err
	}
	justification := "signed off in a review held outside nhiscan (certify --by)"
	if note != "" {
		justification += ": " + note
	}
	var heads []int
	for _, it := range items {
		if it.ParentID == 0 {
			heads = append(heads, it.ID)
		}
	}
	if err := svc.Bulk(ctx, c.ID, campaign.Decision{Reviewer: by, Kind: campaign.Certify, Justification: justification, Source: "certify"}, heads); err != nil {
		return c, campaign.KPIs{}, err
	}
	k, err := svc.Close(ctx, c.ID, who)
	return c, k, err
}

// campaignEvidence collects, for the evidence pack of a scan, the campaigns
// built from it with their KPIs (as recorded at close, or as of now) and
// every decision; nil when there are none.
func (a *app) campaignEvidence(ctx context.Context, st *store.Store, scanID int64) (*reports.CampaignEvidence, error) {
	all, err := st.Campaigns(ctx)
	if err != nil {
		return nil, err
	}
	svc := &campaign.Service{Store: st, Now: a.now}
	var ev *reports.CampaignEvidence
	for _, c := range all {
		if c.ScanID != scanID {
			continue
		}
		if ev == nil {
			ev = &reports.CampaignEvidence{}
		}
		s, err := svc.Status(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		k := s.KPIs
		if c.Summary != nil {
			k = *c.Summary
		}
		ev.Campaigns = append(ev.Campaigns, reports.CampaignSummary{ID: c.ID, Name: c.Name, ScanID: c.ScanID, State: string(c.State),
			CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt, OpenedAt: c.OpenedAt, Deadline: c.Deadline, ClosedAt: c.ClosedAt,
			UnansweredDefault: string(c.Policy.Unanswered), KPIs: reports.KPIs(k)})
		last := campaign.Last(s.Decisions)
		for i := range s.Decisions {
			d := &s.Decisions[i]
			it := s.Items[d.ItemID-1]
			ev.Decisions = append(ev.Decisions, reports.DecisionRow{CampaignID: c.ID, DecisionID: d.ID, ItemID: it.ID,
				ParentItemID: it.ParentID, ItemKind: string(it.Kind), Provider: string(it.Provider), Scope: it.Scope,
				IdentityID: it.IdentityID, IdentityName: it.IdentityName, CredentialID: it.CredentialID, GrantID: it.GrantID,
				Entitlement: it.Entitlement, Reviewer: d.Reviewer, Decision: string(d.Kind), CertifiedUntil: d.Until,
				GrantsRemoved: d.Grants, ReassignTo: d.ReassignTo, At: d.At, Justification: d.Justification, Conflict: d.Conflict,
				BulkID: d.BulkID, Default: string(d.Default), Source: d.Source, Remediation: campaign.Remediation(d, last)})
		}
	}
	return ev, nil
}

// addCampaignHashes names the SHA-256 of an evidence pack's decisions.csv
// and campaigns.csv in its export's audit entry (they are in the manifest
// too, whose own hash the entry records).
func addCampaignHashes(detail map[string]string, m reports.Manifest) {
	for _, f := range m.Files {
		switch f.Name {
		case reports.FileDecisions:
			detail["decisions_sha256"] = f.SHA256
		case reports.FileCampaigns:
			detail["campaigns_sha256"] = f.SHA256
		}
	}
}
