package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/config"
)

// TestFleetSection: the fleet section as documented, its defaults, and
// the environment overriding it.
func TestFleetSection(t *testing.T) {
	got, err := config.Parse("/etc/nhiscan/c.yaml", []byte(`fleet:
  database_file: /run/secrets/nhiscan/postgres-dsn
  concurrency: 8
  job_timeout: 20m
  max_attempts: 4
  rescue_after: 25m
  schedules: ["0 3 * * *", "@every 6h"]
`), env(map[string]string{"NHISCAN_FLEET_JOB_TIMEOUT": "15m"}))
	if err != nil {
		t.Fatal(err)
	}
	want := config.Fleet{Set: true, DatabaseFile: "/run/secrets/nhiscan/postgres-dsn", Concurrency: 8, JobTimeout: 15 * time.Minute, MaxAttempts: 4,
		RescueAfter: 25 * time.Minute, Schedules: []string{"0 3 * * *", "@every 6h"}}
	if d := cmp.Diff(want, got.Fleet); d != "" {
		t.Errorf("fleet (-want +got):\n%s", d)
	}
	def := config.Fleet{}.Defaults()
	if def.Concurrency != 4 || def.JobTimeout != 30*time.Minute || def.MaxAttempts != 3 || def.RescueAfter != 31*time.Minute {
		t.Errorf("defaults %+v", def)
	}
}

// TestFleetErrors: every problem of the section at once, with positions;
// a connection string pasted in place of the file is refused unquoted.
func TestFleetErrors(t *testing.T) {
	_, err := config.Parse("c.yaml", []byte(`fleet:
  database_file: "eyJwYXNzd29yZCI6InMzY3JldCJ9"
  concurrency: 0
  max_attempts: 99
  job_timeout: 10m
  rescue_after: 5m
  schedules: ["61 * * * *", "0 3 * * *"]
`), env(nil))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"c.yaml:2:", "looks like a secret", "c.yaml:3:", "concurrency 0", "c.yaml:4:", "max_attempts 99",
		"c.yaml:6:", "rescue_after", "c.yaml:7:", `schedule "61 * * * *"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors lack %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "eyJwYXNz") {
		t.Error("the pasted secret was quoted")
	}
	if strings.Contains(msg, `schedule "0 3 * * *"`) {
		t.Error("a valid schedule was reported")
	}
}

// TestFleetSchedulesAndScanJobs: scans scheduled both by the fleet and by
// a schedules.jobs scan job are refused, at the fleet's schedules.
func TestFleetSchedulesAndScanJobs(t *testing.T) {
	_, err := config.Parse("c.yaml", []byte(`fleet:
  schedules: ["0 3 * * *"]
schedules:
  jobs:
    - name: nightly
      cron: "0 2 * * *"
      job: scan
`), env(nil))
	if err == nil || !strings.Contains(err.Error(), "c.yaml:2:") || !strings.Contains(err.Error(), `scan job "nightly"`) {
		t.Fatalf("err = %v", err)
	}
	cfg, err := config.Parse("c.yaml", []byte("fleet:\n  concurrency: 2\n"), env(nil))
	if err != nil || !cfg.Fleet.Set {
		t.Fatalf("a fleet section: set %v, %v", cfg.Fleet.Set, err)
	}
	if cfg, _ := config.Parse("c.yaml", []byte("database: x.db\n"), env(nil)); cfg.Fleet.Set {
		t.Error("no fleet section, but Fleet.Set")
	}
}
