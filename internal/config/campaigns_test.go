package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/duration"
)

func TestCampaignsExample(t *testing.T) {
	got, err := config.Load("testdata/campaigns.yaml", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	wantC := config.Campaigns{
		Deadline:  14 * duration.Day,
		Reminders: []time.Duration{7 * duration.Day, duration.Day}, RemindersSet: true,
		EscalateAfter: duration.Day, Unanswered: "none",
		LeaverDeadline: 7 * duration.Day, LeaverUnanswered: "disable",
		FallbackReviewer: "grace.kim@acme.example", ReviewURL: "https://nhiscan.acme.example/review",
		LinkTTL: 21 * duration.Day, LinkKeyFile: filepath.Join("testdata", "secrets/link.key"),
	}
	if diff := cmp.Diff(wantC, got.Campaigns); diff != "" {
		t.Errorf("campaigns (-want +got):\n%s", diff)
	}
	wantS := &config.SMTP{Host: "smtp.acme.example", Port: 587, TLS: "starttls", Username: "nhiscan@acme.example",
		PasswordFile: filepath.Join("testdata", "secrets/smtp-password"), CAFile: "/etc/ssl/acme-root.pem",
		From: "nhiscan <nhiscan@acme.example>", HELO: "nhiscan.acme.example", Timeout: 30 * time.Second}
	if diff := cmp.Diff(wantS, got.SMTP); diff != "" {
		t.Errorf("smtp (-want +got):\n%s", diff)
	}
}

func TestCampaignsExampleIsDocumented(t *testing.T) {
	b, err := os.ReadFile("testdata/campaigns.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(readDoc(t), "```yaml\n"+string(b)+"```\n") {
		t.Error("docs/configuration.md does not contain testdata/campaigns.yaml verbatim in a yaml block")
	}
}

func TestCampaignsDefaultsAndEnv(t *testing.T) {
	got, err := config.Parse("c.yaml", []byte("campaigns:\n  reminders: []\nsmtp:\n  host: 127.0.0.1\n  tls: none\n  from: nhiscan@acme.example\n"), env(map[string]string{
		"NHISCAN_SMTP_PORT":                   "1025",
		"NHISCAN_SMTP_USERNAME":               "u",
		"NHISCAN_SMTP_PASSWORD_FILE":          "/run/secrets/smtp",
		"NHISCAN_CAMPAIGNS_FALLBACK_REVIEWER": "Grace.Kim@acme.example",
		"NHISCAN_CAMPAIGNS_REVIEW_URL":        "http://127.0.0.1:8080/review",
		"NHISCAN_CAMPAIGNS_LINK_KEY_FILE":     "/run/secrets/link.key",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := config.Campaigns{RemindersSet: true, FallbackReviewer: "grace.kim@acme.example",
		ReviewURL: "http://127.0.0.1:8080/review", LinkKeyFile: "/run/secrets/link.key"}
	if diff := cmp.Diff(want, got.Campaigns); diff != "" {
		t.Errorf("campaigns (-want +got):\n%s", diff)
	}
	wantS := &config.SMTP{Host: "127.0.0.1", Port: 1025, TLS: "none", Username: "u", PasswordFile: "/run/secrets/smtp", From: "nhiscan@acme.example"}
	if diff := cmp.Diff(wantS, got.SMTP); diff != "" {
		t.Errorf("smtp (-want +got):\n%s", diff)
	}
	// The environment alone makes an smtp section.
	got, err = config.Parse("", nil, env(map[string]string{"NHISCAN_SMTP_HOST": "smtp.acme.example", "NHISCAN_SMTP_FROM": "n@acme.example", "NHISCAN_SMTP_TLS": "implicit"}))
	if err != nil || got.SMTP == nil || got.SMTP.Port != 465 {
		t.Errorf("smtp from the environment = %+v, %v", got.SMTP, err)
	}
}

func TestCampaignsErrors(t *testing.T) {
	const src = `campaigns:
  deadline: soon
  reminders: [7d, 7d, -1d]
  escalate_after: -2d
  unanswered: delete
  fallback_reviewer: Grace <grace@acme.example>
  review_url: http://nhiscan.acme.example/review
  link_key: abcdefabcdefabcdefabcdefabcdefabcdef
  link_key_file: ghp_notapathatall
smtp:
  tls: none
  host: smtp.acme.example
  port: 70000
  password: hunter2
  password_file: secrets/pw
  from: not an address
`
	_, err := config.Parse("c.yaml", []byte(src), env(map[string]string{"NHISCAN_SMTP_PORT": "x"}))
	var es *config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("err = %v, want *config.Errors", err)
	}
	got := err.Error()
	for _, want := range []string{
		`c.yaml:2:13: deadline:`,
		`c.yaml:3:19: reminder offset "7d" is listed twice`,
		`c.yaml:3:23: reminder offset: bad duration "-1d"`,
		`c.yaml:4:19: escalate_after "-2d": want a duration of 0 or more`,
		`c.yaml:5:15: unanswered "delete": want none, revoke or disable`,
		`c.yaml:6:22: fallback_reviewer "Grace <grace@acme.example>" is not an email address`,
		`c.yaml:7:15: review_url "http://nhiscan.acme.example/review": links carry a reviewer's token, so http is allowed to a loopback host only`,
		`inline secret "link_key" in campaigns is not allowed: secrets never go in the configuration; use "link_key_file" (or the NHISCAN_LINK_KEY environment variable)`,
		`c.yaml:9:18: link_key_file looks like a secret, not a file path`,
		`tls none sends mail and the password in clear text: allowed to a loopback host only, not "smtp.acme.example"`,
		`inline secret "password" in smtp is not allowed`,
		`password_file needs username`,
		`c.yaml:16:9: from "not an address" is not an address`,
		`NHISCAN_SMTP_PORT: must be a whole number, got "x"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q; got:\n%s", want, got)
		}
	}
	for _, secret := range []string{"hunter2", "abcdefabcdef", "ghp_notapathatall"} {
		if strings.Contains(got, secret) {
			t.Errorf("an error quotes the secret %q", secret)
		}
	}
	if _, err := config.Parse("c.yaml", []byte("smtp:\n  port: 25\n"), env(nil)); err == nil ||
		!strings.Contains(err.Error(), "smtp has no host") || !strings.Contains(err.Error(), "smtp has no from address") {
		t.Errorf("empty smtp: %v", err)
	}
}
