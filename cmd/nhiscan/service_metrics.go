package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/metrics"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/revoke"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/internal/webhook"
	"github.com/nhiscan/nhiscan/reports"
)

// refreshMetrics sets the gauges from the store: the latest finished
// scan's gaps, open findings and catalog coverage, the time of the last
// complete scan, open campaigns' progress and the revocation journal. A
// read that fails leaves its gauges as they were and is logged.
func (s *service) refreshMetrics(ctx context.Context) {
	for _, f := range []func(context.Context) error{s.scanMetrics, s.campaignMetrics, s.revokeMetrics} {
		if err := f(ctx); err != nil {
			s.a.log.Warn("metrics: cannot read the store", "err", err)
		}
	}
}

func (s *service) scanMetrics(ctx context.Context) error {
	scans, err := s.st.Scans(ctx)
	if err != nil {
		return err
	}
	for i := len(scans) - 1; i >= 0; i-- {
		if scans[i].Status == store.ScanComplete {
			s.metrics.SetLastComplete(scans[i].Ended)
			break
		}
	}
	sc, err := s.st.LatestScan(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	fs, err := s.st.ScanFindings(ctx, sc.ID)
	if err != nil {
		return err
	}
	s.metrics.SetLatestScan(sc.Gaps, fs)
	_, cat, _ := s.current()
	if cat == nil {
		return nil
	}
	inv, _, err := s.st.Snapshot(ctx, sc.ID)
	if err != nil {
		return err
	}
	var samples []metrics.Sample
	for _, m := range reports.GovernanceMetrics(analyzer.MeasureGovernance(&inv, cat, evaluatedAt(sc))) {
		smp := metrics.Sample{Name: m.Name, Help: m.Help, Value: m.Value}
		for _, l := range m.Labels {
			smp.Labels = append(smp.Labels, [2]string{l.Name, l.Value})
		}
		samples = append(samples, smp)
	}
	s.metrics.SetGovernance(samples)
	return nil
}

func (s *service) campaignMetrics(ctx context.Context) error {
	cfg, cat, _ := s.current()
	cs, err := s.st.Campaigns(ctx)
	if err != nil {
		return err
	}
	svc, err := s.campaigns(cfg, cat)
	if err != nil {
		return err
	}
	var out []metrics.Campaign
	for _, c := range cs {
		if c.State != campaign.StateOpen {
			continue
		}
		st, err := svc.Status(ctx, c.ID)
		if err != nil {
			return err
		}
		out = append(out, metrics.Campaign{ID: strconv.FormatInt(c.ID, 10), Items: st.KPIs.Items, Unanswered: st.KPIs.Unanswered, Overdue: st.KPIs.Overdue})
	}
	s.metrics.SetCampaigns(out)
	return nil
}

func (s *service) revokeMetrics(ctx context.Context) error {
	plans, err := s.st.Plans(ctx)
	if err != nil {
		return err
	}
	journal, err := s.st.RevokeJournal(ctx, 0)
	if err != nil {
		return err
	}
	byPlan := map[int64][]revoke.Entry{}
	for _, e := range journal {
		byPlan[e.PlanID] = append(byPlan[e.PlanID], e)
	}
	counts := map[string]map[string]int{}
	for _, p := range plans {
		for _, e := range revoke.Latest(byPlan[p.ID], revoke.PhaseApply) {
			if counts[string(p.Stage)] == nil {
				counts[string(p.Stage)] = map[string]int{}
			}
			counts[string(p.Stage)][string(e.Step)]++
		}
	}
	s.metrics.SetRevocations(counts)
	return nil
}

// notifyCritical posts the scan's new or reopened critical findings to
// the webhook, once per scan. Only findings the scan produced (from facets
// it observed) are named.
func (s *service) notifyCritical(ctx context.Context, scanID int64) error {
	cfg, _, hook := s.current()
	if hook == nil || !slices.Contains(cfg.Webhook.Events, config.EventCriticalFinding) {
		return nil
	}
	events, err := s.st.FindingEvents(ctx, scanID)
	if err != nil {
		return err
	}
	fresh := map[string]bool{}
	for _, e := range events {
		if e.Event == store.EventNew || e.Event == store.EventReopened {
			fresh[e.Fingerprint] = true
		}
	}
	fs, err := s.st.ScanFindings(ctx, scanID)
	if err != nil {
		return err
	}
	var lines []string
	for _, f := range fs {
		if f.Severity == nhi.SevCritical && !f.Suppressed && fresh[f.Fingerprint] {
			lines = append(lines, fmt.Sprintf("%s — %s %s %s (owner %s)", f.RuleID, f.Provider, f.Scope, f.IdentityName, orNone(f.Owner)))
		}
	}
	if len(lines) == 0 {
		return nil
	}
	n := webhook.Notice{Event: config.EventCriticalFinding, Key: fmt.Sprintf("scan-%d-critical", scanID),
		Title: fmt.Sprintf("nhiscan scan %d: %d new critical finding(s)", scanID, len(lines)), Lines: lines}
	return s.post(ctx, n)
}

// notifyEscalations posts one campaign's escalations of this run.
func (s *service) notifyEscalations(ctx context.Context, c campaign.Campaign, esc []campaign.Assignment) error {
	cfg, _, hook := s.current()
	if hook == nil || len(esc) == 0 || !slices.Contains(cfg.Webhook.Events, config.EventCampaignEscalation) {
		return nil
	}
	var lines, key []string
	for _, e := range esc {
		lines = append(lines, fmt.Sprintf("item %d escalated to %s", e.ItemID, e.Reviewer))
		key = append(key, fmt.Sprintf("%d>%s", e.ItemID, e.Reviewer))
	}
	n := webhook.Notice{Event: config.EventCampaignEscalation, Key: fmt.Sprintf("campaign-%d-escalation-%s", c.ID, shortHash(strings.Join(key, ","))),
		Title: fmt.Sprintf("nhiscan campaign %d (%s): %d overdue item(s) escalated", c.ID, c.Name, len(esc)), Lines: lines}
	return s.post(ctx, n)
}

func (s *service) post(ctx context.Context, n webhook.Notice) error {
	_, _, hook := s.current()
	sent, err := hook.Send(ctx, n)
	switch {
	case err != nil:
		s.metrics.Webhook(n.Event, "failed")
		return fmt.Errorf("webhook: %w", err)
	case hook.DryRun:
		s.metrics.Webhook(n.Event, "dry-run")
	case sent:
		s.metrics.Webhook(n.Event, "sent")
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// shortHash is 12 hex digits of s's SHA-256: a stable, short key part.
func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:6])
}
