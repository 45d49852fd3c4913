package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
	"github.com/nhiscan/nhiscan/collectors/github/githubfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
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

// TestCLIOwnerTagKeysFromCatalog: which tag keys name an owner is set once,
// in the catalog, and reaches the collectors: with owner_tag_keys [team]
// the AWS collector reads the team tag as the owner hint, not the owner
// tag. The old provider setting is a positioned configuration error.
func TestCLIOwnerTagKeysFromCatalog(t *testing.T) {
	c := newCLI(t)
	awsSrv := awsfake.New(awsfake.Demo(c.now))
	defer awsSrv.Close()
	awsCreds := filepath.Join(c.dir, "aws-credentials")
	writeFile(t, awsCreds, fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", awsfake.BaseAccessKeyID, awsfake.BaseSecretAccessKey))
	cat := filepath.Join(c.dir, "catalog.yaml")
	writeFile(t, cat, "defaults:\n  owner_tag_keys: [team]\n")
	cfg := filepath.Join(c.dir, "nhiscan.yaml")
	providers := fmt.Sprintf(`providers:
  aws:
    organization: true
    role_name: %s
    endpoint: %s
    shared_credentials_file: aws-credentials
`, awsfake.DemoRoleName, awsSrv.URL)
	writeFile(t, cfg, "catalog: [catalog.yaml]\n"+providers)
	if code, out, errs := c.run("scan", "--config", cfg, "--db", c.db()); code != exitOK {
		t.Fatalf("scan = %d\n%s%s", code, out, errs)
	}
	st, err := store.Open(context.Background(), c.db())
	if err != nil {
		t.Fatal(err)
	}
	inv, _, err := st.Snapshot(context.Background(), 1)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	var role *nhi.Identity
	for i := range inv.Identities {
		if inv.Identities[i].Name == "payments-api-runtime" {
			role = &inv.Identities[i]
		}
	}
	if role == nil {
		t.Fatal("payments-api-runtime not collected")
	}
	var tagHints []string
	for _, h := range role.OwnerHints {
		if h.Source == "tag" {
			tagHints = append(tagHints, h.Value)
		}
	}
	if len(tagHints) != 1 || tagHints[0] != "payments" {
		t.Errorf("tag owner hints %q, want the team tag's [payments] (the catalog's owner_tag_keys)", tagHints)
	}

	writeFile(t, cfg, "catalog: [catalog.yaml]\n"+providers+"    owner_tags: [owner]\n")
	code, _, errs := c.run("scan", "--config", cfg, "--db", c.db())
	if code != exitUsage || !strings.Contains(errs, `nhiscan.yaml:8:5: "owner_tags" in aws provider has moved:`) ||
		!strings.Contains(errs, "defaults.owner_tag_keys") {
		t.Errorf("old owner_tags setting = %d, want %d and where it moved\n%s", code, exitUsage, errs)
	}
}
