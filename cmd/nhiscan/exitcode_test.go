package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/reports"
)

// TestCLIBadInputExits2 covers bad input found by using the tool: each case
// must exit 2 with a clear message and leave the files as they were.
func TestCLIBadInputExits2(t *testing.T) {
	c := newCLI(t)
	db := "--db=" + c.db()
	cat := "--catalog=" + testdata("catalog.yaml")
	for _, inv := range []string{"scan1.json", "scan2.json"} {
		if code, out, errs := c.run("scan", db, cat, "--inventory", testdata(inv)); code != exitOK {
			t.Fatalf("scan %s = %d\n%s%s", inv, code, out, errs)
		}
	}
	// Scan 3 fails: it has no snapshot to compare or export.
	st, err := store.Open(context.Background(), c.db())
	if err != nil {
		t.Fatal(err)
	}
	id, err := st.BeginScan(context.Background(), store.ScanMeta{Started: c.now, ToolVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.FailScan(context.Background(), id, "every collector failed", c.now); err != nil {
		t.Fatal(err)
	}
	st.Close()

	full := filepath.Join(c.dir, "full")
	writeFile(t, filepath.Join(c.dir, "afile"), "x")
	if err := os.MkdirAll(full, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(full, "old.csv"), "old")
	notDB := filepath.Join(c.dir, "notes.txt")
	writeFile(t, notDB, "not a database\n")
	empty, noTime := filepath.Join(c.dir, "empty.json"), filepath.Join(c.dir, "notime.json")
	writeFile(t, empty, "{}")
	writeFile(t, noTime, `{"version": 1}`)
	noScope := filepath.Join(c.dir, "noscope.json")
	writeFile(t, noScope, `{"version": 1, "collected_at": "2026-11-19T00:00:00Z", "identities": [
	  {"id": "aws:AROAX", "provider": "aws", "kind": "aws-iam-role", "native_id": "AROAX", "name": "x",
	   "scope": "111111111111", "status": "active", "usage": {"state": "never-used"}}]}`)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"scan", db, cat, "--inventory", empty}, `version 0: this nhiscan reads version 1`},
		{[]string{"scan", db, cat, "--inventory", noTime}, `collected_at is required`},
		{[]string{"scan", db, cat, "--inventory", noScope}, `scope "111111111111" is not listed in scopes`},
		{[]string{"diff", db, "1", "99"}, "scan 99 not found"},
		{[]string{"findings", "--db", notDB}, "is not an nhiscan database"},
		{[]string{"scan", "--db", notDB, cat, "--inventory", testdata("scan1.json")}, "is not an nhiscan database"},
		{[]string{"diff", db, "1", "3"}, "scan 3 is failed (every collector failed)"},
		{[]string{"export", "evidence", db, "--scan", "99", "--out", filepath.Join(c.dir, "ev99")}, "scan 99 not found"},
		{[]string{"export", "evidence", db, "--scan", "3", "--out", filepath.Join(c.dir, "ev3")}, "scan 3 is failed"},
		{[]string{"export", "evidence", db, "--out", full}, "is not empty"},
		{[]string{"export", "evidence", db, "--out", filepath.Join(c.dir, "afile")}, "is a file"},
		{[]string{"report", db, "--out", c.dir}, "is a directory"},
		{[]string{"scan", db, cat, "--inventory", testdata("scan1.json"), "--html", c.dir}, "is a directory"},
		{[]string{"findings", db, "--family", "orphan"}, `--family "orphan"`},
		{[]string{"findings", db, "--rule", "dormant"}, `--rule "dormant"`},
		{[]string{"findings", db, "--scan", "-1"}, "--scan -1"},
		{[]string{"findings", db, "--as-of", "last tuesday"}, "--as-of"},
		{[]string{"audit", "verify", db, "--as-of", "2026-13-45"}, "--as-of"},
	} {
		before := snapshotDir(t, c.dir)
		code, _, errs := c.run(tc.args...)
		if code != exitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, want %d with %q\n%s", tc.args, code, exitUsage, tc.want, errs)
		}
		if after := snapshotDir(t, c.dir); after != before {
			t.Errorf("%v wrote files:\nbefore %s\nafter  %s", tc.args, before, after)
		}
	}
	st, err = store.Open(context.Background(), c.db())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if scans, err := st.Scans(context.Background()); err != nil || len(scans) != 3 {
		t.Errorf("the database holds %d scans (%v), want the 3 from before", len(scans), err)
	}
}

// snapshotDir lists the names and sizes under dir, except the database and
// its WAL files and lock (SQLite may checkpoint on open).
func snapshotDir(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(filepath.Base(p), ".db") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b.WriteString(p)
		if !d.IsDir() {
			b.WriteString(":" + strings.Repeat("#", int(min(info.Size(), 64))))
		}
		b.WriteString(" ")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestCLILogFormatFromConfig: the configuration's log_format is honoured
// when --log-format is not given, and the flag wins over it.
func TestCLILogFormatFromConfig(t *testing.T) {
	c := newCLI(t)
	c.now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	token := filepath.Join(c.dir, "token")
	writeFile(t, token, "not-a-real-token")
	cfg := filepath.Join(c.dir, "nhiscan.yaml")
	// GitHub at a closed port: the organisation is unreadable, the scan
	// collected nothing and fails, and the collector logs why.
	writeFile(t, cfg, `log_format: json
catalog: [`+testdata("catalog.yaml")+`]
providers:
  github:
    organizations: [acme]
    base_url: http://127.0.0.1:1/
    token_file: token
`)
	code, out, errs := c.run("scan", "--config", cfg, "--db", filepath.Join(c.dir, "a.db"))
	if code != exitError || !strings.Contains(errs, "collected nothing") {
		t.Fatalf("scan with an unreachable provider = %d, want %d and a failed scan\n%s%s", code, exitError, out, errs)
	}
	var logged bool
	for _, line := range strings.Split(strings.TrimSpace(errs), "\n") {
		if strings.HasPrefix(line, "nhiscan: ") {
			continue // the command's own error, not a log record
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log_format: json not honoured: %q is not JSON", line)
			continue
		}
		logged = logged || rec["level"] == "WARN"
	}
	if !logged {
		t.Errorf("no JSON warning logged; stderr:\n%s", errs)
	}
	_, _, errs = c.run("scan", "--config", cfg, "--db", filepath.Join(c.dir, "b.db"), "--log-format", "text")
	if !strings.Contains(errs, "level=WARN") {
		t.Errorf("--log-format text did not override the file; stderr:\n%s", errs)
	}
}

// TestCLIScanReportsWhatItResolved: findings a scan resolved are part of its
// findings list, HTML report and evidence pack (remediation proof), not
// only of the global lifecycle.
func TestCLIScanReportsWhatItResolved(t *testing.T) {
	c := newCLI(t)
	db := "--db=" + c.db()
	cat := "--catalog=" + testdata("catalog.yaml")
	for _, inv := range []string{"scan1.json", "scan2.json"} {
		if code, out, errs := c.run("scan", db, cat, "--inventory", testdata(inv)); code != exitOK {
			t.Fatalf("scan %s = %d\n%s%s", inv, code, out, errs)
		}
	}
	// scan2.json no longer has AIDADAN: its 7 findings are resolved by scan 2.
	_, out, errs := c.run("findings", db, "--scan", "2", "--status", "resolved", "--format", "json")
	var rows []struct {
		IdentityID string `json:"identity_id"`
		Status     string `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("findings json: %v\n%s%s", err, out, errs)
	}
	if len(rows) != 7 {
		t.Errorf("scan 2 resolved %d findings, want 7:\n%s", len(rows), out)
	}
	for _, r := range rows {
		if r.IdentityID != "aws:AIDADAN" || r.Status != "resolved" {
			t.Errorf("resolved row %+v", r)
		}
	}
	if _, out, _ := c.run("findings", db, "--scan", "1", "--status", "resolved", "--format", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("scan 1 resolved nothing, got:\n%s", out)
	}
	ev := filepath.Join(c.dir, "ev")
	if code, out, errs := c.run("export", "evidence", db, cat, "--scan", "2", "--out", ev); code != exitOK {
		t.Fatalf("export = %d\n%s%s", code, out, errs)
	}
	man, err := os.ReadFile(filepath.Join(ev, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(man), `"resolved_findings": 7`) {
		t.Errorf("manifest does not count the 7 resolved findings:\n%s", man)
	}
}

// TestCLIAuditVerifyEvidence: a pack verifies against the audit entry its
// export wrote; an edited file, and a pack rewritten together with its
// manifest and SHA256SUMS, both fail with exit 1.
func TestCLIAuditVerifyEvidence(t *testing.T) {
	c := newCLI(t)
	db := "--db=" + c.db()
	cat := "--catalog=" + testdata("catalog.yaml")
	if code, out, errs := c.run("scan", db, cat, "--inventory", testdata("scan1.json")); code != exitOK {
		t.Fatalf("scan = %d\n%s%s", code, out, errs)
	}
	ev := filepath.Join(c.dir, "ev")
	if code, out, errs := c.run("export", "evidence", db, cat, "--out", ev); code != exitOK {
		t.Fatalf("export = %d\n%s%s", code, out, errs)
	}
	if code, out, errs := c.run("audit", "verify", db, "--evidence", ev); code != exitOK || !strings.Contains(out, "evidence "+ev+" intact") {
		t.Fatalf("verify of an untouched pack = %d\n%s%s", code, out, errs)
	}

	// A pack rewritten whole: consistent files, manifest and SHA256SUMS,
	// with one owner changed. Only the audit log can tell.
	forged := filepath.Join(c.dir, "forged")
	st, err := store.Open(context.Background(), c.db())
	if err != nil {
		t.Fatal(err)
	}
	a := &app{now: func() time.Time { return c.now }, getenv: func(string) string { return "" }}
	in, err := a.reportInput(context.Background(), st, 1, nil)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	for i := range in.Findings {
		in.Findings[i].Owner = "mallory@acme.example"
	}
	if _, err := reports.WriteEvidence(forged, in, c.now); err != nil {
		t.Fatal(err)
	}
	if err := reports.VerifyEvidence(forged); err != nil {
		t.Fatalf("the forged pack should be self-consistent: %v", err)
	}
	code, _, errs := c.run("audit", "verify", db, "--evidence", forged)
	if code != exitFindings || !strings.Contains(errs, "no export in this database's audit log recorded") {
		t.Errorf("verify of a rewritten pack = %d, want %d\n%s", code, exitFindings, errs)
	}

	// One edited cell.
	f := filepath.Join(ev, "findings.csv")
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, f, strings.Replace(string(b), "dan@acme.example", "eve@acme.example", 1))
	code, _, errs = c.run("audit", "verify", db, "--evidence", ev)
	if code != exitFindings || !strings.Contains(errs, "NOT intact") {
		t.Errorf("verify of an edited pack = %d, want %d\n%s", code, exitFindings, errs)
	}
	if code, _, _ := c.run("audit", "verify", db, "--evidence", c.dir); code != exitUsage {
		t.Errorf("verify of a folder without a manifest = %d, want %d", code, exitUsage)
	}
}

// TestCLIAuditVerifyDetectsTampering: an edited audit entry makes
// 'audit verify' exit 1 and name it.
func TestCLIAuditVerifyDetectsTampering(t *testing.T) {
	c := newCLI(t)
	db := "--db=" + c.db()
	if code, out, errs := c.run("scan", db, "--catalog", testdata("catalog.yaml"), "--inventory", testdata("scan1.json")); code != exitOK {
		t.Fatalf("scan = %d\n%s%s", code, out, errs)
	}
	raw, err := sql.Open("sqlite", c.db())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{"DROP TRIGGER audit_log_no_update", "UPDATE audit_log SET actor = 'mallory' WHERE seq = 1"} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	code, out, errs := c.run("audit", "verify", db)
	if code != exitFindings || !strings.Contains(errs, "audit log NOT intact") || !strings.Contains(errs, "seq 1") {
		t.Errorf("audit verify of an edited log = %d, want %d\n%s%s", code, exitFindings, out, errs)
	}
}

// TestCLIGateWarnsOnPartialScan: --fail-on on a partial scan judges only
// what was observed, and says which scope × facet cells it could not judge.
func TestCLIGateWarnsOnPartialScan(t *testing.T) {
	c := newCLI(t)
	inv := filepath.Join(c.dir, "partial.json")
	writeFile(t, inv, `{"version": 1, "collected_at": "2026-11-19T00:00:00Z",
	  "scopes": [{"provider": "github", "id": "acme", "facets": ["identities", "credentials:github-deploy-key"]}],
	  "gaps": [{"provider": "github", "scope": "acme", "source": "repos/keys", "kind": "denied",
	            "permission": "administration:read", "facets": ["credentials:github-deploy-key"]}]}`)
	code, _, errs := c.run("scan", "--db="+c.db(), "--catalog="+testdata("catalog.yaml"), "--inventory", inv, "--fail-on", "high")
	want := "--fail-on high judged only what scan 1 observed; it could not judge 1 scope × facet cell(s):\n" +
		"  github acme credentials:github-deploy-key: this scan: repos/keys denied\n"
	if code != exitOK || !strings.Contains(errs, want) {
		t.Errorf("gate on a partial scan = %d, want %d and the warning\n%s\ngot:\n%s", code, exitOK, want, errs)
	}
}
