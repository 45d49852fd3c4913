package config

import (
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/nhiscan/nhiscan/internal/strictyaml"
)

// Schedules configures the jobs `nhiscan serve` runs by itself
// (internal/schedule): scans, campaign creation, reminders and
// escalations, revocation stages.
type Schedules struct {
	// Jitter bounds the random delay before each run (default 0).
	Jitter time.Duration
	// Grace is how long a running job may go on after SIGTERM before it
	// is cancelled (default 30s; a cancelled scan is marked failed).
	Grace time.Duration
	Jobs  []ScheduledJob
}

// DefaultGrace is Schedules.Grace when not set.
const DefaultGrace = 30 * time.Second

// Job kinds.
const (
	JobScan           = "scan"
	JobCampaignCreate = "campaign-create"
	JobCampaignSend   = "campaign-send"
	JobCampaignRemind = "campaign-remind"
	JobRevokeStage    = "revoke-stage"
)

// JobKinds lists the job kinds a schedule may name.
var JobKinds = []string{JobScan, JobCampaignCreate, JobCampaignSend, JobCampaignRemind, JobRevokeStage}

// ScheduledJob is one entry of schedules.jobs.
type ScheduledJob struct {
	Name string
	// Cron is the schedule as written (five fields or a descriptor, with
	// an optional CRON_TZ= prefix); validated here with the parser the
	// scheduler uses.
	Cron string
	// Job is one of JobKinds.
	Job string
	// Missed is run-once (default) or skip: what a restart does about
	// slots missed while the service was down.
	Missed string
	// Due is the campaign duration for campaign-create (default
	// campaigns.deadline).
	Due time.Duration
	// WithFindings limits campaign-create to identities with an open
	// finding.
	WithFindings bool
	// Stage is notify, disable or delete for revoke-stage.
	Stage string
	// Execute makes revoke-stage act (with Approver); otherwise it plans
	// and dry-runs.
	Execute  bool
	Approver string
}

// Webhook configures the optional Slack-compatible webhook
// (internal/webhook). Off unless the section is present.
type Webhook struct {
	// URLFile holds the webhook URL, a secret (NHISCAN_WEBHOOK_URL is the
	// alternative).
	URLFile string
	// Events are the notices sent: critical-finding, campaign-escalation
	// (default both).
	Events []string
	// Retries after the first attempt (default 4); Timeout per attempt
	// (default 10s).
	Retries int
	Timeout time.Duration
	// DryRun journals what would be sent without sending.
	DryRun bool
}

// Webhook events.
const (
	EventCriticalFinding    = "critical-finding"
	EventCampaignEscalation = "campaign-escalation"
)

// Metrics configures the Prometheus endpoint of nhiscan serve.
type Metrics struct {
	// Listen is a separate address for /metrics, /healthz and /readyz;
	// empty serves them on serve's own listener.
	Listen string
}

type fileSchedules struct {
	strictyaml.Meta
	Jitter str       `yaml:"jitter"`
	Grace  str       `yaml:"grace"`
	Jobs   []fileJob `yaml:"jobs" what:"scheduled job"`
}

type fileJob struct {
	strictyaml.Meta
	Name         str   `yaml:"name"`
	Cron         str   `yaml:"cron"`
	Job          str   `yaml:"job"`
	Missed       str   `yaml:"missed"`
	Due          str   `yaml:"due"`
	WithFindings *bool `yaml:"with_findings"`
	Stage        str   `yaml:"stage"`
	Execute      *bool `yaml:"execute"`
	Approver     str   `yaml:"approver"`
}

type fileWebhook struct {
	strictyaml.Meta
	URLFile str   `yaml:"url_file"`
	Events  []str `yaml:"events" what:"webhook event"`
	Retries *int  `yaml:"retries"`
	Timeout str   `yaml:"timeout"`
	DryRun  *bool `yaml:"dry_run"`
}

type fileMetrics struct {
	strictyaml.Meta
	Listen str `yaml:"listen"`
}

var serviceEnvVars = []envVar{
	env("schedules", "jitter"),
	env("schedules", "grace"),
	env("webhook", "url_file"),
	env("metrics", "listen"),
}

func init() {
	envVars = append(envVars, serviceEnvVars...)
	nonProviderSections["webhook"] = struct{}{}
	secretKeys["webhook_url"] = `"url_file" (or the NHISCAN_WEBHOOK_URL environment variable)`
}

var reJobName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// cronParser is the scheduler's parser (internal/schedule.Parser): the
// same syntax, checked here so a bad schedule is a configuration error
// with its position.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// serviceSections validates schedules, webhook and metrics into cfg.
func (v *validator) serviceSections(fc *fileConfig, cfg *Config) {
	if s := fc.Schedules; s != nil {
		cfg.Schedules = Schedules{Jitter: v.zeroOr(s.Jitter, "jitter"), Grace: DefaultGrace}
		if s.Grace.Set {
			cfg.Schedules.Grace = v.zeroOr(s.Grace, "grace")
		}
		seen := map[string]pos{}
		for i := range s.Jobs {
			j := v.job(&s.Jobs[i])
			if j.Name == "" {
				continue
			}
			if first, dup := seen[j.Name]; dup {
				v.errs.Add(s.Jobs[i].Name.P, "scheduled job %q is named twice (first at %s)", j.Name, first)
				continue
			}
			seen[j.Name] = s.Jobs[i].Name.P
			cfg.Schedules.Jobs = append(cfg.Schedules.Jobs, j)
		}
	}
	if w := fc.Webhook; w != nil {
		cfg.Webhook = v.webhook(w)
	}
	if m := fc.Metrics; m != nil && m.Listen.Set {
		cfg.Metrics.Listen = v.listen(m.Listen)
	}
}

// zeroOr reads a duration of 0 or more; 0 when absent or wrong.
func (v *validator) zeroOr(s str, key string) time.Duration {
	if d := v.zeroOrMore(s, key); d != nil {
		return *d
	}
	return 0
}

func (v *validator) job(f *fileJob) ScheduledJob {
	j := ScheduledJob{Cron: f.Cron.V, Job: f.Job.V, Missed: "run-once", Stage: f.Stage.V,
		WithFindings: f.WithFindings != nil && *f.WithFindings, Execute: f.Execute != nil && *f.Execute}
	switch {
	case !f.Name.Set:
		v.errs.Add(f.P, "scheduled job has no name (letters, digits, - and _, for example nightly-scan)")
	case !reJobName.MatchString(f.Name.V):
		v.errs.Add(f.Name.P, "job name %q: use lower-case letters, digits, - and _ (at most 63)", f.Name.V)
	default:
		j.Name = f.Name.V
	}
	if !f.Cron.Set {
		v.errs.Add(f.P, "scheduled job has no cron (for example \"0 2 * * *\" or \"CRON_TZ=Europe/Paris 0 2 * * *\")")
	} else if _, err := cronParser.Parse(f.Cron.V); err != nil {
		v.errs.Add(f.Cron.P, "cron %q: %v", f.Cron.V, err)
	}
	if !contains(JobKinds, f.Job.V) {
		v.errs.Add(at(f.Job, f.P), "job %q: want one of %s", f.Job.V, strings.Join(JobKinds, ", "))
	}
	if f.Missed.Set {
		if f.Missed.V != "run-once" && f.Missed.V != "skip" {
			v.errs.Add(f.Missed.P, "missed %q: want run-once (catch up once at start) or skip", f.Missed.V)
		}
		j.Missed = f.Missed.V
	}
	if f.Due.Set {
		j.Due = v.duration(f.Due, "due")
	}
	v.jobOptions(f, &j)
	return j
}

// jobOptions checks that each option belongs to the job's kind.
func (v *validator) jobOptions(f *fileJob, j *ScheduledJob) {
	for key, kind := range map[string]string{"due": JobCampaignCreate, "with_findings": JobCampaignCreate,
		"stage": JobRevokeStage, "execute": JobRevokeStage, "approver": JobRevokeStage} {
		if f.Has(key) && j.Job != kind {
			v.errs.Add(f.At(key), "%s applies to %s jobs only", key, kind)
		}
	}
	if j.Job != JobRevokeStage {
		return
	}
	switch f.Stage.V {
	case "notify", "disable", "delete":
	default:
		v.errs.Add(at(f.Stage, f.P), "revoke-stage job needs stage: notify, disable or delete")
	}
	if f.Approver.Set {
		a, err := mail.ParseAddress(f.Approver.V)
		if err != nil || a.Name != "" {
			v.errs.Add(f.Approver.P, "approver %q is not an email address", f.Approver.V)
		} else {
			j.Approver = a.Address
		}
	}
	if j.Execute && !f.Approver.Set {
		v.errs.Add(f.At("execute"), "execute: true needs approver (who approves, recorded in the journal and the audit log)")
	}
}

func (v *validator) webhook(w *fileWebhook) Webhook {
	out := Webhook{URLFile: v.file(w.URLFile, "webhook", "url_file"), Retries: 4, Timeout: 10 * time.Second,
		DryRun: w.DryRun != nil && *w.DryRun}
	for _, e := range w.Events {
		if e.V != EventCriticalFinding && e.V != EventCampaignEscalation {
			v.errs.Add(e.P, "webhook event %q: want %s or %s", e.V, EventCriticalFinding, EventCampaignEscalation)
			continue
		}
		out.Events = append(out.Events, e.V)
	}
	if len(w.Events) == 0 {
		out.Events = []string{EventCriticalFinding, EventCampaignEscalation}
	}
	if w.Retries != nil {
		if *w.Retries < 0 || *w.Retries > 10 {
			v.errs.Add(w.At("retries"), "retries %d: want 0 to 10", *w.Retries)
		} else {
			out.Retries = *w.Retries
		}
	}
	if w.Timeout.Set {
		out.Timeout = v.duration(w.Timeout, "timeout")
	}
	return out
}

// at is s's position, or the mapping's when s is absent.
func at(s str, p pos) pos {
	if s.Set {
		return s.P
	}
	return p
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
