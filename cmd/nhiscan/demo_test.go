package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/internal/notify/smtptest"
	"github.com/nhiscan/nhiscan/reports"
)

// TestDemo runs `nhiscan demo` end to end: four fakes, the real collectors,
// SQLite, the analyzer, the HTML report and the evidence pack. It checks the
// story the demo tells, not exact counts, so the demo's seeds can grow.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole pipeline")
	}
	c := newCLI(t)
	c.terminal = true
	out := filepath.Join(c.dir, "demo")
	code, stdout, stderr := c.run("demo", "--out", out)
	if code != exitOK {
		t.Fatalf("demo = %d\n%s\n%s", code, stdout, stderr)
	}
	// The terminal progress display reports every scope as it finishes.
	for _, want := range []string{"aws     [3/3]", "github  [2/2]", "gcp     [5/5]", "azure   [1/1]", "aws     15 identities in 3 scopes"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("progress display lacks %q:\n%s", want, stderr)
		}
	}
	c.terminal = false
	for _, want := range []string{"baseline: scan 1", "scan 2 complete", "orphaned", "owner-moved", "dormant",
		"over-privileged", "long-lived", "unmapped", "drift", "risky-config", "exception EX-2026-007"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, stdout)
		}
	}
	for _, f := range []string{"nhiscan.db", "report.html", "evidence/manifest.json", "catalog/catalog.yaml", "catalog/people.csv"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("demo did not write %s: %v", f, err)
		}
	}
	if err := reports.VerifyEvidence(filepath.Join(out, "evidence")); err != nil {
		t.Errorf("demo evidence does not verify: %v", err)
	}
	db := "--db=" + filepath.Join(out, "nhiscan.db")
	checkDemoCampaign(t, c, stdout, out, db)
	stdout0 := stdout

	code, stdout, stderr = c.run("findings", db, "--format", "json", "--status", "all", "--drift")
	if code != exitOK {
		t.Fatalf("findings = %d\n%s", code, stderr)
	}
	var rows []struct {
		RuleID       string `json:"rule_id"`
		Provider     string `json:"provider"`
		IdentityName string `json:"identity_name"`
		Owner        string `json:"owner"`
		Status       string `json:"status"`
		Suppressed   bool   `json:"suppressed"`
	}
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatalf("findings json: %v", err)
	}
	has := func(rule, provider, name string) bool {
		for _, r := range rows {
			if r.RuleID == rule && r.Provider == provider && strings.HasPrefix(r.IdentityName, name) {
				return true
			}
		}
		return false
	}
	// Leavers on every provider (B7), through tags, Entra owners, GitHub
	// added_by and token owners.
	for _, w := range [][3]string{
		{"orphaned-owner-departed", "aws", "payments-reporting-legacy"},
		{"orphaned-owner-departed", "azure", "legacy-reporting-sync"},
		{"orphaned-owner-departed", "gcp", "payments-batch-legacy@"},
		{"orphaned-owner-departed", "github", "kate-release-token"},
		{"owner-moved-team", "azure", "billing-webhook-relay"},
		{"never-used-credential", "aws", "data-etl-runner"},
		{"credential-exposed", "gcp", "platform-backup-agent@"},
		{"weak-trust-policy", "aws", "payments-github-deploy"},
		{"mixed-human-use", "aws", "data-analyst-shared"},
		{"cloud-secret-in-ci", "github", "acme/payments-api"},
		{"usage-unknown", "gcp", "data-dwd-mailer@"},
		{"drift-identity-added", "github", "hotfix-laptop"},
		{"privileged-grant", "azure", "Contoso Backup Cloud"},
		{"drift-grant-since-certification", "aws", "payments-api-runtime"},
		{"drift-grant-added", "aws", "payments-api-runtime"},
		{"grant-outside-baseline", "aws", "payments-api-runtime"},
	} {
		if !has(w[0], w[1], w[2]) {
			t.Errorf("demo lacks %s on %s %s", w[0], w[1], w[2])
		}
	}
	// B6: the Tier-0 app has no owner objects, but a catalog owner.
	if has("orphaned-no-owner", "azure", "identity-governance-automation") {
		t.Error("Tier-0 app with a catalog business owner reported orphaned")
	}
	// B2: a two-day-old unused key is within the grace period (in scan 2;
	// the revocation story's later scans are weeks on).
	_, scan2, _ := c.run("findings", db, "--format", "json", "--scan", "2")
	var rows2 []struct {
		RuleID       string `json:"rule_id"`
		IdentityName string `json:"identity_name"`
	}
	if err := json.Unmarshal([]byte(scan2), &rows2); err != nil || len(rows2) == 0 {
		t.Fatalf("findings of scan 2: %v", err)
	}
	for _, r := range rows2 {
		if r.RuleID == "never-used-credential" && r.IdentityName == "data-airflow-svc" {
			t.Error("a key inside the never-used grace period was reported")
		}
	}
	suppressed := false
	for _, r := range rows {
		if r.RuleID == "privileged-grant" && r.IdentityName == "acme-release-bot" && r.Suppressed {
			suppressed = true
		}
	}
	if !suppressed {
		t.Error("the release bot's exception does not suppress its privileged grants")
	}

	// The disabled key's findings were resolved by the rescan.
	resolved := false
	for _, r := range rows {
		if r.Status == "resolved" && r.Provider == "aws" && r.IdentityName == "payments-ci-deployer" {
			resolved = true
		}
	}
	if !resolved {
		t.Error("no finding of the disabled access key was resolved")
	}
	checkDemoRevocation(t, c, stdout0, out, db)

	_, stdout, _ = c.run("audit", "log", db)
	for _, want := range []string{"revoke.plan", "revoke.apply.begin", "revoke.apply.done", "revoke.rollback.done", "revoke.remediated",
		"exception.expired", "evidence.export", "certification.record"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
	if code, _, _ := c.run("audit", "verify", db); code != exitOK {
		t.Error("demo audit log does not verify")
	}

	// A second run starts afresh in the same folder; with an smtp section in
	// the configuration, every campaign email also reaches the server.
	srv := smtptest.Start(t, smtptest.Options{})
	cfg := filepath.Join(c.dir, "nhiscan.yaml")
	writeFile(t, cfg, fmt.Sprintf("smtp:\n  host: 127.0.0.1\n  port: %d\n  tls: none\n  from: \"nhiscan demo <nhiscan@acme.example>\"\n", srv.Port))
	c.env["NHISCAN_CONFIG"] = cfg
	code, stdout, stderr = c.run("demo", "--out", out)
	if code != exitOK {
		t.Fatalf("second demo = %d\n%s\n%s", code, stdout, stderr)
	}
	emls, _ := filepath.Glob(filepath.Join(out, "outbox", "*.eml"))
	if msgs := srv.Messages(); len(emls) == 0 || len(msgs) != len(emls) {
		t.Errorf("SMTP got %d messages, the outbox has %d", len(msgs), len(emls))
	}
	if !strings.Contains(stdout, "mail also goes to the configured SMTP server 127.0.0.1") {
		t.Errorf("the demo does not say it sends over SMTP:\n%s", stdout)
	}
}

// TestDemoNeverClobbersAForeignFolder: the demo replaces nhiscan.db,
// catalog/ and evidence/ in --out on a rerun, so it refuses a folder that
// holds anything it did not write (a real deployment's database and
// catalog), and reruns in its own folder.
func TestDemoNeverClobbersAForeignFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole pipeline")
	}
	c := newCLI(t)
	prod := filepath.Join(c.dir, "prod")
	if err := os.MkdirAll(filepath.Join(prod, "catalog"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(prod, "catalog", "roles.yaml"), "roles: []\n")
	writeFile(t, filepath.Join(prod, "nhiscan.db"), "production history")
	code, _, errs := c.run("demo", "--out", prod)
	if code != exitUsage || !strings.Contains(errs, "not written by 'nhiscan demo'") {
		t.Errorf("demo into a foreign folder = %d, want %d\n%s", code, exitUsage, errs)
	}
	for _, f := range []string{"catalog/roles.yaml", "nhiscan.db"} {
		if _, err := os.Stat(filepath.Join(prod, f)); err != nil {
			t.Errorf("demo removed %s: %v", f, err)
		}
	}
	if ents, _ := os.ReadDir(prod); len(ents) != 2 {
		t.Errorf("demo wrote into the foreign folder: %d entries", len(ents))
	}

	own := filepath.Join(c.dir, "demo")
	for i := range 2 {
		if code, out, errs := c.run("demo", "--out", own); code != exitOK {
			t.Fatalf("demo run %d = %d\n%s%s", i+1, code, out, errs)
		}
	}
}

// checkDemoCampaign checks the recertification story after scan 2: mail in
// the outbox for every notice kind, the scripted decisions, an escalation,
// the close with its KPIs, and the decisions in the evidence pack.
func checkDemoCampaign(t *testing.T, c *cli, stdout, out, db string) {
	t.Helper()
	for _, want := range []string{"recertification campaign", "across aws, azure, gcp and github", "invite email(s)",
		": certify item ", ": revoke item ", ": reassign to ", "in bulk (recorded as bulk)", "reminder email(s)",
		"is past its deadline: escalated to", "escalation email(s)", "closed: items ", "revoked 1"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	for _, kind := range []string{"invite", "reminder", "escalation"} {
		if m, _ := filepath.Glob(filepath.Join(out, "outbox", "*-"+kind+"-*.eml")); len(m) == 0 {
			t.Errorf("no %s message in the outbox", kind)
		}
	}
	dec, err := os.ReadFile(filepath.Join(out, "evidence-campaign", reports.FileDecisions))
	if err != nil || !strings.Contains(string(dec), ",reassign,") || !strings.Contains(string(dec), ",unanswered,") {
		t.Errorf("evidence decisions.csv lacks the campaign's decisions (%v)", err)
	}
	if code, o, e := c.run("audit", "verify", db, "--evidence", filepath.Join(out, "evidence-campaign")); code != exitOK {
		t.Errorf("audit verify --evidence = %d\n%s%s", code, o, e)
	}
	if code, o, _ := c.run("campaign", "status", db, "--campaign", "1"); code != exitOK || !strings.Contains(o, "state closed") {
		t.Errorf("campaign status = %d\n%s", code, o)
	}
}

// checkDemoRevocation checks the revocation story: a notify plan, a
// partial scope's actions blocked, disable plans applied and read back, a
// rescan that marks findings remediated, a rollback, notices in the
// outbox, remediation.csv in the final evidence pack.
func checkDemoRevocation(t *testing.T, c *cli, stdout, out, db string) {
	t.Helper()
	for _, want := range []string{"revocation (plan -> apply -> verify -> rescan", "scan 3 partial", "notify stage",
		"blocked (coverage): #", "usage:credential-report in aws 333333333333: iam:GetCredentialReport denied",
		"dry run of plan 2", "would-act: #", "applied plan 2", "[Active -> Inactive, read back]", "linked, as remediated",
		"rolled back plan 2", "[Inactive -> Active, read back]"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if n, _ := filepath.Glob(filepath.Join(out, "notices", "*-revoke-notice-*.eml")); len(n) == 0 {
		t.Error("no notice in the notices folder")
	}
	rem, err := os.ReadFile(filepath.Join(out, "evidence", reports.FileRemediation))
	if err != nil || !strings.Contains(string(rem), "apply,done,grace.kim@acme.example") || !strings.Contains(string(rem), "rollback,done") {
		t.Errorf("evidence remediation.csv (%v):\n%s", err, rem)
	}
	if code, o, e := c.run("audit", "verify", db, "--evidence", filepath.Join(out, "evidence")); code != exitOK {
		t.Errorf("audit verify --evidence = %d\n%s%s", code, o, e)
	}
	code, o, _ := c.run("revoke", "status", db)
	if code != exitOK || !strings.Contains(o, "remediated") || !strings.Contains(o, "rolled back") {
		t.Errorf("revoke status = %d\n%s", code, o)
	}
}
