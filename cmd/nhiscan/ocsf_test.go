package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/reports"
)

// TestCLIFormatOCSF: findings --format ocsf writes one OCSF Detection
// Finding a line; export evidence --format ocsf adds findings.ocsf.jsonl
// to a pack that verifies.
func TestCLIFormatOCSF(t *testing.T) {
	c := newCLI(t)
	db := "--db=" + c.db()
	cat := "--catalog=" + testdata("catalog.yaml")
	if code, out, errs := c.run("scan", db, cat, "--inventory", testdata("scan1.json"), "--as-of", "2026-11-19"); code != exitOK {
		t.Fatalf("scan = %d\n%s%s", code, out, errs)
	}
	code, out, errs := c.run("findings", db, "--format", "ocsf")
	if code != exitOK {
		t.Fatalf("findings --format ocsf = %d\n%s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		var ev struct {
			ClassUID    int `json:"class_uid"`
			CategoryUID int `json:"category_uid"`
			FindingInfo struct {
				UID string `json:"uid"`
			} `json:"finding_info"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.ClassUID != 2004 || ev.CategoryUID != 2 || ev.FindingInfo.UID == "" {
			t.Errorf("not an OCSF Detection Finding (%v): %s", err, l)
		}
	}
	if len(lines) == 0 {
		t.Fatal("no findings")
	}
	dir := filepath.Join(c.dir, "pack")
	if code, out, errs := c.run("export", "evidence", db, cat, "--out", dir, "--format", "ocsf"); code != exitOK {
		t.Fatalf("export evidence --format ocsf = %d\n%s%s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, reports.FileOCSF)); err != nil {
		t.Fatal(err)
	}
	if err := reports.VerifyEvidence(dir); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := c.run("export", "evidence", db, "--out", filepath.Join(c.dir, "p2"), "--format", "xml"); code != exitUsage || !strings.Contains(errs, "--format") {
		t.Errorf("--format xml = %d: %s", code, errs)
	}
}
