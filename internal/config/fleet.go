package config

import (
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/nhiscan/nhiscan/internal/strictyaml"
)

// Fleet configures `nhiscan worker`, the replicas that collect one scope
// per job on PostgreSQL with River (docs/architecture.md, "When one
// machine is not enough"). The zero value means "not configured": the
// worker command refuses to start without a PostgreSQL database.
type Fleet struct {
	// Set says the configuration has a fleet section: nhiscan serve then
	// joins the fleet as a replica.
	Set bool
	// DatabaseFile holds the PostgreSQL connection string (postgres://…)
	// of River's and the fleet's tables: a file, as a Kubernetes Secret
	// mounts it, since the string carries a password. Empty: the main
	// database when it is a PostgreSQL URL.
	DatabaseFile string
	// Concurrency is how many jobs one worker runs at once (default 4).
	Concurrency int
	// JobTimeout bounds one attempt of one job (default 30m).
	JobTimeout time.Duration
	// MaxAttempts is how often a job is tried before its scope is recorded
	// as a gap (default 3).
	MaxAttempts int
	// RescueAfter is how long a job may stay running before River hands
	// it to another worker, its worker presumed dead (default: JobTimeout
	// plus one minute).
	RescueAfter time.Duration
	// Schedules are cron expressions (five fields, or six with seconds,
	// or @daily and the like, in UTC); each enqueues a scan once across
	// every replica when it fires.
	Schedules []string
}

// Fleet defaults.
const (
	DefaultFleetConcurrency = 4
	DefaultFleetJobTimeout  = 30 * time.Minute
	DefaultFleetMaxAttempts = 3
)

// Defaults returns f with every default applied.
func (f Fleet) Defaults() Fleet {
	if f.Concurrency == 0 {
		f.Concurrency = DefaultFleetConcurrency
	}
	if f.JobTimeout == 0 {
		f.JobTimeout = DefaultFleetJobTimeout
	}
	if f.MaxAttempts == 0 {
		f.MaxAttempts = DefaultFleetMaxAttempts
	}
	if f.RescueAfter == 0 {
		f.RescueAfter = f.JobTimeout + time.Minute
	}
	return f
}

// CronParser reads the schedules: five fields, an optional leading
// seconds field, or a descriptor (@daily, @every 1h).
var CronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

type fileFleet struct {
	strictyaml.Meta
	DatabaseFile str   `yaml:"database_file"`
	Concurrency  *int  `yaml:"concurrency"`
	JobTimeout   str   `yaml:"job_timeout"`
	MaxAttempts  *int  `yaml:"max_attempts"`
	RescueAfter  str   `yaml:"rescue_after"`
	Schedules    []str `yaml:"schedules" what:"schedule"`
}

// fleetEnvVars are the NHISCAN_FLEET_* overrides.
var fleetEnvVars = []envVar{
	env("fleet", "database_file"),
	env("fleet", "job_timeout"),
	env("fleet", "rescue_after"),
	env("fleet", "schedules"),
}

func init() {
	envVars = append(envVars, fleetEnvVars...)
	nonProviderSections["fleet"] = struct{}{}
}

// fleetSection validates the fleet section into cfg.
func (v *validator) fleetSection(fc *fileConfig, cfg *Config) {
	f := fc.Fleet
	if f == nil {
		return
	}
	out := &cfg.Fleet
	out.Set = true
	out.DatabaseFile = v.file(f.DatabaseFile, "fleet", "database_file")
	out.JobTimeout = v.duration(f.JobTimeout, "job_timeout")
	out.RescueAfter = v.duration(f.RescueAfter, "rescue_after")
	for _, c := range []struct {
		n   *int
		dst *int
		key string
		max int
	}{{f.Concurrency, &out.Concurrency, "concurrency", maxConcurrency}, {f.MaxAttempts, &out.MaxAttempts, "max_attempts", 25}} {
		if c.n == nil {
			continue
		}
		if *c.n < 1 || *c.n > c.max {
			v.errs.Add(f.At(c.key), "%s %d is out of range (use 1 to %d)", c.key, *c.n, c.max)
			continue
		}
		*c.dst = *c.n
	}
	if out.JobTimeout > 0 && out.RescueAfter > 0 && out.RescueAfter < out.JobTimeout {
		v.errs.Add(f.RescueAfter.P, "rescue_after %s is shorter than job_timeout %s: a job still running would be handed to a second worker", out.RescueAfter, out.JobTimeout)
	}
	for _, s := range f.Schedules {
		if _, err := CronParser.Parse(s.V); err != nil {
			v.errs.Add(s.P, "schedule %q is not a cron expression (\"0 3 * * *\", \"@daily\"): %v", s.V, err)
			continue
		}
		out.Schedules = append(out.Schedules, strings.TrimSpace(s.V))
	}
}

// fleetAndSchedules refuses scans scheduled twice: fleet.schedules enqueue
// scans across the replicas, and a schedules.jobs scan job would run its
// own in nhiscan serve, which joins the fleet.
func (v *validator) fleetAndSchedules(fc *fileConfig, cfg *Config) {
	if fc.Fleet == nil || len(cfg.Fleet.Schedules) == 0 {
		return
	}
	for _, j := range cfg.Schedules.Jobs {
		if j.Job == JobScan {
			v.errs.Add(fc.Fleet.At("schedules"), "fleet.schedules and the scan job %q of schedules.jobs would both schedule scans: keep one", j.Name)
		}
	}
}
