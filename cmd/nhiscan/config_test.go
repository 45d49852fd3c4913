package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
	"github.com/nhiscan/nhiscan/collectors/github/githubfake"
)

// TestCLIScanFromConfig drives a scan from nhiscan.yaml alone, the way a
// deployment runs: providers, endpoints and *_file credentials come from the
// configuration, and NHISCAN_* variables override it.
func TestCLIScanFromConfig(t *testing.T) {
	c := newCLI(t)
	awsSrv := awsfake.New(awsfake.Demo(c.now))
	defer awsSrv.Close()
	gh := githubfake.New(githubfake.Demo(c.now))
	defer gh.Close()
	gh.SetNow(func() time.Time { return c.now })
	creds, err := gh.WriteCredentials(c.dir)
	if err != nil {
		t.Fatal(err)
	}
	awsCreds := filepath.Join(c.dir, "aws-credentials")
	if err := os.WriteFile(awsCreds, fmt.Appendf(nil, "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
		awsfake.BaseAccessKeyID, awsfake.BaseSecretAccessKey), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(c.dir, "nhiscan.yaml")
	writeFile(t, cfg, fmt.Sprintf(`
database: ignored.db
catalog: [%q]
providers:
  aws:
    organization: true
    role_name: %s
    region: us-east-1
    endpoint: %s
    shared_credentials_file: aws-credentials
  github:
    organizations: [acme]
    base_url: %s/
    token_file: %s
`, testdata("catalog.yaml"), awsfake.DemoRoleName, awsSrv.URL, gh.URL, filepath.Base(creds.TokenFile)))
	db := filepath.Join(c.dir, "from-env.db")
	c.env["NHISCAN_DATABASE"] = db
	code, out, errs := c.run("scan", "--config", cfg)
	if code != exitOK {
		t.Fatalf("scan from config = %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "scan 1 ") {
		t.Errorf("no scan summary:\n%s", out)
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("NHISCAN_DATABASE not honoured: %v", err)
	}
	if _, err := os.Stat(filepath.Join(c.dir, "ignored.db")); err == nil {
		t.Error("the configuration's database was used despite NHISCAN_DATABASE")
	}
	code, out, _ = c.run("findings", "--config", cfg, "--provider", "github", "--format", "csv")
	if code != exitOK || !strings.Contains(out, "github") {
		t.Errorf("no GitHub findings from the configured scan (exit %d)", code)
	}
	code, out, _ = c.run("findings", "--config", cfg, "--provider", "aws", "--format", "csv")
	if code != exitOK || !strings.Contains(out, "payments-reporting-legacy") {
		t.Errorf("no AWS findings from the configured scan (exit %d)", code)
	}
}

func TestCLIConfigErrors(t *testing.T) {
	c := newCLI(t)
	cfg := filepath.Join(c.dir, "nhiscan.yaml")
	writeFile(t, cfg, `database: x.db
log_format: xml
providers:
  github:
    organizations: [acme]
    token: ghp_inline_secret_value
  aws:
    concurrency: 100000
`)
	code, _, errs := c.run("scan", "--config", cfg, "--inventory", testdata("scan1.json"))
	if code != exitUsage {
		t.Fatalf("exit %d, want %d\n%s", code, exitUsage, errs)
	}
	if !strings.Contains(errs, "configuration has") || !strings.Contains(errs, "nhiscan.yaml:2:") || !strings.Contains(errs, "nhiscan.yaml:6:") {
		t.Errorf("config errors not all reported with positions:\n%s", errs)
	}
	if strings.Contains(errs, "ghp_inline_secret_value") {
		t.Error("an inline secret was echoed")
	}
	if _, err := os.Stat(filepath.Join(c.dir, "x.db")); err == nil {
		t.Error("database written despite configuration errors")
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}
