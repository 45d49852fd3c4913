package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/revoke"
	"github.com/nhiscan/nhiscan/internal/schedule"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// The jobs nhiscan serve runs on its schedules. Each runs over serve's
// store and the configuration and catalog in force when it starts, and
// does what the command of the same name does, with the same guardrails.

// serviceActor is who the audit log names for a scheduled job.
func serviceActor(job string) string { return "nhiscan serve (schedule " + job + ")" }

// jobs builds the scheduler's jobs from the configuration in force.
func (s *service) jobs() []schedule.Job {
	cfg, _, _ := s.current()
	out := make([]schedule.Job, 0, len(cfg.Schedules.Jobs))
	for _, j := range cfg.Schedules.Jobs {
		sch, err := schedule.Parse(j.Cron)
		if err != nil { // validated with the configuration
			s.a.log.Error("schedule: bad cron", "job", j.Name, "err", err)
			continue
		}
		out = append(out, schedule.Job{Name: j.Name, Kind: j.Job, Schedule: sch, Missed: schedule.Missed(j.Missed), Run: s.runner(j)})
	}
	return out
}

// runner is the function of one job; it refreshes the metrics after the
// run.
func (s *service) runner(j config.ScheduledJob) func(context.Context) error {
	return func(ctx context.Context) error {
		defer s.refreshMetrics(context.WithoutCancel(ctx))
		switch j.Job {
		case config.JobScan:
			return s.scanJob(ctx, j.Name)
		case config.JobCampaignCreate:
			return s.campaignCreateJob(ctx, j)
		case config.JobCampaignSend:
			return s.campaignSendJob(ctx, j, false)
		case config.JobCampaignRemind:
			return s.campaignSendJob(ctx, j, true)
		case config.JobRevokeStage:
			return s.revokeStageJob(ctx, j)
		}
		return fmt.Errorf("unknown job kind %q", j.Job)
	}
}

// jobApp is a copy of the app for one job: quiet on stdout (the log
// says what happened), every log line with the job's name.
func (s *service) jobApp(name string) *app {
	c := *s.a
	c.stdout = io.Discard
	c.log = s.a.log.With("job", name)
	c.prog = c.newProgress()
	c.etags = etagCache{st: s.st}
	c.calls = func(call collectors.Call) { s.metrics.APICall(string(call.Provider), call.Operation, call.Status) }
	return &c
}

// scanJob collects, analyses and stores one scan, like nhiscan scan. An
// interrupted scan (SIGTERM after the grace) is marked failed by scanOnce.
func (s *service) scanJob(ctx context.Context, name string) error {
	cfg, cat, _ := s.current()
	a := s.jobApp(name).withScanLog()
	cs, err := s.collectors(a, cfg, cat)
	if err != nil {
		return err
	}
	start := time.Now()
	out, err := a.scanOnce(ctx, s.st, cat, a.now().UTC(), "collectors", a.collectAll(cs))
	took := time.Since(start)
	if err != nil {
		s.metrics.ScanFinished("failed", took, time.Time{})
		return err
	}
	s.metrics.ScanFinished(string(out.scan.Status), took, out.scan.Ended)
	a.log.Info("scan stored", "status", out.scan.Status, "identities", len(out.inv.Identities), "gaps", len(out.inv.Gaps),
		"findings", out.tally.total)
	return s.notifyCritical(ctx, out.scan.ID)
}

// campaignCreateJob builds a draft campaign from the latest finished scan,
// once per scan: a campaign this job already built from that scan is not
// built again.
func (s *service) campaignCreateJob(ctx context.Context, j config.ScheduledJob) error {
	cfg, cat, _ := s.current()
	a := s.jobApp(j.Name)
	sc, err := s.st.LatestScan(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return errors.New("no completed scan yet")
	}
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%s: recertification of scan %d", j.Name, sc.ID)
	cs, err := s.st.Campaigns(ctx)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if c.Name == name {
			a.log.Info("campaign already built from this scan", "campaign", c.ID, "scan", sc.ID)
			return nil
		}
	}
	svc, err := s.campaigns(cfg, cat)
	if err != nil {
		return err
	}
	due := j.Due
	if due == 0 {
		due = cmp.Or(cfg.Campaigns.Deadline, defaultCampaignDeadline)
	}
	c, items, err := svc.Create(ctx, campaign.CreateInput{Name: name, ScanID: sc.ID, Policy: campaignPolicy(cfg.Campaigns),
		Filter: campaign.Filter{WithFindingsOnly: j.WithFindings}, Deadline: a.now().UTC().Add(due), CreatedBy: serviceActor(j.Name)})
	if errors.Is(err, campaign.ErrEmpty) {
		a.log.Info("nothing to recertify in scan", "scan", sc.ID)
		return nil
	}
	if err != nil {
		return err
	}
	a.log.Info("campaign created (draft)", "campaign", c.ID, "items", len(items), "scan", sc.ID)
	return nil
}

// campaigns is the campaign service over serve's store.
func (s *service) campaigns(cfg config.Config, cat *catalog.Catalog) (*campaign.Service, error) {
	svc, err := s.a.campaignService(cfg, cat)
	if err != nil {
		return nil, err
	}
	svc.Store = s.st
	return svc, nil
}

// campaignSendJob sends (opening drafts) or, with remind, sends the
// reminders and escalations due in every open campaign; both are
// idempotent. Escalations go to the webhook too.
func (s *service) campaignSendJob(ctx context.Context, j config.ScheduledJob, remind bool) error {
	cfg, cat, _ := s.current()
	a := s.jobApp(j.Name)
	svc, err := s.campaigns(cfg, cat)
	if err != nil {
		return err
	}
	if svc.Notifier == nil {
		return errors.New("no smtp section in the configuration: campaign mail cannot be sent")
	}
	cs, err := s.st.Campaigns(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range cs {
		opt := campaign.SendOptions{Actor: serviceActor(j.Name)}
		var res campaign.SendResult
		switch {
		case remind && c.State == campaign.StateOpen:
			res, err = svc.Remind(ctx, c.ID, opt)
		case !remind && (c.State == campaign.StateDraft || c.State == campaign.StateOpen):
			res, err = svc.Send(ctx, c.ID, opt)
		default:
			continue
		}
		a.log.Info("campaign notices", "campaign", c.ID, "notices", len(res.Notices), "failed", res.Failed(), "escalated", len(res.Escalated))
		if err == nil && res.Failed() > 0 {
			err = fmt.Errorf("campaign %d: %d of %d notices were not delivered (a rerun retries them)", c.ID, res.Failed(), len(res.Notices))
		}
		errs = append(errs, err, s.notifyEscalations(ctx, c, res.Escalated))
	}
	return errors.Join(errs...)
}

// revokeStageJob plans one stage from the latest scan, with every
// guardrail, and applies the plan: a dry run unless the job says execute
// (with its approver). A stage with nothing to do stores no plan.
func (s *service) revokeStageJob(ctx context.Context, j config.ScheduledJob) error {
	cfg, cat, _ := s.current()
	a := s.jobApp(j.Name)
	controls := a.configControls(cfg, cat.Defaults.OwnerTagKeys)
	p, err := a.buildPlan(ctx, s.st, cat, cfg.Revoke, controls, revoke.Stage(j.Stage), planOptions{stage: j.Stage, actor: serviceActor(j.Name)}, a.now())
	if err != nil {
		return err
	}
	if len(p.Actions) == 0 {
		a.log.Info("nothing to plan", "stage", j.Stage, "scan", p.ScanID)
		return nil
	}
	if p.ID, err = s.st.CreatePlan(ctx, p); err != nil {
		return err
	}
	a.log.Info("revocation plan stored", "plan", p.ID, "stage", j.Stage, "execute", j.Execute)
	o := runOptions{plan: p.ID, approver: j.Approver, reason: "scheduled by nhiscan serve, job " + j.Name, execute: j.Execute,
		outbox: revokeOutbox(cfg)}
	if o.approver == "" {
		o.approver = "nobody (dry run)"
	}
	notifier, err := a.revokeNotifier(cfg, o.outbox)
	if err != nil {
		return err
	}
	return a.runPlan(ctx, s.st, &p, controls, notifier, o, revoke.PhaseApply)
}
