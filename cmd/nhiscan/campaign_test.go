package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/notify/smtptest"
	"github.com/nhiscan/nhiscan/reports"
)

// campaignCLI is a CLI with a scanned database, the test catalog, a link
// key, and a configuration that sends mail to an in-process SMTP server.
func campaignCLI(t *testing.T) (*cli, *smtptest.Server, []string) {
	t.Helper()
	c := newCLI(t)
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.StartTLS, Username: "nhiscan", Password: "smtp-pass-value"})
	ca := filepath.Join(c.dir, "ca.pem")
	writeCertPool(t, srv, ca)
	mustWrite(t, filepath.Join(c.dir, "smtp-password"), "smtp-pass-value\n")
	mustWrite(t, filepath.Join(c.dir, "link.key"), "0123456789abcdef0123456789abcdef-cli-test\n")
	cfg := fmt.Sprintf(`database: nhiscan.db
catalog: [%s]
campaigns:
  reminders: [7d, 1d]
  escalate_after: 1d
  fallback_reviewer: carol@acme.example
  review_url: https://nhiscan.acme.example/review
  link_key_file: link.key
smtp:
  host: 127.0.0.1
  port: %d
  tls: starttls
  username: nhiscan
  password_file: smtp-password
  ca_file: ca.pem
  from: "nhiscan <nhiscan@acme.example>"
`, testdata("catalog.yaml"), srv.Port)
	mustWrite(t, filepath.Join(c.dir, "nhiscan.yaml"), cfg)
	conf := "--config=" + filepath.Join(c.dir, "nhiscan.yaml")
	if code, out, errs := c.run("scan", conf, "--inventory", testdata("scan1.json")); code != exitOK {
		t.Fatalf("scan = %d\n%s%s", code, out, errs)
	}
	return c, srv, []string{conf}
}

func mustWrite(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (c *cli) ok(args ...string) string {
	c.t.Helper()
	code, out, errs := c.run(args...)
	if code != exitOK {
		c.t.Fatalf("%v = %d\n%s%s", args, code, out, errs)
	}
	return out
}

func TestCLICampaignLifecycle(t *testing.T) {
	c, srv, conf := campaignCLI(t)
	args := func(a ...string) []string { return append(a, conf...) }

	out := c.ok(args("campaign", "create", "--name", "Q4 platform review", "--due", "14d")...)
	for _, want := range []string{"campaign 1 created (draft) from scan 1: 5 items on 2 identities for 1 reviewers",
		"leavers: 1 identities", "next: nhiscan campaign send --campaign 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("create output lacks %q:\n%s", want, out)
		}
	}
	if out := c.ok(args("campaign", "list")...); !strings.Contains(out, "Q4 platform review") || !strings.Contains(out, "draft") {
		t.Errorf("list:\n%s", out)
	}

	// A dry run writes .eml files and sends nothing.
	outbox := filepath.Join(c.dir, "preview")
	out = c.ok(args("campaign", "send", "--campaign", "1", "--dry-run", "--out", outbox)...)
	emls, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	if len(emls) != 1 || len(srv.Messages()) != 0 || !strings.Contains(out, "dry run: nothing sent") {
		t.Fatalf("dry run: %d files, %d sent\n%s", len(emls), len(srv.Messages()), out)
	}

	// Send opens the campaign and mails carol once; a rerun sends nothing.
	out = c.ok(args("campaign", "send", "--campaign", "1")...)
	if !strings.Contains(out, "invite     to carol@acme.example: 5 items (sent)") {
		t.Errorf("send:\n%s", out)
	}
	c.ok(args("campaign", "send", "--campaign", "1")...)
	msgs := srv.Messages()
	if len(msgs) != 1 || !msgs[0].TLS || msgs[0].Auth != "nhiscan" {
		t.Fatalf("server got %d messages (tls %v)", len(msgs), len(msgs) > 0 && msgs[0].TLS)
	}
	body := string(msgs[0].Data)
	if !strings.Contains(body, "https://nhiscan.acme.example/review?t=3Dv1.") || !strings.Contains(body, "&lt;script&gt;") || strings.Contains(body, "smtp-pass-value") {
		t.Errorf("mail body: link missing, script not escaped in HTML, or password present:\n%s", body)
	}

	// Offline review: export carol's items, fill in decisions, import.
	exported := filepath.Join(c.dir, "carol.csv")
	c.ok(args("campaign", "decisions", "export", "--campaign", "1", "--reviewer", "carol@acme.example", "--out", exported)...)
	recs := readCSVFile(t, exported)
	if len(recs) != 6 || recs[0][len(recs[0])-6] != "reviewer" {
		t.Fatalf("export: %d rows, header %v", len(recs), recs[0])
	}
	// The hostile identity name is neutralised for spreadsheets.
	if name := recs[1][7]; !strings.HasPrefix(name, "'=HYPERLINK") {
		t.Errorf("identity name cell %q", name)
	}

	// Items: 1 the leaver's identity (AIDADAN), 2 its key, 3 its admin
	// grant, 4 platform-deployer, 5 its read-only grant.
	bad := fill(t, recs, map[string][]string{
		"4": {"certify", "", "", "", ""},     // fine
		"1": {"revoke", "", "", "", ""},      // (would need a justification)
		"5": {"approve", "", "", "", "x"},    // unknown decision
		"2": {"certify", "soon", "", "", ""}, // bad date
	})
	badFile := filepath.Join(c.dir, "bad.csv")
	mustWrite(t, badFile, bad)
	code, out, errs := c.run(args("campaign", "decisions", "import", "--campaign", "1", badFile)...)
	if code != exitUsage {
		t.Fatalf("bad import = %d, want %d\n%s%s", code, exitUsage, out, errs)
	}
	for _, want := range []string{"nothing was recorded", badFile + ":3: until \"soon\"", badFile + ":6: unknown decision \"approve\""} {
		if !strings.Contains(errs, want) {
			t.Errorf("import errors lack %q:\n%s", want, errs)
		}
	}
	if out := c.ok(args("campaign", "status", "--campaign", "1", "--format", "json")...); !strings.Contains(out, `"unanswered": 5`) {
		t.Errorf("a failed import recorded something:\n%s", out)
	}
	good := fill(t, recs, map[string][]string{
		"4": {"certify", "2027-06-30", "", "", "deploys production"},
		"1": {"reassign", "", "", "alice@acme.example", ""},
	})
	goodFile := filepath.Join(c.dir, "good.csv")
	mustWrite(t, goodFile, good)
	if out := c.ok(args("campaign", "decisions", "import", "--campaign", "1", goodFile)...); !strings.Contains(out, "2 decisions recorded") {
		t.Errorf("import:\n%s", out)
	}

	// Alice is told about her new item by the next remind.
	c.now = c.now.Add(time.Hour)
	out = c.ok(args("campaign", "remind", "--campaign", "1")...)
	if !strings.Contains(out, "invite     to alice@acme.example: 3 items (sent)") {
		t.Errorf("remind after reassign:\n%s", out)
	}
	// Past the deadline and its grace, alice's item escalates to carol.
	c.now = c.now.AddDate(0, 0, 16)
	out = c.ok(args("campaign", "remind", "--campaign", "1")...)
	if !strings.Contains(out, "escalated item 1 to carol@acme.example") || !strings.Contains(out, "escalation to carol@acme.example") {
		t.Errorf("remind past the deadline:\n%s", out)
	}
	out = c.ok(args("campaign", "status", "--campaign", "1")...)
	if !strings.Contains(out, "escalated 3") || !strings.Contains(out, "carol@acme.example") {
		t.Errorf("status:\n%s", out)
	}

	out = c.ok(args("campaign", "close", "--campaign", "1")...)
	if !strings.Contains(out, "certified 2, revoked 0") || !strings.Contains(out, "unanswered 3") {
		t.Errorf("close:\n%s", out)
	}
	if code, _, _ := c.run(args("campaign", "close", "--campaign", "1")...); code != exitUsage {
		t.Errorf("second close = %d, want %d", code, exitUsage)
	}

	// The evidence pack carries the decisions, verified against the audit log.
	evDir := filepath.Join(c.dir, "evidence")
	c.ok(args("export", "evidence", "--out", evDir)...)
	dec := readCSVFile(t, filepath.Join(evDir, reports.FileDecisions))
	var kinds []string
	for _, r := range dec[1:] {
		kinds = append(kinds, r[4]+" "+r[15]) // item_id and decision
	}
	wantKinds := []string{"1 reassign", "4 certify", "1 unanswered", "2 unanswered", "3 unanswered"}
	if strings.Join(kinds, ",") != strings.Join(wantKinds, ",") {
		t.Errorf("decisions.csv items and decisions = %v, want %v", kinds, wantKinds)
	}
	out = c.ok(args("audit", "verify", "--evidence", evDir)...)
	if !strings.Contains(out, "evidence "+evDir+" intact") {
		t.Errorf("audit verify:\n%s", out)
	}
	log := c.ok(args("audit", "log")...)
	for _, want := range []string{"campaign.create", "campaign.open", "campaign.decision campaign:1/item:1", "campaign.assign", "campaign.close",
		"decisions_sha256=", "campaigns_sha256="} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
}

// fill returns the exported file with decision columns set for some items
// (by item id): decision, until, grants, reassign_to, justification.
func fill(t *testing.T, recs [][]string, set map[string][]string) string {
	t.Helper()
	var b strings.Builder
	w := csv.NewWriter(&b)
	n := len(recs[0])
	for i, r := range recs {
		r = append([]string(nil), r...)
		if v, ok := set[r[1]]; ok && i > 0 {
			copy(r[n-5:], v)
		}
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	return b.String()
}

func readCSVFile(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func writeCertPool(t *testing.T, srv *smtptest.Server, path string) {
	t.Helper()
	mustWrite(t, path, string(srv.CertPEM()))
}

func TestCLICampaignUsageErrors(t *testing.T) {
	c, _, conf := campaignCLI(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"campaign", "create", "--role", "nope"}, "no identity matches"},
		{[]string{"campaign", "create", "--provider", "oracle"}, `--provider "oracle"`},
		{[]string{"campaign", "create", "--deadline", "2020-01-01"}, "not in the future"},
		{[]string{"campaign", "create", "--deadline", "2027-01-01", "--due", "3d"}, "give one"},
		{[]string{"campaign", "status"}, "--campaign ID is required"},
		{[]string{"campaign", "status", "--campaign", "9"}, "campaign 9 not found"},
		{[]string{"campaign", "send", "--campaign", "1", "--dry-run"}, "--dry-run and --out DIR go together"},
		{[]string{"campaign", "decisions", "import", "--campaign", "1", "missing.csv"}, "no such file"},
	} {
		code, out, errs := c.run(append(tc.args, conf...)...)
		if code != exitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("%v = %d, want %d with %q\n%s%s", tc.args, code, exitUsage, tc.want, out, errs)
		}
	}
	// Without a link key the configured review URL cannot be signed.
	os.Remove(filepath.Join(c.dir, "link.key"))
	if code, _, errs := c.run(append([]string{"campaign", "list"}, conf...)...); code != exitUsage || !strings.Contains(errs, "review link key") {
		t.Errorf("missing link key = %d\n%s", code, errs)
	}
}
