package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/config"
)

func TestServiceExample(t *testing.T) {
	got, err := config.Load("testdata/service.yaml", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := config.Schedules{Jitter: 5 * time.Minute, Grace: 2 * time.Minute, Jobs: []config.ScheduledJob{
		{Name: "nightly-scan", Cron: "CRON_TZ=Europe/Paris 0 2 * * *", Job: "scan", Missed: "run-once"},
		{Name: "quarterly-campaign", Cron: "0 6 1 1,4,7,10 *", Job: "campaign-create", Missed: "run-once", Due: 14 * 24 * time.Hour, WithFindings: true},
		{Name: "open-campaigns", Cron: "30 6 * * *", Job: "campaign-send", Missed: "run-once"},
		{Name: "reminders", Cron: "0 8 * * 1-5", Job: "campaign-remind", Missed: "skip"},
		{Name: "revoke-notify", Cron: "0 9 * * 1", Job: "revoke-stage", Missed: "run-once", Stage: "notify"},
	}}
	if diff := cmp.Diff(want, got.Schedules); diff != "" {
		t.Errorf("schedules (-want +got):\n%s", diff)
	}
	wantHook := config.Webhook{URLFile: filepath.Join("testdata", "secrets/slack-webhook"), Events: []string{"critical-finding", "campaign-escalation"},
		Retries: 4, Timeout: 10 * time.Second}
	if diff := cmp.Diff(wantHook, got.Webhook); diff != "" {
		t.Errorf("webhook (-want +got):\n%s", diff)
	}
	if got.Metrics.Listen != "127.0.0.1:9464" {
		t.Errorf("metrics.listen = %q", got.Metrics.Listen)
	}
}

func TestServiceExampleIsDocumented(t *testing.T) {
	b, err := os.ReadFile("testdata/service.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(readDoc(t), "```yaml\n"+string(b)+"```\n") {
		t.Error("docs/configuration.md does not contain testdata/service.yaml verbatim in a yaml block")
	}
}

func TestServiceDefaults(t *testing.T) {
	got, err := config.Parse("c.yaml", []byte("schedules:\n  jobs:\n    - {name: s, cron: '@daily', job: scan}\nwebhook: {}\n"),
		env(map[string]string{"NHISCAN_WEBHOOK_URL_FILE": "/run/secrets/hook"}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Schedules.Grace != config.DefaultGrace || got.Schedules.Jitter != 0 || got.Webhook.Retries != 4 ||
		len(got.Webhook.Events) != 2 || got.Webhook.URLFile != "/run/secrets/hook" {
		t.Errorf("defaults: %+v %+v", got.Schedules, got.Webhook)
	}
	// No section: no jobs, no webhook.
	got, err = config.Parse("c.yaml", []byte("database: x.db\n"), env(nil))
	if err != nil || len(got.Schedules.Jobs) != 0 || got.Webhook.URLFile != "" {
		t.Errorf("no section: %+v %+v %v", got.Schedules, got.Webhook, err)
	}
}

// TestServiceErrors: every problem at once, each at its position.
func TestServiceErrors(t *testing.T) {
	const src = `schedules:
  jitter: soon
  jobs:
    - name: Nightly Scan
      cron: "61 * * * *"
      job: scan
    - name: tz
      cron: "CRON_TZ=Mars/Olympus 0 9 * * *"
      job: rescan
    - name: tz
      cron: "@daily"
      job: revoke-stage
      execute: true
      due: 3d
    - job: scan
webhook:
  url: https://hooks.slack.com/services/T000/B000/XXXX
  events: [everything]
  retries: 99
`
	_, err := config.Parse("c.yaml", []byte(src), env(nil))
	if err == nil {
		t.Fatal("accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		`c.yaml:2:11: jitter "soon"`,
		`c.yaml:4:13: job name "Nightly Scan"`,
		`c.yaml:5:13: cron "61 * * * *"`,
		`c.yaml:8:13: cron "CRON_TZ=Mars/Olympus 0 9 * * *"`,
		`c.yaml:9:12: job "rescan": want one of scan, campaign-create, campaign-send, campaign-remind, revoke-stage`,
		`c.yaml:10:13: scheduled job "tz" is named twice (first at c.yaml:7:13)`,
		`revoke-stage job needs stage`,
		`c.yaml:13:16: execute: true needs approver`,
		`c.yaml:14:12: due applies to campaign-create jobs only`,
		`scheduled job has no name`,
		`scheduled job has no cron`,
		`c.yaml:17:3: unknown key "url"`,
		`c.yaml:18:12: webhook event "everything"`,
		`c.yaml:19:12: retries 99`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors lack %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "hooks.slack.com") {
		t.Errorf("an error quotes the webhook URL:\n%s", msg)
	}
}
