package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/reports"
)

// cli runs nhiscan in-process through run's own entry, with a fixed clock
// and an empty environment, in a temporary working directory.
type cli struct {
	t   *testing.T
	dir string
	env map[string]string
	now time.Time
	// terminal makes stderr count as a terminal (progress display).
	terminal bool
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	return &cli{t: t, dir: t.TempDir(), env: map[string]string{}, now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
}

// syncBuffer is a buffer several goroutines may write: the progress
// display and the logger both write stderr while collectors run, which a
// terminal takes in any order but a bytes.Buffer must not.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (c *cli) run(args ...string) (code int, stdout, stderr string) {
	c.t.Helper()
	var out, errb syncBuffer
	a := &app{stdout: &out, stderr: &errb, now: func() time.Time { return c.now }, getenv: func(k string) string { return c.env[k] }, isTerminal: c.terminal}
	code = a.run(context.Background(), args)
	return code, out.String(), errb.String()
}

func (c *cli) db() string { return filepath.Join(c.dir, "nhiscan.db") }

func testdata(name string) string {
	p, _ := filepath.Abs(filepath.Join("testdata", name))
	return p
}

func TestCLIEndToEnd(t *testing.T) {
	c := newCLI(t)
	db := "--db=" + c.db()
	cat := "--catalog=" + testdata("catalog.yaml")

	code, out, errs := c.run("catalog", "validate", testdata("catalog.yaml"))
	if code != exitOK || !strings.Contains(out, "catalog ok: 3 people, 1 roles") {
		t.Fatalf("catalog validate = %d\n%s%s", code, out, errs)
	}

	code, out, errs = c.run("scan", db, cat, "--inventory", testdata("scan1.json"), "--as-of", "2026-11-19")
	if code != exitOK {
		t.Fatalf("scan 1 = %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(out, "scan 1 complete: 2 identities in 1 scopes") || !strings.Contains(out, "orphaned 1") {
		t.Errorf("scan 1 summary:\n%s", out)
	}

	// Gate: a high finding (the departed owner, AdministratorAccess) exists.
	c.now = c.now.Add(7 * 24 * time.Hour)
	code, out, errs = c.run("scan", db, cat, "--inventory", testdata("scan2.json"), "--fail-on", "high")
	if code != exitOK {
		t.Fatalf("scan 2 = %d (scan 2 has no high finding)\n%s%s", code, out, errs)
	}
	code, _, _ = c.run("scan", db, cat, "--inventory", testdata("scan1.json"), "--fail-on", "high")
	if code != exitFindings {
		t.Fatalf("scan 3 with --fail-on high = %d, want %d", code, exitFindings)
	}

	// findings as JSON: current lifecycle, open only by default.
	code, out, errs = c.run("findings", db, "--format", "json", "--family", "over-privileged")
	if code != exitOK {
		t.Fatalf("findings = %d\n%s", code, errs)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("findings json: %v\n%s", err, out)
	}
	if len(rows) == 0 {
		t.Fatal("no over-privileged findings listed")
	}

	// diff between scan 1 and 2: the deleted user and the new grant.
	code, out, errs = c.run("diff", db, "--format", "csv", "1", "2")
	if code != exitOK {
		t.Fatalf("diff = %d\n%s", code, errs)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	joined := out
	for _, want := range []string{"drift-identity-removed", "drift-grant-added"} {
		if !strings.Contains(joined, want) {
			t.Errorf("diff lacks %s:\n%s", want, out)
		}
	}
	if len(recs) < 3 {
		t.Errorf("diff rows = %d", len(recs))
	}

	// Evidence pack for scan 1: verifies, and is safe in a spreadsheet.
	evDir := filepath.Join(c.dir, "evidence")
	code, out, errs = c.run("export", "evidence", db, cat, "--scan", "1", "--out", evDir)
	if code != exitOK {
		t.Fatalf("export evidence = %d\n%s%s", code, out, errs)
	}
	if err := reports.VerifyEvidence(evDir); err != nil {
		t.Errorf("evidence does not verify: %v", err)
	}
	pop, err := os.ReadFile(filepath.Join(evDir, "population.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(pop, []byte(",=HYPERLINK")) || !bytes.Contains(pop, []byte("'=HYPERLINK")) {
		t.Errorf("formula not neutralised in population.csv")
	}

	// HTML report: hostile names escaped.
	html := filepath.Join(c.dir, "report.html")
	code, _, errs = c.run("report", db, cat, "--scan", "1", "--out", html)
	if code != exitOK {
		t.Fatalf("report = %d\n%s", code, errs)
	}
	page, _ := os.ReadFile(html)
	if bytes.Contains(page, []byte("<script>alert(1)</script>")) {
		t.Error("HTML report contains an unescaped collected string")
	}

	// scans lists the three scans, newest first.
	code, out, _ = c.run("scans", db)
	if code != exitOK || !strings.Contains(out, "SCAN") || strings.Index(out, "\n3 ") > strings.Index(out, "\n1 ") {
		t.Errorf("scans = %d\n%s", code, out)
	}
	code, out, _ = c.run("scans", db, "--format", "json")
	var scans []struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &scans); code != exitOK || err != nil || len(scans) != 3 || scans[0].ID != 3 || scans[0].Status != "complete" {
		t.Errorf("scans json = %d %v %+v", code, err, scans)
	}

	// The audit log is intact and records the scans and the export.
	code, out, _ = c.run("audit", "verify", db)
	if code != exitOK || !strings.Contains(out, "audit log intact") {
		t.Errorf("audit verify = %d %s", code, out)
	}
	_, out, _ = c.run("audit", "log", db)
	for _, want := range []string{"scan.begin", "scan.finish", "evidence.export"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit log lacks %s:\n%s", want, out)
		}
	}
}

func TestCLIConfigErrorsExit2AndWriteNothing(t *testing.T) {
	c := newCLI(t)
	db := "--db=" + c.db()
	code, _, errs := c.run("scan", db, "--catalog", testdata("bad-catalog.yaml"), "--inventory", testdata("scan1.json"))
	if code != exitUsage {
		t.Fatalf("bad catalog: exit %d, want %d\n%s", code, exitUsage, errs)
	}
	// All problems at once, each with file:line:col.
	for _, want := range []string{"bad-catalog.yaml:2:", "bad-catalog.yaml:6:", "bad-catalog.yaml:7:", "bad-catalog.yaml:10:"} {
		if !strings.Contains(errs, want) {
			t.Errorf("catalog errors lack %q:\n%s", want, errs)
		}
	}
	if _, err := os.Stat(c.db()); err == nil {
		t.Error("a database was written despite the configuration error")
	}
	for _, args := range [][]string{
		{"scan", db, "--catalog", testdata("catalog.yaml"), "--inventory", testdata("missing.json")},
		{"scan", db, "--catalog", testdata("catalog.yaml"), "--inventory", testdata("scan1.json"), "--fail-on", "severe"},
		{"scan", db, "--catalog", testdata("catalog.yaml"), "--inventory", testdata("scan1.json"), "--as-of", "yesterday"},
		{"findings", db},
		{"bogus"},
		{"scan", "--no-such-flag"},
	} {
		if code, _, errs := c.run(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, exitUsage, errs)
		}
	}
	if _, err := os.Stat(c.db()); err == nil {
		t.Error("a database was written by a failing command")
	}
}

func TestCLIVersion(t *testing.T) {
	c := newCLI(t)
	code, out, _ := c.run("version")
	if code != exitOK || !strings.HasPrefix(out, "nhiscan ") {
		t.Errorf("version = %d %q", code, out)
	}
}

func TestCLICertifyThenDriftSinceCertification(t *testing.T) {
	c := newCLI(t)
	db := "--db=" + c.db()
	cat := "--catalog=" + testdata("catalog.yaml")
	if code, out, errs := c.run("scan", db, cat, "--inventory", testdata("scan1.json")); code != exitOK {
		t.Fatalf("scan = %d\n%s%s", code, out, errs)
	}
	if code, _, _ := c.run("certify", db); code != exitUsage {
		t.Errorf("certify without --by = %d, want %d", code, exitUsage)
	}
	if code, _, _ := c.run("certify", db, "--scan", "9", "--by", "x"); code != exitUsage {
		t.Errorf("certify of an unknown scan = %d, want %d", code, exitUsage)
	}
	code, out, errs := c.run("certify", db, "--by", "carol@acme.example", "--note", "Q4 review, ticket SEC-42")
	if code != exitOK || !strings.Contains(out, "certified scan 1 (2 identities)") {
		t.Fatalf("certify = %d\n%s%s", code, out, errs)
	}
	c.now = c.now.Add(24 * time.Hour)
	if code, out, errs := c.run("scan", db, cat, "--inventory", testdata("scan2.json")); code != exitOK {
		t.Fatalf("scan 2 = %d\n%s%s", code, out, errs)
	}
	_, out, _ = c.run("findings", db, "--scan", "2", "--family", "drift", "--format", "csv")
	if !strings.Contains(out, "drift-grant-since-certification") || !strings.Contains(out, "AmazonS3FullAccess") {
		t.Errorf("the grant added since the certification is not reported:\n%s", out)
	}
	if n := strings.Count(out, "drift-grant-since-certification"); n != 1 {
		t.Errorf("%d drift-grant-since-certification findings, want 1 (the certified grant is not drift):\n%s", n, out)
	}
	_, out, _ = c.run("audit", "log", db)
	if !strings.Contains(out, "certification.record") || !strings.Contains(out, `certified_by="carol@acme.example"`) {
		t.Errorf("certification not in the audit log with attribution:\n%s", out)
	}
}

func TestCLIRetireScope(t *testing.T) {
	c := newCLI(t)
	db := "--db=" + c.db()
	cat := "--catalog=" + testdata("catalog.yaml")
	if code, out, errs := c.run("scan", db, cat, "--inventory", testdata("scan1.json")); code != exitOK {
		t.Fatalf("scan = %d\n%s%s", code, out, errs)
	}
	// Account 111111111111 is still collected: refused.
	if code, _, errs := c.run("findings", "retire", db, "--provider", "aws", "--scope", "111111111111", "--by", "carol", "--reason", "closed"); code != exitUsage {
		t.Errorf("retiring a collected scope = %d, want %d\n%s", code, exitUsage, errs)
	}
	// A later scan covers only GitHub: the AWS findings stay open.
	other := filepath.Join(c.dir, "github-only.json")
	writeFile(t, other, `{"version": 1, "collected_at": "2026-11-27T00:00:00Z", "scopes": [{"provider": "github", "id": "acme"}], "identities": []}`)
	if code, out, errs := c.run("scan", db, cat, "--inventory", other); code != exitOK {
		t.Fatalf("scan 2 = %d\n%s%s", code, out, errs)
	}
	_, out, _ := c.run("findings", db, "--provider", "aws", "--format", "csv")
	if !strings.Contains(out, "111111111111") {
		t.Fatalf("findings of an uncollected scope were resolved by a scan:\n%s", out)
	}
	for _, args := range [][]string{
		{"findings", "retire", db, "--provider", "aws", "--scope", "111111111111"},
		{"findings", "retire", db, "--provider", "cloud", "--scope", "1", "--by", "x", "--reason", "y"},
	} {
		if code, _, _ := c.run(args...); code != exitUsage {
			t.Errorf("%v = %d, want %d", args, code, exitUsage)
		}
	}
	code, out, errs := c.run("findings", "retire", db, "--provider", "aws", "--scope", "111111111111", "--by", "carol@acme.example", "--reason", "account closed, OPS-7")
	if code != exitOK || !strings.Contains(out, "retired") {
		t.Fatalf("retire = %d\n%s%s", code, out, errs)
	}
	_, out, _ = c.run("findings", db, "--provider", "aws", "--format", "csv")
	if strings.Contains(out, "111111111111") {
		t.Errorf("retired findings still open:\n%s", out)
	}
	_, out, _ = c.run("audit", "log", db)
	if !strings.Contains(out, "findings.retire-scope") || !strings.Contains(out, "carol@acme.example") {
		t.Errorf("retirement not audited with attribution:\n%s", out)
	}
}
