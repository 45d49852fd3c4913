package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
)

// facetInventory is one AWS account whose collector read the identity
// list, access keys, service-specific credentials and managed policies.
// keys are the bot's access key ids; gap, when set, is the one gap.
func facetInventory(t *testing.T, dir, name string, keys []string, gap string) string {
	t.Helper()
	var creds []string
	for _, k := range keys {
		creds = append(creds, fmt.Sprintf(`{"id": %q, "type": "aws-access-key", "status": "active", "created": "2026-11-01T00:00:00Z",
		  "usage": {"state": "never-used", "source": "credential-report", "as_of": "2026-11-18T00:00:00Z"}}`, k))
	}
	gaps := "[]"
	if gap != "" {
		gaps = "[" + gap + "]"
	}
	p := filepath.Join(dir, name)
	writeFile(t, p, `{"version": 1, "collected_at": "2026-11-19T00:00:00Z",
	  "scopes": [{"provider": "aws", "id": "111111111111", "facets": ["identities", "credentials:aws-access-key",
	    "credentials:aws-service-specific-credential", "grants:managed-policy", "usage:credential-report"]}],
	  "identities": [{"id": "aws:AIDABOT", "provider": "aws", "kind": "aws-iam-user", "native_id": "AIDABOT", "name": "ci-bot",
	    "scope": "111111111111", "status": "active", "tags": {"owner": "alice@acme.example"},
	    "usage": {"state": "never-used", "source": "credential-report", "as_of": "2026-11-18T00:00:00Z"},
	    "credentials": [`+strings.Join(creds, ",")+`]}],
	  "gaps": `+gaps+`}`)
	return p
}

// sscGap is a 500 on iam:ListServiceSpecificCredentials: it hides those
// credentials in the account, and nothing else.
const sscGap = `{"provider": "aws", "scope": "111111111111", "source": "iam:ListServiceSpecificCredentials", "kind": "error",
  "detail": "HTTP 500: We encountered an internal error", "facets": ["credentials:aws-service-specific-credential"]}`

// TestNotEvaluatedListed: with one facet of the second scan failed, the
// summary prints the gap's reason and lists the cell as not evaluated
// beside the drift it did judge; diff and scans say the same.
func TestNotEvaluatedListed(t *testing.T) {
	c := newCLI(t)
	db, cat := "--db="+c.db(), "--catalog="+testdata("catalog.yaml")
	if code, out, errs := c.run("scan", db, cat, "--inventory", facetInventory(t, c.dir, "a.json", []string{"AKIA1"}, "")); code != exitOK {
		t.Fatalf("scan 1 = %d\n%s%s", code, out, errs)
	}
	code, out, errs := c.run("scan", db, cat, "--inventory", facetInventory(t, c.dir, "b.json", []string{"AKIA1", "AKIA2"}, sscGap))
	if code != exitOK {
		t.Fatalf("scan 2 = %d\n%s%s", code, out, errs)
	}
	cell := "aws 111111111111 credentials:aws-service-specific-credential: this scan: iam:ListServiceSpecificCredentials error"
	for _, want := range []string{
		"  gap: aws 111111111111 iam:ListServiceSpecificCredentials: error: HTTP 500: We encountered an internal error; hides credentials:aws-service-specific-credential\n",
		"drift since scan 1: 1 change(s) in what both scans observed\n",
		"  not evaluated: 1 scope × facet cell(s); additions, removals, changes and resolutions there are unknown:\n    " + cell + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	code, out, errs = c.run("diff", db, "--format", "csv")
	if code != exitOK || !strings.Contains(out, "AKIA2") {
		t.Fatalf("diff = %d\n%s%s", code, out, errs)
	}
	want := "drift from scan 1 to scan 2: 1 change(s) in what both scans observed\n" +
		"not evaluated: 1 scope × facet cell(s); additions, removals and changes there are unknown:\n  " + cell + "\n"
	if errs != want {
		t.Errorf("diff stderr:\n%s\nwant:\n%s", errs, want)
	}
	// Scan 1 against itself: everything observed, said as such.
	if _, _, errs = c.run("diff", db, "1", "1"); !strings.Contains(errs, "0 change(s); both scans observed every scope and facet they cover") {
		t.Errorf("diff of a fully observed pair:\n%s", errs)
	}
	_, out, _ = c.run("scans", db)
	if !strings.Contains(out, "  scan 2 aws 111111111111: credentials:aws-service-specific-credential (iam:ListServiceSpecificCredentials error)\n") {
		t.Errorf("scans lacks the unobserved facet:\n%s", out)
	}
	_, out, _ = c.run("scans", db, "--coverage", "--scan", "2")
	for _, re := range []string{`2 +aws +111111111111 +credentials:aws-access-key +yes`, `2 +aws +111111111111 +credentials:aws-service-specific-credential +no +iam:ListServiceSpecificCredentials error`} {
		if !matches(re, out) {
			t.Errorf("scans --coverage lacks %s:\n%s", re, out)
		}
	}
	_, out, _ = c.run("scans", db, "--format", "json")
	var rows []struct {
		ID       int64 `json:"id"`
		Coverage []struct {
			Facet     string `json:"facet"`
			Observed  bool   `json:"observed"`
			GapSource string `json:"gap_source"`
		} `json:"coverage"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 2 || len(rows[0].Coverage) != 5 {
		t.Fatalf("scans json: %v\n%s", err, out)
	}
	for _, cv := range rows[0].Coverage {
		if hidden := cv.Facet == "credentials:aws-service-specific-credential"; cv.Observed == hidden || (cv.GapSource != "") != hidden {
			t.Errorf("scan 2 coverage cell %+v", cv)
		}
	}
}

// TestNothingCollectedFails: a scan whose every scope is hidden by a gap,
// with no identity read, is recorded failed, exits 3, and is never the
// baseline of drift: the next scan compares with the last one that
// observed something.
func TestNothingCollectedFails(t *testing.T) {
	c := newCLI(t)
	db, cat := "--db="+c.db(), "--catalog="+testdata("catalog.yaml")
	if code, out, errs := c.run("scan", db, cat, "--inventory", facetInventory(t, c.dir, "a.json", []string{"AKIA1"}, "")); code != exitOK {
		t.Fatalf("scan 1 = %d\n%s%s", code, out, errs)
	}
	nothing := filepath.Join(c.dir, "nothing.json")
	writeFile(t, nothing, `{"version": 1, "collected_at": "2026-11-19T00:00:00Z",
	  "scopes": [{"provider": "aws", "id": "111111111111"}],
	  "gaps": [{"provider": "aws", "scope": "111111111111", "source": "sts:AssumeRole", "kind": "denied", "permission": "sts:AssumeRole",
	            "detail": "AccessDenied: not authorized to perform sts:AssumeRole"}]}`)
	code, out, errs := c.run("scan", db, cat, "--inventory", nothing)
	want := "nhiscan: scan 2: collected nothing: no identity read and every scope attempted is hidden by a gap: " +
		"aws 111111111111 sts:AssumeRole: denied (needs sts:AssumeRole): AccessDenied: not authorized to perform sts:AssumeRole; hides the whole scope\n"
	if code != exitError || errs != want {
		t.Fatalf("scan of nothing = %d, want %d\n%s\nstderr:\n%s\nwant:\n%s", code, exitError, out, errs, want)
	}
	// A scan stored partial with nothing observed by an nhiscan before
	// this rule is skipped as a baseline too.
	legacy := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: c.now, Scopes: []nhi.Scope{{Provider: nhi.AWS, ID: "111111111111"}},
		Gaps: []nhi.Gap{{Provider: nhi.AWS, Scope: "111111111111", Source: "sts:AssumeRole", Kind: nhi.GapDenied}}}
	st, err := store.Open(context.Background(), c.db())
	if err != nil {
		t.Fatal(err)
	}
	id, err := st.BeginScan(context.Background(), store.ScanMeta{Started: c.now, ToolVersion: "old"})
	if err == nil {
		err = st.FinishScan(context.Background(), id, store.FinishInput{Ended: c.now, Inventory: legacy, Lifecycle: analyzer.Lifecycle})
	}
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs = c.run("scan", db, cat, "--inventory", facetInventory(t, c.dir, "b.json", []string{"AKIA1", "AKIA2"}, ""))
	if code != exitOK || !strings.Contains(out, "scan 4 complete") || !strings.Contains(out, "drift since scan 1: 1 change(s)") {
		t.Errorf("scan 4 = %d, want drift judged against scan 1\n%s%s", code, out, errs)
	}
	if _, _, errs := c.run("diff", db); !strings.HasPrefix(errs, "drift from scan 1 to scan 4:") {
		t.Errorf("diff compares the wrong scans:\n%s", errs)
	}
	_, out, _ = c.run("scans", db, "--format", "json")
	var rows []struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 4 {
		t.Fatalf("scans json: %v\n%s", err, out)
	}
	if r := rows[2]; r.ID != 2 || r.Status != "failed" || !strings.HasPrefix(r.Reason, "scan 2: collected nothing") {
		t.Errorf("scan 2 stored as %+v, want failed with its reason", r)
	}
}

// TestStoreUsesInjectedClock: a scan left running by a dead process is
// marked failed at the command's clock, not the wall clock.
func TestStoreUsesInjectedClock(t *testing.T) {
	c := newCLI(t)
	db := "--db=" + c.db()
	if code, out, errs := c.run("scan", db, "--catalog="+testdata("catalog.yaml"), "--inventory", testdata("scan1.json")); code != exitOK {
		t.Fatalf("scan = %d\n%s%s", code, out, errs)
	}
	raw, err := sql.Open("sqlite", c.db())
	if err != nil {
		t.Fatal(err)
	}
	_, err = raw.Exec("UPDATE scans SET status = 'running', ended = NULL WHERE id = 1")
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}
	// A reader leaves the row as it is: only a writer, holding the lock,
	// knows the scan's process is gone.
	_, out, _ := c.run("scans", db, "--format", "json")
	if !strings.Contains(out, `"status": "running"`) {
		t.Errorf("a reading command changed the running scan:\n%s", out)
	}
	c.now = c.now.Add(time.Hour)
	if code, out, errs := c.run("certify", db, "--by", "grace", "--scan", "1"); code != exitUsage || !strings.Contains(errs, "scan 1 is failed") {
		t.Fatalf("certify = %d\n%s%s", code, out, errs)
	}
	_, out, _ = c.run("scans", db, "--format", "json")
	var rows []struct {
		Status string `json:"status"`
		Ended  string `json:"ended"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 {
		t.Fatalf("scans json: %v\n%s", err, out)
	}
	if rows[0].Status != "failed" || rows[0].Ended != fmtTime(c.now) {
		t.Errorf("interrupted scan = %+v, want failed and ended at %s", rows[0], fmtTime(c.now))
	}
}

func matches(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// TestGapTextNamesTheIdentity: the summary line of one identity's gap says
// it hides the facet for that identity only.
func TestGapTextNamesTheIdentity(t *testing.T) {
	g := nhi.Gap{Provider: nhi.AWS, Scope: "111111111111", Identity: "aws:AROADEPLOY\x1b[2J", Source: "iam:GetServiceLastAccessedDetails",
		Kind: nhi.GapTimeout, Facets: []nhi.Facet{nhi.EntitlementUsageFacet(nhi.SourceAccessAdvisor)}}
	got := gapText(g)
	if !strings.Contains(got, `for identity aws:AROADEPLOY\x1b[2J only`) || strings.Contains(got, "\x1b") {
		t.Errorf("gapText = %q", got)
	}
}
